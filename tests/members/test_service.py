import uuid
from datetime import date

import asyncpg
import pytest

from sotay_common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from sotay_common.events.members import (
    MemberCreatedV1,
    MemberStatus,
    MemberTransferredV1,
    MemberUpdatedV1,
    OrganizationType,
    Position,
)
from sotay_members.schemas import (
    HistoryCreate,
    MemberTransfer,
    MemberUpdate,
    OrganizationCreate,
    OrganizationUpdate,
)
from sotay_members.service import MembersService, SearchQuery
from tests.members.conftest import MakeMember
from tests.members.support import Callers, Tree, member_command


async def outbox(conn: asyncpg.Connection, event_type: str) -> list[bytes]:
    rows = await conn.fetch(
        "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", event_type
    )
    return [bytes(r["payload"]) for r in rows]


async def test_creating_a_member_stores_the_record_and_its_event(
    conn: asyncpg.Connection, service: MembersService, tree: Tree
) -> None:
    admin = Callers.committee_admin(tree.district)
    member = await service.create_member(
        admin, member_command(tree.cell_a, full_name=" Lê  Thị   Thủy ")
    )
    assert member.full_name == "Lê Thị Thủy"
    [payload] = await outbox(conn, "member.created.v1")
    event = MemberCreatedV1.model_validate_json(payload)
    assert (event.member_id, event.version, event.full_name) == (member.id, 1, "Lê Thị Thủy")
    assert b"citizen_id" not in payload
    assert b"phone" not in payload


async def test_records_that_break_the_rules_are_refused_and_nothing_is_stored(
    conn: asyncpg.Connection, service: MembersService, tree: Tree
) -> None:
    admin = Callers.system_admin()
    with pytest.raises(ValidationFailed) as caught:
        await service.create_member(
            admin, member_command(tree.cell_a, official_date=date(2005, 6, 1))
        )
    assert [e.code for e in caught.value.errors] == ["probation_too_short"]
    with pytest.raises(ValidationFailed) as not_a_cell:
        await service.create_member(admin, member_command(tree.district))
    assert not_a_cell.value.errors[0].code == "organization_cannot_hold_members"
    assert await conn.fetchval("SELECT count(*) FROM members") == 0
    assert await outbox(conn, "member.created.v1") == []


async def test_card_number_and_citizen_id_are_unique(
    service: MembersService, tree: Tree, make_member: MakeMember
) -> None:
    first = await make_member(tree.cell_a)
    admin = Callers.system_admin()
    with pytest.raises(Conflict) as same_card:
        await service.create_member(
            admin, member_command(tree.cell_b, party_card_number=first.party_card_number)
        )
    assert same_card.value.code == "duplicate_card_number"
    with pytest.raises(Conflict) as same_id:
        await service.create_member(admin, member_command(tree.cell_b, citizen_id=first.citizen_id))
    assert same_id.value.code == "duplicate_citizen_id"


async def test_a_secretary_cannot_read_or_change_a_member_of_another_cell(
    service: MembersService, tree: Tree, make_member: MakeMember
) -> None:
    mine, theirs = await make_member(tree.cell_a), await make_member(tree.cell_b)
    secretary = Callers.secretary(tree.cell_a)
    assert (await service.get_member(secretary, mine.id))[0].id == mine.id
    with pytest.raises(Forbidden) as read:
        await service.get_member(secretary, theirs.id)
    assert read.value.code == "member_out_of_scope"
    with pytest.raises(Forbidden):
        await service.update_member(secretary, theirs.id, MemberUpdate(phone="0912345678"))
    with pytest.raises(Forbidden):
        await service.list_history(secretary, theirs.id)
    page = await service.search_members(secretary, SearchQuery())
    assert [i.member.id for i in page.items] == [mine.id]
    with pytest.raises(Forbidden):
        await service.search_members(secretary, SearchQuery(organization_id=tree.cell_b.id))


async def test_committee_admins_see_their_subtree_and_members_only_themselves(
    service: MembersService, tree: Tree, make_member: MakeMember
) -> None:
    inside, outside = await make_member(tree.cell_b), await make_member(tree.other_cell)
    district_admin = Callers.committee_admin(tree.district)
    await service.get_member(district_admin, inside.id)
    with pytest.raises(Forbidden):
        await service.get_member(district_admin, outside.id)
    with pytest.raises(Forbidden):
        await service.create_member(district_admin, member_command(tree.other_cell))
    me = Callers.member(inside)
    assert (await service.get_member(me, inside.id))[0].id == inside.id
    with pytest.raises(Forbidden):
        await service.get_member(me, outside.id)
    assert [i.member.id for i in (await service.search_members(me, SearchQuery())).items] == [
        inside.id
    ]


async def test_secretaries_and_members_change_only_contact_details(
    conn: asyncpg.Connection, service: MembersService, tree: Tree, make_member: MakeMember
) -> None:
    member = await make_member(tree.cell_a)
    updated, _ = await service.update_member(
        Callers.member(member), member.id, MemberUpdate(phone="0987654321")
    )
    assert (updated.phone, updated.version) == ("0987654321", 2)
    with pytest.raises(Forbidden) as caught:
        await service.update_member(
            Callers.secretary(tree.cell_a), member.id, MemberUpdate(full_name="Người Khác")
        )
    assert caught.value.code == "fields_not_allowed"
    [payload] = await outbox(conn, "member.updated.v1")
    assert MemberUpdatedV1.model_validate_json(payload).changed_fields == ["phone"]


async def test_updates_check_the_version_and_the_rules(
    conn: asyncpg.Connection, service: MembersService, tree: Tree, make_member: MakeMember
) -> None:
    member = await make_member(
        tree.cell_a,
        status=MemberStatus.PROBATIONARY,
        official_date=None,
        admission_date=date(2025, 10, 1),
    )
    admin = Callers.committee_admin(tree.commune)
    with pytest.raises(PreconditionFailed):
        await service.update_member(
            admin, member.id, MemberUpdate(phone="0912345678"), expected_version=7
        )
    with pytest.raises(ValidationFailed):  # official after less than 12 months
        await service.update_member(
            admin,
            member.id,
            MemberUpdate(status=MemberStatus.OFFICIAL, official_date=date(2026, 3, 1)),
        )
    updated, _ = await service.update_member(
        admin, member.id, MemberUpdate(positions=[Position.SECRETARY]), expected_version=1
    )
    assert updated.positions == [Position.SECRETARY]
    history = await service.list_history(admin, member.id)
    assert [h.kind for h in history] == ["position_change"]
    unchanged, _ = await service.update_member(
        admin, member.id, MemberUpdate(positions=[Position.SECRETARY])
    )
    assert unchanged.version == 2


async def test_transfer_moves_the_member_records_history_and_publishes(
    conn: asyncpg.Connection, service: MembersService, tree: Tree, make_member: MakeMember
) -> None:
    member = await make_member(tree.cell_a, positions=[Position.DEPUTY_SECRETARY])
    admin = Callers.committee_admin(tree.district)
    moved, target = await service.transfer_member(
        admin,
        member.id,
        MemberTransfer(
            to_organization_id=tree.other_cell.id,
            effective_date=date(2026, 11, 1),
            note="Chuyển công tác",
        ),
    )
    assert (moved.organization_id, moved.positions, target.id) == (
        tree.other_cell.id,
        [],
        tree.other_cell.id,
    )
    [payload] = await outbox(conn, "member.transferred.v1")
    event = MemberTransferredV1.model_validate_json(payload)
    assert (event.from_organization_id, event.to_organization_id) == (
        tree.cell_a.id,
        tree.other_cell.id,
    )
    history = await service.list_history(Callers.system_admin(), member.id)
    assert history[-1].kind == "transfer"
    with pytest.raises(Forbidden):  # no longer in the district admin's subtree
        await service.get_member(admin, member.id)


async def test_the_tree_enforces_levels_scope_and_cycles(
    conn: asyncpg.Connection, service: MembersService, tree: Tree
) -> None:
    admin = Callers.committee_admin(tree.district)
    cell = await service.create_organization(
        admin,
        OrganizationCreate(
            code="NEW.1", name="Chi bộ mới", type=OrganizationType.CELL, parent_id=tree.commune.id
        ),
    )
    assert cell.ancestor_ids == [tree.province.id, tree.district.id, tree.commune.id]
    with pytest.raises(Forbidden):
        await service.create_organization(
            admin,
            OrganizationCreate(
                code="X", name="Chi bộ", type=OrganizationType.CELL, parent_id=tree.other_commune.id
            ),
        )
    with pytest.raises(ValidationFailed) as cycle:
        await service.move_organization(Callers.system_admin(), tree.district.id, tree.commune.id)
    assert cycle.value.errors[0].code == "move_into_own_subtree"
    with pytest.raises(Conflict):
        await service.update_organization(admin, tree.cell_b.id, OrganizationUpdate(code=cell.code))
    with pytest.raises(NotFound):
        await service.get_organization(admin, uuid.UUID(int=1))


async def test_history_entries_are_for_managers_and_dated_sensibly(
    service: MembersService, tree: Tree, make_member: MakeMember
) -> None:
    member = await make_member(tree.cell_a)
    with pytest.raises(Forbidden):
        await service.add_history(
            Callers.secretary(tree.cell_a),
            member.id,
            HistoryCreate(kind="reward", occurred_on=date(2020, 1, 1), summary="Khen thưởng"),
        )
    with pytest.raises(ValidationFailed):
        await service.add_history(
            Callers.system_admin(),
            member.id,
            HistoryCreate(kind="reward", occurred_on=date(2001, 1, 1), summary="Khen thưởng"),
        )
    entry = await service.add_history(
        Callers.system_admin(),
        member.id,
        HistoryCreate(kind="discipline", occurred_on=date(2020, 1, 1), summary="Khiển trách"),
    )
    assert entry.recorded_by == "root"
