"""The knowledge base: indexes published documents and finds the passages that answer a
question, keeping the corpus statistics (BM25 document frequencies, the diacritics model) in
step with what the index holds.

On start the statistics are rebuilt from the stored passages, so Qdrant is the one source of
truth; afterwards every indexing or removal updates them. One process writes to a given
collection (local mode allows no other; with a server, run one indexer and call `reload`
in readers after it reports a change).

Thread-safe: reads and writes of the index and the statistics take one lock, but e5 runs
outside it, so questions are answered while a document's passages are being encoded (the
encoder serialises its own calls, a small batch at a time). One thread indexes at a time.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial

from sotay_assistant.chunking import Chunk, chunk_document
from sotay_assistant.dense import DenseEncoder, Vector
from sotay_assistant.diacritics import DiacriticsRestorer, Restoration, typed_with_diacritics
from sotay_assistant.index import (
    FusionSettings,
    Hit,
    IndexedDocument,
    IndexedPassage,
    PassageIndex,
    PassageVectors,
    SearchScope,
    StoredPassage,
    point_id,
    text_key,
)
from sotay_assistant.memory import (
    Grams,
    KnownQuestion,
    QuestionMemory,
    passage_key,
    question_grams,
)
from sotay_assistant.rerank import (
    DEFAULT_DEPTH,
    RankedQuestion,
    Ranker,
    default_ranker,
    rerank,
)
from sotay_assistant.sparse import Bm25Statistics, SparseVector, Terms, text_terms, token_terms
from sotay_assistant.translation import TranslationTable, default_translation, syllables
from sotay_assistant.vietnamese import expand_abbreviations, regulation_wording
from sotay_common.events.content import DocumentPublishedV1

DEFAULT_LIMIT = 10
# Passages whose known questions the question repeats most, ranked beside the fused candidates:
# a question worded like known ones may share too few words with their passage to be fused.
# For 8 of the 11 dev questions whose answer is not among the fused candidates, it is among
# the first 3 so found (by other authors' questions).
REMEMBERED_CANDIDATES = 3
# What a word of the regulation's wording weighs in BM25 against the same word typed: it is a
# likely reading of the question, not what was asked.
REGULATION_WORDING_WEIGHT = 0.5
_ENCODE_BATCH = 8  # a question asked meanwhile waits for at most one batch


class IndexOutcome(StrEnum):
    INDEXED = "indexed"  # new content is searchable
    UNCHANGED = "unchanged"  # same content hash as indexed (version number updated if newer)
    STALE = "stale"  # an older version than the one indexed: ignored


@dataclass(frozen=True, slots=True)
class IndexReport:
    outcome: IndexOutcome
    document_id: uuid.UUID
    version: int
    content_hash: str
    passages: int
    reused_vectors: int = 0


@dataclass(frozen=True, slots=True)
class Question:
    """A question as the retrievers read it."""

    typed: str
    expanded: str  # abbreviations written out
    restoration: Restoration  # diacritics restored, typos fixed
    terms: Terms
    regulation_words: tuple[str, ...]  # how the regulations say what the question says

    @property
    def dense_text(self) -> str:
        return " ".join([*self.restoration.tokens, *self.regulation_words])


@dataclass(frozen=True, slots=True)
class SearchResult:
    question: Question
    hits: list[Hit]
    question_weights: dict[str, float]  # folded term -> IDF, for the terms the corpus knows
    wording_weights: dict[str, float]  # the same for the terms of its regulation wording
    memory: QuestionMemory  # the known questions it was ranked against
    grams: Grams  # the question's, as the known questions are compared (question_grams)
    translation: TranslationTable  # what the question's words may stand for

    @property
    def term_weights(self) -> dict[str, float]:
        """What BM25 searched for: the question's terms, and its regulation wording at a lower
        weight."""
        weights = dict(self.question_weights)
        for term, weight in self.wording_weights.items():
            weights[term] = max(weights.get(term, 0.0), REGULATION_WORDING_WEIGHT * weight)
        return weights

    @property
    def sparse_ceiling(self) -> float:
        """Sum of the question's IDF weights: about what a passage matching every term scores."""
        return sum(self.term_weights.values())

    def ranked_question(self) -> RankedQuestion:
        """What the ranking of candidates reads of the question."""
        return RankedQuestion(
            self.question.restoration.tokens,
            self.question_weights,
            self.wording_weights,
            self.sparse_ceiling,
            self.asked_before,
            partial(self.translation.likelihoods, syllables(self.question.dense_text)),
        )

    def asked_before(self, passage_text: str) -> float:
        """How closely the question repeats one the passage is known to answer."""
        return self.memory.asked_before(self.grams, passage_key(passage_text))

    @property
    def unknown_share(self) -> float:
        """Share of the question's syllables that the indexed text never uses."""
        tokens = self.question.restoration.tokens
        return len(self.question.restoration.unknown) / len(tokens) if tokens else 1.0


class KnowledgeBase:
    def __init__(
        self,
        index: PassageIndex,
        encoder: DenseEncoder,
        *,
        fusion: FusionSettings | None = None,
        ranker: Ranker | None = None,
        rerank: bool = True,
        translation: TranslationTable | None = None,
    ) -> None:
        """`ranker`: the second stage over the fused candidates (the packaged one by default);
        `rerank=False` keeps the fused order. `translation`: the packaged one by default when
        re-ranking."""
        self.index = index
        self.encoder = encoder
        self.fusion = fusion or FusionSettings()
        self.ranker = (ranker or default_ranker()) if rerank else None
        self.statistics = Bm25Statistics()
        self.restorer = DiacriticsRestorer()
        self.memory = QuestionMemory()
        # passage_key -> its points, how many times counted (sotay_assistant.index.point_id)
        self._points: dict[str, Counter[str]] = defaultdict(Counter)
        if translation is None:
            translation = default_translation() if rerank else TranslationTable({})
        self.translation = translation
        self._lock = threading.RLock()
        self._latent_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="latent-terms")
        self.reload()

    def reload(self) -> None:
        """Rebuilds the corpus statistics from the stored passages."""
        statistics, restorer = Bm25Statistics(), DiacriticsRestorer()
        with self._lock:
            self.index.refresh()
            self.statistics, self.restorer = statistics, restorer
            self._points = defaultdict(Counter)
            self._count(self.index.stored_passages(), sign=+1)

    @property
    def rebuilding(self) -> bool:
        """Whether documents are being indexed into a new collection beside the one that
        answers (sotay_assistant.index)."""
        return self.index.rebuilding

    def finish_rebuild(self) -> bool:
        """Answers from the rebuilt collection (its statistics counted afresh: while it was
        built, both collections' passages were counted)."""
        with self._lock:
            if not self.index.finish_rebuild():
                return False
        self.reload()
        return True

    # -- indexing -----------------------------------------------------------------------------

    def index_document(self, document: DocumentPublishedV1, text: str | None = None) -> IndexReport:
        """Makes this version what the assistant answers from (idempotent per content hash)."""
        with self._lock:
            indexed = self.index.indexed_document(document.document_id)
            if indexed is not None:
                skipped = self._skip(document, indexed)
                if skipped is not None:
                    return skipped
            known = self.index.vectors_by_text(document.document_id)
        chunks = chunk_document(document, text)
        terms = [text_terms(chunk.embed_text) for chunk in chunks]
        vectors, reused = self._vectors(chunks, known)
        with self._lock:
            average = self._average_length_with(terms, indexed)
            passages = [
                IndexedPassage(
                    chunk=chunk,
                    dense=vector.dense,
                    sparse=self.statistics.passage_vector(chunk_terms, average),
                    latent=vector.latent,
                    term_count=chunk_terms.length,
                )
                for chunk, chunk_terms, vector in zip(chunks, terms, vectors, strict=True)
            ]
            previous = list(self.index.stored_passages_of(document.document_id))
            self.index.replace_document(document.document_id, document.content_hash, passages)
            self._count(previous, sign=-1)
            self._count((StoredPassage(p.chunk, p.sparse, p.term_count) for p in passages), sign=+1)
        return IndexReport(
            IndexOutcome.INDEXED,
            document.document_id,
            document.version,
            document.content_hash,
            len(passages),
            reused,
        )

    def remove_document(self, document_id: uuid.UUID) -> int:
        """Withdraws the document (archived): nothing of it can be cited any more."""
        with self._lock:
            removed = self.index.remove_document(document_id)
            self._count(removed, sign=-1)
        return len(removed)

    def indexed_document(self, document_id: uuid.UUID) -> IndexedDocument | None:
        with self._lock:
            return self.index.indexed_document(document_id)

    def indexed_hashes(self) -> dict[uuid.UUID, str]:
        """Content hash of every indexed document."""
        with self._lock:
            return self.index.content_hashes()

    def _skip(self, document: DocumentPublishedV1, indexed: IndexedDocument) -> IndexReport | None:
        if document.version < indexed.version:
            outcome = IndexOutcome.STALE
        elif document.content_hash == indexed.content_hash:
            outcome = IndexOutcome.UNCHANGED
            if document.version != indexed.version:
                self.index.set_version(document.document_id, document.version)
        else:
            return None
        return IndexReport(
            outcome, document.document_id, document.version, indexed.content_hash, indexed.passages
        )

    def _vectors(
        self, chunks: Sequence[Chunk], known: dict[str, PassageVectors]
    ) -> tuple[list[PassageVectors], int]:
        """e5's vectors of the chunks, reusing those stored for unchanged passages (`known`)."""
        missing = [c for c in chunks if text_key(c.embed_text) not in known]
        for start in range(0, len(missing), _ENCODE_BATCH):
            batch = missing[start : start + _ENCODE_BATCH]
            latent = self.encoder.latent_terms([chunk.embed_text for chunk in batch])
            for chunk, dense, terms in zip(batch, self._encode(batch), latent, strict=True):
                known[text_key(chunk.embed_text)] = PassageVectors(dense, terms)
        return [known[text_key(c.embed_text)] for c in chunks], len(chunks) - len(missing)

    def _encode(self, chunks: Sequence[Chunk]) -> list[Vector]:
        """The mean of the passage embedded with its context (Điều heading, lead-in) and
        alone: the first finds the right Điều, the second tells its Khoản apart, and their
        mean scores a question by the mean of both cosines (dot product in the index)."""
        with_context = self.encoder.passages([c.embed_text for c in chunks])
        alone_texts = [c.text for c in chunks if c.embed_text != c.text]
        alone = iter(self.encoder.passages(alone_texts))
        return [
            (vector + next(alone)) / 2 if chunk.embed_text != chunk.text else vector
            for chunk, vector in zip(chunks, with_context, strict=True)
        ]

    def _average_length_with(
        self, terms: Sequence[Terms], indexed: IndexedDocument | None
    ) -> float:
        """Average passage length once this document is in (its old version left out roughly:
        the old and new versions of a document are of similar length)."""
        stats = self.statistics
        passages = stats.passages - (indexed.passages if indexed else 0) + len(terms)
        length = stats.total_length + sum(t.length for t in terms)
        if indexed and stats.passages:
            length -= round(indexed.passages * stats.average_length)
        return max(length, 1) / max(passages, 1)

    def _count(self, passages: Iterable[StoredPassage], *, sign: int) -> None:
        for passage in passages:
            self._count_point(passage.chunk, sign)
            if sign > 0:
                self.statistics.add(passage.sparse.indices, passage.term_count)
                self.restorer.add_text(passage.chunk.embed_text)
            else:
                self.statistics.remove(passage.sparse.indices, passage.term_count)
                self.restorer.remove_text(passage.chunk.embed_text)

    def _count_point(self, chunk: Chunk, sign: int) -> None:
        key, point = passage_key(chunk.text), point_id(chunk)
        points = self._points[key]
        points[point] += sign
        if points[point] <= 0:
            del points[point]
        if not points:
            del self._points[key]

    # -- searching ----------------------------------------------------------------------------

    def read_question(self, question: str) -> Question:
        expanded = expand_abbreviations(question)
        plain_as_typed = typed_with_diacritics(question)
        with self._lock:
            restoration = self.restorer.restore(expanded, plain_as_typed=plain_as_typed)
        tokens = restoration.tokens
        wording = tuple(regulation_wording(tokens))
        return Question(question, expanded, restoration, token_terms(tokens), wording)

    def remember(self, known: Iterable[KnownQuestion], *, replacing: str = "") -> int:
        """Adds questions whose answering passage is known (those it holds already are
        skipped); returns how many were added. `replacing`: a source prefix ("answer:") whose
        questions not in `known` are forgotten."""
        known = list(known)
        if replacing:
            kept = {q.source for q in known}
            self.memory.forget(lambda source: source.startswith(replacing) and source not in kept)
        added = 0
        for question in known:
            if not self.memory.knows(question.source, question.passage):
                grams = question_grams(self.read_question(question.question).dense_text)
                added += self.memory.add(question.source, question.passage, grams)
        self.memory.prepare()
        return added

    def search(
        self,
        question: str,
        *,
        limit: int = DEFAULT_LIMIT,
        scope: SearchScope | None = None,
        memory: QuestionMemory | None = None,
        translation: TranslationTable | None = None,
    ) -> SearchResult:
        """The `limit` best passages: the ranker's first (of its candidates only), or the
        fused order without one. `memory`, `translation`: what the ranker reads instead of this
        knowledge base's."""
        if self.ranker is None:
            return self._find(question, limit, 0, scope, memory, translation)
        found = self.candidates(question, scope=scope, memory=memory, translation=translation)
        return replace(found, hits=rerank(found.hits, found.ranked_question(), self.ranker)[:limit])

    def candidates(
        self,
        question: str,
        *,
        scope: SearchScope | None = None,
        memory: QuestionMemory | None = None,
        translation: TranslationTable | None = None,
    ) -> SearchResult:
        """What the ranker orders, unranked: the first fused candidates (as many as it was
        fitted on), then those of the REMEMBERED_CANDIDATES passages the known questions point
        to that are not among them."""
        depth = self.ranker.depth if self.ranker else DEFAULT_DEPTH
        return self._find(question, depth, REMEMBERED_CANDIDATES, scope, memory, translation)

    def _find(
        self,
        question: str,
        fused: int,
        remembered: int,
        scope: SearchScope | None,
        memory: QuestionMemory | None,
        translation: TranslationTable | None,
    ) -> SearchResult:
        read = self.read_question(question)
        with self._lock:
            asked = self.statistics.term_weights(read.terms)
            wording = self.statistics.term_weights(token_terms(read.regulation_words))
        result = SearchResult(
            read,
            [],
            asked,
            wording,
            self.memory if memory is None else memory,
            question_grams(read.dense_text),
            self.translation if translation is None else translation,
        )
        sparse = self.statistics.query_vector(result.term_weights)
        # e5 runs in C without the interpreter lock, and reads latent terms on an engine of its
        # own: they are read while the question's vector is computed and Qdrant looks for the
        # candidates.
        latent_terms = self._latent_reader.submit(self.encoder.latent_terms, [read.dense_text])
        dense = self.encoder.query(read.dense_text)

        def latent() -> SparseVector:
            return latent_terms.result()[0]

        with self._lock:
            hits = self.index.search(
                dense, sparse, limit=fused, latent=latent, scope=scope, fusion=self.fusion
            )
            hits += self._remembered(result, hits, remembered, scope, (dense, sparse, latent))
        return replace(result, hits=hits)

    def _remembered(
        self,
        result: SearchResult,
        fused: Sequence[Hit],
        count: int,
        scope: SearchScope | None,
        question: tuple[Vector, SparseVector, Callable[[], SparseVector]],
    ) -> list[Hit]:
        """Hits of the passages the known questions point to that are not fused candidates."""
        if count < 1:  # the lookup is not even built
            return []
        found = {point_id(hit.chunk) for hit in fused}
        points = [
            point
            for passage, _ in result.memory.most_asked(result.grams, count)
            for point in self._points.get(passage, ())
            if point not in found
        ]
        hits = self.index.passages(points, *question)
        return [hit for hit in hits if scope is None or scope.admits(hit.chunk)]
