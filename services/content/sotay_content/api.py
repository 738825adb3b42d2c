"""HTTP routes of the content service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Header,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from sotay_common.auth import Principal, current_principal
from sotay_common.errors import BadRequest, ValidationFailed, field_errors_from_pydantic
from sotay_common.events.content import DocumentKind
from sotay_common.runtime import Runtime
from sotay_common.storage import open_blob_store
from sotay_content.documents import KIND_LABELS_VI
from sotay_content.domain import STATUS_LABELS, Attachment, DocumentListItem, DocumentStatus
from sotay_content.schemas import (
    AttachmentOut,
    DocumentCreate,
    DocumentMetadata,
    DocumentOut,
    DocumentPage,
    DocumentSummary,
    DocumentUpdate,
    FeedItem,
    FeedPage,
    ManagerDetails,
    PublishOut,
    ReceiptOut,
    TocOut,
    VersionOut,
)
from sotay_content.service import ContentLimits, ContentService, DocumentSearch, DocumentView
from sotay_content.settings import ContentSettings

router = APIRouter()
CallerDep = Annotated[Principal, Depends(current_principal)]


def content_service(request: Request) -> ContentService:
    """One service object per running app: it holds the blob store and the extraction
    workers."""
    runtime: Runtime = request.app.state.runtime
    service = runtime.state.get("content_service")
    if service is None:
        settings = runtime.settings
        assert isinstance(settings, ContentSettings)
        service = ContentService(
            runtime.database,
            open_blob_store(settings.storage_url),
            limits=ContentLimits(
                upload_max_bytes=settings.upload_max_bytes,
                attachment_max_bytes=settings.attachment_max_bytes,
                extraction_workers=settings.extraction_workers,
                extraction_timeout_s=settings.extraction_timeout_s,
            ),
        )
        runtime.state["content_service"] = service
    assert isinstance(service, ContentService)
    return service


ServiceDep = Annotated[ContentService, Depends(content_service)]


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise BadRequest("Tiêu đề If-Match không hợp lệ.", code="invalid_if_match") from exc


# -- mapping ------------------------------------------------------------------------------------


def attachment_out(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        file_name=attachment.file_name,
        media_type=attachment.media_type,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        is_source=attachment.is_source,
        uploaded_at=attachment.uploaded_at,
        url=f"/documents/{attachment.document_id}/attachments/{attachment.id}",
    )


def _document_fields(view: DocumentView) -> dict[str, Any]:
    document, content, rendition = view.document, view.content, view.rendition
    manager = None
    if view.manager:
        manager = ManagerDetails(
            draft_revision=document.draft_revision,
            has_unpublished_changes=document.has_unpublished_changes,
            latest_version=document.published_version,
            created_by=document.created_by,
            created_at=document.created_at,
            updated_by=document.updated_by,
            updated_at=document.updated_at,
            published_by=view.version.published_by if view.version else None,
            archived_by=document.archived_by,
        )
    return {
        "id": document.id,
        "status": document.status,
        "status_label": STATUS_LABELS[document.status],
        "view": "draft" if view.version is None else "published",
        "version": view.version.version if view.version else None,
        "kind": content.kind,
        "kind_label": KIND_LABELS_VI[content.kind],
        "title": content.title,
        "summary": content.summary,
        "number": content.number,
        "issuing_body": content.issuing_body,
        "issued_on": content.issued_on,
        "language": content.language,
        "tags": list(content.tags),
        "scope_organization_id": content.scope_org_id,
        "content_hash": rendition.content_hash,
        "body_format": content.body_format,
        "body": content.body,
        "html": rendition.html,
        "toc": rendition.toc,
        "chapters": rendition.chapters,
        "published_at": view.version.published_at if view.version else None,
        "archived_at": document.archived_at,
        "attachments": [attachment_out(a) for a in view.attachments],
        "manager": manager,
    }


def document_out(view: DocumentView, response: Response | None = None) -> DocumentOut:
    if response is not None and view.manager:
        response.headers["ETag"] = f'"{view.document.draft_revision}"'
    return DocumentOut(**_document_fields(view))


def _summary_fields(item: DocumentListItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "status_label": STATUS_LABELS[item.status],
        "version": item.version,
        "kind": item.kind,
        "kind_label": KIND_LABELS_VI[item.kind],
        "title": item.title,
        "summary": item.summary,
        "number": item.number,
        "issuing_body": item.issuing_body,
        "issued_on": item.issued_on,
        "language": item.language,
        "tags": item.tags,
        "scope_organization_id": item.scope_org_id,
        "published_at": item.published_at,
        "updated_at": item.updated_at,
    }


# -- drafts and their life ----------------------------------------------------------------------


@router.post("/documents", status_code=201, response_model=DocumentOut, tags=["documents"])
async def create_document(
    body: DocumentCreate, caller: CallerDep, service: ServiceDep, response: Response
) -> DocumentOut:
    """A draft from Markdown or text (committee admins within their subtree, system admins)."""
    view = await service.create_document(
        caller,
        body,
        body_format=body.body_format,
        body=body.body,
        scope_given="scope_organization_id" in body.model_fields_set,
    )
    response.headers["Location"] = f"/documents/{view.document.id}"
    return document_out(view, response)


def _form_metadata(fields: dict[str, Any]) -> DocumentMetadata:
    try:
        return DocumentMetadata.model_validate(fields)
    except ValidationError as exc:
        raise ValidationFailed(errors=field_errors_from_pydantic(exc.errors())) from exc


@router.post("/documents/upload", status_code=201, response_model=DocumentOut, tags=["documents"])
async def upload_document(
    caller: CallerDep,
    service: ServiceDep,
    response: Response,
    file: Annotated[UploadFile, File(description="DOCX, PDF (with text, not scans) or text")],
    kind: Annotated[str, Form()],
    title: Annotated[str, Form()],
    summary: Annotated[str | None, Form()] = None,
    number: Annotated[str | None, Form()] = None,
    issuing_body: Annotated[str | None, Form()] = None,
    issued_on: Annotated[str | None, Form(description="YYYY-MM-DD")] = None,
    language: Annotated[str | None, Form()] = None,
    tags: Annotated[list[str] | None, Form(description="Repeat the field per tag")] = None,
    scope_organization_id: Annotated[str | None, Form()] = None,
) -> DocumentOut:
    """A draft whose body is the Markdown extracted from the file (kept as an attachment).
    Empty form fields count as absent."""
    given = {
        "kind": kind,
        "title": title,
        "summary": summary,
        "number": number,
        "issuing_body": issuing_body,
        "issued_on": issued_on,
        "language": language,
        "scope_organization_id": scope_organization_id,
    }
    fields: dict[str, Any] = {k: v for k, v in given.items() if v not in (None, "")}
    if tags:
        fields["tags"] = [tag for tag in tags if tag.strip()]
    view = await service.create_from_upload(
        caller,
        _form_metadata(fields),
        scope_given="scope_organization_id" in fields,
        file_name=file.filename,
        data=await file.read(),
    )
    response.headers["Location"] = f"/documents/{view.document.id}"
    return document_out(view, response)


@router.patch("/documents/{document_id}", response_model=DocumentOut, tags=["documents"])
async def update_document(
    document_id: uuid.UUID,
    body: DocumentUpdate,
    caller: CallerDep,
    service: ServiceDep,
    response: Response,
    if_match: Annotated[str | None, Header(description='Draft revision (ETag), e.g. "3"')] = None,
) -> DocumentOut:
    """Edits the draft; a published version stays readable until the next publish."""
    view = await service.update_document(
        caller, document_id, body, expected_revision=_if_match(if_match)
    )
    return document_out(view, response)


@router.post(
    "/documents/{document_id}/publish",
    status_code=201,
    response_model=PublishOut,
    tags=["documents"],
    responses={200: {"model": PublishOut, "description": "Unchanged: nothing was published"}},
)
async def publish_document(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep, response: Response
) -> PublishOut:
    """Publishes the draft as a new immutable version (201) with `document.published.v1`;
    the same content and metadata as the latest version publish nothing (200, unchanged)."""
    outcome = await service.publish(caller, document_id)
    view = outcome.view
    if outcome.unchanged:
        response.status_code = 200
    else:
        assert view.version is not None
        response.headers["Location"] = f"/documents/{document_id}/versions/{view.version.version}"
    return PublishOut(**_document_fields(view), unchanged=outcome.unchanged)


@router.post("/documents/{document_id}/archive", response_model=DocumentOut, tags=["documents"])
async def archive_document(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep, response: Response
) -> DocumentOut:
    """Withdraws the document from readers, with `document.archived.v1`."""
    return document_out(await service.archive(caller, document_id), response)


# -- reading ------------------------------------------------------------------------------------


@router.get("/documents", response_model=DocumentPage, tags=["reading"])
async def search_documents(
    caller: CallerDep,
    service: ServiceDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Words of the title or body, with or without accents"),
    ] = None,
    kind: Annotated[list[DocumentKind] | None, Query()] = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
    date_from: Annotated[date | None, Query(description="Issued (else published) from")] = None,
    date_to: Annotated[date | None, Query(description="Issued (else published) until")] = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Scoped to this organisation or below it")
    ] = None,
    status: Annotated[
        list[DocumentStatus] | None,
        Query(description="Managers: drafts and archived documents of their scope"),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DocumentPage:
    """Newest first. Members see the latest published version of what their scope allows."""
    page = await service.search(
        caller,
        DocumentSearch(
            q=q,
            kinds=tuple(kind or ()),
            tag=tag,
            date_from=date_from,
            date_to=date_to,
            organization_id=organization_id,
            statuses=tuple(status or ()),
            cursor=cursor,
            limit=limit,
        ),
    )
    return DocumentPage(
        items=[DocumentSummary(**_summary_fields(item)) for item in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/me/feed", response_model=FeedPage, tags=["reading"])
async def my_feed(
    caller: CallerDep,
    service: ServiceDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> FeedPage:
    """What's new for me: published documents of my scope not read yet, newest first."""
    page = await service.feed(caller, cursor=cursor, limit=limit)
    return FeedPage(
        items=[
            FeedItem(**_summary_fields(item), updated_since_read=item.read_before)
            for item in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/documents/{document_id}", response_model=DocumentOut, tags=["reading"])
async def get_document(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep, response: Response
) -> DocumentOut:
    """The latest published version; for managers, the draft of a document never published."""
    return document_out(await service.get_document(caller, document_id), response)


@router.get("/documents/{document_id}/draft", response_model=DocumentOut, tags=["documents"])
async def get_draft(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep, response: Response
) -> DocumentOut:
    """The working draft (managers)."""
    return document_out(await service.get_draft(caller, document_id), response)


@router.get("/documents/{document_id}/toc", response_model=TocOut, tags=["reading"])
async def table_of_contents(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> TocOut:
    """Regulations: Chương, Mục and Điều with the anchors of the `html` sections."""
    view = await service.get_document(caller, document_id)
    return TocOut(
        document_id=document_id,
        version=view.version.version if view.version else None,
        entries=view.rendition.toc or [],
        chapters=view.rendition.chapters,
    )


@router.get("/documents/{document_id}/versions", response_model=list[VersionOut], tags=["reading"])
async def list_versions(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> list[VersionOut]:
    return [VersionOut(**v.__dict__) for v in await service.list_versions(caller, document_id)]


@router.get(
    "/documents/{document_id}/versions/{version}", response_model=DocumentOut, tags=["reading"]
)
async def get_version(
    document_id: uuid.UUID,
    version: Annotated[int, Path(ge=1)],
    caller: CallerDep,
    service: ServiceDep,
) -> DocumentOut:
    return document_out(await service.get_version(caller, document_id, version))


@router.get(
    "/documents/{document_id}/versions/{version}/text",
    response_class=PlainTextResponse,
    tags=["reading"],
)
async def version_text(
    document_id: uuid.UUID, version: int, caller: CallerDep, service: ServiceDep
) -> PlainTextResponse:
    """The plain text of a version, as `document.published.v1` carries it (or refers to it)."""
    text = await service.version_text(caller, document_id, version)
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


@router.post("/documents/{document_id}/read", response_model=ReceiptOut, tags=["reading"])
async def mark_read(document_id: uuid.UUID, caller: CallerDep, service: ServiceDep) -> ReceiptOut:
    """Read receipt for the latest published version (idempotent)."""
    receipt = await service.mark_read(caller, document_id)
    return ReceiptOut(**receipt.__dict__)


# -- attachments --------------------------------------------------------------------------------


@router.post(
    "/documents/{document_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    tags=["attachments"],
)
async def add_attachment(
    document_id: uuid.UUID,
    caller: CallerDep,
    service: ServiceDep,
    response: Response,
    file: Annotated[UploadFile, File(description="PDF, DOCX, XLSX, PPTX, PNG, JPEG or text")],
) -> AttachmentOut:
    attachment = await service.add_attachment(
        caller, document_id, file_name=file.filename, data=await file.read()
    )
    out = attachment_out(attachment)
    response.headers["Location"] = out.url
    return out


@router.get(
    "/documents/{document_id}/attachments",
    response_model=list[AttachmentOut],
    tags=["attachments"],
)
async def list_attachments(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> list[AttachmentOut]:
    return [attachment_out(a) for a in await service.list_attachments(caller, document_id)]


def content_disposition(file_name: str) -> str:
    """RFC 6266: an ASCII fallback and the real (Vietnamese) name."""
    fallback = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name)}"


@router.get(
    "/documents/{document_id}/attachments/{attachment_id}",
    response_class=Response,
    tags=["attachments"],
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_attachment(
    document_id: uuid.UUID, attachment_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> Response:
    attachment, data = await service.get_attachment(caller, document_id, attachment_id)
    return Response(
        data,
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": content_disposition(attachment.file_name),
            "X-Content-Type-Options": "nosniff",
        },
    )
