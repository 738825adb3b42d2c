import uuid
from dataclasses import replace

import asyncpg
import pytest

from sotay_common.events.members import MemberStatus
from sotay_members import repository
from sotay_members.domain import name_search_forms
from sotay_members.repository import Cursor, Match, MemberSearch
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


@pytest.fixture(params=[10**9, -1], ids=["ranked", "walked"])
def small_match_set(request: pytest.FixtureRequest) -> int:
    """Both search strategies, which must give the same pages: the match set ranked at once,
    or the name indexes walked tier by tier."""
    value: int = request.param
    return value


async def all_pages(
    conn: asyncpg.Connection, search: MemberSearch, small_match_set: int
) -> list[tuple[str, Match]]:
    found: list[tuple[str, Match]] = []
    after: Cursor | None = None
    while True:
        page = await repository.search_members(
            conn, replace(search, after=after, limit=3), small_match_set=small_match_set
        )
        found += [(item.member.full_name, item.match) for item in page.items]
        if page.next is None:
            return found
        after = page.next


async def names(
    conn: asyncpg.Connection,
    text: str,
    small_match_set: int,
    *,
    organization_id: uuid.UUID | None = None,
    within: uuid.UUID | None = None,
) -> list[str]:
    search = MemberSearch(
        folded_tokens=name_search_forms(text).tokens, organization_id=organization_id, within=within
    )
    found = await all_pages(conn, search, small_match_set)
    return [name for name, _ in found]


async def test_names_come_by_how_they_match_the_typed_words(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember, small_match_set: int
) -> None:
    for name in (
        "Trần Văn Hòa",
        "Nguyễn Thị Hòa",
        "Nguyễn Văn Hóa",
        "Hòa Văn Nguyễn",
        "Nguyễn Hòa",
        "Nguyễn Văn Hòa Bình",
        "Lê Văn Hoà",
        "Nguyễn Văn Tâm Hòa",
    ):
        await make_member(tree.cell_a, full_name=name)
    search = MemberSearch(folded_tokens=["nguyen", "van", "hoa"])
    assert await all_pages(conn, search, small_match_set) == [
        ("Nguyễn Văn Hóa", Match.PREFIX),
        ("Nguyễn Văn Hòa Bình", Match.PREFIX),
        ("Nguyễn Văn Tâm Hòa", Match.ENDS),
        ("Hòa Văn Nguyễn", Match.WORDS),
    ]
    # a given name: names that end with it, given name first (the order of name lists)
    assert await all_pages(conn, MemberSearch(folded_tokens=["hoa"]), small_match_set) == [
        ("Hòa Văn Nguyễn", Match.PREFIX),
        ("Nguyễn Hòa", Match.SUFFIX),
        ("Nguyễn Văn Tâm Hòa", Match.SUFFIX),
        ("Nguyễn Thị Hòa", Match.SUFFIX),
        ("Lê Văn Hoà", Match.SUFFIX),
        ("Nguyễn Văn Hóa", Match.SUFFIX),
        ("Trần Văn Hòa", Match.SUFFIX),
        ("Nguyễn Văn Hòa Bình", Match.WORDS),
    ]
    # middle and given name
    assert [
        n
        for n, _ in await all_pages(
            conn, MemberSearch(folded_tokens=["van", "hoa"]), small_match_set
        )
    ] == [
        "Lê Văn Hoà",
        "Nguyễn Văn Hóa",
        "Trần Văn Hòa",
        "Hòa Văn Nguyễn",
        "Nguyễn Văn Hòa Bình",
        "Nguyễn Văn Tâm Hòa",
    ]
    # as the user types: the last word may be only begun
    assert await names(conn, "nguyen v", small_match_set) == [
        "Nguyễn Văn Hóa",
        "Nguyễn Văn Hòa Bình",
        "Nguyễn Văn Tâm Hòa",
    ]


async def test_scope_and_accents_narrow_every_tier(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember, small_match_set: int
) -> None:
    for name in ("Nguyễn Thị Hòa", "Nguyễn Văn Hóa", "Trần Hoà Bình", "Lê Thị Hoa"):
        await make_member(tree.cell_a, full_name=name)
    await make_member(tree.other_cell, full_name="Nguyễn Thị Hòa")
    assert await names(conn, "thi nguyen", small_match_set, organization_id=tree.cell_a.id) == [
        "Nguyễn Thị Hòa"
    ]
    assert await names(conn, "hoa", small_match_set, within=tree.other_district.id) == [
        "Nguyễn Thị Hòa"
    ]
    accented = await all_pages(
        conn,
        MemberSearch(folded_tokens=["hoa"], accented_words=["hòa"], within=tree.district.id),
        small_match_set,
    )
    assert sorted(name for name, _ in accented) == ["Nguyễn Thị Hòa", "Trần Hoà Bình"]


async def test_a_last_word_typed_with_diacritics_is_a_whole_word(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember, small_match_set: int
) -> None:
    for name in ("Nguyễn Hoàng Hòa", "Nguyễn Hòa Bình", "Nguyễn Hoa", "Nguyễn Văn Hòa"):
        await make_member(tree.cell_a, full_name=name)
    search = MemberSearch(
        folded_tokens=["nguyen", "hoa"], accented_words=["nguyễn", "hòa"], last_word_complete=True
    )
    assert await all_pages(conn, search, small_match_set) == [
        ("Nguyễn Hòa Bình", Match.PREFIX),
        ("Nguyễn Hoàng Hòa", Match.ENDS),
        ("Nguyễn Văn Hòa", Match.ENDS),
    ]
    begun = MemberSearch(folded_tokens=["nguyen", "hoa"])  # "hoa" may begin "Hoàng"
    assert [n for n, _ in await all_pages(conn, begun, small_match_set)][:3] == [
        "Nguyễn Hoa",
        "Nguyễn Hòa Bình",
        "Nguyễn Hoàng Hòa",
    ]


async def test_keyset_pages_cover_everything_once(
    conn: asyncpg.Connection, tree: Tree, make_member: MakeMember, small_match_set: int
) -> None:
    expected = [f"Phạm Văn {chr(ord('A') + i)}ư" for i in range(6)]
    for name in reversed(expected):
        await make_member(tree.cell_b, full_name=name)
    found = await all_pages(conn, MemberSearch(organization_id=tree.cell_b.id), small_match_set)
    assert [name for name, _ in found] == expected
    typed = await all_pages(conn, MemberSearch(folded_tokens=["pham", "van"]), small_match_set)
    assert [name for name, _ in typed] == expected
    # a page (of 3) that ends exactly where the first tier does
    for name in ("Lê Văn Phạm", "Trần Phạm"):
        await make_member(tree.cell_a, full_name=name)
    given = await all_pages(conn, MemberSearch(folded_tokens=["pham"]), small_match_set)
    assert given == [
        *[(name, Match.PREFIX) for name in expected],
        ("Trần Phạm", Match.SUFFIX),  # given name first: "pham tran" < "pham van le"
        ("Lê Văn Phạm", Match.SUFFIX),
    ]


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
