import uuid

from sotay_common.auth import Principal, Role
from sotay_content.domain import (
    OrganizationNode,
    ScopeFilter,
    manages_scope,
    managing_filter,
    reader_key,
    reading_filter,
)

PROVINCE = OrganizationNode(uuid.uuid4(), None, [], "Tỉnh", "active", 1)
DISTRICT = OrganizationNode(uuid.uuid4(), PROVINCE.id, [PROVINCE.id], "Huyện", "active", 1)
CELL = OrganizationNode(
    uuid.uuid4(), DISTRICT.id, [PROVINCE.id, DISTRICT.id], "Chi bộ", "active", 1
)
OTHER = OrganizationNode(uuid.uuid4(), PROVINCE.id, [PROVINCE.id], "Huyện khác", "active", 1)


def caller(*roles: Role, org: OrganizationNode | None = None) -> Principal:
    return Principal(
        subject="someone", roles=frozenset(roles), organization_id=org.id if org else None
    )


def test_committee_admins_manage_their_subtree_and_system_admins_everything() -> None:
    district_admin = caller(Role.COMMITTEE_ADMIN, org=DISTRICT)
    assert manages_scope(district_admin, DISTRICT)
    assert manages_scope(district_admin, CELL)
    assert not manages_scope(district_admin, PROVINCE)
    assert not manages_scope(district_admin, OTHER)
    assert not manages_scope(district_admin, None)  # everyone: system admins only
    assert manages_scope(caller(Role.SYSTEM_ADMIN), None)
    assert not manages_scope(caller(Role.CELL_SECRETARY, Role.MEMBER, org=CELL), CELL)


def test_members_read_their_organisation_its_ancestors_and_what_is_for_everyone() -> None:
    member = reading_filter(caller(Role.MEMBER, org=CELL), CELL)
    assert member.admits(None, None)
    assert member.admits(PROVINCE.id, PROVINCE)
    assert member.admits(CELL.id, CELL)
    assert not member.admits(OTHER.id, OTHER)
    admin = reading_filter(caller(Role.COMMITTEE_ADMIN, Role.MEMBER, org=DISTRICT), DISTRICT)
    assert admin.admits(CELL.id, CELL)  # below them: they manage it
    assert not admin.admits(OTHER.id, OTHER)
    assert reading_filter(caller(Role.SYSTEM_ADMIN), None) == ScopeFilter(everything=True)
    unknown_org = reading_filter(caller(Role.MEMBER, org=CELL), None)
    assert unknown_org.admits(CELL.id, CELL)
    assert not unknown_org.admits(PROVINCE.id, PROVINCE)


def test_only_managers_get_a_managing_scope() -> None:
    assert managing_filter(caller(Role.MEMBER, org=CELL)) == ScopeFilter()
    assert managing_filter(caller(Role.COMMITTEE_ADMIN, org=DISTRICT)).subtree_of == DISTRICT.id
    assert not ScopeFilter().admits(None, None)


def test_receipts_follow_the_member_record_when_there_is_one() -> None:
    member_id = uuid.uuid4()
    with_record = Principal("acc-1", frozenset({Role.MEMBER}), member_id=member_id)
    assert reader_key(with_record) == f"member:{member_id}"
    assert reader_key(caller(Role.SYSTEM_ADMIN)) == "account:someone"
