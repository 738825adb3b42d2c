"""The events the assistant publishes (assistant.reindexed.v1), and its consumers: documents to
index or withdraw (group `assistant.index`) and the organisation tree that decides who sees
which documents (group `assistant.organizations`).

Indexing a document takes e5 half a minute for a charter, far too long for a consumer: the
handler only records the request in its transaction, and the index worker carries it out
(see `service.IndexWorker`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sotay_assistant import repository
from sotay_assistant.indexing import Decision, after_archived, after_published
from sotay_common.consumer import HandlerContext, Subscription
from sotay_common.events import Event
from sotay_common.events.assistant import AssistantReindexedV1
from sotay_common.events.content import DocumentArchivedV1, DocumentPublishedV1
from sotay_common.events.members import OrganizationCreatedV1, OrganizationUpdatedV1
from sotay_common.org_tree import apply_snapshot
from sotay_common.runtime import ConsumerDefinition

PUBLISHES: Sequence[type[Event]] = (AssistantReindexedV1,)
logger = logging.getLogger(__name__)


def reindexed(
    document_id: uuid.UUID, version: int, content_hash: str, chunk_count: int, *, removed: bool
) -> AssistantReindexedV1:
    return AssistantReindexedV1(
        document_id=document_id,
        version=version,
        content_hash=content_hash,
        chunk_count=chunk_count,
        removed=removed,
        indexed_at=datetime.now(UTC),
    )


async def on_document_published(ctx: HandlerContext, event: DocumentPublishedV1) -> None:
    conn = ctx.tx.conn
    current = await repository.document_state(conn, event.document_id, for_update=True)
    decision = after_published(current, event.version, event.content_hash)
    logger.info(
        "document published",
        extra={
            "document_id": str(event.document_id),
            "version": event.version,
            "decision": decision.value,
        },
    )
    if decision is not Decision.IGNORE:
        # RETAG too: the worker then only rewrites the version on the stored passages.
        await repository.request_indexing(conn, event)


async def on_document_archived(ctx: HandlerContext, event: DocumentArchivedV1) -> None:
    conn = ctx.tx.conn
    current = await repository.document_state(conn, event.document_id, for_update=True)
    if after_archived(current, event.version) is Decision.REMOVE:
        await repository.request_removal(conn, event.document_id, event.version)


async def on_organization(
    ctx: HandlerContext, event: OrganizationCreatedV1 | OrganizationUpdatedV1
) -> None:
    """Keeps the read model: the newest snapshot of each organisation wins, and a move
    re-derives the ancestry of everything below it."""
    await apply_snapshot(ctx.tx.conn, event)


CONSUMERS = [
    ConsumerDefinition(
        "assistant.index",
        [
            Subscription(DocumentPublishedV1, on_document_published),
            Subscription(DocumentArchivedV1, on_document_archived),
        ],
    ),
    ConsumerDefinition(
        "assistant.organizations",
        [
            Subscription(OrganizationCreatedV1, on_organization),
            Subscription(OrganizationUpdatedV1, on_organization),
        ],
    ),
]
