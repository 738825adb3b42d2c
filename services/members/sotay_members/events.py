"""The events the members service publishes, built from its records. (It consumes none.)"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sotay_common.events import Event
from sotay_common.events.members import (
    MemberCreatedV1,
    MemberTransferredV1,
    MemberUpdatedV1,
    OrganizationCreatedV1,
    OrganizationUpdatedV1,
)
from sotay_members.domain import Member, Organization

PUBLISHES: Sequence[type[Event]] = (
    OrganizationCreatedV1,
    OrganizationUpdatedV1,
    MemberCreatedV1,
    MemberUpdatedV1,
    MemberTransferredV1,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _organization_fields(org: Organization) -> dict[str, Any]:
    return {
        "organization_id": org.id,
        "version": org.version,
        "code": org.code,
        "name": org.name,
        "type": org.type,
        "parent_id": org.parent_id,
        "ancestor_ids": org.ancestor_ids,
        "status": org.status,
        "occurred_at": _now(),
    }


def organization_created(org: Organization) -> OrganizationCreatedV1:
    return OrganizationCreatedV1(**_organization_fields(org))


def organization_updated(org: Organization, changed: Sequence[str]) -> OrganizationUpdatedV1:
    return OrganizationUpdatedV1(**_organization_fields(org), changed_fields=sorted(changed))


def _member_fields(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.id,
        "version": member.version,
        "organization_id": member.organization_id,
        "full_name": member.full_name,
        "date_of_birth": member.date_of_birth,
        "party_card_number": member.party_card_number,
        "status": member.status,
        "admission_date": member.admission_date,
        "official_date": member.official_date,
        "positions": member.positions,
        "photo_ref": member.photo_ref,
        "occurred_at": _now(),
    }


def member_created(member: Member) -> MemberCreatedV1:
    return MemberCreatedV1(**_member_fields(member))


def member_updated(member: Member, changed: Sequence[str]) -> MemberUpdatedV1:
    return MemberUpdatedV1(**_member_fields(member), changed_fields=sorted(changed))


def member_transferred(
    member: Member, from_organization_id: uuid.UUID, effective_date: date
) -> MemberTransferredV1:
    return MemberTransferredV1(
        member_id=member.id,
        version=member.version,
        from_organization_id=from_organization_id,
        to_organization_id=member.organization_id,
        effective_date=effective_date,
        positions=member.positions,
        occurred_at=_now(),
    )
