"""Builders shared by the members tests: an organisation tree, member commands, callers."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sotay_common.auth import Principal, Role
from sotay_common.events.members import MemberStatus
from sotay_common.events.members import OrganizationType as T
from sotay_members.domain import Member, Organization
from sotay_members.schemas import MemberCreate, OrganizationCreate
from sotay_members.service import MembersService

TODAY = date(2026, 11, 24)


class Callers:
    """Principals of each role, as tokens would give them."""

    @staticmethod
    def system_admin() -> Principal:
        return Principal(subject="root", roles=frozenset({Role.SYSTEM_ADMIN}))

    @staticmethod
    def committee_admin(org: Organization) -> Principal:
        return Principal(
            subject=f"admin-{org.code}",
            roles=frozenset({Role.COMMITTEE_ADMIN, Role.MEMBER}),
            organization_id=org.id,
        )

    @staticmethod
    def secretary(org: Organization, member: Member | None = None) -> Principal:
        return Principal(
            subject=f"secretary-{org.code}",
            roles=frozenset({Role.CELL_SECRETARY, Role.MEMBER}),
            organization_id=org.id,
            member_id=member.id if member else None,
        )

    @staticmethod
    def member(member: Member) -> Principal:
        return Principal(
            subject=f"member-{member.id}",
            roles=frozenset({Role.MEMBER}),
            organization_id=member.organization_id,
            member_id=member.id,
        )


@dataclass
class Tree:
    """Tỉnh → huyện → xã (grassroots) → two chi bộ; and a second district with one cell."""

    province: Organization
    district: Organization
    commune: Organization
    cell_a: Organization
    cell_b: Organization
    other_district: Organization
    other_commune: Organization
    other_cell: Organization


async def build_tree(service: MembersService, prefix: str = "") -> Tree:
    admin = Callers.system_admin()

    async def org(code: str, name: str, kind: T, parent: Organization | None) -> Organization:
        return await service.create_organization(
            admin,
            OrganizationCreate(
                code=prefix + code, name=name, type=kind, parent_id=parent.id if parent else None
            ),
        )

    province = await org("T", "Đảng bộ tỉnh Thanh Bình", T.PROVINCE_COMMITTEE, None)
    district = await org("T.1", "Đảng bộ huyện Yên Hòa", T.INTERMEDIATE_COMMITTEE, province)
    commune = await org("T.1.1", "Đảng bộ xã Yên Mông", T.GRASSROOTS_COMMITTEE, district)
    cell_a = await org("T.1.1.1", "Chi bộ thôn Đông", T.CELL, commune)
    cell_b = await org("T.1.1.2", "Chi bộ thôn Tây", T.CELL, commune)
    other_district = await org("T.2", "Đảng bộ huyện Lạc Sơn", T.INTERMEDIATE_COMMITTEE, province)
    other_commune = await org("T.2.1", "Đảng bộ xã Vân Sơn", T.GRASSROOTS_COMMITTEE, other_district)
    other_cell = await org("T.2.1.1", "Chi bộ thôn Bãi", T.CELL, other_commune)
    return Tree(
        province, district, commune, cell_a, cell_b, other_district, other_commune, other_cell
    )


_card_counter = iter(range(10**11, 10**12))


def member_command(org: Organization, **overrides: Any) -> MemberCreate:
    values: dict[str, Any] = {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": date(1980, 4, 12),
        "gender": "male",
        "party_card_number": f"{next(_card_counter):012d}",
        "admission_date": date(2005, 5, 19),
        "official_date": date(2006, 5, 19),
        "status": MemberStatus.OFFICIAL,
        "organization_id": org.id,
        "citizen_id": f"{uuid.uuid4().int % 10**12:012d}",
    }
    values.update(overrides)
    return MemberCreate(**values)
