"""Contracts published by the members service (topics members.member, members.organization).

Data minimisation: member events carry what downstream services need to match a member
(identity's eKYC read model), scope content (organisation) and assign roles (positions).
They never carry the citizen id, ethnicity, hometown, gender, contact details or history.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field

from sotay_common.events import topics
from sotay_common.events.base import Event


class OrganizationType(StrEnum):
    PROVINCE_COMMITTEE = "province_committee"  # Đảng bộ tỉnh (Tỉnh ủy)
    INTERMEDIATE_COMMITTEE = "intermediate_committee"  # Đảng bộ cấp trên cơ sở
    GRASSROOTS_COMMITTEE = "grassroots_committee"  # Tổ chức cơ sở đảng
    CELL = "cell"  # Chi bộ


class OrganizationStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    DISSOLVED = "dissolved"


class MemberStatus(StrEnum):
    PROBATIONARY = "probationary"  # Đảng viên dự bị
    OFFICIAL = "official"  # Đảng viên chính thức
    EXEMPT = "exempt"  # Miễn sinh hoạt
    TRANSFERRED_OUT = "transferred_out"  # Đã chuyển sinh hoạt ra ngoài
    DECEASED = "deceased"  # Từ trần
    REMOVED = "removed"  # Xóa tên
    EXPELLED = "expelled"  # Khai trừ


class Position(StrEnum):
    SECRETARY = "secretary"  # Bí thư
    DEPUTY_SECRETARY = "deputy_secretary"  # Phó Bí thư
    COMMITTEE_MEMBER = "committee_member"  # Chi ủy viên / Ủy viên ban chấp hành


class OrganizationSnapshot(BaseModel):
    organization_id: uuid.UUID
    version: int = Field(description="Increases by one with every change of this organisation")
    code: str
    name: str
    type: OrganizationType
    parent_id: uuid.UUID | None
    ancestor_ids: list[uuid.UUID] = Field(
        description="From the root down to the parent. After a move, descendants keep their "
        "parent_id; consumers derive their new ancestry from the moved organisation."
    )
    status: OrganizationStatus
    occurred_at: datetime


class OrganizationCreatedV1(OrganizationSnapshot, Event):
    """An organisation was added to the tree."""

    event_type: ClassVar[str] = "organization.created.v1"
    topic: ClassVar[str] = topics.MEMBERS_ORGANIZATION
    key_field: ClassVar[str] = "organization_id"


class OrganizationUpdatedV1(OrganizationSnapshot, Event):
    """An organisation changed: renamed, moved to another parent, merged or dissolved.

    Carries the full snapshot after the change and the names of the fields that changed.
    """

    event_type: ClassVar[str] = "organization.updated.v1"
    topic: ClassVar[str] = topics.MEMBERS_ORGANIZATION
    key_field: ClassVar[str] = "organization_id"

    changed_fields: list[str]


class MemberSnapshot(BaseModel):
    member_id: uuid.UUID
    version: int = Field(description="Increases by one with every change of this member")
    organization_id: uuid.UUID
    full_name: str
    date_of_birth: date
    party_card_number: str = Field(pattern=r"^\d{12}$")
    status: MemberStatus
    admission_date: date
    official_date: date | None
    positions: list[Position]
    photo_ref: str | None = Field(
        default=None, description="Object key of the member's record photo, never the image"
    )
    occurred_at: datetime


class MemberCreatedV1(MemberSnapshot, Event):
    """A member record was created (by hand or by a bulk import)."""

    event_type: ClassVar[str] = "member.created.v1"
    topic: ClassVar[str] = topics.MEMBERS_MEMBER
    key_field: ClassVar[str] = "member_id"


class MemberUpdatedV1(MemberSnapshot, Event):
    """A member record changed. Full snapshot after the change plus the changed field names
    (names only: a change of a field that is not in the snapshot, e.g. the phone number, is
    listed without its value)."""

    event_type: ClassVar[str] = "member.updated.v1"
    topic: ClassVar[str] = topics.MEMBERS_MEMBER
    key_field: ClassVar[str] = "member_id"

    changed_fields: list[str]


class MemberTransferredV1(Event):
    """A member moved to another organisation (chuyển sinh hoạt đảng)."""

    event_type: ClassVar[str] = "member.transferred.v1"
    topic: ClassVar[str] = topics.MEMBERS_MEMBER
    key_field: ClassVar[str] = "member_id"

    member_id: uuid.UUID
    version: int
    from_organization_id: uuid.UUID
    to_organization_id: uuid.UUID
    effective_date: date
    positions: list[Position] = Field(description="Positions after the transfer (usually none)")
    occurred_at: datetime
