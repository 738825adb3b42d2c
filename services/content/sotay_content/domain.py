"""Documents, published versions and attachments as the service holds them, the organisation
tree read model, and who may manage or read what. Free of I/O."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sotay_common.auth import Principal, Role
from sotay_common.events.content import Chapter, DocumentKind, StructureNode
from sotay_common.org_tree import OrganizationNode as OrganizationNode
from sotay_content.regulations import TocEntry


class DocumentStatus(StrEnum):
    DRAFT = "draft"  # never published
    PUBLISHED = "published"  # a published version is readable (a newer draft may be pending)
    ARCHIVED = "archived"  # withdrawn from readers


STATUS_LABELS: dict[DocumentStatus, str] = {
    DocumentStatus.DRAFT: "Bản nháp",
    DocumentStatus.PUBLISHED: "Đã công bố",
    DocumentStatus.ARCHIVED: "Đã lưu trữ",
}


@dataclass(frozen=True)
class DocumentContent:
    """What an editor writes: the draft, and what each published version freezes."""

    kind: DocumentKind
    title: str
    summary: str | None
    number: str | None
    issuing_body: str | None
    issued_on: date | None
    language: str
    tags: tuple[str, ...]
    scope_org_id: uuid.UUID | None
    body_format: str  # "markdown" | "text"
    body: str


@dataclass(frozen=True)
class Rendition:
    """What a body becomes for readers and consumers (see publication.render)."""

    plain_text: str
    html: str
    content_hash: str
    structure: list[StructureNode] | None
    toc: list[TocEntry] | None
    chapters: list[Chapter]


@dataclass(frozen=True)
class Document:
    id: uuid.UUID
    status: DocumentStatus
    draft: DocumentContent
    draft_revision: int
    published_version: int | None
    published_revision: int | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    archived_by: str | None
    archived_at: datetime | None

    @property
    def has_unpublished_changes(self) -> bool:
        return self.published_revision != self.draft_revision


@dataclass(frozen=True)
class PublishedVersion:
    document_id: uuid.UUID
    version: int
    content: DocumentContent
    scope_ancestor_ids: list[uuid.UUID]
    rendition: Rendition
    text_ref: str | None
    published_by: str
    published_at: datetime


@dataclass(frozen=True)
class VersionSummary:
    version: int
    title: str
    content_hash: str
    published_by: str
    published_at: datetime


@dataclass(frozen=True)
class Attachment:
    id: uuid.UUID
    document_id: uuid.UUID
    file_name: str
    media_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    is_source: bool
    uploaded_by: str
    uploaded_at: datetime


# -- who may do what ---------------------------------------------------------------------------


def may_manage_content(principal: Principal) -> bool:
    return principal.has_any(Role.SYSTEM_ADMIN, Role.COMMITTEE_ADMIN)


def manages_scope(principal: Principal, scope: OrganizationNode | None) -> bool:
    """System admins manage every document; committee admins those scoped to their subtree.
    A document for everyone (no scope) is the system admins' alone."""
    if principal.is_system_admin:
        return True
    if Role.COMMITTEE_ADMIN not in principal.roles or principal.organization_id is None:
        return False
    return scope is not None and principal.organization_id in scope.path_ids


def reader_organization_ids(principal: Principal, own: OrganizationNode | None) -> list[uuid.UUID]:
    """Scopes whose documents a member of the caller's organisation reads: that organisation
    and its ancestors (a provincial document reaches every cell)."""
    if own is not None:
        return own.path_ids
    return [principal.organization_id] if principal.organization_id is not None else []


@dataclass(frozen=True)
class ScopeFilter:
    """Which document scopes a query may return."""

    everything: bool = False
    unscoped: bool = False  # documents for everyone
    organization_ids: Sequence[uuid.UUID] = ()
    subtree_of: uuid.UUID | None = None

    def admits(self, scope_org_id: uuid.UUID | None, scope: OrganizationNode | None) -> bool:
        if self.everything:
            return True
        if scope_org_id is None:
            return self.unscoped
        if scope_org_id in self.organization_ids:
            return True
        return (
            self.subtree_of is not None and scope is not None and self.subtree_of in scope.path_ids
        )


def reading_filter(principal: Principal, own: OrganizationNode | None) -> ScopeFilter:
    """Published documents the caller may read: their own scopes as a member, and whatever
    they manage."""
    if principal.is_system_admin:
        return ScopeFilter(everything=True)
    managed_root = principal.organization_id if may_manage_content(principal) else None
    return ScopeFilter(
        unscoped=True,
        organization_ids=reader_organization_ids(principal, own),
        subtree_of=managed_root,
    )


def managing_filter(principal: Principal) -> ScopeFilter:
    """Documents the caller manages (drafts and archived ones included)."""
    if principal.is_system_admin:
        return ScopeFilter(everything=True)
    if not may_manage_content(principal) or principal.organization_id is None:
        return ScopeFilter()
    return ScopeFilter(subtree_of=principal.organization_id)


def reader_key(principal: Principal) -> str:
    """Whose read receipts these are: the member record when the account has one, so that a
    member's receipts follow them across accounts and devices."""
    if principal.member_id is not None:
        return f"member:{principal.member_id}"
    return f"account:{principal.subject}"


@dataclass(frozen=True)
class DocumentListItem:
    """A line of a list, search or feed: metadata without the body."""

    id: uuid.UUID
    status: DocumentStatus
    kind: DocumentKind
    title: str
    summary: str | None
    number: str | None
    issuing_body: str | None
    issued_on: date | None
    language: str
    tags: list[str]
    scope_org_id: uuid.UUID | None
    version: int | None
    published_at: datetime | None
    updated_at: datetime
    sort_at: datetime
    read_before: bool = False  # feed: an earlier content of it was read
