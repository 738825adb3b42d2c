"""SQL of the identity service against the real schema, in the test's rolled-back transaction."""

import datetime as dt
import uuid
from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest

from sotay_common.events.members import OrganizationType
from sotay_identity import repository
from sotay_identity.limits import Rule
from sotay_identity.ocr import CardReading, EngineText, FieldReading
from tests.identity.support.registration import Tree, add_member


async def test_a_stale_organisation_snapshot_changes_nothing(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    renamed = replace(tree.district, name="Đảng bộ huyện Yên Hòa mới", version=2)
    assert await repository.upsert_organization(conn, renamed)

    assert not await repository.upsert_organization(conn, replace(tree.district, version=1))

    stored = await repository.get_organization(conn, tree.district.id)
    assert stored is not None
    assert (stored.name, stored.version) == ("Đảng bộ huyện Yên Hòa mới", 2)


async def test_a_move_gives_the_whole_subtree_its_new_ancestry(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    moved = replace(
        tree.commune,
        parent_id=tree.other_district.id,
        ancestor_ids=tree.other_district.path_ids,
        version=2,
    )
    assert await repository.upsert_organization(conn, moved)
    await repository.recompute_descendant_ancestry(conn, moved.id)

    cell = await repository.get_organization(conn, tree.cell.id)
    assert cell is not None
    assert cell.ancestor_ids == [tree.province.id, tree.other_district.id, tree.commune.id]
    assert await repository.organization_within(conn, tree.cell.id, tree.other_district.id)
    assert not await repository.organization_within(conn, tree.cell.id, tree.district.id)


async def test_only_province_and_intermediate_committees_issue_cards(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    issuing = set(await repository.issuing_organizations(conn))

    assert {
        ("Đảng bộ tỉnh Thanh Bình", OrganizationType.PROVINCE_COMMITTEE),
        ("Đảng bộ huyện Yên Hòa", OrganizationType.INTERMEDIATE_COMMITTEE),
        ("Đảng bộ huyện Lạc Sơn", OrganizationType.INTERMEDIATE_COMMITTEE),
    } <= issuing
    assert all(kind != OrganizationType.CELL for _, kind in issuing)


async def test_a_card_number_claimed_twice_for_now_finds_no_one(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    first = await add_member(conn, tree.cell)
    assert await repository.member_by_card_number(conn, first.party_card_number) == first

    await add_member(conn, tree.cell, party_card_number=first.party_card_number)

    assert await repository.member_by_card_number(conn, first.party_card_number) is None


async def test_a_stale_member_snapshot_changes_nothing(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    member = await add_member(conn, tree.cell, version=3)

    assert not await repository.upsert_member(conn, replace(member, version=2, full_name="Cũ"))
    assert not await repository.apply_transfer(
        conn, member.member_id, version=3, organization_id=tree.other_cell.id, positions=[]
    )
    assert await repository.get_member(conn, member.member_id) == member


async def test_a_rate_limit_blocks_past_its_limit_until_cleared(conn: asyncpg.Connection) -> None:
    rule = Rule("test", 2, timedelta(minutes=5), timedelta(minutes=10))
    key = rule.key(uuid.uuid4().hex)

    assert await repository.hit_limit(conn, key, rule) is None
    assert await repository.hit_limit(conn, key, rule) is None
    blocked_until = await repository.hit_limit(conn, key, rule)

    assert blocked_until is not None
    now = await repository.database_now(conn)
    assert timedelta(minutes=9) < blocked_until - now <= timedelta(minutes=10)
    assert await repository.blocked_until_of(conn, ["other", key]) == blocked_until
    await repository.clear_limits(conn, [key])
    assert await repository.blocked_until_of(conn, [key]) is None


async def test_the_audit_log_cannot_be_changed(conn: asyncpg.Connection) -> None:
    await repository.audit(
        conn,
        actor="admin",
        action="review.read",
        subject_type="member",
        subject_ids=["m-1"],
        purpose="ekyc_review",
        correlation_id=None,
    )

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute("DELETE FROM audit_log")


def _reading() -> CardReading:
    def field(value: object, accepted: bool) -> FieldReading:  # type: ignore[type-arg]
        return FieldReading(
            EngineText(str(value), 0.9), EngineText(str(value), 0.8), value, accepted, None
        )

    return CardReading(
        full_name=field("Phan Văn Đức", True),
        date_of_birth=field(dt.date(1975, 9, 2), True),
        party_card_number=field("123456789012", True),
        admission_date=field(dt.date(2000, 3, 3), True),
        official_date=field(dt.date(2001, 3, 3), True),
        issuing_committee=field("Tỉnh ủy Thanh Bình", False),
        issue_date=FieldReading(None, None, None, False, "not_found"),
    )


async def test_a_session_keeps_its_card_reading_as_it_was(conn: asyncpg.Connection) -> None:
    session = await repository.insert_session(
        conn,
        session_id=uuid.uuid4(),
        nonce="n",
        challenge=["blink", "turn_left"],
        deadline=dt.datetime.now(dt.UTC),
        client_address="192.0.2.1",
        password_hash="hash",
        phone=None,
    )
    reading = _reading()

    updated = await repository.update_session(conn, session.id, {"card_reading": reading})

    assert updated.card_reading == reading
    assert (await repository.get_session(conn, session.id)) == updated
