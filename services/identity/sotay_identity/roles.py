"""What an account's access token says: roles and organisation scope.

Taken from the member read model (status, organisation, positions) and the staff grants kept
in identity:
- a member whose status lets them take part (probationary, official, exempt) is a `member`,
  scoped to their organisation;
- a secretary or deputy secretary of a cell is also a `cell_secretary`, scoped to that cell;
- `committee_admin` (scoped to the organisation of the grant) and `system_admin` are staff
  grants given by a system admin.
One token carries one organisation: a committee admin grant's organisation wins over the
member's own (it is the scope the admin works in, and usually contains the member's cell).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sotay_common.auth import Role
from sotay_common.events.members import MemberStatus, OrganizationType, Position

__all__ = [
    "ACTIVE_STATUSES",
    "GRANTABLE_ROLES",
    "AccessClaims",
    "Grant",
    "MemberFacts",
    "access_claims",
]

ACTIVE_STATUSES = frozenset({MemberStatus.PROBATIONARY, MemberStatus.OFFICIAL, MemberStatus.EXEMPT})
GRANTABLE_ROLES = frozenset({Role.COMMITTEE_ADMIN, Role.SYSTEM_ADMIN})
_CELL_LEADERS = frozenset({Position.SECRETARY, Position.DEPUTY_SECRETARY})


@dataclass(frozen=True)
class Grant:
    role: Role
    organization_id: uuid.UUID | None = None


@dataclass(frozen=True)
class MemberFacts:
    """The parts of a member record that decide access."""

    member_id: uuid.UUID
    organization_id: uuid.UUID
    organization_type: OrganizationType | None  # None while the organisation is not known yet
    status: MemberStatus
    positions: tuple[Position, ...]


@dataclass(frozen=True)
class AccessClaims:
    roles: frozenset[Role]
    organization_id: uuid.UUID | None
    member_id: uuid.UUID | None


def access_claims(member: MemberFacts | None, grants: Iterable[Grant]) -> AccessClaims | None:
    """The claims of an account, or None when it may not sign in (no active membership and no
    staff grant)."""
    roles: set[Role] = set()
    organization: uuid.UUID | None = None
    active = member is not None and member.status in ACTIVE_STATUSES
    if member is not None and active:
        roles.add(Role.MEMBER)
        organization = member.organization_id
        leads_cell = not _CELL_LEADERS.isdisjoint(member.positions)
        if leads_cell and member.organization_type is OrganizationType.CELL:
            roles.add(Role.CELL_SECRETARY)
    for grant in grants:
        if grant.role not in GRANTABLE_ROLES:
            continue
        roles.add(grant.role)
        if grant.role is Role.COMMITTEE_ADMIN and grant.organization_id is not None:
            organization = grant.organization_id
    if not roles:
        return None
    return AccessClaims(
        frozenset(roles), organization, member.member_id if member is not None and active else None
    )
