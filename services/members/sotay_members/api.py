"""HTTP routes of the members service."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from sotay_common.auth import Principal, current_principal
from sotay_common.errors import BadRequest
from sotay_common.events.members import MemberStatus
from sotay_common.runtime import Runtime
from sotay_members import importing, repository
from sotay_members.domain import (
    ORGANIZATION_TYPE_LABELS,
    POSITION_LABELS,
    STATUS_LABELS,
    Member,
    Organization,
)
from sotay_members.schemas import (
    HistoryCreate,
    HistoryOut,
    ImportErrorOut,
    ImportJobOut,
    MemberCreate,
    MemberOut,
    MemberPage,
    MemberSummary,
    MemberTransfer,
    MemberUpdate,
    OrganizationCreate,
    OrganizationDetail,
    OrganizationMove,
    OrganizationOut,
    OrganizationRef,
    OrganizationUpdate,
)
from sotay_members.service import (
    IMPORT_STATUS_LABELS,
    ImportService,
    MembersService,
    SearchQuery,
    import_progress,
    mask_citizen_id,
    sees_full_citizen_id,
)
from sotay_members.settings import MembersSettings

router = APIRouter()
CallerDep = Annotated[Principal, Depends(current_principal)]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def members_service(request: Request) -> MembersService:
    return MembersService(_runtime(request).database)


def import_service(request: Request) -> ImportService:
    runtime = _runtime(request)
    settings = runtime.settings
    assert isinstance(settings, MembersSettings)
    return ImportService(
        runtime.database, max_bytes=settings.import_max_bytes, max_rows=settings.import_max_rows
    )


ServiceDep = Annotated[MembersService, Depends(members_service)]
ImportsDep = Annotated[ImportService, Depends(import_service)]


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().strip("W/").strip('"'))
    except ValueError as exc:
        raise BadRequest("Tiêu đề If-Match không hợp lệ.", code="invalid_if_match") from exc


# -- organisations ------------------------------------------------------------------------------


def organization_out(org: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=org.id,
        code=org.code,
        name=org.name,
        type=org.type,
        type_label=ORGANIZATION_TYPE_LABELS[org.type],
        parent_id=org.parent_id,
        ancestor_ids=org.ancestor_ids,
        status=org.status,
        version=org.version,
        created_at=org.created_at,
        updated_at=org.updated_at,
    )


@router.post(
    "/organizations", status_code=201, response_model=OrganizationOut, tags=["organizations"]
)
async def create_organization(
    body: OrganizationCreate, caller: CallerDep, service: ServiceDep
) -> OrganizationOut:
    return organization_out(await service.create_organization(caller, body))


@router.get("/organizations", response_model=list[OrganizationOut], tags=["organizations"])
async def list_organizations(
    caller: CallerDep,
    service: ServiceDep,
    parent_id: Annotated[
        uuid.UUID | None, Query(description="Children of this unit; roots when absent")
    ] = None,
) -> list[OrganizationOut]:
    return [organization_out(o) for o in await service.list_children(caller, parent_id)]


@router.get(
    "/organizations/{org_id}",
    response_model=OrganizationDetail | OrganizationOut,
    tags=["organizations"],
)
async def get_organization(
    org_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> OrganizationDetail | OrganizationOut:
    org, counts = await service.get_organization(caller, org_id)
    out = organization_out(org)
    if counts is None:
        return out
    return OrganizationDetail(**out.model_dump(), **counts.__dict__)


@router.patch("/organizations/{org_id}", response_model=OrganizationOut, tags=["organizations"])
async def update_organization(
    org_id: uuid.UUID, body: OrganizationUpdate, caller: CallerDep, service: ServiceDep
) -> OrganizationOut:
    return organization_out(await service.update_organization(caller, org_id, body))


@router.post("/organizations/{org_id}/move", response_model=OrganizationOut, tags=["organizations"])
async def move_organization(
    org_id: uuid.UUID, body: OrganizationMove, caller: CallerDep, service: ServiceDep
) -> OrganizationOut:
    return organization_out(await service.move_organization(caller, org_id, body.parent_id))


# -- members ------------------------------------------------------------------------------------


def member_out(member: Member, org: Organization, caller: Principal) -> MemberOut:
    citizen_id = member.citizen_id
    if not sees_full_citizen_id(caller, member):
        citizen_id = mask_citizen_id(citizen_id)
    return MemberOut(
        id=member.id,
        full_name=member.full_name,
        date_of_birth=member.date_of_birth,
        gender=member.gender,
        ethnicity=member.ethnicity,
        hometown=member.hometown,
        citizen_id=citizen_id,
        party_card_number=member.party_card_number,
        admission_date=member.admission_date,
        official_date=member.official_date,
        status=member.status,
        status_label=STATUS_LABELS[member.status],
        organization=OrganizationRef(id=org.id, code=org.code, name=org.name),
        positions=member.positions,
        position_labels=[POSITION_LABELS[p] for p in member.positions],
        phone=member.phone,
        email=member.email,
        address=member.address,
        photo_ref=member.photo_ref,
        version=member.version,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


def _member_response(
    response: Response, member: Member, org: Organization, caller: Principal
) -> MemberOut:
    response.headers["ETag"] = f'"{member.version}"'
    return member_out(member, org, caller)


@router.post("/members", status_code=201, response_model=MemberOut, tags=["members"])
async def create_member(
    body: MemberCreate, caller: CallerDep, service: ServiceDep, response: Response
) -> MemberOut:
    member = await service.create_member(caller, body)
    _, org = await service.get_member(caller, member.id)
    response.headers["Location"] = f"/members/{member.id}"
    return _member_response(response, member, org, caller)


@router.get("/members", response_model=MemberPage, tags=["members"])
async def search_members(
    caller: CallerDep,
    service: ServiceDep,
    q: Annotated[
        str | None,
        Query(
            max_length=100, description="Name (with or without diacritics) or 12-digit card number"
        ),
    ] = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Only this unit and its subtree")
    ] = None,
    status: Annotated[list[MemberStatus] | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MemberPage:
    page = await service.search_members(
        caller,
        SearchQuery(
            q=q,
            organization_id=organization_id,
            statuses=tuple(status or ()),
            cursor=cursor,
            limit=limit,
        ),
    )
    return MemberPage(
        items=[
            MemberSummary(
                id=item.member.id,
                full_name=item.member.full_name,
                date_of_birth=item.member.date_of_birth,
                party_card_number=item.member.party_card_number,
                status=item.member.status,
                status_label=STATUS_LABELS[item.member.status],
                organization_id=item.member.organization_id,
                organization_name=item.organization_name,
                positions=item.member.positions,
                match=item.match.value,
            )
            for item in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/members/me", response_model=MemberOut, tags=["members"])
async def my_record(caller: CallerDep, service: ServiceDep, response: Response) -> MemberOut:
    if caller.member_id is None:
        raise BadRequest(
            "Tài khoản này không gắn với hồ sơ đảng viên nào.", code="no_member_record"
        )
    member, org = await service.get_member(caller, caller.member_id)
    return _member_response(response, member, org, caller)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/members/export",
    tags=["imports"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}},
)
async def export_members(
    caller: CallerDep,
    service: ServiceDep,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> StreamingResponse:
    export = await service.prepare_export(caller, organization_id)
    if format == "xlsx":
        rows = [cells async for cells in export.rows()]
        content = await asyncio.to_thread(_xlsx_bytes, rows)
        return StreamingResponse(
            iter([content]),
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="dang-vien.xlsx"'},
        )

    async def csv_body() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()  # Excel reads UTF-8 only with a BOM
        yield importing.csv_line(importing.export_header())
        async for cells in export.rows():
            yield importing.csv_line(cells)

    return StreamingResponse(
        csv_body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="dang-vien.csv"'},
    )


def _xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Đảng viên")
    sheet.append(importing.export_header())
    for cells in rows:
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@router.get("/members/{member_id}", response_model=MemberOut, tags=["members"])
async def get_member(
    member_id: uuid.UUID, caller: CallerDep, service: ServiceDep, response: Response
) -> MemberOut:
    member, org = await service.get_member(caller, member_id)
    return _member_response(response, member, org, caller)


@router.patch("/members/{member_id}", response_model=MemberOut, tags=["members"])
async def update_member(
    member_id: uuid.UUID,
    body: MemberUpdate,
    caller: CallerDep,
    service: ServiceDep,
    response: Response,
    if_match: Annotated[str | None, Header(description='Version from the ETag, e.g. "3"')] = None,
) -> MemberOut:
    member, org = await service.update_member(
        caller, member_id, body, expected_version=_if_match(if_match)
    )
    return _member_response(response, member, org, caller)


@router.post("/members/{member_id}/transfer", response_model=MemberOut, tags=["members"])
async def transfer_member(
    member_id: uuid.UUID,
    body: MemberTransfer,
    caller: CallerDep,
    service: ServiceDep,
    response: Response,
) -> MemberOut:
    member, org = await service.transfer_member(caller, member_id, body)
    return _member_response(response, member, org, caller)


def history_out(entry: repository.HistoryEntry) -> HistoryOut:
    return HistoryOut(
        id=entry.id,
        kind=entry.kind,
        occurred_on=entry.occurred_on,
        summary=entry.summary,
        details=entry.details,
        recorded_by=entry.recorded_by,
        recorded_at=entry.recorded_at,
    )


@router.get("/members/{member_id}/history", response_model=list[HistoryOut], tags=["members"])
async def member_history(
    member_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> list[HistoryOut]:
    return [history_out(e) for e in await service.list_history(caller, member_id)]


@router.post(
    "/members/{member_id}/history", status_code=201, response_model=HistoryOut, tags=["members"]
)
async def add_member_history(
    member_id: uuid.UUID, body: HistoryCreate, caller: CallerDep, service: ServiceDep
) -> HistoryOut:
    return history_out(await service.add_history(caller, member_id, body))


# -- imports ------------------------------------------------------------------------------------


def import_job_out(job: repository.ImportJob) -> ImportJobOut:
    return ImportJobOut(
        id=job.id,
        status=job.status,
        status_label=IMPORT_STATUS_LABELS[job.status],
        mode=job.mode,
        dry_run=job.dry_run,
        file_name=job.file_name,
        file_format=job.file_format,
        phase=job.phase,
        total_rows=job.total_rows,
        processed_rows=job.processed_rows,
        progress=import_progress(job),
        created_count=job.created_count,
        updated_count=job.updated_count,
        unchanged_count=job.unchanged_count,
        error_count=job.error_count,
        message=job.message,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.post("/members/imports", status_code=202, response_model=ImportJobOut, tags=["imports"])
async def submit_import(
    caller: CallerDep,
    imports: ImportsDep,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or XLSX export of member records")],
    mode: Annotated[Literal["all_or_nothing", "skip_invalid"], Form()] = "all_or_nothing",
    dry_run: Annotated[bool, Form()] = False,
) -> ImportJobOut:
    content = await file.read()
    job = await imports.submit(
        caller, file_name=file.filename or "import", content=content, mode=mode, dry_run=dry_run
    )
    response.headers["Location"] = f"/members/imports/{job.id}"
    return import_job_out(job)


@router.get("/members/imports/{job_id}", response_model=ImportJobOut, tags=["imports"])
async def get_import(job_id: uuid.UUID, caller: CallerDep, imports: ImportsDep) -> ImportJobOut:
    return import_job_out(await imports.get(caller, job_id))


@router.get(
    "/members/imports/{job_id}/errors", response_model=list[ImportErrorOut], tags=["imports"]
)
async def import_errors(
    job_id: uuid.UUID,
    caller: CallerDep,
    imports: ImportsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ImportErrorOut]:
    errors = await imports.errors(caller, job_id, limit=limit, offset=offset)
    return [ImportErrorOut(**e.__dict__) for e in errors]
