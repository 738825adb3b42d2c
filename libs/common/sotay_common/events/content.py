"""Contracts published by the content service (topic content.document).

A published version carries its plain text (NFC, the content service's normal form), with the
structure of a regulation as a flat list of nodes pointing into that text by character offsets
(Unicode code points), and reading chapters for any document. Consumers (voice, assistant) need
nothing else. A text larger than `INLINE_TEXT_LIMIT_BYTES` travels by reference instead (claim
check): `text` is null and `text_ref` names an immutable object in the content store.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from sotay_common.events import topics
from sotay_common.events.base import Event

# Keeps document.published.v1 well under Kafka's 1 MiB default message size, leaving room for
# the structure (about 100 bytes per node) and the metadata.
INLINE_TEXT_LIMIT_BYTES = 512 * 1024


class DocumentKind(StrEnum):
    NEWS = "news"
    RESOLUTION = "resolution"
    DIRECTIVE = "directive"
    CONCLUSION = "conclusion"
    DECISION = "decision"
    REGULATION = "regulation"
    RULES = "rules"
    GUIDANCE = "guidance"
    ANNOUNCEMENT = "announcement"
    PLAN = "plan"
    STUDY_TOPIC = "study_topic"


class NodeKind(StrEnum):
    PREAMBLE = "preamble"
    CHUONG = "chuong"
    MUC = "muc"
    DIEU = "dieu"
    KHOAN = "khoan"
    DIEM = "diem"


NODE_LABELS_VI = {
    NodeKind.PREAMBLE: "Phần mở đầu",
    NodeKind.CHUONG: "Chương",
    NodeKind.MUC: "Mục",
    NodeKind.DIEU: "Điều",
    NodeKind.KHOAN: "Khoản",
    NodeKind.DIEM: "Điểm",
}


class StructureNode(BaseModel):
    """One node of a regulation, flat: nesting follows from the offsets. Anchors depend only
    on numbering (`dieu-5`, `dieu-5-khoan-2`, `dieu-5-khoan-2-diem-a`) and are cited as such."""

    model_config = ConfigDict(frozen=True)

    kind: NodeKind
    number: str | None = None
    title: str | None = None
    anchor: str
    start: int
    end: int

    @property
    def heading(self) -> str:
        """Label with title, e.g. `Điều 5. Quyền của đảng viên`, `Khoản 2`, `Phần mở đầu`."""
        if self.kind is NodeKind.PREAMBLE:
            return NODE_LABELS_VI[self.kind]
        label = f"{NODE_LABELS_VI[self.kind]} {self.number}"
        return f"{label}. {self.title}" if self.title else label


class Chapter(BaseModel):
    """A reading chapter (per Điều for regulations, per top section otherwise)."""

    model_config = ConfigDict(frozen=True)

    title: str
    anchor: str
    start: int
    end: int


class DocumentScope(BaseModel):
    """Who may see the document: members of this organisation's subtree (null: everyone)."""

    organization_id: uuid.UUID | None
    ancestor_ids: list[uuid.UUID] = Field(default_factory=list)


class DocumentPublishedV1(Event):
    """A version of a document was published (or republished). Republishing unchanged content
    gives the same content_hash: consumers skip work they have done for that hash."""

    event_type: ClassVar[str] = "document.published.v1"
    topic: ClassVar[str] = topics.CONTENT_DOCUMENT
    key_field: ClassVar[str] = "document_id"

    document_id: uuid.UUID
    version: int = Field(ge=1, description="Published version number, immutable once published")
    kind: DocumentKind
    title: str
    summary: str | None = None
    number: str | None = Field(default=None, description="e.g. 27-QĐ/TW")
    issuing_body: str | None = None
    issued_on: date | None = None
    language: str = "vi"
    tags: list[str] = Field(default_factory=list)
    scope: DocumentScope
    content_hash: str = Field(description="sha256 hex of the normalised content that matters")
    text: str | None = Field(description="Plain text in NFC; null when sent by reference")
    text_ref: str | None = Field(
        default=None, description="Claim check: object key of the text when it is not inline"
    )
    text_length: int = Field(description="Characters (code points) of the text")
    structure: list[StructureNode] | None = Field(
        default=None, description="Regulations: Chương/Mục/Điều/Khoản/Điểm with offsets"
    )
    chapters: list[Chapter] = Field(default_factory=list)
    published_at: datetime
    published_by: str | None = None


class DocumentArchivedV1(Event):
    """A document was archived: audio, indexes and caches of it must be withdrawn."""

    event_type: ClassVar[str] = "document.archived.v1"
    topic: ClassVar[str] = topics.CONTENT_DOCUMENT
    key_field: ClassVar[str] = "document_id"

    document_id: uuid.UUID
    version: int = Field(description="The last published version")
    archived_at: datetime
    archived_by: str | None = None
