"""Use cases of the content service: drafts, publication with its events, archiving, reading,
search, the feed, read receipts and attachments; access decided from the caller's roles and
organisation against the organisation tree read model."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from sotay_common.auth import Principal
from sotay_common.db import Database
from sotay_common.errors import (
    AppError,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)
from sotay_common.events.content import DocumentKind
from sotay_common.events.members import OrganizationStatus
from sotay_common.storage import BlobStore
from sotay_content import events, repository
from sotay_content.attachments import DOCX, PDF, TEXT, FileType, safe_file_name, sniff_attachment
from sotay_content.domain import (
    Attachment,
    Document,
    DocumentContent,
    DocumentListItem,
    DocumentStatus,
    OrganizationNode,
    PublishedVersion,
    Rendition,
    ScopeFilter,
    VersionSummary,
    manages_scope,
    managing_filter,
    may_manage_content,
    reader_key,
    reader_organization_ids,
    reading_filter,
)
from sotay_content.errors import ContentRejected
from sotay_content.extract import (
    ExtractedDocument,
    ExtractionLimits,
    SourceFormat,
    extract_document,
)
from sotay_content.publication import (
    checked_content,
    document_search_forms,
    query_search_forms,
    render,
)
from sotay_content.repository import DocumentQuery
from sotay_content.schemas import DocumentMetadata, DocumentUpdate, clean_tag

MAX_PAGE = 100
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
_SOURCE_TYPES = {SourceFormat.PDF: PDF, SourceFormat.DOCX: DOCX, SourceFormat.TEXT: TEXT}


class DocumentNotFound(NotFound):
    code = "document_not_found"
    detail_vi = "Không tìm thấy văn bản."


class ContentManagersOnly(Forbidden):
    code = "content_managers_only"
    detail_vi = "Chỉ cán bộ cấp ủy được giao quản lý văn bản mới thực hiện được thao tác này."


class DocumentOutOfScope(Forbidden):
    code = "document_out_of_scope"
    detail_vi = "Văn bản này thuộc phạm vi tổ chức đảng mà bạn không quản lý."


class ScopeEveryoneForbidden(Forbidden):
    code = "scope_everyone_requires_system_admin"
    detail_vi = (
        "Chỉ quản trị hệ thống mới đăng được văn bản cho tất cả đảng viên; hãy chọn một tổ chức"
        " trong phạm vi bạn quản lý."
    )


class DocumentArchived(Conflict):
    code = "document_archived"
    detail_vi = "Văn bản đã được lưu trữ nên không thể sửa, đính kèm hay công bố lại."


class DocumentChanged(Conflict):
    code = "document_changed"
    detail_vi = "Bản nháp vừa được sửa trong lúc công bố. Vui lòng xem lại rồi công bố lại."


class DocumentNotPublished(Conflict):
    code = "document_not_published"
    detail_vi = "Văn bản chưa được công bố."


class DocumentTooComplex(PayloadTooLarge):
    code = "document_too_complex"
    detail_vi = (
        "Văn bản có quá nhiều chương, điều, khoản, điểm để phát hành một lần."
        " Hãy tách thành nhiều văn bản."
    )


# ContentRejected codes that are about size or about the kind of file, not its content.
_TOO_LARGE = frozenset({"body_too_large", "file_too_large", "pdf_too_many_pages"})
_UNSUPPORTED = frozenset({"file_format_unsupported", "file_encrypted", "file_type_not_allowed"})


def rejected(exc: ContentRejected, field: str) -> AppError:
    """A domain refusal as the problem it is for the client, with its code and message."""
    if exc.code in _TOO_LARGE:
        return PayloadTooLarge(exc.message_vi, code=exc.code)
    if exc.code in _UNSUPPORTED:
        return UnsupportedMediaType(exc.message_vi, code=exc.code)
    return ValidationFailed(
        exc.message_vi, code=exc.code, errors=[FieldError(field, exc.code, exc.message_vi)]
    )


def _field_of(code: str) -> str:
    return "number" if code.startswith("document_number") else "body"


def _field_problem(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[FieldError(field, code, message)])


def encode_cursor(at: datetime, document_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(document_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, document_id = json.loads(raw)
        return datetime.fromisoformat(at), uuid.UUID(document_id)
    except (ValueError, TypeError) as exc:
        raise BadRequest("Con trỏ phân trang không hợp lệ.", code="invalid_cursor") from exc


@dataclass(frozen=True)
class ContentLimits:
    upload_max_bytes: int = 20 * 1024 * 1024
    attachment_max_bytes: int = 20 * 1024 * 1024
    extraction_workers: int = 2
    extraction_timeout_s: float = 60.0


@dataclass(frozen=True)
class DocumentView:
    """One document as the caller sees it: a published version, or the draft (managers)."""

    document: Document
    content: DocumentContent
    rendition: Rendition
    version: PublishedVersion | None
    attachments: list[Attachment]
    manager: bool


@dataclass(frozen=True)
class PublishOutcome:
    view: DocumentView
    unchanged: bool


@dataclass(frozen=True)
class DocumentSearch:
    q: str | None = None
    kinds: Sequence[DocumentKind] = ()
    tag: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    organization_id: uuid.UUID | None = None
    statuses: Sequence[DocumentStatus] = ()
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True)
class Page:
    items: list[DocumentListItem]
    next_cursor: str | None


@dataclass(frozen=True)
class Receipt:
    document_id: uuid.UUID
    version: int
    read_at: datetime


@dataclass(frozen=True)
class _Access:
    document: Document
    manager: bool
    latest: PublishedVersion | None


class ContentService:
    def __init__(
        self,
        database: Database,
        store: BlobStore,
        *,
        limits: ContentLimits = ContentLimits(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self.store = store
        self.limits = limits
        self.clock = clock
        self._extraction_limits = ExtractionLimits(max_upload_bytes=limits.upload_max_bytes)
        # Extraction cannot be interrupted: a timed-out job keeps its worker until it ends, so
        # a few heavy uploads slow later ones down instead of piling up on the CPU.
        self._extractors = ThreadPoolExecutor(
            max_workers=limits.extraction_workers, thread_name_prefix="content-extract"
        )

    # -- scope ---------------------------------------------------------------------------------

    @staticmethod
    def _require_manager(principal: Principal) -> None:
        if not may_manage_content(principal):
            raise ContentManagersOnly()

    @staticmethod
    async def _organization(
        conn: asyncpg.Connection, org_id: uuid.UUID | None
    ) -> OrganizationNode | None:
        return None if org_id is None else await repository.get_organization(conn, org_id)

    async def _checked_scope(
        self, conn: asyncpg.Connection, principal: Principal, scope_org_id: uuid.UUID | None
    ) -> OrganizationNode | None:
        """The scope a manager may give a document, from the read model of the tree."""
        if scope_org_id is None:
            if not principal.is_system_admin:
                raise ScopeEveryoneForbidden()
            return None
        node = await repository.get_organization(conn, scope_org_id)
        if node is None:
            raise _field_problem(
                "scope_organization_id",
                "organization_unknown",
                "Hệ thống văn bản chưa nhận được thông tin về tổ chức đảng này (có thể đang đồng"
                " bộ). Vui lòng thử lại sau ít phút.",
            )
        if not manages_scope(principal, node):
            raise DocumentOutOfScope()
        if node.status != OrganizationStatus.ACTIVE:
            raise _field_problem(
                "scope_organization_id",
                "organization_inactive",
                "Tổ chức đảng này đã giải thể hoặc hợp nhất.",
            )
        return node

    @staticmethod
    def _requested_scope(
        principal: Principal, scope_org_id: uuid.UUID | None, *, given: bool
    ) -> uuid.UUID | None:
        if not given and not principal.is_system_admin:
            return principal.organization_id
        return scope_org_id

    async def _manages(
        self, conn: asyncpg.Connection, principal: Principal, document: Document
    ) -> bool:
        if not may_manage_content(principal):
            return False
        scope = await self._organization(conn, document.draft.scope_org_id)
        return manages_scope(principal, scope)

    async def _reads(
        self, conn: asyncpg.Connection, principal: Principal, scope_org_id: uuid.UUID | None
    ) -> bool:
        own = await self._organization(conn, principal.organization_id)
        scope = await self._organization(conn, scope_org_id)
        return reading_filter(principal, own).admits(scope_org_id, scope)

    async def _access(
        self, conn: asyncpg.Connection, principal: Principal, document_id: uuid.UUID
    ) -> _Access:
        """Managers reach any state of their documents; readers the latest published version
        of a live document in their scope. Others are told it does not exist."""
        document = await repository.get_document(conn, document_id)
        if document is None:
            raise DocumentNotFound()
        latest = None
        if document.published_version is not None:
            latest = await repository.get_version(conn, document.id, document.published_version)
        if await self._manages(conn, principal, document):
            return _Access(document, True, latest)
        if (
            document.status is DocumentStatus.PUBLISHED
            and latest is not None
            and await self._reads(conn, principal, latest.content.scope_org_id)
        ):
            return _Access(document, False, latest)
        raise DocumentNotFound()

    async def _managed_for_update(
        self,
        conn: asyncpg.Connection,
        principal: Principal,
        document_id: uuid.UUID,
        *,
        editable: bool = True,
    ) -> Document:
        """The document locked for a change by one who manages it; `editable`: not archived."""
        self._require_manager(principal)
        document = await repository.get_document(conn, document_id, for_update=True)
        if document is None:
            raise DocumentNotFound()
        if not await self._manages(conn, principal, document):
            raise DocumentOutOfScope()
        if editable and document.status is DocumentStatus.ARCHIVED:
            raise DocumentArchived()
        return document

    # -- views ---------------------------------------------------------------------------------

    async def _version_view(
        self, conn: asyncpg.Connection, document: Document, version: PublishedVersion, manager: bool
    ) -> DocumentView:
        return DocumentView(
            document=document,
            content=version.content,
            rendition=version.rendition,
            version=version,
            attachments=await repository.list_attachments(conn, document.id),
            manager=manager,
        )

    async def _draft_view(
        self, conn: asyncpg.Connection, document: Document, rendition: Rendition | None = None
    ) -> DocumentView:
        if rendition is None:
            rendition = await asyncio.to_thread(render, document.draft)
        return DocumentView(
            document=document,
            content=document.draft,
            rendition=rendition,
            version=None,
            attachments=await repository.list_attachments(conn, document.id),
            manager=True,
        )

    async def _view(self, conn: asyncpg.Connection, access: _Access) -> DocumentView:
        if access.latest is not None:
            return await self._version_view(conn, access.document, access.latest, access.manager)
        return await self._draft_view(conn, access.document)

    # -- drafts --------------------------------------------------------------------------------

    @staticmethod
    def _checked(content: DocumentContent) -> DocumentContent:
        try:
            return checked_content(content)
        except ContentRejected as exc:
            raise rejected(exc, _field_of(exc.code)) from exc

    async def create_document(
        self,
        principal: Principal,
        metadata: DocumentMetadata,
        *,
        body_format: str,
        body: str,
        scope_given: bool,
        source: tuple[str, bytes, FileType] | None = None,
    ) -> DocumentView:
        """A new draft. `source` is the uploaded file the body came from, kept as an
        attachment: (file name, bytes, type)."""
        self._require_manager(principal)
        content = self._checked(
            DocumentContent(
                kind=metadata.kind,
                title=metadata.title,
                summary=metadata.summary,
                number=metadata.number,
                issuing_body=metadata.issuing_body,
                issued_on=metadata.issued_on,
                language=metadata.language,
                tags=tuple(metadata.tags),
                scope_org_id=self._requested_scope(
                    principal, metadata.scope_organization_id, given=scope_given
                ),
                body_format=body_format,
                body=body,
            )
        )
        rendition = await asyncio.to_thread(render, content)
        async with self.database.transaction() as tx:
            await self._checked_scope(tx.conn, principal, content.scope_org_id)
            document = await repository.insert_document(
                tx.conn,
                document_id=uuid.uuid4(),
                content=content,
                search=document_search_forms(content, rendition.plain_text),
                actor=principal.subject,
            )
            if source is not None:
                await self._store_attachment(
                    tx.conn, principal, document.id, *source, is_source=True
                )
            return await self._draft_view(tx.conn, document, rendition)

    async def create_from_upload(
        self,
        principal: Principal,
        metadata: DocumentMetadata,
        *,
        scope_given: bool,
        file_name: str | None,
        data: bytes,
    ) -> DocumentView:
        """A draft whose body is the Markdown extracted from a DOCX, PDF or text file."""
        self._require_manager(principal)
        scope_org_id = self._requested_scope(
            principal, metadata.scope_organization_id, given=scope_given
        )
        async with self.database.connection() as conn:  # refuse before the costly part
            await self._checked_scope(conn, principal, scope_org_id)
        extracted = await self._extract(data)
        file_type = _SOURCE_TYPES[extracted.source_format]
        return await self.create_document(
            principal,
            metadata,
            body_format="markdown",
            body=extracted.markdown,
            scope_given=scope_given,
            source=(safe_file_name(file_name, file_type), data, file_type),
        )

    async def _extract(self, data: bytes) -> ExtractedDocument:
        future = asyncio.get_running_loop().run_in_executor(
            self._extractors, extract_document, data, self._extraction_limits
        )
        try:
            return await asyncio.wait_for(future, self.limits.extraction_timeout_s)
        except TimeoutError as exc:
            raise _field_problem(
                "file",
                "extraction_timeout",
                "Tệp quá phức tạp, không lấy được nội dung kịp thời. Hãy lưu lại thành tệp"
                " đơn giản hơn (ví dụ DOCX không có ảnh) rồi tải lên lại.",
            ) from exc
        except ContentRejected as exc:
            raise rejected(exc, "file") from exc

    async def update_document(
        self,
        principal: Principal,
        document_id: uuid.UUID,
        command: DocumentUpdate,
        *,
        expected_revision: int | None = None,
    ) -> DocumentView:
        requested = command.model_dump(exclude_unset=True)
        required = sorted(
            name
            for name in ("kind", "title", "language", "tags", "body_format", "body")
            if name in requested and requested[name] is None
        )
        if required:
            message = "Trường này là bắt buộc, không được để trống."
            raise ValidationFailed(errors=[FieldError(f, "required", message) for f in required])
        async with self.database.transaction() as tx:
            document = await self._managed_for_update(tx.conn, principal, document_id)
            if expected_revision is not None and expected_revision != document.draft_revision:
                raise PreconditionFailed(extra={"current_revision": document.draft_revision})
            changed = self._merged(document.draft, requested)
            if changed == document.draft:
                return await self._draft_view(tx.conn, document)
            changed = self._checked(changed)
            if changed.scope_org_id != document.draft.scope_org_id:
                await self._checked_scope(tx.conn, principal, changed.scope_org_id)
            rendition = await asyncio.to_thread(render, changed)
            updated = await repository.update_draft(
                tx.conn,
                document.id,
                content=changed,
                search=document_search_forms(changed, rendition.plain_text),
                actor=principal.subject,
            )
            return await self._draft_view(tx.conn, updated, rendition)

    @staticmethod
    def _merged(draft: DocumentContent, requested: Mapping[str, Any]) -> DocumentContent:
        changes = dict(requested)
        if "scope_organization_id" in changes:
            changes["scope_org_id"] = changes.pop("scope_organization_id")
        if "tags" in changes:
            changes["tags"] = tuple(changes["tags"])
        return replace(draft, **changes)

    # -- publication ---------------------------------------------------------------------------

    async def publish(self, principal: Principal, document_id: uuid.UUID) -> PublishOutcome:
        """Publishes the draft as version N+1 with `document.published.v1`, unless it says
        exactly what the latest version says (same content, metadata and scope ancestry)."""
        self._require_manager(principal)
        async with self.database.connection() as conn:
            draft = await repository.get_document(conn, document_id)
            if draft is None:
                raise DocumentNotFound()
            if not await self._manages(conn, principal, draft):
                raise DocumentOutOfScope()
            if draft.status is DocumentStatus.ARCHIVED:
                raise DocumentArchived()
            latest = None
            if draft.published_version is not None:
                latest = await repository.get_version(conn, draft.id, draft.published_version)
            scope = await self._organization(conn, draft.draft.scope_org_id)
        if latest is not None and self._same_as(latest, draft.draft, scope):
            return await self._republish_unchanged(principal, draft, latest)
        rendition = await asyncio.to_thread(render, draft.draft)
        async with self.database.transaction() as tx:
            document = await self._managed_for_update(tx.conn, principal, document_id)
            if document.draft_revision != draft.draft_revision:
                raise DocumentChanged()
            scope = await self._checked_scope(tx.conn, principal, document.draft.scope_org_id)
            version = PublishedVersion(
                document_id=document.id,
                version=(document.published_version or 0) + 1,
                content=document.draft,
                scope_ancestor_ids=scope.ancestor_ids if scope else [],
                rendition=rendition,
                text_ref=None,
                published_by=principal.subject,
                published_at=self.clock(),
            )
            event = events.document_published(version)
            if not events.fits_inline(event):
                version = replace(
                    version, text_ref=events.text_object_key(document.id, version.version)
                )
                event = events.document_published(version, text_ref=version.text_ref)
                if not events.fits(event):
                    raise DocumentTooComplex()
                await self._store_text(version)
            await repository.insert_version(
                tx.conn, version, document_search_forms(version.content, rendition.plain_text)
            )
            published = await repository.record_publication(
                tx.conn, document.id, version=version.version, revision=document.draft_revision
            )
            await tx.outbox.add(event)
            view = await self._version_view(tx.conn, published, version, manager=True)
        return PublishOutcome(view, unchanged=False)

    @staticmethod
    def _same_as(
        latest: PublishedVersion, draft: DocumentContent, scope: OrganizationNode | None
    ) -> bool:
        ancestors = scope.ancestor_ids if scope else []
        return latest.content == draft and latest.scope_ancestor_ids == ancestors

    async def _republish_unchanged(
        self, principal: Principal, draft: Document, latest: PublishedVersion
    ) -> PublishOutcome:
        async with self.database.transaction() as tx:
            document = await self._managed_for_update(tx.conn, principal, draft.id)
            if document.draft_revision != draft.draft_revision:
                raise DocumentChanged()
            if document.published_revision != document.draft_revision:
                document = await repository.record_publication(
                    tx.conn, document.id, version=latest.version, revision=document.draft_revision
                )
            view = await self._version_view(tx.conn, document, latest, manager=True)
        return PublishOutcome(view, unchanged=True)

    async def _store_text(self, version: PublishedVersion) -> None:
        """The claim check: the version's text as an immutable object (its key names the
        version, so a retry after a failed transaction writes the same object again)."""
        assert version.text_ref is not None
        await self.store.put(
            version.text_ref,
            version.rendition.plain_text.encode("utf-8"),
            content_type=TEXT_MEDIA_TYPE,
        )

    async def archive(self, principal: Principal, document_id: uuid.UUID) -> DocumentView:
        """Withdraws the document from readers; `document.archived.v1` tells consumers to drop
        its audio and indexes. Archiving twice changes nothing."""
        async with self.database.transaction() as tx:
            document = await self._managed_for_update(
                tx.conn, principal, document_id, editable=False
            )
            if document.status is not DocumentStatus.ARCHIVED:
                archived_at = self.clock()
                document = await repository.archive_document(
                    tx.conn, document.id, actor=principal.subject, at=archived_at
                )
                if document.published_version is not None:
                    await tx.outbox.add(
                        events.document_archived(
                            document.id,
                            document.published_version,
                            archived_at=archived_at,
                            archived_by=principal.subject,
                        )
                    )
            return await self._view(tx.conn, await self._access(tx.conn, principal, document_id))

    # -- reading -------------------------------------------------------------------------------

    async def get_document(self, principal: Principal, document_id: uuid.UUID) -> DocumentView:
        """Readers: the latest published version. Managers: that too, or the draft of a
        document never published."""
        async with self.database.connection() as conn:
            return await self._view(conn, await self._access(conn, principal, document_id))

    async def get_draft(self, principal: Principal, document_id: uuid.UUID) -> DocumentView:
        self._require_manager(principal)
        async with self.database.connection() as conn:
            access = await self._access(conn, principal, document_id)
            if not access.manager:
                raise DocumentOutOfScope()
            return await self._draft_view(conn, access.document)

    async def get_version(
        self, principal: Principal, document_id: uuid.UUID, version: int
    ) -> DocumentView:
        async with self.database.connection() as conn:
            access = await self._access(conn, principal, document_id)
            found = await repository.get_version(conn, document_id, version)
            if found is None or not (
                access.manager or await self._reads(conn, principal, found.content.scope_org_id)
            ):
                raise NotFound("Không có phiên bản này của văn bản.", code="version_not_found")
            return await self._version_view(conn, access.document, found, access.manager)

    async def list_versions(
        self, principal: Principal, document_id: uuid.UUID
    ) -> list[VersionSummary]:
        async with self.database.connection() as conn:
            await self._access(conn, principal, document_id)
            return await repository.list_versions(conn, document_id)

    async def search(self, principal: Principal, query: DocumentSearch) -> Page:
        """Readers search the latest published versions in their scope; managers may ask for
        drafts and archived documents of their own scope (`statuses`)."""
        statuses = tuple(query.statuses) or (DocumentStatus.PUBLISHED,)
        published = statuses == (DocumentStatus.PUBLISHED,)
        search = None
        if query.q and query.q.strip():
            try:
                search = query_search_forms(query.q)
            except ContentRejected as exc:
                raise BadRequest(exc.message_vi, code=exc.code) from exc
        async with self.database.connection() as conn:
            if published:
                own = await self._organization(conn, principal.organization_id)
                scope = reading_filter(principal, own)
            else:
                self._require_manager(principal)
                scope = managing_filter(principal)
            return await self._page(
                conn,
                DocumentQuery(
                    published=published,
                    scope=scope,
                    statuses=statuses,
                    search=search,
                    kinds=tuple(query.kinds),
                    tag=clean_tag(query.tag) if query.tag else None,
                    date_from=query.date_from,
                    date_to=query.date_to,
                    organization_id=query.organization_id,
                ),
                query.cursor,
                query.limit,
            )

    async def feed(self, principal: Principal, *, cursor: str | None, limit: int) -> Page:
        """What's new for me: published documents for my organisation and its ancestors (or
        for everyone) that I have not read, or whose content changed since I read them."""
        async with self.database.connection() as conn:
            own = await self._organization(conn, principal.organization_id)
            scope = ScopeFilter(
                everything=principal.is_system_admin,
                unscoped=True,
                organization_ids=reader_organization_ids(principal, own),
            )
            query = DocumentQuery(published=True, scope=scope, unread_by=reader_key(principal))
            return await self._page(conn, query, cursor, limit)

    @staticmethod
    async def _page(
        conn: asyncpg.Connection, query: DocumentQuery, cursor: str | None, limit: int
    ) -> Page:
        limit = max(1, min(limit, MAX_PAGE))
        after = decode_cursor(cursor) if cursor else None
        rows = await repository.list_documents(conn, replace(query, after=after, limit=limit + 1))
        if len(rows) <= limit:
            return Page(rows, None)
        rows = rows[:limit]
        return Page(rows, encode_cursor(rows[-1].sort_at, rows[-1].id))

    async def mark_read(self, principal: Principal, document_id: uuid.UUID) -> Receipt:
        """Records that the caller read the latest published version (idempotent)."""
        async with self.database.transaction() as tx:
            access = await self._access(tx.conn, principal, document_id)
            latest = access.latest
            if access.document.status is not DocumentStatus.PUBLISHED or latest is None:
                raise DocumentNotPublished()
            read_at = await repository.record_read(
                tx.conn,
                document_id=document_id,
                reader=reader_key(principal),
                version=latest.version,
                content_hash=latest.rendition.content_hash,
            )
        return Receipt(document_id, latest.version, read_at)

    async def version_text(self, principal: Principal, document_id: uuid.UUID, version: int) -> str:
        """The plain text of a version (what a claim check refers to)."""
        return (await self.get_version(principal, document_id, version)).rendition.plain_text

    # -- attachments ---------------------------------------------------------------------------

    async def add_attachment(
        self, principal: Principal, document_id: uuid.UUID, *, file_name: str | None, data: bytes
    ) -> Attachment:
        self._require_manager(principal)
        try:
            file_type = sniff_attachment(data, max_bytes=self.limits.attachment_max_bytes)
        except ContentRejected as exc:
            raise rejected(exc, "file") from exc
        async with self.database.transaction() as tx:
            document = await self._managed_for_update(tx.conn, principal, document_id)
            return await self._store_attachment(
                tx.conn,
                principal,
                document.id,
                safe_file_name(file_name, file_type),
                data,
                file_type,
                is_source=False,
            )

    async def _store_attachment(
        self,
        conn: asyncpg.Connection,
        principal: Principal,
        document_id: uuid.UUID,
        file_name: str,
        data: bytes,
        file_type: FileType,
        *,
        is_source: bool,
    ) -> Attachment:
        attachment_id = uuid.uuid4()
        key = f"documents/{document_id}/attachments/{attachment_id}"
        await self.store.put(key, data, content_type=file_type.media_type)
        return await repository.insert_attachment(
            conn,
            attachment_id=attachment_id,
            document_id=document_id,
            file_name=file_name,
            media_type=file_type.media_type,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            storage_key=key,
            is_source=is_source,
            actor=principal.subject,
        )

    async def list_attachments(
        self, principal: Principal, document_id: uuid.UUID
    ) -> list[Attachment]:
        async with self.database.connection() as conn:
            await self._access(conn, principal, document_id)
            return await repository.list_attachments(conn, document_id)

    async def get_attachment(
        self, principal: Principal, document_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> tuple[Attachment, bytes]:
        async with self.database.connection() as conn:
            await self._access(conn, principal, document_id)
            attachment = await repository.get_attachment(conn, document_id, attachment_id)
        if attachment is None:
            raise NotFound("Không tìm thấy tệp đính kèm.", code="attachment_not_found")
        return attachment, await self.store.get(attachment.storage_key)
