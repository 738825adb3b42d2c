"""Request and response bodies of the members API (also the service layer's commands)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sotay_common.events.members import MemberStatus, OrganizationStatus, OrganizationType, Position
from sotay_common.text import collapse_spaces, nfc

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9._-]{1,64}$")]
CardNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{12}$")]
CitizenId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{12}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(?:\+84|0)\d{9,10}$")]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Gender = Literal["male", "female"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _clean_text(value: str | None) -> str | None:
    return collapse_spaces(nfc(value)) if value is not None else None


class OrganizationCreate(_Input):
    code: Code
    name: Name
    type: OrganizationType
    parent_id: uuid.UUID | None = None

    _clean = field_validator("name")(_clean_text)


class OrganizationUpdate(_Input):
    code: Code | None = None
    name: Name | None = None
    status: OrganizationStatus | None = None

    _clean = field_validator("name")(_clean_text)


class OrganizationMove(_Input):
    parent_id: uuid.UUID


class OrganizationOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    type: OrganizationType
    type_label: str
    parent_id: uuid.UUID | None
    ancestor_ids: list[uuid.UUID]
    status: OrganizationStatus
    version: int
    created_at: datetime
    updated_at: datetime


class OrganizationDetail(OrganizationOut):
    child_count: int
    descendant_count: int
    member_count: int
    active_member_count: int


class MemberCreate(_Input):
    full_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)
    ]
    date_of_birth: date
    gender: Gender
    ethnicity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None
    hometown: ShortText | None = None
    citizen_id: CitizenId | None = None
    party_card_number: CardNumber
    admission_date: date
    official_date: date | None = None
    status: MemberStatus
    organization_id: uuid.UUID
    positions: list[Position] = Field(default_factory=list, max_length=3)
    phone: Phone | None = None
    email: Email | None = None
    address: ShortText | None = None
    photo_ref: Annotated[str, StringConstraints(max_length=500)] | None = None

    _clean = field_validator("full_name", "ethnicity", "hometown", "address")(_clean_text)


class MemberUpdate(_Input):
    """Fields to change; absent fields stay as they are, null clears an optional field."""

    full_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
        | None
    ) = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    ethnicity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None
    hometown: ShortText | None = None
    citizen_id: CitizenId | None = None
    party_card_number: CardNumber | None = None
    admission_date: date | None = None
    official_date: date | None = None
    status: MemberStatus | None = None
    positions: list[Position] | None = Field(default=None, max_length=3)
    phone: Phone | None = None
    email: Email | None = None
    address: ShortText | None = None
    photo_ref: Annotated[str, StringConstraints(max_length=500)] | None = None

    _clean = field_validator("full_name", "ethnicity", "hometown", "address")(_clean_text)


class MemberTransfer(_Input):
    to_organization_id: uuid.UUID
    effective_date: date
    note: ShortText | None = None


class OrganizationRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class MemberOut(BaseModel):
    id: uuid.UUID
    full_name: str
    date_of_birth: date
    gender: Gender
    ethnicity: str | None
    hometown: str | None
    citizen_id: str | None = Field(
        description="Masked (last 4 digits) unless the caller manages records or it is their own"
    )
    party_card_number: str
    admission_date: date
    official_date: date | None
    status: MemberStatus
    status_label: str
    organization: OrganizationRef
    positions: list[Position]
    position_labels: list[str]
    phone: str | None
    email: str | None
    address: str | None
    photo_ref: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class MemberSummary(BaseModel):
    id: uuid.UUID
    full_name: str
    date_of_birth: date
    party_card_number: str
    status: MemberStatus
    status_label: str
    organization_id: uuid.UUID
    organization_name: str
    positions: list[Position]
    match: Literal["prefix", "words"] = Field(
        description="prefix: the name starts with the words as typed (these come first, in name"
        " order); words: the name holds every word elsewhere (then, in record order)"
    )


class MemberPage(BaseModel):
    items: list[MemberSummary]
    next_cursor: str | None


class HistoryCreate(_Input):
    kind: Literal["reward", "discipline"]
    occurred_on: date
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
    details: dict[str, str] = Field(default_factory=dict, max_length=20)


class HistoryOut(BaseModel):
    id: int
    kind: str
    occurred_on: date
    summary: str
    details: dict[str, object]
    recorded_by: str
    recorded_at: datetime


class ImportErrorOut(BaseModel):
    row_number: int
    field: str
    code: str
    message: str
    value: str | None


class ImportJobOut(BaseModel):
    id: uuid.UUID
    status: Literal["pending", "running", "succeeded", "rejected", "failed"]
    status_label: str
    mode: Literal["all_or_nothing", "skip_invalid"]
    dry_run: bool
    file_name: str
    file_format: str
    phase: str
    total_rows: int | None
    processed_rows: int
    progress: float = Field(description="0 to 1")
    created_count: int
    updated_count: int
    unchanged_count: int
    error_count: int
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
