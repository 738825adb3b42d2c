"""Response bodies of the voice API. (Re-render requests take a `profiles.VoiceProfile`.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sotay_voice.profiles import VoiceProfile

FormatName = Literal["opus", "mp3"]
RenderStatus = Literal["pending", "running", "succeeded", "failed", "withdrawn"]


class AudioFileOut(BaseModel):
    format: FormatName
    content_type: str
    size_bytes: int
    bitrate_kbps: int
    url: str = Field(description="Supports HTTP range requests")


class AudioLinkOut(BaseModel):
    url: str = Field(description="The file (ranges work), without a token")
    stream_url: str
    expires_at: datetime


class ChapterOut(BaseModel):
    title: str
    anchor: str = Field(description="e.g. dieu-5, as in the document's structure")
    offset_seconds: float | None = Field(description="Null until the audio reaches it")


class AudioStatusOut(BaseModel):
    document_id: uuid.UUID
    version: int
    render_id: uuid.UUID = Field(description="Shared by documents with the same text and voice")
    status: RenderStatus
    status_label: str
    engine: str
    voice: str
    rate: float
    chunks_done: int
    chunks_total: int | None
    progress: float = Field(description="0 to 1")
    seconds_rendered: float
    duration_seconds: float | None
    attempts: int
    error_code: str | None
    error_message: str | None
    files: list[AudioFileOut] = Field(description="When the audio is ready")
    stream_url: str = Field(description="Plays while rendering, then the whole file")
    requested_at: datetime
    finished_at: datetime | None


class ChaptersOut(BaseModel):
    document_id: uuid.UUID
    version: int
    ready: bool
    duration_seconds: float | None
    chapters: list[ChapterOut]


class VoicesOut(BaseModel):
    voices: dict[str, list[str]] = Field(description="Installed voices by engine")
    default_profile: VoiceProfile
    kind_profiles: dict[str, VoiceProfile]
