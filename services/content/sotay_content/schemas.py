"""Request and response bodies of the content API (also the service layer's commands)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sotay_common.events.content import Chapter, DocumentKind
from sotay_common.text import collapse_spaces, nfc
from sotay_content.domain import DocumentStatus
from sotay_content.regulations import TocEntry

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
NumberText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
IssuingBody = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
BodyFormat = Literal["markdown", "text"]
MAX_TAGS = 30


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _clean_text(value: str | None) -> str | None:
    """NFC and single spaces; an empty optional field means none."""
    if value is None:
        return None
    return collapse_spaces(nfc(value)) or None


def clean_tag(tag: str) -> str:
    """Tags compare in lowercase NFC with single spaces."""
    return collapse_spaces(nfc(tag)).lower()


def _clean_tags(values: list[str] | None) -> list[str] | None:
    """Duplicates go, order stays."""
    if values is None:
        return None
    return list(dict.fromkeys(clean_tag(tag) for tag in values))


class DocumentMetadata(_Input):
    """Everything about a document but its body (the upload form carries these as fields)."""

    kind: DocumentKind
    title: Title
    summary: Summary | None = None
    number: NumberText | None = Field(default=None, description="e.g. 27-QĐ/TW, 01-NQ/TU")
    issuing_body: IssuingBody | None = None
    issued_on: date | None = None
    language: Language = "vi"
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    scope_organization_id: uuid.UUID | None = Field(
        default=None,
        description="Who may read it: members of this organisation's subtree; null: everyone "
        "(system admins only). Absent: everyone for system admins, the caller's own "
        "organisation for committee admins.",
    )

    _clean = field_validator("title", "summary", "number", "issuing_body")(_clean_text)
    _tags = field_validator("tags")(_clean_tags)


class DocumentCreate(DocumentMetadata):
    body_format: BodyFormat = "markdown"
    body: str = Field(description="Markdown (raw HTML is shown as text) or plain text")


class DocumentUpdate(_Input):
    """Fields to change in the draft; absent fields stay, null clears an optional field."""

    kind: DocumentKind | None = None
    title: Title | None = None
    summary: Summary | None = None
    number: NumberText | None = None
    issuing_body: IssuingBody | None = None
    issued_on: date | None = None
    language: Language | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    scope_organization_id: uuid.UUID | None = None
    body_format: BodyFormat | None = None
    body: str | None = None

    _clean = field_validator("title", "summary", "number", "issuing_body")(_clean_text)
    _tags = field_validator("tags")(_clean_tags)


class AttachmentOut(BaseModel):
    id: uuid.UUID
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    is_source: bool = Field(description="The uploaded file the body was extracted from")
    uploaded_at: datetime
    url: str


class ManagerDetails(BaseModel):
    """What only those who manage the document see."""

    draft_revision: int = Field(description="Also the ETag for If-Match on PATCH")
    has_unpublished_changes: bool
    latest_version: int | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    published_by: str | None
    archived_by: str | None


class DocumentOut(BaseModel):
    id: uuid.UUID
    status: DocumentStatus
    status_label: str
    view: Literal["published", "draft"] = Field(
        description="A published version (immutable) or the working draft"
    )
    version: int | None
    kind: DocumentKind
    kind_label: str
    title: str
    summary: str | None
    number: str | None
    issuing_body: str | None
    issued_on: date | None
    language: str
    tags: list[str]
    scope_organization_id: uuid.UUID | None
    content_hash: str
    body_format: BodyFormat
    body: str
    html: str = Field(description="Sanitised HTML; regulations have <section id=anchor>")
    toc: list[TocEntry] | None = Field(description="Regulations: Chương, Mục and Điều with anchors")
    chapters: list[Chapter]
    published_at: datetime | None
    archived_at: datetime | None
    attachments: list[AttachmentOut]
    manager: ManagerDetails | None


class PublishOut(DocumentOut):
    unchanged: bool = Field(description="True: same content and metadata, nothing was published")


class DocumentSummary(BaseModel):
    id: uuid.UUID
    status: DocumentStatus
    status_label: str
    version: int | None
    kind: DocumentKind
    kind_label: str
    title: str
    summary: str | None
    number: str | None
    issuing_body: str | None
    issued_on: date | None
    language: str
    tags: list[str]
    scope_organization_id: uuid.UUID | None
    published_at: datetime | None
    updated_at: datetime


class DocumentPage(BaseModel):
    items: list[DocumentSummary]
    next_cursor: str | None


class FeedItem(DocumentSummary):
    updated_since_read: bool = Field(description="Read before, and its content changed since")


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: str | None


class VersionOut(BaseModel):
    version: int
    title: str
    content_hash: str
    published_at: datetime
    published_by: str


class TocOut(BaseModel):
    document_id: uuid.UUID
    version: int | None
    entries: list[TocEntry] = Field(description="Empty for documents that are not regulations")
    chapters: list[Chapter]


class ReceiptOut(BaseModel):
    document_id: uuid.UUID
    version: int
    read_at: datetime
