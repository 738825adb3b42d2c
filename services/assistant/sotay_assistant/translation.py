"""Which words members use for a passage's words, learned from known questions.

A translation language model (Berger & Lafferty 1999; Xue, Jeon & Croft 2008, for finding
answers to questions): P(q | w), the probability that a member writes the folded syllable q
where the passage answering them says w ("tiền" for "phí", "đuổi" for "khai trừ"), is learned by
IBM Model 1 (expectation-maximisation) from the known questions (sotay_assistant.memory) paired
with the passages that answer them. A candidate passage then scores the mean log-probability of
the question's syllables: each either the passage's own (weight SELF) or one of its words
translated, mixed with a small constant for syllables neither explains.

Where the known-question overlap only helps a question that repeats a known one, this carries
single word associations to new questions. bench/assistant.py --calibrate fits it on the dev
split and writes data/translation.tsv (probabilities under FLOOR left out).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from sotay_assistant.vietnamese import folded, tokenize

PACKAGED = "data/translation.tsv"
SELF = 0.5  # weight of a syllable standing for itself
TRANSLATED = 0.5  # weight of the passage's words, translated, against UNEXPLAINED
UNEXPLAINED = 1e-4
FLOOR = 1e-3
ITERATIONS = 5
_NULL = ""  # the empty source word: question syllables no passage word stands for


def syllables(text: str) -> list[str]:
    """Folded syllables, the unit of translation."""
    return folded(tokenize(text))


@lru_cache(maxsize=8192)
def passage_syllables(text: str) -> tuple[tuple[str, float], ...]:
    """Each distinct syllable of a passage with its share of the passage's syllables."""
    counts = Counter(syllables(text))
    total = sum(counts.values())
    return tuple((word, count / total) for word, count in counts.items())


class TranslationTable:
    """P(question syllable | passage syllable), by question syllable."""

    def __init__(self, rows: Mapping[str, Mapping[str, float]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return sum(len(row) for row in self.rows.values())

    def likelihoods(
        self, question: Sequence[str], passage_texts: Sequence[str]
    ) -> npt.NDArray[np.float64]:
        """Mean log-probability of the question's syllables given each passage."""
        if not question or not passage_texts:
            return np.zeros(len(passage_texts))
        passages = [passage_syllables(text) for text in passage_texts]
        columns: dict[str, int] = {}
        for words in passages:
            for word, _ in words:
                columns.setdefault(word, len(columns))
        shares = np.zeros((len(passages), len(columns)))
        for row, words in enumerate(passages):
            for word, share in words:
                shares[row, columns[word]] = share
        # what each passage word stands for, per question syllable
        meaning = np.zeros((len(question), len(columns)))
        for row, syllable in enumerate(question):
            for word, probability in self.rows.get(syllable, {}).items():
                if word in columns:
                    meaning[row, columns[word]] = (1 - SELF) * probability
            if syllable in columns:
                meaning[row, columns[syllable]] += SELF
        explained = shares @ meaning.T
        logs = np.log(TRANSLATED * explained + (1 - TRANSLATED) * UNEXPLAINED)
        return np.asarray(logs.mean(axis=1), dtype=np.float64)

    def to_text(self) -> str:
        lines = ["question\tpassage\tprobability"]
        lines += [
            f"{q}\t{w}\t{p:.6f}"
            for q, row in sorted(self.rows.items())
            for w, p in sorted(row.items())
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> TranslationTable:
        rows: dict[str, dict[str, float]] = defaultdict(dict)
        for line in text.splitlines()[1:]:
            question, passage, probability = line.split("\t")
            rows[question][passage] = float(probability)
        return cls(dict(rows))


def fit_translation(
    pairs: Iterable[tuple[Sequence[str], Sequence[str]]], *, iterations: int = ITERATIONS
) -> TranslationTable:
    """IBM Model 1 over (question syllables, passage syllables) pairs, from a uniform start."""
    pairs = [(question, [*passage, _NULL]) for question, passage in pairs if question]
    probability: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)
    for _ in range(iterations):
        counts: dict[tuple[str, str], float] = defaultdict(float)
        totals: dict[str, float] = defaultdict(float)
        for question, passage in pairs:
            for syllable in question:
                norm = sum(probability[syllable, word] for word in passage)
                for word in passage:
                    share = probability[syllable, word] / norm
                    counts[syllable, word] += share
                    totals[word] += share
        probability = defaultdict(
            float, {(q, w): count / totals[w] for (q, w), count in counts.items()}
        )
    rows: dict[str, dict[str, float]] = defaultdict(dict)
    for (question, word), p in probability.items():
        if word != _NULL and p >= FLOOR:
            rows[question][word] = p
    return TranslationTable(dict(rows))


@cache
def default_translation() -> TranslationTable:
    source = resources.files("sotay_assistant").joinpath(PACKAGED)
    return TranslationTable.from_text(source.read_text(encoding="utf-8"))
