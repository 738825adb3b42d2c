"""The rules of member records and the organisation tree, free of I/O."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sotay_common.auth import Principal, Role
from sotay_common.events.members import (
    MemberStatus,
    OrganizationStatus,
    OrganizationType,
    Position,
)
from sotay_common.ids import new_id
from sotay_common.text import collapse_spaces, folded_words, nfc, search_words

CARD_NUMBER = re.compile(r"^\d{12}$")
CITIZEN_ID = re.compile(r"^\d{12}$")
MIN_ADMISSION_AGE = 18
PROBATION_MONTHS = 12

STATUS_LABELS: dict[MemberStatus, str] = {
    MemberStatus.PROBATIONARY: "Dự bị",
    MemberStatus.OFFICIAL: "Chính thức",
    MemberStatus.EXEMPT: "Miễn sinh hoạt",
    MemberStatus.TRANSFERRED_OUT: "Đã chuyển đi",
    MemberStatus.DECEASED: "Từ trần",
    MemberStatus.REMOVED: "Xóa tên",
    MemberStatus.EXPELLED: "Khai trừ",
}
POSITION_LABELS: dict[Position, str] = {
    Position.SECRETARY: "Bí thư",
    Position.DEPUTY_SECRETARY: "Phó Bí thư",
    Position.COMMITTEE_MEMBER: "Chi ủy viên",
}
ORGANIZATION_TYPE_LABELS: dict[OrganizationType, str] = {
    OrganizationType.PROVINCE_COMMITTEE: "Đảng bộ tỉnh",
    OrganizationType.INTERMEDIATE_COMMITTEE: "Đảng bộ cấp trên cơ sở",
    OrganizationType.GRASSROOTS_COMMITTEE: "Tổ chức cơ sở đảng",
    OrganizationType.CELL: "Chi bộ",
}
GENDER_LABELS = {"male": "Nam", "female": "Nữ"}

# Which organisation types may sit directly under which.
ALLOWED_PARENTS: dict[OrganizationType, frozenset[OrganizationType | None]] = {
    OrganizationType.PROVINCE_COMMITTEE: frozenset({None}),
    OrganizationType.INTERMEDIATE_COMMITTEE: frozenset({OrganizationType.PROVINCE_COMMITTEE}),
    OrganizationType.GRASSROOTS_COMMITTEE: frozenset(
        {OrganizationType.PROVINCE_COMMITTEE, OrganizationType.INTERMEDIATE_COMMITTEE}
    ),
    OrganizationType.CELL: frozenset({OrganizationType.GRASSROOTS_COMMITTEE}),
}
# Members are attached to a cell, or to a grassroots organisation that has no cells (chi bộ cơ sở).
MEMBER_HOLDING_TYPES = frozenset({OrganizationType.CELL, OrganizationType.GRASSROOTS_COMMITTEE})
ACTIVE_STATUSES = frozenset({MemberStatus.PROBATIONARY, MemberStatus.OFFICIAL, MemberStatus.EXEMPT})
CONTACT_FIELDS = frozenset({"phone", "email", "address"})


@dataclass(frozen=True)
class RuleViolation:
    field: str
    code: str
    message: str


def normalise_name(full_name: str) -> str:
    return collapse_spaces(nfc(full_name))


@dataclass(frozen=True)
class NameSearchForms:
    key: str
    tokens: list[str]
    words: list[str]


def name_search_forms(full_name: str) -> NameSearchForms:
    tokens = folded_words(full_name)
    return NameSearchForms(key=" ".join(tokens), tokens=tokens, words=search_words(full_name))


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class MemberFacts(Protocol):
    """What the member rules look at; member records, API commands and import rows all have it."""

    @property
    def date_of_birth(self) -> date: ...
    @property
    def admission_date(self) -> date: ...
    @property
    def official_date(self) -> date | None: ...
    @property
    def status(self) -> MemberStatus: ...
    @property
    def party_card_number(self) -> str: ...
    @property
    def citizen_id(self) -> str | None: ...


def check_member_facts(facts: MemberFacts, *, today: date) -> list[RuleViolation]:
    """Dates real and ordered, identifiers well formed, status consistent with the dates."""
    date_of_birth, admission_date = facts.date_of_birth, facts.admission_date
    official_date, status = facts.official_date, facts.status
    party_card_number, citizen_id = facts.party_card_number, facts.citizen_id
    problems: list[RuleViolation] = []
    if not CARD_NUMBER.match(party_card_number):
        problems.append(
            RuleViolation(
                "party_card_number",
                "invalid_card_number",
                "Số thẻ đảng viên phải gồm đúng 12 chữ số.",
            )
        )
    if citizen_id is not None and not CITIZEN_ID.match(citizen_id):
        problems.append(
            RuleViolation("citizen_id", "invalid_citizen_id", "Số CCCD phải gồm đúng 12 chữ số.")
        )
    if date_of_birth >= today:
        problems.append(
            RuleViolation("date_of_birth", "date_in_future", "Ngày sinh phải trước ngày hôm nay.")
        )
    if admission_date > today:
        problems.append(
            RuleViolation(
                "admission_date", "date_in_future", "Ngày vào Đảng không được ở tương lai."
            )
        )
    if admission_date < add_months(date_of_birth, 12 * MIN_ADMISSION_AGE):
        problems.append(
            RuleViolation(
                "admission_date",
                "admitted_too_young",
                f"Ngày vào Đảng phải sau khi đủ {MIN_ADMISSION_AGE} tuổi.",
            )
        )
    if official_date is not None:
        if official_date > today:
            problems.append(
                RuleViolation(
                    "official_date", "date_in_future", "Ngày chính thức không được ở tương lai."
                )
            )
        if official_date < add_months(admission_date, PROBATION_MONTHS):
            problems.append(
                RuleViolation(
                    "official_date",
                    "probation_too_short",
                    "Ngày chính thức phải sau ngày vào Đảng ít nhất 12 tháng (thời gian dự bị).",
                )
            )
    if status is MemberStatus.PROBATIONARY and official_date is not None:
        problems.append(
            RuleViolation(
                "official_date",
                "probationary_with_official_date",
                "Đảng viên dự bị chưa có ngày chính thức.",
            )
        )
    if status is MemberStatus.OFFICIAL and official_date is None:
        problems.append(
            RuleViolation(
                "official_date",
                "official_date_missing",
                "Đảng viên chính thức phải có ngày chính thức.",
            )
        )
    return problems


def check_parent(
    child_type: OrganizationType, parent_type: OrganizationType | None
) -> RuleViolation | None:
    if parent_type in ALLOWED_PARENTS[child_type]:
        return None
    child = ORGANIZATION_TYPE_LABELS[child_type]
    if parent_type is None:
        return RuleViolation(
            "parent_id", "parent_required", f"{child} phải thuộc một tổ chức cấp trên."
        )
    parent = ORGANIZATION_TYPE_LABELS[parent_type]
    return RuleViolation(
        "parent_id", "invalid_parent_type", f"{child} không thể trực thuộc {parent.lower()}."
    )


# -- access -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a caller may see: everything, an organisation subtree, one organisation, or only
    their own record. Derived from the token's roles and organisation."""

    everything: bool = False
    subtree_of: uuid.UUID | None = None
    organization: uuid.UUID | None = None
    member: uuid.UUID | None = None

    def allows(self, member: Member, *, in_subtree: bool) -> bool:
        """Whether a member record is visible; `in_subtree` says if it lies in `subtree_of`."""
        return (
            self.everything
            or (self.subtree_of is not None and in_subtree)
            or (self.organization is not None and member.organization_id == self.organization)
            or (self.member is not None and member.id == self.member)
        )


def read_scope(principal: Principal) -> Scope:
    if principal.is_system_admin:
        return Scope(everything=True)
    if Role.COMMITTEE_ADMIN in principal.roles and principal.organization_id:
        return Scope(subtree_of=principal.organization_id)
    if Role.CELL_SECRETARY in principal.roles and principal.organization_id:
        return Scope(organization=principal.organization_id)
    return Scope(member=principal.member_id)


def may_manage_records(principal: Principal) -> bool:
    """Create members, change any field, transfer, record discipline: committee staff only."""
    return principal.is_system_admin or (
        Role.COMMITTEE_ADMIN in principal.roles and principal.organization_id is not None
    )


def changeable_fields(principal: Principal, *, own_record: bool) -> frozenset[str] | None:
    """Fields the caller may change on a record in their read scope; None means all of them."""
    if may_manage_records(principal):
        return None
    if Role.CELL_SECRETARY in principal.roles or own_record:
        return CONTACT_FIELDS
    return frozenset()


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Organization:
    id: uuid.UUID
    code: str
    name: str
    type: OrganizationType
    parent_id: uuid.UUID | None
    ancestor_ids: list[uuid.UUID]
    status: OrganizationStatus
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def path_ids(self) -> list[uuid.UUID]:
        return [*self.ancestor_ids, self.id]


@dataclass(frozen=True)
class Member:
    id: uuid.UUID
    organization_id: uuid.UUID
    full_name: str
    date_of_birth: date
    gender: str
    ethnicity: str | None
    hometown: str | None
    citizen_id: str | None
    party_card_number: str
    admission_date: date
    official_date: date | None
    status: MemberStatus
    positions: list[Position]
    phone: str | None
    email: str | None
    address: str | None
    photo_ref: str | None
    version: int
    created_at: datetime
    updated_at: datetime


# Fields of a member that callers set (the rest is derived or kept by the system).
MEMBER_INPUT_FIELDS = (
    "full_name",
    "date_of_birth",
    "gender",
    "ethnicity",
    "hometown",
    "citizen_id",
    "party_card_number",
    "admission_date",
    "official_date",
    "status",
    "positions",
    "phone",
    "email",
    "address",
    "photo_ref",
)
# Changes of these fields are what downstream services see in member.updated.v1 snapshots.
EVENT_FIELDS = frozenset(
    {
        "full_name",
        "date_of_birth",
        "party_card_number",
        "status",
        "admission_date",
        "official_date",
        "positions",
        "photo_ref",
        "organization_id",
    }
)


class MemberInput(MemberFacts, Protocol):
    """A new member's fields as an API command or an import row carries them."""

    @property
    def full_name(self) -> str: ...
    @property
    def gender(self) -> str: ...
    @property
    def ethnicity(self) -> str | None: ...
    @property
    def hometown(self) -> str | None: ...
    @property
    def positions(self) -> Sequence[Position]: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...


def new_member_record(
    source: MemberInput,
    *,
    organization_id: uuid.UUID,
    now: datetime,
    photo_ref: str | None = None,
) -> Member:
    """Version 1 of a member record; `now` stands for the creation time until it is stored."""
    return Member(
        id=new_id(),
        organization_id=organization_id,
        full_name=normalise_name(source.full_name),
        date_of_birth=source.date_of_birth,
        gender=source.gender,
        ethnicity=source.ethnicity,
        hometown=source.hometown,
        citizen_id=source.citizen_id,
        party_card_number=source.party_card_number,
        admission_date=source.admission_date,
        official_date=source.official_date,
        status=source.status,
        positions=list(dict.fromkeys(source.positions)),
        phone=source.phone,
        email=source.email,
        address=source.address,
        photo_ref=photo_ref,
        version=1,
        created_at=now,
        updated_at=now,
    )
