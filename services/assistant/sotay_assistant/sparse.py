"""BM25 over accent-free syllables and syllable bigrams, as sparse vectors for Qdrant.

Terms are folded syllables ("dang", "vien") and bigrams within a clause ("dang vien"); a term's
id is a hash of its text, so queries and passages share the vocabulary without storing it.

The BM25 score is split between the two vectors so that Qdrant's dot product computes it:
a passage stores each term's saturated frequency, tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl /
avgdl)), and a query stores each term's IDF. IDF therefore lives only on the query side and
never has to be written back into stored passages when the corpus changes: `Bm25Statistics`
keeps the document frequency of every term and the number and total length of passages,
incremented and decremented as passages are indexed and removed (and rebuilt from the stored
vectors when the index is opened). Only `avgdl` is frozen into a passage when it is indexed;
it drifts slowly as the corpus grows and is refreshed whenever a document is re-indexed.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sotay_assistant.vietnamese import bigrams, clauses, folded

K1 = 1.2
B = 0.75


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]

    def dot(self, other: SparseVector) -> float:
        mine = dict(zip(self.indices, self.values, strict=True))
        return sum(mine.get(i, 0.0) * v for i, v in zip(other.indices, other.values, strict=True))


@dataclass(frozen=True, slots=True)
class Terms:
    """Term counts of a text and its length in syllables (what BM25 normalises by)."""

    counts: Counter[str]
    length: int

    @property
    def ids(self) -> list[int]:
        return [term_id(term) for term in self.counts]


def term_id(term: str) -> int:
    """A stable 31-bit id (Qdrant sparse indices are uint32; collisions are negligible)."""
    digest = hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


def text_terms(text: str) -> Terms:
    """Folded syllables plus bigrams of neighbouring syllables within each clause."""
    counts: Counter[str] = Counter()
    length = 0
    for clause in clauses(text):
        syllables = folded(clause)
        length += len(syllables)
        counts.update(syllables)
        counts.update(bigrams(syllables))
    return Terms(counts, length)


def token_terms(tokens: Sequence[str]) -> Terms:
    """Terms of an already tokenised question (one clause)."""
    syllables = folded(tokens)
    return Terms(Counter(syllables) + Counter(bigrams(syllables)), len(syllables))


@dataclass
class Bm25Statistics:
    """Document frequencies and lengths of the indexed passages, kept in step with the index."""

    document_frequency: Counter[int] = field(default_factory=Counter)
    passages: int = 0
    total_length: int = 0

    def add(self, term_ids: Iterable[int], length: int) -> None:
        self.document_frequency.update(set(term_ids))
        self.passages += 1
        self.total_length += length

    def remove(self, term_ids: Iterable[int], length: int) -> None:
        for term in set(term_ids):
            self.document_frequency[term] -= 1
            if self.document_frequency[term] <= 0:
                del self.document_frequency[term]
        self.passages -= 1
        self.total_length -= length

    @property
    def average_length(self) -> float:
        return self.total_length / self.passages if self.passages else 1.0

    def idf(self, term: int) -> float:
        frequency = self.document_frequency.get(term, 0)
        return math.log(1 + (self.passages - frequency + 0.5) / (frequency + 0.5))

    def passage_vector(self, terms: Terms, average_length: float | None = None) -> SparseVector:
        """Saturated term frequencies, length-normalised against `average_length`."""
        norm = K1 * (1 - B + B * terms.length / (average_length or self.average_length))
        pairs = sorted(
            (term_id(term), count * (K1 + 1) / (count + norm))
            for term, count in terms.counts.items()
        )
        return SparseVector([i for i, _ in pairs], [v for _, v in pairs])

    def term_weights(self, terms: Terms) -> dict[str, float]:
        """IDF of each query term the index knows (times its count in the question); unknown
        terms are left out since they cannot match anyway."""
        weights: dict[str, float] = {}
        for term, count in terms.counts.items():
            identifier = term_id(term)
            if self.document_frequency.get(identifier, 0) > 0:
                weights[term] = count * self.idf(identifier)
        return weights

    def query_vector(self, weights: dict[str, float]) -> SparseVector:
        """The query side of BM25: each term's weight (from `term_weights`) at its id."""
        ordered = sorted((term_id(term), weight) for term, weight in weights.items())
        return SparseVector([i for i, _ in ordered], [v for _, v in ordered])
