"""The demo corpus as the assistant receives it: `document.published.v1` events built the way
the content service builds them (regulations parsed into a structure, reading chapters for
the others), shared by the tests and bench/assistant.py; callers and an organisation tree for
the service tests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from qdrant_client import QdrantClient, models

from sotay_assistant.dense import DIMENSION, DenseEncoder
from sotay_assistant.index import DEFAULT_COLLECTION, DENSE, SPARSE, PassageIndex
from sotay_assistant.repository import OrganizationNode, upsert_organization
from sotay_assistant.retrieval import KnowledgeBase
from sotay_common.auth import Principal, Role
from sotay_common.consumer import HandlerContext, Record
from sotay_common.db import Database
from sotay_common.events import Event, EventEnvelope
from sotay_common.events.content import DocumentKind, DocumentPublishedV1, DocumentScope
from sotay_content.demo import DemoDocument, load_demo_documents
from sotay_content.documents import content_hash
from sotay_content.markup import markdown_to_text
from sotay_content.outline import chapters
from sotay_content.regulations import parse_regulation

_DEMO_NAMESPACE = uuid.UUID("0d4e7a2b-8c1f-5b3a-9e6d-2f4a1c8b7e90")
PUBLISHED_AT = datetime(2025, 3, 20, 8, 0, tzinfo=UTC)


def demo_document_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(_DEMO_NAMESPACE, slug)


def published_event(
    document: DemoDocument,
    *,
    version: int = 1,
    body: str | None = None,
    organization_id: uuid.UUID | None = None,
) -> DocumentPublishedV1:
    """The event of one demo document (its body replaced by `body` when given)."""
    raw = document.body if body is None else body
    structure = None
    if document.kind is DocumentKind.REGULATION:
        tree = parse_regulation(raw)
        text, structure = tree.text, tree.flat_nodes()
        reading = chapters(raw).chapters
    else:
        plain = markdown_to_text(raw) if document.body_format == "markdown" else raw
        outline = chapters(plain)
        text, reading = outline.text, outline.chapters
    return DocumentPublishedV1(
        document_id=demo_document_id(document.slug),
        version=version,
        kind=document.kind,
        title=document.title,
        number=document.number,
        issuing_body=document.issuer,
        issued_on=document.issued_on,
        tags=list(document.tags),
        scope=DocumentScope(organization_id=organization_id),
        content_hash=content_hash(
            kind=document.kind,
            title=document.title,
            body=raw,
            number=document.number,
            issuer=document.issuer,
            issued_on=document.issued_on,
        ),
        text=text,
        text_length=len(text),
        structure=structure,
        chapters=list(reading),
        published_at=PUBLISHED_AT,
    )


def demo_events() -> list[DocumentPublishedV1]:
    return [published_event(document) for document in load_demo_documents()]


def demo_document(slug: str) -> DemoDocument:
    return next(d for d in load_demo_documents() if d.slug == slug)


def slugs_by_id() -> dict[uuid.UUID, str]:
    return {demo_document_id(d.slug): d.slug for d in load_demo_documents()}


SMALL_RULES = """Điều 1. Sinh hoạt chi bộ
1. Chi bộ họp định kỳ mỗi tháng một lần vào ngày mùng 3.
2. Đảng viên vắng mặt phải báo cáo bí thư chi bộ và nêu lý do.

Điều 2. Đảng phí
1. Đảng viên đóng đảng phí hằng tháng tại chi bộ.
2. Đảng viên ốm đau dài ngày được xét miễn đảng phí.
"""


def small_rules(
    *,
    version: int = 1,
    body: str = SMALL_RULES,
    organization_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
) -> DocumentPublishedV1:
    """A short regulation (two Điều, four Khoản) as the content service would publish it."""
    event = published_event(
        demo_document("quy-dinh-sinh-hoat-chi-bo"),
        version=version,
        body=body,
        organization_id=organization_id,
    )
    return event.model_copy(update={"document_id": document_id or uuid.uuid4()})


class Callers:
    """Principals of each role, as tokens would give them."""

    @staticmethod
    def member(organization_id: uuid.UUID | None, subject: str | None = None) -> Principal:
        return Principal(
            subject=subject or f"member-{uuid.uuid4().hex[:8]}",
            roles=frozenset({Role.MEMBER}),
            organization_id=organization_id,
            member_id=uuid.uuid4(),
        )

    @staticmethod
    def committee_admin(organization_id: uuid.UUID) -> Principal:
        return Principal(
            subject=f"admin-{organization_id}",
            roles=frozenset({Role.COMMITTEE_ADMIN, Role.MEMBER}),
            organization_id=organization_id,
        )

    @staticmethod
    def system_admin() -> Principal:
        return Principal(subject="root", roles=frozenset({Role.SYSTEM_ADMIN}))


@dataclass(frozen=True)
class Tree:
    """Tỉnh → xã → two chi bộ, and a second xã with one chi bộ, in the read model."""

    province: OrganizationNode
    commune: OrganizationNode
    cell_a: OrganizationNode
    cell_b: OrganizationNode
    other_commune: OrganizationNode
    other_cell: OrganizationNode


async def build_tree(conn: asyncpg.Connection) -> Tree:
    def node(name: str, parent: OrganizationNode | None) -> OrganizationNode:
        return OrganizationNode(
            id=uuid.uuid4(),
            parent_id=parent.id if parent else None,
            ancestor_ids=parent.path_ids if parent else [],
            name=name,
            status="active",
            version=1,
        )

    province = node("Đảng bộ tỉnh Thanh Bình", None)
    commune = node("Đảng bộ xã Yên Mông", province)
    cell_a = node("Chi bộ thôn Đông", commune)
    cell_b = node("Chi bộ thôn Tây", commune)
    other_commune = node("Đảng bộ xã Vân Sơn", province)
    other_cell = node("Chi bộ thôn Bãi", other_commune)
    tree = Tree(province, commune, cell_a, cell_b, other_commune, other_cell)
    for org in (province, commune, cell_a, cell_b, other_commune, other_cell):
        await upsert_organization(conn, org)
    return tree


async def deliver(
    database: Database,
    handler: Callable[[HandlerContext, Any], Awaitable[None]],
    event: Event,
) -> None:
    """Runs a consumer handler on `event` in a transaction, as the consumer would."""
    envelope = EventEnvelope.for_event(event, source="/services/test")
    record = Record(
        topic=event.topic,
        partition=0,
        offset=0,
        key=event.aggregate_id.encode(),
        value=event.to_json_bytes(),
        headers=[(k, v.encode()) for k, v in envelope.headers().items()],
    )
    async with database.transaction() as tx:
        await handler(HandlerContext(tx, envelope, record), event)


def write_index_of_layout_1(path: str, encoder: DenseEncoder, *events: DocumentPublishedV1) -> None:
    """A local Qdrant folder as a version before latent terms left it: the passages of `events`
    in a collection holding the name itself, with the e5 and BM25 vectors only."""
    current = KnowledgeBase(PassageIndex.connect(), encoder)
    for event in events:
        current.index_document(event)
    points, _ = current.index.client.scroll(
        DEFAULT_COLLECTION, limit=10_000, with_payload=True, with_vectors=[DENSE, SPARSE]
    )
    current.index.close()
    earlier = QdrantClient(path=path)
    earlier.create_collection(
        DEFAULT_COLLECTION,
        vectors_config={DENSE: models.VectorParams(size=DIMENSION, distance=models.Distance.DOT)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams()},
    )
    earlier.upsert(
        DEFAULT_COLLECTION,
        [models.PointStruct(id=p.id, vector=p.vector or {}, payload=p.payload) for p in points],
    )
    earlier.close()
