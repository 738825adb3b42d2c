import uuid

import asyncpg
import pytest

from sotay_common.events.members import MemberStatus
from sotay_members import repository
from sotay_members.domain import name_search_forms
from sotay_members.repository import MemberSearch
from tests.members.conftest import MakeMember
from tests.members.support import Tree


async def test_moving_a_subtree_rewrites_every_descendant_path(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember
) -> None:
    await make_member(tree.cell_a)
    moved = await repository.move_subtree(conn, tree.commune, tree.other_district)
    assert moved.parent_id == tree.other_district.id
    assert moved.ancestor_ids == [tree.province.id, tree.other_district.id]
    member_ancestors = await conn.fetchval(
        "SELECT ancestor_ids FROM members WHERE organization_id = $1", tree.cell_a.id
    )
    assert member_ancestors == [
        tree.province.id,
        tree.other_district.id,
        tree.commune.id,
        tree.cell_a.id,
    ]
    cell = await repository.get_organization(conn, tree.cell_a.id)
    assert cell is not None
    assert cell.ancestor_ids == [tree.province.id, tree.other_district.id, tree.commune.id]
    assert set(await repository.subtree_ids(conn, tree.district)) == {tree.district.id}
    assert await repository.is_within(conn, tree.cell_b.id, tree.other_district.id)


async def test_counts_cover_the_subtree(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember
) -> None:
    await make_member(tree.cell_a)
    await make_member(tree.cell_b, status=MemberStatus.DECEASED)
    await make_member(tree.other_cell)
    counts = await repository.organization_counts(conn, tree.district)
    assert (counts.child_count, counts.descendant_count) == (1, 3)
    assert (counts.member_count, counts.active_member_count) == (2, 1)


async def search(conn: asyncpg.Connection, text: str, **kwargs: object) -> list[str]:
    forms = name_search_forms(text)
    found = await repository.search_members(
        conn,
        MemberSearch(folded_tokens=forms.tokens, **kwargs),  # type: ignore[arg-type]
    )
    return [item.member.full_name for item in found]


async def test_name_search_ignores_diacritics_and_word_order(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember
) -> None:
    for name in ("Nguyễn Thị Hòa", "Nguyễn Văn Hóa", "Trần Hoà Bình", "Lê Thị Hoa"):
        await make_member(tree.cell_a, full_name=name)
    assert await search(conn, "hoa", within=tree.commune.id) == [
        "Lê Thị Hoa",
        "Nguyễn Thị Hòa",
        "Nguyễn Văn Hóa",
        "Trần Hoà Bình",
    ]
    assert await search(conn, "thi nguyen", organization_id=tree.cell_a.id) == ["Nguyễn Thị Hòa"]
    assert await search(conn, "hoa", within=tree.other_district.id) == []
    accented = await repository.search_members(
        conn, MemberSearch(folded_tokens=["hoa"], accented_words=["hòa"], within=tree.province.id)
    )
    assert [i.member.full_name for i in accented] == ["Nguyễn Thị Hòa", "Trần Hoà Bình"]


async def test_keyset_pages_cover_everything_once(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember
) -> None:
    for i in range(7):
        await make_member(tree.cell_b, full_name=f"Phạm Văn {chr(ord('A') + i)}ư")
    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = await repository.search_members(
            conn, MemberSearch(organization_id=tree.cell_b.id, after=after, limit=3)
        )
        seen += [item.member.id for item in page]
        if len(page) < 3:
            break
        after = (page[-1].name_key, page[-1].member.id)
    assert len(seen) == len(set(seen)) == 7


async def test_history_is_append_only(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember
) -> None:
    member = await make_member(tree.cell_a)
    entry = await repository.add_history(
        conn,
        member_id=member.id,
        kind="reward",
        occurred_on=member.admission_date,
        summary="Huy hiệu 30 năm tuổi Đảng",
        details={},
        recorded_by="t",
    )
    for statement in (
        "UPDATE member_history SET summary = 'x' WHERE id = $1",
        "DELETE FROM member_history WHERE id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute(statement, entry.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute("TRUNCATE member_history CASCADE")
