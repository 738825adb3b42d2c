"""Contracts published by the voice service (topic voice.audio)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from sotay_common.events import topics
from sotay_common.events.base import Event


class AudioFormat(BaseModel):
    format: str = Field(description="ogg_opus or mp3")
    content_type: str
    size_bytes: int
    bitrate_kbps: int
    url: str = Field(description="Path on the voice service, supports HTTP range requests")


class AudioChapter(BaseModel):
    title: str
    anchor: str
    offset_seconds: float


class AudioRenderedV1(Event):
    """Audio of a published document version is ready to play."""

    event_type: ClassVar[str] = "audio.rendered.v1"
    topic: ClassVar[str] = topics.VOICE_AUDIO
    key_field: ClassVar[str] = "document_id"

    document_id: uuid.UUID
    version: int
    content_hash: str
    voice: str
    engine: str
    duration_seconds: float
    formats: list[AudioFormat]
    chapters: list[AudioChapter] = Field(default_factory=list)
    rendered_at: datetime


class AudioWithdrawnV1(Event):
    """The audio of a document was removed (the document was archived)."""

    event_type: ClassVar[str] = "audio.withdrawn.v1"
    topic: ClassVar[str] = topics.VOICE_AUDIO
    key_field: ClassVar[str] = "document_id"

    document_id: uuid.UUID
    withdrawn_at: datetime
