"""The events the content service publishes, and the organisation events it consumes to keep
its read model of the party organisation tree.

Text by claim check: `document.published.v1` carries the plain text inline when its UTF-8 is at
most `INLINE_TEXT_LIMIT_BYTES` (512 KiB) and the whole event stays under `MAX_INLINE_EVENT_BYTES`;
otherwise `text` is null and `text_ref` is the key of the immutable text in the content store
(`text_object_key`), also served at `GET /documents/{id}/versions/{version}/text`. A version
whose event would pass `MAX_EVENT_BYTES` even without its text (a structure of many thousand
nodes) is not published at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sotay_common.consumer import HandlerContext, Subscription
from sotay_common.events import Event
from sotay_common.events.content import (
    INLINE_TEXT_LIMIT_BYTES,
    DocumentArchivedV1,
    DocumentPublishedV1,
    DocumentScope,
)
from sotay_common.events.members import OrganizationCreatedV1, OrganizationUpdatedV1
from sotay_common.org_tree import apply_snapshot
from sotay_common.runtime import ConsumerDefinition
from sotay_content.domain import PublishedVersion

PUBLISHES: Sequence[type[Event]] = (DocumentPublishedV1, DocumentArchivedV1)

# Kafka's default message limit is 1 MiB; a dense regulation's structure can be a few hundred
# kB beside its text, so the text also goes by reference when the whole event would pass this.
MAX_INLINE_EVENT_BYTES = 900_000
MAX_EVENT_BYTES = 1_000_000


def text_object_key(document_id: uuid.UUID, version: int) -> str:
    return f"documents/{document_id}/versions/{version}/text.txt"


def document_published(
    version: PublishedVersion, *, text_ref: str | None = None
) -> DocumentPublishedV1:
    """The event of a published version: text inline, or by reference when `text_ref` is
    given."""
    content = version.content
    rendition = version.rendition
    return DocumentPublishedV1(
        document_id=version.document_id,
        version=version.version,
        kind=content.kind,
        title=content.title,
        summary=content.summary,
        number=content.number,
        issuing_body=content.issuing_body,
        issued_on=content.issued_on,
        language=content.language,
        tags=list(content.tags),
        scope=DocumentScope(
            organization_id=content.scope_org_id, ancestor_ids=version.scope_ancestor_ids
        ),
        content_hash=rendition.content_hash,
        text=None if text_ref else rendition.plain_text,
        text_ref=text_ref,
        text_length=len(rendition.plain_text),
        structure=rendition.structure,
        chapters=rendition.chapters,
        published_at=version.published_at,
        published_by=version.published_by,
    )


def fits_inline(event: DocumentPublishedV1) -> bool:
    """Whether the event may carry its text itself (see the module doc)."""
    text = event.text or ""
    return (
        len(text.encode("utf-8")) <= INLINE_TEXT_LIMIT_BYTES
        and len(event.to_json_bytes()) <= MAX_INLINE_EVENT_BYTES
    )


def fits(event: DocumentPublishedV1) -> bool:
    """Whether the event can be published at all (under Kafka's default message limit)."""
    return len(event.to_json_bytes()) <= MAX_EVENT_BYTES


def document_archived(
    document_id: uuid.UUID, version: int, *, archived_at: datetime, archived_by: str
) -> DocumentArchivedV1:
    return DocumentArchivedV1(
        document_id=document_id,
        version=version,
        archived_at=archived_at,
        archived_by=archived_by,
    )


async def on_organization(
    ctx: HandlerContext, event: OrganizationCreatedV1 | OrganizationUpdatedV1
) -> None:
    """Keeps the read model: the newest snapshot of each organisation wins, and a move
    re-derives the ancestry of everything below it."""
    await apply_snapshot(ctx.tx.conn, event)


ORGANIZATIONS_GROUP = "content.organizations"


CONSUMERS = [
    ConsumerDefinition(
        ORGANIZATIONS_GROUP,
        [
            Subscription(OrganizationCreatedV1, on_organization),
            Subscription(OrganizationUpdatedV1, on_organization),
        ],
    )
]
