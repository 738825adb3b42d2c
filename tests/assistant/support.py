"""The demo corpus as the assistant receives it: `document.published.v1` events built the way
the content service builds them (regulations parsed into a structure, reading chapters for
the others). Shared by the tests and bench/assistant.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

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
