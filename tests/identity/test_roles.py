import uuid

from sotay_common.auth import Role
from sotay_common.events.members import MemberStatus, OrganizationType, Position
from sotay_identity.roles import Grant, MemberFacts, access_claims

CELL, DISTRICT = uuid.uuid4(), uuid.uuid4()


def facts(**changes: object) -> MemberFacts:
    values: dict[str, object] = {
        "member_id": uuid.uuid4(),
        "organization_id": CELL,
        "organization_type": OrganizationType.CELL,
        "status": MemberStatus.OFFICIAL,
        "positions": (),
    }
    return MemberFacts(**(values | changes))  # type: ignore[arg-type]


def test_an_active_member_is_a_member_of_their_organisation() -> None:
    member = facts(status=MemberStatus.PROBATIONARY)
    claims = access_claims(member, [])
    assert claims is not None
    assert (claims.roles, claims.organization_id, claims.member_id) == (
        frozenset({Role.MEMBER}),
        CELL,
        member.member_id,
    )


def test_a_cell_secretary_or_deputy_gets_the_cell() -> None:
    for position in (Position.SECRETARY, Position.DEPUTY_SECRETARY):
        claims = access_claims(facts(positions=(position,)), [])
        assert claims is not None
        assert claims.roles == {Role.MEMBER, Role.CELL_SECRETARY}


def test_a_secretary_of_a_committee_is_not_a_cell_secretary() -> None:
    claims = access_claims(
        facts(
            positions=(Position.SECRETARY,), organization_type=OrganizationType.GRASSROOTS_COMMITTEE
        ),
        [],
    )
    assert claims is not None
    assert claims.roles == {Role.MEMBER}


def test_a_committee_admin_grant_sets_the_scope() -> None:
    claims = access_claims(facts(), [Grant(Role.COMMITTEE_ADMIN, DISTRICT)])
    assert claims is not None
    assert (claims.roles, claims.organization_id) == (
        frozenset({Role.MEMBER, Role.COMMITTEE_ADMIN}),
        DISTRICT,
    )


def test_no_active_membership_and_no_grant_means_no_sign_in() -> None:
    for status in (MemberStatus.EXPELLED, MemberStatus.DECEASED, MemberStatus.TRANSFERRED_OUT):
        assert access_claims(facts(status=status), []) is None
    assert access_claims(None, []) is None


def test_staff_without_a_member_record_sign_in_by_their_grant() -> None:
    claims = access_claims(None, [Grant(Role.SYSTEM_ADMIN)])
    assert claims is not None
    assert (claims.roles, claims.organization_id, claims.member_id) == (
        frozenset({Role.SYSTEM_ADMIN}),
        None,
        None,
    )
