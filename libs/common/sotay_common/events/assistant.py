"""Contracts published by the assistant service (topic assistant.index)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from sotay_common.events import topics
from sotay_common.events.base import Event


class AssistantReindexedV1(Event):
    """A document version is now what the assistant answers from (or, with `removed`, no
    longer: its document was archived)."""

    event_type: ClassVar[str] = "assistant.reindexed.v1"
    topic: ClassVar[str] = topics.ASSISTANT_INDEX
    key_field: ClassVar[str] = "document_id"

    document_id: uuid.UUID
    version: int
    content_hash: str
    chunk_count: int = Field(description="Khoản-level passages indexed (0 when removed)")
    removed: bool = False
    indexed_at: datetime
