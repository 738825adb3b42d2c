"""Builders for the voice service tests: published-document events as they come from Kafka,
and a consumer to hand them to."""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sotay_common.consumer import EventConsumer, Outcome, Record, RetryPolicy
from sotay_common.db import Database
from sotay_common.events import Event, EventEnvelope
from sotay_common.events.content import (
    Chapter,
    DocumentArchivedV1,
    DocumentKind,
    DocumentPublishedV1,
    DocumentScope,
)
from sotay_common.events.members import (
    OrganizationCreatedV1,
    OrganizationStatus,
    OrganizationType,
)
from sotay_common.metrics import Metrics
from sotay_voice.events import consumers
from sotay_voice.service import DocumentAudio
from sotay_voice.studio import Studio

REGULATION = """QUY ĐỊNH VỀ SINH HOẠT CHI BỘ
Điều 1. Phạm vi điều chỉnh
Quy định này hướng dẫn Nghị quyết 01-NQ/TU ngày 10/8/2021 của BTV Tỉnh ủy.
Điều 2. Đối tượng áp dụng
Đảng viên trong Đảng bộ tỉnh, gồm 45.678 đồng chí sinh hoạt tại 1.204 chi bộ."""

NEWS = "Sáng 5/3, Tỉnh ủy tổ chức hội nghị. Các đồng chí đã thảo luận kế hoạch năm 2025."


def chapters_of(text: str) -> list[Chapter]:
    """Per Điều, as the content service sends them for regulations."""
    starts = [i for i in range(len(text)) if text.startswith("Điều ", i)]
    bounds = [*starts, len(text)]
    return [
        Chapter(
            title=text[start:].split("\n", 1)[0],
            anchor=f"dieu-{n}",
            start=start,
            end=bounds[n],
        )
        for n, start in enumerate(starts, start=1)
    ]


def published(
    text: str = REGULATION,
    *,
    document_id: uuid.UUID | None = None,
    version: int = 1,
    kind: DocumentKind = DocumentKind.REGULATION,
    scope_org: uuid.UUID | None = None,
    ancestors: Sequence[uuid.UUID] = (),
    text_ref: str | None = None,
) -> DocumentPublishedV1:
    return DocumentPublishedV1(
        document_id=document_id or uuid.uuid4(),
        version=version,
        kind=kind,
        title="Quy định về sinh hoạt chi bộ",
        scope=DocumentScope(organization_id=scope_org, ancestor_ids=list(ancestors)),
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        text=None if text_ref else text,
        text_ref=text_ref,
        text_length=len(text),
        chapters=chapters_of(text),
        published_at=datetime.now(UTC),
    )


def archived(document_id: uuid.UUID, version: int = 1) -> DocumentArchivedV1:
    return DocumentArchivedV1(
        document_id=document_id, version=version, archived_at=datetime.now(UTC)
    )


def organization(
    org_id: uuid.UUID, parent_id: uuid.UUID | None, version: int = 1
) -> OrganizationCreatedV1:
    return OrganizationCreatedV1(
        organization_id=org_id,
        version=version,
        code=org_id.hex[:8],
        name="Chi bộ",
        type=OrganizationType.CELL if parent_id else OrganizationType.PROVINCE_COMMITTEE,
        parent_id=parent_id,
        ancestor_ids=[parent_id] if parent_id else [],
        status=OrganizationStatus.ACTIVE,
        occurred_at=datetime.now(UTC),
    )


def record(event: Event, *, offset: int = 7, event_id: uuid.UUID | None = None) -> Record:
    """The Kafka record the content (or members) service would have published."""
    envelope = EventEnvelope.for_event(event, source="/services/content")
    headers = envelope.headers() | ({"ce_id": str(event_id)} if event_id else {})
    return Record(
        topic=event.topic,
        partition=0,
        offset=offset,
        key=event.aggregate_id.encode(),
        value=event.to_json_bytes(),
        headers=[(k, v.encode()) for k, v in headers.items()],
    )


class CapturedDeadLetters:
    """A `RecordSender` that keeps what the consumer dead-letters (Kafka is not under test)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def send(self, topic: str, *, key: bytes, value: bytes, headers: dict[str, str]) -> Any:
        import asyncio

        self.records.append({"topic": topic, "key": key, "value": value, "headers": headers})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class Consumers:
    """The service's real consumers (groups voice.render and voice.organizations)."""

    def __init__(self, database: Database, studio: Studio) -> None:
        self.dead_letters = CapturedDeadLetters()
        definitions = consumers(DocumentAudio(studio))
        self.by_topic = {}
        for definition in definitions:
            consumer = EventConsumer(
                group=definition.group,
                database=database,
                subscriptions=definition.subscriptions,
                dead_letters=self.dead_letters,
                metrics=Metrics("voice"),
                retry=RetryPolicy(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02),
            )
            for topic in consumer.topics:
                self.by_topic[topic] = consumer

    async def deliver(self, event: Event, **kwargs: Any) -> Outcome:
        return await self.by_topic[event.topic].process(record(event, **kwargs))
