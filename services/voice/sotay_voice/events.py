"""The events the voice service publishes, and its consumers: published documents become
render jobs, archived ones lose their audio; the organisation tree feeds the scope checks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from sotay_common.consumer import HandlerContext, Subscription
from sotay_common.events import Event
from sotay_common.events.content import DocumentArchivedV1, DocumentPublishedV1
from sotay_common.events.members import OrganizationCreatedV1, OrganizationUpdatedV1
from sotay_common.events.voice import (
    AudioChapter,
    AudioFormat,
    AudioRenderedV1,
    AudioWithdrawnV1,
)
from sotay_common.runtime import ConsumerDefinition
from sotay_voice import encode
from sotay_voice.repository import Document, Render

PUBLISHES: Sequence[type[Event]] = (AudioRenderedV1, AudioWithdrawnV1)
RENDER_GROUP = "voice.render"
ORGANIZATIONS_GROUP = "voice.organizations"
EVENT_FORMAT_NAMES = {encode.AudioFormat.OPUS: "ogg_opus", encode.AudioFormat.MP3: "mp3"}


def audio_url(document_id: uuid.UUID, audio_format: encode.AudioFormat) -> str:
    return f"/documents/{document_id}/audio?format={audio_format.value}"


def audio_formats(document_id: uuid.UUID, render: Render) -> list[AudioFormat]:
    formats = []
    for audio_format in encode.AudioFormat:
        stored = render.files.get(audio_format.value)
        if stored is None:
            continue
        spec = encode.FORMATS[audio_format]
        formats.append(
            AudioFormat(
                format=EVENT_FORMAT_NAMES[audio_format],
                content_type=spec.mime_type,
                size_bytes=int(stored["size"]),
                bitrate_kbps=spec.bitrate // 1000,
                url=audio_url(document_id, audio_format),
            )
        )
    return formats


def audio_rendered(document: Document, render: Render) -> AudioRenderedV1:
    assert render.duration_s is not None
    assert render.finished_at is not None
    return AudioRenderedV1(
        document_id=document.id,
        version=document.version,
        content_hash=render.content_hash,
        voice=render.voice,
        engine=render.engine,
        duration_seconds=round(render.duration_s, 3),
        formats=audio_formats(document.id, render),
        chapters=[
            AudioChapter(
                title=chapter["title"],
                anchor=chapter["anchor"],
                offset_seconds=chapter["offset_seconds"],
            )
            for chapter in render.chapters
        ],
        rendered_at=render.finished_at,
    )


def audio_withdrawn(document_id: uuid.UUID) -> AudioWithdrawnV1:
    return AudioWithdrawnV1(document_id=document_id, withdrawn_at=datetime.now(UTC))


class DocumentHandlers(Protocol):
    """The handlers of the service layer (service.DocumentAudio)."""

    async def on_published(self, ctx: HandlerContext, event: DocumentPublishedV1) -> None: ...

    async def on_archived(self, ctx: HandlerContext, event: DocumentArchivedV1) -> None: ...

    async def on_organization(
        self, ctx: HandlerContext, event: OrganizationCreatedV1 | OrganizationUpdatedV1
    ) -> None: ...


def consumers(handlers: DocumentHandlers) -> list[ConsumerDefinition]:
    """Documents' events in one group, so a document's publish and archive keep their order."""
    return [
        ConsumerDefinition(
            RENDER_GROUP,
            [
                Subscription(DocumentPublishedV1, handlers.on_published),
                Subscription(DocumentArchivedV1, handlers.on_archived),
            ],
        ),
        ConsumerDefinition(
            ORGANIZATIONS_GROUP,
            [
                Subscription(OrganizationCreatedV1, handlers.on_organization),
                Subscription(OrganizationUpdatedV1, handlers.on_organization),
            ],
        ),
    ]
