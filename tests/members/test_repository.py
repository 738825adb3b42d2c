from dataclasses import replace

import asyncpg
import pytest

from sotay_common.events.members import MemberStatus
from sotay_members import repository
from sotay_members.domain import name_search_forms
from sotay_members.repository import Cursor, MemberSearch, Ordering
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
    return [item.member.full_name for item in found.items]


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
    assert [i.member.full_name for i in accented.items] == ["Nguyễn Thị Hòa", "Trần Hoà Bình"]
    assert accented.ordering is Ordering.NAME


async def all_pages(
    conn: asyncpg.Connection, search: MemberSearch
) -> tuple[list[str], set[Ordering]]:
    names: list[str] = []
    orderings: set[Ordering] = set()
    after: Cursor | None = None
    while True:
        page = await repository.search_members(conn, replace(search, after=after, limit=3))
        names += [item.member.full_name for item in page.items]
        orderings.add(page.ordering)
        if len(page.items) < 3:
            return names, orderings
        last = page.items[-1]
        after = Cursor(page.ordering, last.name_key, last.member.id)


async def test_keyset_pages_cover_everything_once(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember
) -> None:
    expected = [f"Phạm Văn {chr(ord('A') + i)}ư" for i in range(7)]
    for name in reversed(expected):
        await make_member(tree.cell_b, full_name=name)
    names, orderings = await all_pages(conn, MemberSearch(organization_id=tree.cell_b.id))
    assert (names, orderings) == (expected, {Ordering.NAME})


async def test_broad_name_searches_are_listed_in_record_order(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "NAME_ORDER_MAX_MATCHES", 4)
    created = [
        await make_member(tree.cell_a, full_name=f"Đỗ Văn {given}")
        for given in ("Tùng", "An", "Sơn", "Bình", "Kiên", "Hải", "Lộc")
    ]
    await make_member(tree.cell_a, full_name="Lê Thị Mai")
    names, orderings = await all_pages(conn, MemberSearch(folded_tokens=["do", "van"]))
    assert orderings == {Ordering.RECORD}
    assert names == [m.full_name for m in sorted(created, key=lambda m: m.id)]
    narrow, orderings = await all_pages(conn, MemberSearch(folded_tokens=["do", "van", "an"]))
    assert (narrow, orderings) == (["Đỗ Văn An"], {Ordering.NAME})


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
