"""The passage index in Qdrant: one collection, a named dense vector (e5), a named sparse vector
(BM25) and e5's latent terms (a second sparse vector, read back for ranking) per passage, the
chunk as payload; hybrid search fuses the BM25 and e5 rankings with RRF inside Qdrant.

Qdrant runs in local mode by default (`QdrantClient(path=...)` or `":memory:"`, brute force,
one process per path), or as a server when a URL is given.

Replacing a document's version: point ids derive from (document id, content hash, passage
number), so the new version's points are upserted beside the old ones, then every point of the
document with another content hash is deleted. Readers never see the document missing; for
the moment both versions are present, search keeps only the newest version of each document.
Re-publishing the same content (same hash) only rewrites the version number in the payloads.

The collection name is an alias of the collection of the current LAYOUT (the vectors stored per
passage). When it leads to one of an earlier layout (an upgrade: the latent terms came in layout
2), the new one is built beside it: writes go to the new collection while questions are still
answered from the old, the indexer re-indexes every recorded document into it
(sotay_assistant.service.IndexWorker.reconcile), and once it has caught up the alias is moved
and the old collection dropped (`finish_rebuild`). An old collection that holds the name itself
(not through an alias) is dropped just before the alias is made: searches in that instant fail.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from sotay_assistant.chunking import Chunk
from sotay_assistant.dense import DIMENSION, Vector
from sotay_assistant.sparse import SparseVector
from sotay_common.events.content import DocumentKind

DEFAULT_COLLECTION = "assistant_passages"
DENSE = "dense"
SPARSE = "bm25"
LATENT = "latent"
LAYOUT = 2  # raise when the vectors stored per passage change: the collection is rebuilt
_POINT_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e8f-9a0b-1c2d3e4f5a6b")
_SCROLL_PAGE = 256
_INDEXED_FIELDS = ("document_id", "kind", "organization_id", "content_hash")
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexedPassage:
    """What gets stored for one chunk."""

    chunk: Chunk
    dense: Vector
    sparse: SparseVector
    latent: SparseVector
    term_count: int


@dataclass(frozen=True, slots=True)
class PassageVectors:
    """What e5 makes of a passage's embedded text (reused while that text is unchanged)."""

    dense: Vector
    latent: SparseVector


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage read back from the index, with what the corpus statistics need."""

    chunk: Chunk
    sparse: SparseVector
    term_count: int


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    document_id: uuid.UUID
    version: int
    content_hash: str
    passages: int


@dataclass(frozen=True, slots=True)
class SearchScope:
    """Which passages a search may return. `organizations`: the asking member's organisation
    and its ancestors (documents scoped to any of them, or to nobody, are visible); None for
    no restriction."""

    document_ids: tuple[uuid.UUID, ...] = ()
    kinds: tuple[DocumentKind, ...] = ()
    organizations: tuple[uuid.UUID, ...] | None = None

    def admits(self, chunk: Chunk) -> bool:
        """Whether the search may return this passage (what `_scope_filter` asks of Qdrant)."""
        if self.document_ids and chunk.document_id not in self.document_ids:
            return False
        if self.kinds and chunk.kind not in self.kinds:
            return False
        if self.organizations is None or chunk.organization_id is None:
            return True
        return chunk.organization_id in self.organizations


@dataclass(frozen=True, slots=True)
class Hit:
    """A fused result with each retriever's own score (cosine, BM25) for this passage, the
    cosine of its latent terms with the question's, and the ranker's score once ranked."""

    chunk: Chunk
    fused: float
    dense: float
    sparse: float
    latent: float = 0.0
    ranked: float = 0.0


@dataclass(frozen=True, slots=True)
class FusionSettings:
    candidates: int = 30  # per retriever, before fusion
    rrf_k: int = 2  # Qdrant's default
    weights: tuple[float, float] = field(default=(1.0, 1.2))  # sparse, dense


class PassageIndex:
    def __init__(
        self,
        client: QdrantClient,
        collection: str = DEFAULT_COLLECTION,
        *,
        payload_indexes: bool = True,
    ) -> None:
        """`payload_indexes`: create keyword indexes for the filtered fields (a server uses
        them; local mode scans anyway and warns)."""
        self.client = client
        self.collection = collection  # the name questions are answered from
        self._target = collection  # the collection written to
        self._served_latent = True
        self.rebuilding = False
        self._open(payload_indexes)

    @classmethod
    def connect(
        cls, *, url: str | None = None, path: str = ":memory:", collection: str = DEFAULT_COLLECTION
    ) -> PassageIndex:
        """A Qdrant server when `url` is given, else local mode at `path` (or in memory)."""
        if url:
            return cls(QdrantClient(url=url), collection)
        local = QdrantClient(location=path) if path == ":memory:" else QdrantClient(path=path)
        return cls(local, collection, payload_indexes=False)

    def close(self) -> None:
        self.client.close()

    def _open(self, payload_indexes: bool) -> None:
        served = self._collection_named(self.collection)
        if served is not None and self._has_current_layout(served):
            self._target = served
            return
        self._target = f"{self.collection}-layout{LAYOUT}"
        try:
            self._create(self._target, payload_indexes)
            if served is None:
                self._point_name_at(self._target)
        except Exception:
            # another replica starting against the same server may have made them first
            if self._collection_named(self.collection) is None or not self.client.collection_exists(
                self._target
            ):
                raise
        if served is None:
            return
        logger.warning(
            "the passage collection is of an earlier layout: building the new one beside it",
            extra={"collection": served, "new": self._target},
        )
        self.rebuilding = True
        self._served_latent = False

    def _collection_named(self, name: str) -> str | None:
        """The collection `name` leads to: the one its alias points at, or the collection of
        that name; None when there is neither."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == name:
                return alias.collection_name
        return name if self.client.collection_exists(name) else None

    def _has_current_layout(self, collection: str) -> bool:
        sparse = self.client.get_collection(collection).config.params.sparse_vectors
        return bool(sparse and LATENT in sparse)

    def _create(self, collection: str, payload_indexes: bool) -> None:
        if self.client.collection_exists(collection):  # a rebuild that was interrupted
            return
        self.client.create_collection(
            collection,
            vectors_config={
                DENSE: models.VectorParams(size=DIMENSION, distance=models.Distance.DOT)
            },
            sparse_vectors_config={
                SPARSE: models.SparseVectorParams(),
                LATENT: models.SparseVectorParams(),
            },
        )
        for name in _INDEXED_FIELDS if payload_indexes else ():
            self.client.create_payload_index(collection, name, models.PayloadSchemaType.KEYWORD)

    def _point_name_at(self, collection: str, *, moving: bool = False) -> None:
        operations: list[models.AliasOperations] = [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(
                    collection_name=collection, alias_name=self.collection
                )
            )
        ]
        if moving:
            delete = models.DeleteAlias(alias_name=self.collection)
            operations.insert(0, models.DeleteAliasOperation(delete_alias=delete))
        self.client.update_collection_aliases(change_aliases_operations=operations)

    def finish_rebuild(self) -> bool:
        """Answers from the rebuilt collection and drops the old one; False when there was no
        rebuild. Call it once the new collection holds every document."""
        if not self.rebuilding:
            return False
        old = self._collection_named(self.collection)
        if old == self.collection:  # the name is the old collection's own, not an alias
            self.client.delete_collection(old)
            self._point_name_at(self._target)
        else:
            self._point_name_at(self._target, moving=old is not None)
            if old is not None and old != self._target:
                self.client.delete_collection(old)
        logger.info("the rebuilt passage collection answers now", extra={"new": self._target})
        self.rebuilding = False
        self._served_latent = True  # the new collection is of the current layout
        return True

    def refresh(self) -> None:
        """Reads again which collection answers (another process may have finished a
        rebuild)."""
        served = self._collection_named(self.collection)
        self._served_latent = served is not None and self._has_current_layout(served)
        if served == self._target:
            self.rebuilding = False

    # -- writing ------------------------------------------------------------------------------

    def replace_document(
        self, document_id: uuid.UUID, content_hash: str, passages: Sequence[IndexedPassage]
    ) -> None:
        """Makes `passages` (all of this content hash) the document's content."""
        if passages:
            self.client.upsert(self._target, [_point(p) for p in passages], wait=True)
        older = _document_filter(document_id, other_than_hash=content_hash)
        self.client.delete(self._target, models.FilterSelector(filter=older), wait=True)

    def remove_document(self, document_id: uuid.UUID) -> list[StoredPassage]:
        """Deletes every passage of the document; returns them. During a rebuild the old
        collection loses them too: an archived document is not cited meanwhile."""
        selector = _document_filter(document_id)
        if self.rebuilding:
            self._delete(self.collection, selector)
        return self._delete(self._target, selector)

    def set_version(self, document_id: uuid.UUID, version: int) -> None:
        self.client.set_payload(
            self._target,
            {"version": version},
            models.FilterSelector(filter=_document_filter(document_id)),
            wait=True,
        )

    def _delete(self, collection: str, selector: models.Filter) -> list[StoredPassage]:
        doomed = list(self._passages(collection, selector))
        if doomed:
            self.client.delete(collection, models.FilterSelector(filter=selector), wait=True)
        return doomed

    def stored_passages_of(self, document_id: uuid.UUID) -> Iterator[StoredPassage]:
        """The document's passages as written (in the new collection during a rebuild)."""
        return self._passages(self._target, _document_filter(document_id))

    # -- reading ------------------------------------------------------------------------------

    def stored_passages(self) -> Iterator[StoredPassage]:
        """Every passage questions are answered from, with its sparse vector."""
        return self._passages(self.collection, None)

    def _passages(self, collection: str, selector: models.Filter | None) -> Iterator[StoredPassage]:
        offset: Any = None
        while True:
            records, offset = self.client.scroll(
                collection,
                scroll_filter=selector,
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=True,
                with_vectors=[SPARSE],
            )
            for record in records:
                yield _stored(record.payload or {}, record.vector)
            if offset is None:
                return

    def indexed_document(self, document_id: uuid.UUID) -> IndexedDocument | None:
        """The newest indexed version of the document, or None."""
        versions: dict[tuple[int, str], int] = {}
        for passage in self.stored_passages_of(document_id):
            key = (passage.chunk.version, passage.chunk.content_hash)
            versions[key] = versions.get(key, 0) + 1
        if not versions:
            return None
        (version, content_hash), count = max(versions.items())
        return IndexedDocument(document_id, version, content_hash, count)

    def content_hashes(self) -> dict[uuid.UUID, str]:
        """The content hash of the newest indexed version of every document."""
        newest: dict[uuid.UUID, tuple[int, str]] = {}
        offset: Any = None
        while True:
            records, offset = self.client.scroll(
                self._target,
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=["document_id", "version", "content_hash"],
                with_vectors=False,
            )
            for record in records:
                payload = record.payload or {}
                document = uuid.UUID(str(payload["document_id"]))
                found = (int(payload["version"]), str(payload["content_hash"]))
                newest[document] = max(newest.get(document, found), found)
            if offset is None:
                return {document: content_hash for document, (_, content_hash) in newest.items()}

    def vectors_by_text(self, document_id: uuid.UUID) -> dict[str, PassageVectors]:
        """The stored e5 vectors of each embedded text of the document (reused when a new
        version keeps a passage unchanged), keyed by `text_key`."""
        found: dict[str, PassageVectors] = {}
        offset: Any = None
        while True:
            records, offset = self.client.scroll(
                self._target,
                scroll_filter=_document_filter(document_id),
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=["embed_text"],
                with_vectors=[DENSE, LATENT],
            )
            for record in records:
                vectors = record.vector
                if isinstance(vectors, dict) and record.payload:
                    found[text_key(str(record.payload["embed_text"]))] = PassageVectors(
                        np.asarray(vectors[DENSE], dtype=np.float32), _sparse(vectors, LATENT)
                    )
            if offset is None:
                return found

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count

    def search(
        self,
        dense: Vector,
        sparse: SparseVector,
        *,
        limit: int,
        latent: Callable[[], SparseVector] | None = None,
        scope: SearchScope | None = None,
        fusion: FusionSettings | None = None,
    ) -> list[Hit]:
        """Hybrid search: BM25 and dense candidates fused by RRF in Qdrant, newest versions.
        `latent` gives the question's latent terms, scored against each hit's; it is called
        once the candidates are found, so that they can be computed meanwhile."""
        fusion = fusion or FusionSettings()
        selector = _scope_filter(scope)
        prefetch = [
            models.Prefetch(
                query=models.SparseVector(indices=sparse.indices, values=sparse.values),
                using=SPARSE,
                limit=fusion.candidates,
                filter=selector,
            ),
            models.Prefetch(
                query=dense.tolist(), using=DENSE, limit=fusion.candidates, filter=selector
            ),
        ]
        weights = list(fusion.weights)
        if not sparse.indices:  # nothing in the question that the corpus contains
            prefetch, weights = prefetch[1:], weights[1:]
        response = self.client.query_points(
            self.collection,
            prefetch=prefetch,
            query=models.RrfQuery(rrf=models.Rrf(k=fusion.rrf_k, weights=weights)),
            limit=limit,
            with_payload=True,
            with_vectors=self._scored_vectors,
        )
        scores = [point.score for point in response.points]
        return _newest_versions(self._hits(response.points, scores, dense, sparse, latent))

    def passages(
        self,
        point_ids: Sequence[str],
        dense: Vector,
        sparse: SparseVector,
        latent: Callable[[], SparseVector] | None = None,
    ) -> list[Hit]:
        """These passages (`point_id`) as hits outside the fusion (scored 0 there), each with
        its retrievers' scores for the question; those no longer stored are left out."""
        if not point_ids:
            return []
        records = self.client.retrieve(
            self.collection, list(point_ids), with_payload=True, with_vectors=self._scored_vectors
        )
        return self._hits(records, [0.0] * len(records), dense, sparse, latent)

    @property
    def _scored_vectors(self) -> list[str]:
        """The vectors a hit is scored from (latent terms where the collection has them)."""
        return [DENSE, SPARSE, LATENT] if self._served_latent else [DENSE, SPARSE]

    def _hits(
        self,
        points: Sequence[models.ScoredPoint | models.Record],
        fused: Sequence[float],
        dense: Vector,
        sparse: SparseVector,
        latent: Callable[[], SparseVector] | None,
    ) -> list[Hit]:
        terms = latent() if latent and self._served_latent else None
        return [
            _hit(point, score, dense, sparse, terms)
            for point, score in zip(points, fused, strict=True)
        ]


def text_key(embed_text: str) -> str:
    return hashlib.sha256(embed_text.encode("utf-8")).hexdigest()


def point_id(chunk: Chunk) -> str:
    return str(
        uuid.uuid5(_POINT_NAMESPACE, f"{chunk.document_id}/{chunk.content_hash}/{chunk.seq}")
    )


def _point(passage: IndexedPassage) -> models.PointStruct:
    payload = passage.chunk.model_dump(mode="json")
    payload["term_count"] = passage.term_count
    return models.PointStruct(
        id=point_id(passage.chunk),
        vector={
            DENSE: passage.dense.tolist(),
            SPARSE: models.SparseVector(
                indices=passage.sparse.indices, values=passage.sparse.values
            ),
            LATENT: models.SparseVector(
                indices=passage.latent.indices, values=passage.latent.values
            ),
        },
        payload=payload,
    )


def _sparse(vectors: Any, name: str) -> SparseVector:
    found = vectors.get(name) if isinstance(vectors, dict) else None
    if not isinstance(found, models.SparseVector):
        raise RuntimeError(f"a stored passage has no {name} vector")
    return SparseVector(list(found.indices), list(found.values))


def _stored(payload: dict[str, Any], vectors: Any) -> StoredPassage:
    fields = {key: value for key, value in payload.items() if key != "term_count"}
    return StoredPassage(
        chunk=Chunk.model_validate(fields),
        sparse=_sparse(vectors, SPARSE),
        term_count=int(payload["term_count"]),
    )


def _hit(
    point: models.ScoredPoint | models.Record,
    fused: float,
    dense: Vector,
    sparse: SparseVector,
    latent: SparseVector | None,
) -> Hit:
    stored = _stored(point.payload or {}, point.vector)
    vectors = point.vector
    assert isinstance(vectors, dict)
    passage_dense = np.asarray(vectors[DENSE], dtype=np.float32)
    return Hit(
        chunk=stored.chunk,
        fused=fused,
        dense=float(passage_dense @ dense),
        sparse=stored.sparse.dot(sparse),
        latent=_sparse(vectors, LATENT).dot(latent) if latent else 0.0,
    )


def _newest_versions(hits: list[Hit]) -> list[Hit]:
    newest: dict[uuid.UUID, int] = {}
    for hit in hits:
        document = hit.chunk.document_id
        newest[document] = max(newest.get(document, 0), hit.chunk.version)
    return [hit for hit in hits if hit.chunk.version == newest[hit.chunk.document_id]]


def _document_filter(
    document_id: uuid.UUID, *, other_than_hash: str | None = None
) -> models.Filter:
    same_document = models.FieldCondition(
        key="document_id", match=models.MatchValue(value=str(document_id))
    )
    if other_than_hash is None:
        return models.Filter(must=[same_document])
    return models.Filter(
        must=[same_document],
        must_not=[
            models.FieldCondition(
                key="content_hash", match=models.MatchValue(value=other_than_hash)
            )
        ],
    )


def _scope_filter(scope: SearchScope | None) -> models.Filter | None:
    if scope is None:
        return None
    must: list[models.Condition] = []
    if scope.document_ids:
        must.append(
            models.FieldCondition(
                key="document_id", match=models.MatchAny(any=[str(d) for d in scope.document_ids])
            )
        )
    if scope.kinds:
        must.append(
            models.FieldCondition(
                key="kind", match=models.MatchAny(any=[k.value for k in scope.kinds])
            )
        )
    if scope.organizations is not None:
        visible: list[models.Condition] = [
            models.IsNullCondition(is_null=models.PayloadField(key="organization_id"))
        ]
        if scope.organizations:
            visible.append(
                models.FieldCondition(
                    key="organization_id",
                    match=models.MatchAny(any=[str(o) for o in scope.organizations]),
                )
            )
        must.append(models.Filter(should=visible))
    return models.Filter(must=must) if must else None
