"""Use cases of the members service: the organisation tree and member records, each in one
transaction with its events, and access decided from the caller's roles and organisation."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from sotay_common.auth import Principal
from sotay_common.db import Database, Tx
from sotay_common.errors import (
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
from sotay_common.events.members import MemberStatus, OrganizationStatus
from sotay_common.ids import new_id
from sotay_common.text import fold, folded_words, search_words
from sotay_members import events, importing, repository
from sotay_members.domain import (
    MEMBER_HOLDING_TYPES,
    POSITION_LABELS,
    Member,
    Organization,
    RuleViolation,
    Scope,
    changeable_fields,
    check_member_facts,
    check_parent,
    may_manage_records,
    name_search_forms,
    new_member_record,
    normalise_name,
    read_scope,
)
from sotay_members.repository import (
    Cursor,
    Match,
    MemberListItem,
    MemberSearch,
    NewMember,
    OrganizationCounts,
)
from sotay_members.schemas import (
    HistoryCreate,
    MemberCreate,
    MemberTransfer,
    MemberUpdate,
    OrganizationCreate,
    OrganizationUpdate,
)

logger = logging.getLogger(__name__)
MAX_PAGE = 100
CANNOT_HOLD_MEMBERS = "Đảng viên chỉ sinh hoạt tại chi bộ hoặc tổ chức cơ sở đảng đang hoạt động."


class MemberOutOfScope(Forbidden):
    code = "member_out_of_scope"
    detail_vi = "Bạn không có quyền với hồ sơ đảng viên này (ngoài phạm vi tổ chức bạn quản lý)."


class OrganizationOutOfScope(Forbidden):
    code = "organization_out_of_scope"
    detail_vi = "Tổ chức này nằm ngoài phạm vi bạn quản lý."


class ManagersOnly(Forbidden):
    code = "managers_only"
    detail_vi = "Chỉ cán bộ cấp ủy quản lý hồ sơ mới thực hiện được thao tác này."


def _violations(violations: Sequence[RuleViolation]) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError(v.field, v.code, v.message) for v in violations])


def _field_conflict(field: str, code: str, message: str) -> Conflict:
    return Conflict(message, code=code, errors=[FieldError(field, code, message)])


@dataclass(frozen=True)
class SearchQuery:
    q: str | None = None
    organization_id: uuid.UUID | None = None
    statuses: Sequence[MemberStatus] = ()
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True)
class MemberPageResult:
    items: list[MemberListItem]
    next_cursor: str | None


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps(
        [cursor.match.value, cursor.sort_key, str(cursor.member_id)], ensure_ascii=False
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        match, sort_key, member_id = json.loads(raw)
        return Cursor(Match(match), str(sort_key), uuid.UUID(member_id))
    except (ValueError, TypeError) as exc:
        raise BadRequest("Con trỏ phân trang không hợp lệ.", code="invalid_cursor") from exc


class MembersService:
    def __init__(self, database: Database, *, today: Callable[[], date] = date.today) -> None:
        self.database = database
        self.today = today

    # -- scope -------------------------------------------------------------------------------

    @staticmethod
    def _require_manager(principal: Principal) -> None:
        if not may_manage_records(principal):
            raise ManagersOnly()

    @staticmethod
    def _manages(principal: Principal, org: Organization) -> bool:
        return principal.is_system_admin or (
            principal.organization_id is not None and principal.organization_id in org.path_ids
        )

    async def _managed_organization(
        self, conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID, *, field: str
    ) -> Organization:
        org = await repository.get_organization(conn, org_id)
        if org is None:
            message = "Không tìm thấy tổ chức đảng."
            raise NotFound(
                message,
                code="organization_not_found",
                errors=[FieldError(field, "not_found", message)],
            )
        if not self._manages(principal, org):
            raise OrganizationOutOfScope()
        return org

    async def _in_read_scope(
        self, conn: asyncpg.Connection, principal: Principal, member: Member
    ) -> bool:
        scope = read_scope(principal)
        in_subtree = scope.subtree_of is not None and await repository.is_within(
            conn, member.organization_id, scope.subtree_of
        )
        return scope.allows(member, in_subtree=in_subtree)

    async def _readable_member(
        self,
        conn: asyncpg.Connection,
        principal: Principal,
        member_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> Member:
        member = await repository.get_member(conn, member_id, for_update=for_update)
        if member is None:
            raise NotFound("Không tìm thấy hồ sơ đảng viên.", code="member_not_found")
        if not await self._in_read_scope(conn, principal, member):
            raise MemberOutOfScope()
        return member

    # -- organisations -----------------------------------------------------------------------

    async def create_organization(
        self, principal: Principal, command: OrganizationCreate
    ) -> Organization:
        self._require_manager(principal)
        async with self.database.transaction() as tx:
            parent = None
            if command.parent_id is not None:
                parent = await self._managed_organization(
                    tx.conn, principal, command.parent_id, field="parent_id"
                )
            elif not principal.is_system_admin:
                raise Forbidden(
                    "Chỉ quản trị hệ thống mới tạo được tổ chức cấp cao nhất.",
                    code="root_requires_system_admin",
                )
            violation = check_parent(command.type, parent.type if parent else None)
            if violation:
                raise _violations([violation])
            try:
                async with tx.conn.transaction():
                    org = await repository.insert_organization(
                        tx.conn,
                        org_id=new_id(),
                        code=command.code,
                        name=command.name,
                        org_type=command.type,
                        parent=parent,
                    )
            except asyncpg.UniqueViolationError as exc:
                raise _field_conflict("code", "duplicate_code", "Mã tổ chức đã tồn tại.") from exc
            await tx.outbox.add(events.organization_created(org))
            return org

    async def get_organization(
        self, principal: Principal, org_id: uuid.UUID
    ) -> tuple[Organization, OrganizationCounts | None]:
        """Anyone signed in may see the tree; counts are for those who work with that unit."""
        async with self.database.connection() as conn:
            org = await repository.get_organization(conn, org_id)
            if org is None:
                raise NotFound("Không tìm thấy tổ chức đảng.", code="organization_not_found")
            counts = None
            if self._manages(principal, org) or (read_scope(principal).organization == org.id):
                counts = await repository.organization_counts(conn, org)
            return org, counts

    async def list_children(
        self, principal: Principal, parent_id: uuid.UUID | None
    ) -> list[Organization]:
        async with self.database.connection() as conn:
            if parent_id is not None and await repository.get_organization(conn, parent_id) is None:
                raise NotFound("Không tìm thấy tổ chức đảng.", code="organization_not_found")
            return await repository.list_children(conn, parent_id)

    async def update_organization(
        self, principal: Principal, org_id: uuid.UUID, command: OrganizationUpdate
    ) -> Organization:
        self._require_manager(principal)
        async with self.database.transaction() as tx:
            org = await self._managed_organization(tx.conn, principal, org_id, field="id")
            requested = command.model_dump(exclude_unset=True, exclude_none=True)
            changes = {k: v for k, v in requested.items() if getattr(org, k) != v}
            if not changes:
                return org
            try:
                async with tx.conn.transaction():
                    updated = await repository.update_organization(tx.conn, org.id, changes)
            except asyncpg.UniqueViolationError as exc:
                raise _field_conflict("code", "duplicate_code", "Mã tổ chức đã tồn tại.") from exc
            await tx.outbox.add(events.organization_updated(updated, list(changes)))
            return updated

    async def move_organization(
        self, principal: Principal, org_id: uuid.UUID, new_parent_id: uuid.UUID
    ) -> Organization:
        self._require_manager(principal)
        async with self.database.transaction() as tx:
            # Moves are rare; one at a time keeps paths consistent.
            await tx.conn.execute("LOCK TABLE organizations IN SHARE ROW EXCLUSIVE MODE")
            org = await self._managed_organization(tx.conn, principal, org_id, field="id")
            parent = await self._managed_organization(
                tx.conn, principal, new_parent_id, field="parent_id"
            )
            if org.id in parent.path_ids:
                raise _violations(
                    [
                        RuleViolation(
                            "parent_id",
                            "move_into_own_subtree",
                            "Không thể chuyển tổ chức vào chính nó hoặc tổ chức cấp dưới của nó.",
                        )
                    ]
                )
            violation = check_parent(org.type, parent.type)
            if violation:
                raise _violations([violation])
            if org.parent_id == parent.id:
                return org
            moved = await repository.move_subtree(tx.conn, org, parent)
            await tx.outbox.add(events.organization_updated(moved, ["parent_id", "ancestor_ids"]))
            return moved

    # -- members -----------------------------------------------------------------------------

    async def _check_identity_free(
        self,
        conn: asyncpg.Connection,
        *,
        card: str,
        citizen_id: str | None,
        member_id: uuid.UUID | None,
    ) -> None:
        holders = await repository.find_member_ids_by_identity(
            conn, party_card_number=card, citizen_id=citizen_id
        )
        for holder_id, field in holders:
            if holder_id == member_id:
                continue
            if field == "party_card_number":
                raise _field_conflict(
                    field, "duplicate_card_number", "Số thẻ đảng viên đã thuộc về một hồ sơ khác."
                )
            raise _field_conflict(
                field, "duplicate_citizen_id", "Số CCCD đã thuộc về một hồ sơ khác."
            )

    async def _member_holding_organization(
        self, conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID, *, field: str
    ) -> Organization:
        org = await self._managed_organization(conn, principal, org_id, field=field)
        if org.type not in MEMBER_HOLDING_TYPES or org.status is not OrganizationStatus.ACTIVE:
            raise _violations(
                [
                    RuleViolation(
                        field,
                        "organization_cannot_hold_members",
                        CANNOT_HOLD_MEMBERS,
                    )
                ]
            )
        return org

    async def create_member(self, principal: Principal, command: MemberCreate) -> Member:
        self._require_manager(principal)
        problems = check_member_facts(command, today=self.today())
        if problems:
            raise _violations(problems)
        async with self.database.transaction() as tx:
            await self._member_holding_organization(
                tx.conn, principal, command.organization_id, field="organization_id"
            )
            await self._check_identity_free(
                tx.conn,
                card=command.party_card_number,
                citizen_id=command.citizen_id,
                member_id=None,
            )
            record = new_member_record(
                command,
                organization_id=command.organization_id,
                photo_ref=command.photo_ref,
                now=datetime.now(UTC),
            )
            try:
                async with tx.conn.transaction():
                    member = await repository.insert_member(tx.conn, NewMember.of(record))
            except asyncpg.UniqueViolationError as exc:  # a concurrent create won the race
                raise _field_conflict(
                    "party_card_number",
                    "duplicate_card_number",
                    "Số thẻ đảng viên đã thuộc về một hồ sơ khác.",
                ) from exc
            await tx.outbox.add(events.member_created(member))
            return member

    async def get_member(
        self, principal: Principal, member_id: uuid.UUID
    ) -> tuple[Member, Organization]:
        """The hot read path: one query, the scope decided on its result."""
        scope = read_scope(principal)
        async with self.database.connection() as conn:
            view = await repository.get_member_view(conn, member_id, scope_root=scope.subtree_of)
        if view is None:
            raise NotFound("Không tìm thấy hồ sơ đảng viên.", code="member_not_found")
        if not scope.allows(view.member, in_subtree=bool(view.within_scope_root)):
            raise MemberOutOfScope()
        return view.member, view.organization

    async def update_member(
        self,
        principal: Principal,
        member_id: uuid.UUID,
        command: MemberUpdate,
        *,
        expected_version: int | None = None,
    ) -> tuple[Member, Organization]:
        requested = command.model_dump(exclude_unset=True)
        async with self.database.transaction() as tx:
            member = await self._readable_member(tx.conn, principal, member_id, for_update=True)
            allowed = changeable_fields(principal, own_record=member.id == principal.member_id)
            if allowed is not None and not set(requested) <= allowed:
                denied = sorted(set(requested) - allowed)
                raise Forbidden(
                    "Bạn chỉ được sửa thông tin liên hệ (điện thoại, email, địa chỉ).",
                    code="fields_not_allowed",
                    errors=[
                        FieldError(f, "not_allowed", "Bạn không được sửa trường này.")
                        for f in denied
                    ],
                )
            if expected_version is not None and expected_version != member.version:
                raise PreconditionFailed(extra={"current_version": member.version})
            if "full_name" in requested and requested["full_name"] is None:
                raise _violations(
                    [RuleViolation("full_name", "required", "Họ và tên là bắt buộc.")]
                )
            changes = self._changes(member, requested)
            if not changes:
                org = await repository.get_organization(tx.conn, member.organization_id)
                assert org is not None
                return member, org
            merged = replace(member, **{k: v for k, v in changes.items() if k != "names"})
            problems = check_member_facts(merged, today=self.today())
            if problems:
                raise _violations(problems)
            if {"party_card_number", "citizen_id"} & set(changes):
                await self._check_identity_free(
                    tx.conn,
                    card=merged.party_card_number,
                    citizen_id=merged.citizen_id,
                    member_id=member.id,
                )
            updated = await repository.update_member(tx.conn, member.id, changes)
            await self._record_change_history(tx.conn, principal, member, updated)
            await tx.outbox.add(
                events.member_updated(updated, [k for k in changes if k != "names"])
            )
            org = await repository.get_organization(tx.conn, updated.organization_id)
            assert org is not None
            return updated, org

    @staticmethod
    def _changes(member: Member, requested: Mapping[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name, value in requested.items():
            if name == "full_name":
                value = normalise_name(value)
            if name == "positions":
                value = list(dict.fromkeys(value or []))
            if getattr(member, name) != value:
                changes[name] = value
        if "full_name" in changes:
            changes["names"] = name_search_forms(changes["full_name"])
        return changes

    async def _record_change_history(
        self, conn: asyncpg.Connection, principal: Principal, before: Member, after: Member
    ) -> None:
        if before.status != after.status:
            await repository.add_history(
                conn,
                member_id=after.id,
                kind="status_change",
                occurred_on=self.today(),
                summary=f"Thay đổi trạng thái: {before.status.value} → {after.status.value}",
                details={"from": before.status.value, "to": after.status.value},
                recorded_by=principal.subject,
            )
        if before.positions != after.positions:
            labels = ", ".join(POSITION_LABELS[p] for p in after.positions) or "không"
            await repository.add_history(
                conn,
                member_id=after.id,
                kind="position_change",
                occurred_on=self.today(),
                summary=f"Chức vụ: {labels}",
                details={
                    "from": [p.value for p in before.positions],
                    "to": [p.value for p in after.positions],
                },
                recorded_by=principal.subject,
            )

    async def transfer_member(
        self, principal: Principal, member_id: uuid.UUID, command: MemberTransfer
    ) -> tuple[Member, Organization]:
        self._require_manager(principal)
        if command.effective_date > self.today():
            raise _violations(
                [
                    RuleViolation(
                        "effective_date",
                        "date_in_future",
                        "Ngày chuyển sinh hoạt không được ở tương lai.",
                    )
                ]
            )
        async with self.database.transaction() as tx:
            member = await self._readable_member(tx.conn, principal, member_id, for_update=True)
            source = await repository.get_organization(tx.conn, member.organization_id)
            assert source is not None
            if not self._manages(principal, source):
                raise MemberOutOfScope()
            target = await repository.get_organization(tx.conn, command.to_organization_id)
            if target is None:
                raise NotFound(
                    "Không tìm thấy tổ chức đảng nơi chuyển đến.", code="organization_not_found"
                )
            if (
                target.type not in MEMBER_HOLDING_TYPES
                or target.status is not OrganizationStatus.ACTIVE
            ):
                raise _violations(
                    [
                        RuleViolation(
                            "to_organization_id",
                            "organization_cannot_hold_members",
                            CANNOT_HOLD_MEMBERS,
                        )
                    ]
                )
            if target.id == member.organization_id:
                raise _violations(
                    [
                        RuleViolation(
                            "to_organization_id",
                            "same_organization",
                            "Đảng viên đang sinh hoạt tại tổ chức này.",
                        )
                    ]
                )
            updated = await repository.update_member(
                tx.conn, member.id, {"organization_id": target.id, "positions": []}
            )
            await repository.add_history(
                tx.conn,
                member_id=member.id,
                kind="transfer",
                occurred_on=command.effective_date,
                summary=f"Chuyển sinh hoạt từ {source.name} đến {target.name}",
                details={"from": str(source.id), "to": str(target.id), "note": command.note or ""},
                recorded_by=principal.subject,
            )
            await tx.outbox.add(
                events.member_transferred(updated, source.id, command.effective_date)
            )
            return updated, target

    async def search_members(self, principal: Principal, query: SearchQuery) -> MemberPageResult:
        limit = max(1, min(query.limit, MAX_PAGE))
        async with self.database.connection() as conn:
            search = await self._scoped_search(conn, principal, query)
            search = replace(search, limit=limit)
            if query.cursor:
                search = replace(search, after=decode_cursor(query.cursor))
            page = await repository.search_members(conn, search)
        next_cursor = encode_cursor(page.next) if page.next else None
        return MemberPageResult(page.items, next_cursor)

    async def _scoped_search(
        self, conn: asyncpg.Connection, principal: Principal, query: SearchQuery
    ) -> MemberSearch:
        search = MemberSearch(statuses=tuple(query.statuses))
        text = (query.q or "").strip()
        digits = text.replace(" ", "")
        if digits.isdigit() and len(digits) == 12:
            search = replace(search, party_card_number=digits)
        elif text:
            tokens = folded_words(text)
            if not tokens:
                raise BadRequest("Từ khóa tìm kiếm không hợp lệ.", code="invalid_query")
            # words typed with diacritics must match exactly; the others match any accents
            words = search_words(text)
            accented = [w for w in words if fold(w) != w]
            search = replace(
                search,
                folded_tokens=tokens,
                accented_words=accented,
                last_word_complete=bool(words) and fold(words[-1]) != words[-1],
            )
        scope = read_scope(principal)
        return replace(
            search, **await self._scope_filter(conn, principal, scope, query.organization_id)
        )

    async def _scope_filter(
        self,
        conn: asyncpg.Connection,
        principal: Principal,
        scope: Scope,
        organization_id: uuid.UUID | None,
    ) -> dict[str, Any]:
        if scope.member is not None or (
            not scope.everything and scope.subtree_of is None and scope.organization is None
        ):
            return {"member_id": scope.member or uuid.UUID(int=0)}
        if scope.organization is not None:
            if organization_id not in (None, scope.organization):
                raise OrganizationOutOfScope()
            return {"organization_id": scope.organization}
        root_id = organization_id or scope.subtree_of
        if root_id is None:
            return {}
        root = await repository.get_organization(conn, root_id)
        if root is None:
            raise NotFound("Không tìm thấy tổ chức đảng.", code="organization_not_found")
        if not self._manages(principal, root):
            raise OrganizationOutOfScope()
        return {"within": root.id}

    async def prepare_export(
        self, principal: Principal, organization_id: uuid.UUID | None
    ) -> MemberExport:
        """Exports carry citizen ids and contacts: for committee staff, within their scope."""
        self._require_manager(principal)
        async with self.database.connection() as conn:
            scope = await self._scope_filter(
                conn, principal, read_scope(principal), organization_id
            )
        return MemberExport(self.database, scope.get("within"))

    async def add_history(
        self, principal: Principal, member_id: uuid.UUID, command: HistoryCreate
    ) -> repository.HistoryEntry:
        self._require_manager(principal)
        async with self.database.transaction() as tx:
            member = await self._readable_member(tx.conn, principal, member_id)
            if command.occurred_on > self.today():
                raise _violations(
                    [RuleViolation("occurred_on", "date_in_future", "Ngày không được ở tương lai.")]
                )
            if command.occurred_on < member.admission_date:
                raise _violations(
                    [
                        RuleViolation(
                            "occurred_on", "before_admission", "Ngày phải sau ngày vào Đảng."
                        )
                    ]
                )
            return await repository.add_history(
                tx.conn,
                member_id=member.id,
                kind=command.kind,
                occurred_on=command.occurred_on,
                summary=command.summary,
                details=command.details,
                recorded_by=principal.subject,
            )

    async def list_history(
        self, principal: Principal, member_id: uuid.UUID
    ) -> list[repository.HistoryEntry]:
        async with self.database.connection() as conn:
            await self._readable_member(conn, principal, member_id)
            return await repository.list_history(conn, member_id)


@dataclass(frozen=True)
class MemberExport:
    database: Database
    within: uuid.UUID | None

    async def rows(self) -> AsyncIterator[list[str]]:
        async with self.database.connection() as conn, conn.transaction():
            cursor = repository.members_for_export(conn, self.within)
            index = 0
            async for record in cursor:
                index += 1
                yield importing.export_cells(
                    index,
                    repository.member_from_row(record),
                    record["organization_code"],
                    record["organization_name"],
                )


def sees_full_citizen_id(principal: Principal, member: Member) -> bool:
    return may_manage_records(principal) or principal.member_id == member.id


def mask_citizen_id(value: str | None) -> str | None:
    return None if value is None else "*" * (len(value) - 4) + value[-4:]


# -- bulk import and export ---------------------------------------------------------------------

IMPORT_STATUS_LABELS = {
    "pending": "Đang chờ xử lý",
    "running": "Đang xử lý",
    "succeeded": "Hoàn thành",
    "rejected": "Bị từ chối do có dòng lỗi, không có thay đổi nào",
    "failed": "Lỗi hệ thống, không có thay đổi nào",
}
MAX_STORED_ERRORS = 100_000
IMPORT_FAILED = "Lỗi hệ thống khi nhập dữ liệu, không có thay đổi nào"
_PHASE_SHARE = {"queued": 0.0, "parsing": 0.0, "checking": 0.8, "writing": 0.9, "done": 1.0}
_IMPORTED_FIELDS = (
    "full_name",
    "date_of_birth",
    "gender",
    "ethnicity",
    "hometown",
    "citizen_id",
    "admission_date",
    "official_date",
    "status",
    "positions",
    "phone",
    "email",
    "address",
)


def import_progress(job: repository.ImportJob) -> float:
    if job.phase == "parsing" and job.total_rows:
        return round(0.8 * min(job.processed_rows / job.total_rows, 1.0), 3)
    return _PHASE_SHARE.get(job.phase, 0.0)


@dataclass
class ImportOutcome:
    created: list[Member]
    updated: list[tuple[Member, list[str]]]
    transferred: list[tuple[Member, uuid.UUID]]
    unchanged: int
    errors: list[importing.RowError]


class ImportService:
    def __init__(
        self,
        database: Database,
        *,
        max_bytes: int,
        max_rows: int = importing.MAX_ROWS,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.database = database
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self.today = today

    async def submit(
        self, principal: Principal, *, file_name: str, content: bytes, mode: str, dry_run: bool
    ) -> repository.ImportJob:
        if not may_manage_records(principal):
            raise ManagersOnly()
        if not content:
            raise BadRequest("Tệp tải lên rỗng.", code="empty_file")
        if len(content) > self.max_bytes:
            raise PayloadTooLarge(
                f"Tệp vượt quá giới hạn {self.max_bytes // 1_000_000} MB. Vui lòng chia nhỏ tệp."
            )
        try:
            file_format = importing.sniff_format(file_name, content)
        except importing.FileRejected as exc:
            raise UnsupportedMediaType(exc.message_vi, code=exc.code) from exc
        estimate = content.count(b"\n") if file_format == "csv" else None
        async with self.database.transaction() as tx:
            return await repository.create_import_job(
                tx.conn,
                job_id=new_id(),
                mode=mode,
                dry_run=dry_run,
                file_name=file_name[:255],
                file_format=file_format,
                content=content,
                scope_org_id=None if principal.is_system_admin else principal.organization_id,
                requested_by=principal.subject,
                total_rows=estimate,
            )

    async def _visible_job(self, principal: Principal, job_id: uuid.UUID) -> repository.ImportJob:
        async with self.database.connection() as conn:
            job = await repository.get_import_job(conn, job_id)
        if job is None or not (principal.is_system_admin or job.requested_by == principal.subject):
            raise NotFound("Không tìm thấy lượt nhập dữ liệu.", code="import_not_found")
        return job

    async def get(self, principal: Principal, job_id: uuid.UUID) -> repository.ImportJob:
        return await self._visible_job(principal, job_id)

    async def errors(
        self, principal: Principal, job_id: uuid.UUID, *, limit: int, offset: int
    ) -> list[importing.RowError]:
        await self._visible_job(principal, job_id)
        async with self.database.connection() as conn:
            rows = await repository.list_import_errors(conn, job_id, limit=limit, offset=offset)
        return [importing.RowError(**dict(r)) for r in rows]

    # -- the worker side -------------------------------------------------------------------

    async def run_next(self) -> bool:
        """Claims and runs one job. False when there is nothing to do."""
        async with self.database.transaction() as tx:
            claimed = await repository.claim_import_job(tx.conn)
        if claimed is None:
            return False
        job, content = claimed
        try:
            await self.run(job, content)
        except Exception as exc:
            logger.exception("import failed", extra={"import_id": str(job.id)})
            async with self.database.transaction() as tx:
                await repository.finish_import_job(
                    tx.conn,
                    job.id,
                    status="failed",
                    message=f"{IMPORT_FAILED} ({type(exc).__name__}).",
                )
        return True

    async def run(self, job: repository.ImportJob, content: bytes) -> None:
        with _collector_paused():
            await self._run(job, content)

    async def _run(self, job: repository.ImportJob, content: bytes) -> None:
        progress = _Progress(job.total_rows)
        reporter = asyncio.create_task(self._report_progress(job.id, progress))
        try:
            try:
                parsed = await asyncio.to_thread(self._parse, job.file_format, content, progress)
            except importing.FileRejected as exc:
                await self._finish(job, "rejected", exc.message_vi)
                return
            progress.total = parsed.total_rows
            progress.phase = "checking"
            async with self.database.transaction() as tx:
                outcome = await self._apply(tx, job, parsed, progress)
                rejected = bool(outcome.errors) and job.mode == "all_or_nothing"
                if rejected or job.dry_run:
                    raise _Rollback(outcome)
        except _Rollback as rollback:
            outcome = rollback.outcome
        finally:
            reporter.cancel()
        await self._finish_with(job, parsed.total_rows, outcome)

    def _parse(self, file_format: str, content: bytes, progress: _Progress) -> importing.ParsedFile:
        def count(rows: int) -> None:
            progress.processed = rows

        return importing.parse_rows(
            importing.read_table(file_format, content),
            today=self.today(),
            max_rows=self.max_rows,
            on_progress=count,
        )

    async def _report_progress(self, job_id: uuid.UUID, progress: _Progress) -> None:
        while True:
            async with self.database.transaction() as tx:
                await repository.record_import_progress(
                    tx.conn,
                    job_id,
                    phase=progress.phase,
                    processed_rows=progress.processed,
                    total_rows=progress.total,
                )
            await asyncio.sleep(1.0)

    async def _apply(
        self, tx: Tx, job: repository.ImportJob, parsed: importing.ParsedFile, progress: _Progress
    ) -> ImportOutcome:
        conn = tx.conn
        errors = list(parsed.errors)
        orgs = await repository.get_organizations_by_code(
            conn, {r.organization_code for r in parsed.rows}
        )
        existing = await repository.members_by_card_numbers(
            conn, [r.party_card_number for r in parsed.rows], for_update=True
        )
        citizen_holders = await repository.card_numbers_by_citizen_ids(
            conn, [r.citizen_id for r in parsed.rows if r.citizen_id]
        )
        valid: list[tuple[importing.MemberRow, Organization]] = []
        for row in parsed.rows:
            problem = self._row_problem(job, row, orgs.get(row.organization_code), citizen_holders)
            if problem is not None:
                errors.append(problem)
            else:
                valid.append((row, orgs[row.organization_code]))
        errors.sort(key=lambda e: (e.row_number, e.field))
        outcome = ImportOutcome([], [], [], 0, errors)
        if errors and job.mode == "all_or_nothing":
            return outcome
        progress.phase = "writing"
        now = datetime.now(UTC)
        new_members = [
            NewMember.of(new_member_record(row, organization_id=org.id, now=now))
            for row, org in valid
            if row.party_card_number not in existing
        ]
        outcome.created = await repository.copy_members(conn, new_members)
        await tx.outbox.add_many(events.member_created(m) for m in outcome.created)
        for row, org in valid:
            before = existing.get(row.party_card_number)
            if before is not None:
                await self._update_from_row(tx, job, before, row, org, outcome)
        return outcome

    @staticmethod
    def _row_problem(
        job: repository.ImportJob,
        row: importing.MemberRow,
        org: Organization | None,
        citizen_holders: Mapping[str, str],
    ) -> importing.RowError | None:
        def error(field: str, code: str, message: str, value: str | None) -> importing.RowError:
            return importing.RowError(row.row_number, field, code, message, value)

        code = row.organization_code
        if org is None:
            return error(
                "organization_code",
                "organization_not_found",
                f"Không có tổ chức đảng mã {code}.",
                code,
            )
        if job.scope_org_id is not None and job.scope_org_id not in org.path_ids:
            return error(
                "organization_code",
                "organization_out_of_scope",
                f"Tổ chức {code} nằm ngoài phạm vi bạn quản lý.",
                code,
            )
        if org.type not in MEMBER_HOLDING_TYPES or org.status is not OrganizationStatus.ACTIVE:
            return error(
                "organization_code", "organization_cannot_hold_members", CANNOT_HOLD_MEMBERS, code
            )
        holder = citizen_holders.get(row.citizen_id or "")
        if holder is not None and holder != row.party_card_number:
            message = "Số CCCD đã thuộc về một hồ sơ đảng viên khác."
            return error("citizen_id", "duplicate_citizen_id", message, row.citizen_id)
        return None

    async def _update_from_row(
        self,
        tx: Tx,
        job: repository.ImportJob,
        before: Member,
        row: importing.MemberRow,
        org: Organization,
        outcome: ImportOutcome,
    ) -> None:
        changes: dict[str, Any] = {
            name: getattr(row, name)
            for name in _IMPORTED_FIELDS
            if getattr(row, name) != getattr(before, name)
        }
        if "full_name" in changes:
            changes["names"] = name_search_forms(row.full_name)
        moved = org.id != before.organization_id
        if moved:
            changes["organization_id"] = org.id
        if not changes:
            outcome.unchanged += 1
            return
        after = await repository.update_member(tx.conn, before.id, changes)
        if moved:
            await repository.add_history(
                tx.conn,
                member_id=after.id,
                kind="transfer",
                occurred_on=self.today(),
                summary=f"Chuyển sinh hoạt đến {org.name} (nhập dữ liệu {job.file_name})",
                details={
                    "from": str(before.organization_id),
                    "to": str(org.id),
                    "import_id": str(job.id),
                },
                recorded_by=job.requested_by,
            )
            await tx.outbox.add(
                events.member_transferred(after, before.organization_id, self.today())
            )
            outcome.transferred.append((after, before.organization_id))
        field_changes = [k for k in changes if k not in ("names", "organization_id")]
        if field_changes:
            await tx.outbox.add(events.member_updated(after, field_changes))
        outcome.updated.append((after, field_changes))

    async def _finish_with(
        self, job: repository.ImportJob, total_rows: int, outcome: ImportOutcome
    ) -> None:
        rejected = bool(outcome.errors) and job.mode == "all_or_nothing"
        if rejected:
            status, message = (
                "rejected",
                (
                    f"Có {len(outcome.errors)} lỗi trong tệp; không có hồ sơ nào được thay đổi."
                    " Vui lòng sửa các dòng lỗi rồi nhập lại."
                ),
            )
        elif job.dry_run:
            status, message = "succeeded", "Kiểm tra thử xong; chưa có thay đổi nào được ghi."
        else:
            status, message = (
                "succeeded",
                (
                    f"Đã thêm {len(outcome.created)}, cập nhật {len(outcome.updated)} hồ sơ"
                    + (f"; bỏ qua {len(outcome.errors)} dòng lỗi." if outcome.errors else ".")
                ),
            )
        async with self.database.transaction() as tx:
            if outcome.errors:
                await repository.save_import_errors(
                    tx.conn, job.id, outcome.errors[:MAX_STORED_ERRORS]
                )
            await repository.finish_import_job(
                tx.conn,
                job.id,
                status=status,
                message=message,
                total_rows=total_rows,
                created=len(outcome.created),
                updated=len(outcome.updated),
                unchanged=outcome.unchanged,
                errors=len(outcome.errors),
            )

    async def _finish(self, job: repository.ImportJob, status: str, message: str) -> None:
        async with self.database.transaction() as tx:
            await repository.finish_import_job(tx.conn, job.id, status=status, message=message)


class _Rollback(Exception):
    """Leaves a transaction without committing, carrying what it found."""

    def __init__(self, outcome: ImportOutcome) -> None:
        super().__init__("rollback")
        self.outcome = outcome


@contextmanager
def _collector_paused() -> Iterator[None]:
    """An import makes millions of objects that live until it ends, and none of them cyclic
    garbage; the cyclic collector, triggered by the allocations, would walk them again and
    again (a quarter of an import's time, measured). It runs again when the import ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Progress:
    total: int | None
    processed: int = 0
    phase: str = "parsing"
