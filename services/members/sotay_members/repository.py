"""SQL of the members service: organisations, members, history and import jobs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from enum import StrEnum
from typing import Any

import asyncpg

from sotay_common.events.members import MemberStatus, OrganizationStatus, OrganizationType, Position
from sotay_members.domain import Member, NameSearchForms, Organization, name_search_forms


def path_label(org_id: uuid.UUID) -> str:
    return org_id.hex


def _ids_from_path(path: str) -> list[uuid.UUID]:
    return [uuid.UUID(label) for label in path.split(".")]


# -- organisations ------------------------------------------------------------------------------

_ORG_COLUMNS = (
    "id, code, name, type, parent_id, path::text AS path, status, version, created_at, updated_at"
)


def _organization(row: Mapping[str, Any]) -> Organization:
    ids = _ids_from_path(row["path"])
    return Organization(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        type=OrganizationType(row["type"]),
        parent_id=row["parent_id"],
        ancestor_ids=ids[:-1],
        status=OrganizationStatus(row["status"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def insert_organization(
    conn: asyncpg.Connection,
    *,
    org_id: uuid.UUID,
    code: str,
    name: str,
    org_type: OrganizationType,
    parent: Organization | None,
) -> Organization:
    labels = [path_label(i) for i in (parent.path_ids if parent else [])] + [path_label(org_id)]
    row = await conn.fetchrow(
        f"INSERT INTO organizations (id, code, name, type, parent_id, path)"
        f" VALUES ($1, $2, $3, $4, $5, $6::ltree) RETURNING {_ORG_COLUMNS}",
        org_id,
        code,
        name,
        org_type.value,
        parent.id if parent else None,
        ".".join(labels),
    )
    return _organization(row)


async def get_organization(
    conn: asyncpg.Connection, org_id: uuid.UUID, *, for_update: bool = False
) -> Organization | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_ORG_COLUMNS} FROM organizations WHERE id = $1{lock}", org_id
    )
    return _organization(row) if row else None


async def get_organizations(
    conn: asyncpg.Connection, org_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Organization]:
    rows = await conn.fetch(
        f"SELECT {_ORG_COLUMNS} FROM organizations WHERE id = ANY($1::uuid[])", list(org_ids)
    )
    return {row["id"]: _organization(row) for row in rows}


async def get_organizations_by_code(
    conn: asyncpg.Connection, codes: Iterable[str]
) -> dict[str, Organization]:
    rows = await conn.fetch(
        f"SELECT {_ORG_COLUMNS} FROM organizations WHERE code = ANY($1::text[])", list(codes)
    )
    return {row["code"]: _organization(row) for row in rows}


async def list_children(
    conn: asyncpg.Connection, parent_id: uuid.UUID | None
) -> list[Organization]:
    if parent_id is None:
        rows = await conn.fetch(
            f"SELECT {_ORG_COLUMNS} FROM organizations WHERE parent_id IS NULL ORDER BY name"
        )
    else:
        rows = await conn.fetch(
            f"SELECT {_ORG_COLUMNS} FROM organizations WHERE parent_id = $1 ORDER BY name",
            parent_id,
        )
    return [_organization(r) for r in rows]


async def update_organization(
    conn: asyncpg.Connection, org_id: uuid.UUID, changes: Mapping[str, Any]
) -> Organization:
    allowed = {"code", "name", "status"}
    assert set(changes) <= allowed, set(changes) - allowed
    assignments = [f"{name} = ${i}" for i, name in enumerate(changes, start=2)]
    row = await conn.fetchrow(
        f"UPDATE organizations SET {', '.join(assignments)}, version = version + 1,"
        f" updated_at = now() WHERE id = $1 RETURNING {_ORG_COLUMNS}",
        org_id,
        *[v.value if isinstance(v, OrganizationStatus) else v for v in changes.values()],
    )
    return _organization(row)


async def move_subtree(
    conn: asyncpg.Connection, org: Organization, new_parent: Organization
) -> Organization:
    """Re-roots the subtree under `new_parent` in one statement."""
    old_path = ".".join(path_label(i) for i in org.path_ids)
    new_prefix = ".".join(path_label(i) for i in new_parent.path_ids)
    await conn.execute(
        "UPDATE organizations SET path = $2::ltree || subpath(path, nlevel($1::ltree) - 1)"
        " WHERE path <@ $1::ltree",
        old_path,
        new_prefix,
    )
    row = await conn.fetchrow(
        f"UPDATE organizations SET parent_id = $2, version = version + 1, updated_at = now()"
        f" WHERE id = $1 RETURNING {_ORG_COLUMNS}",
        org.id,
        new_parent.id,
    )
    return _organization(row)


async def subtree_ids(conn: asyncpg.Connection, org: Organization) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT id FROM organizations WHERE path <@ $1::ltree",
        ".".join(path_label(i) for i in org.path_ids),
    )
    return [r["id"] for r in rows]


async def is_within(conn: asyncpg.Connection, org_id: uuid.UUID, ancestor_id: uuid.UUID) -> bool:
    """True when `org_id` is `ancestor_id` or one of its descendants."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM organizations o, organizations a"
            " WHERE o.id = $1 AND a.id = $2 AND o.path <@ a.path)",
            org_id,
            ancestor_id,
        )
    )


@dataclass(frozen=True)
class OrganizationCounts:
    child_count: int
    descendant_count: int
    member_count: int
    active_member_count: int


async def organization_counts(conn: asyncpg.Connection, org: Organization) -> OrganizationCounts:
    row = await conn.fetchrow(
        "WITH sub AS (SELECT id FROM organizations WHERE path <@ $1::ltree)"
        " SELECT (SELECT count(*) FROM organizations WHERE parent_id = $2) AS child_count,"
        "        (SELECT count(*) - 1 FROM sub) AS descendant_count,"
        "        count(m.id) AS member_count,"
        "        count(m.id) FILTER (WHERE m.status = ANY($3::text[])) AS active_member_count"
        " FROM members m WHERE m.organization_id IN (SELECT id FROM sub)",
        ".".join(path_label(i) for i in org.path_ids),
        org.id,
        [MemberStatus.PROBATIONARY.value, MemberStatus.OFFICIAL.value, MemberStatus.EXEMPT.value],
    )
    assert row is not None
    return OrganizationCounts(**dict(row))


# -- members ------------------------------------------------------------------------------------

_MEMBER_FIELDS = [f.name for f in fields(Member)]
_MEMBER_COLUMNS = ", ".join(_MEMBER_FIELDS)
_INSERTED_FIELDS = [
    name for name in _MEMBER_FIELDS if name not in ("version", "created_at", "updated_at")
]
_MEMBER_INSERT_COLUMNS = (*_INSERTED_FIELDS, "name_key", "name_rkey", "name_tokens", "name_words")


def _member(row: Mapping[str, Any]) -> Member:
    values = {name: row[name] for name in _MEMBER_FIELDS}
    values["status"] = MemberStatus(values["status"])
    values["positions"] = [Position(p) for p in values["positions"]]
    return Member(**values)


@dataclass(frozen=True)
class NewMember:
    """A member record about to be inserted, with the search forms of its name."""

    member: Member
    names: NameSearchForms

    @classmethod
    def of(cls, member: Member) -> NewMember:
        return cls(member, name_search_forms(member.full_name))

    def as_row(self) -> tuple[Any, ...]:
        values = [getattr(self.member, name) for name in _INSERTED_FIELDS]
        values[_INSERTED_FIELDS.index("status")] = self.member.status.value
        values[_INSERTED_FIELDS.index("positions")] = [p.value for p in self.member.positions]
        names = self.names
        return (*values, names.key, names.reversed_key, names.tokens, names.words)


async def insert_member(conn: asyncpg.Connection, new: NewMember) -> Member:
    placeholders = ", ".join(f"${i}" for i in range(1, len(_MEMBER_INSERT_COLUMNS) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO members ({', '.join(_MEMBER_INSERT_COLUMNS)}) VALUES ({placeholders})"
        f" RETURNING {_MEMBER_COLUMNS}",
        *new.as_row(),
    )
    return _member(row)


async def copy_members(conn: asyncpg.Connection, members: Sequence[NewMember]) -> list[Member]:
    """Bulk insert with binary COPY (imports); returns the records as stored."""
    await conn.copy_records_to_table(
        "members", records=[m.as_row() for m in members], columns=_MEMBER_INSERT_COLUMNS
    )
    now = await conn.fetchval("SELECT now()")  # the column default: the transaction's start
    return [replace(new.member, created_at=now, updated_at=now) for new in members]


async def get_member(
    conn: asyncpg.Connection, member_id: uuid.UUID, *, for_update: bool = False
) -> Member | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = $1{lock}", member_id
    )
    return _member(row) if row else None


@dataclass(frozen=True)
class MemberView:
    member: Member
    organization: Organization
    within_scope_root: bool | None


async def get_member_view(
    conn: asyncpg.Connection, member_id: uuid.UUID, *, scope_root: uuid.UUID | None
) -> MemberView | None:
    """A member with their organisation and, when `scope_root` is given, whether the member sits
    in that organisation's subtree: the whole profile read in one round trip."""
    org_columns = ", ".join(
        f"o.{c} AS org_{c}"
        for c in (
            "code",
            "name",
            "type",
            "parent_id",
            "status",
            "version",
            "created_at",
            "updated_at",
        )
    )
    row = await conn.fetchrow(
        f"SELECT {', '.join('m.' + c.strip() for c in _MEMBER_COLUMNS.split(','))}, {org_columns},"
        " o.path::text AS org_path, $2::uuid = ANY(m.ancestor_ids) AS within"
        " FROM members m JOIN organizations o ON o.id = m.organization_id WHERE m.id = $1",
        member_id,
        scope_root,
    )
    if row is None:
        return None
    organization = _organization(
        {
            "id": row["organization_id"],
            "path": row["org_path"],
            **{
                name: row[f"org_{name}"]
                for name in (
                    "code",
                    "name",
                    "type",
                    "parent_id",
                    "status",
                    "version",
                    "created_at",
                    "updated_at",
                )
            },
        }
    )
    return MemberView(_member(row), organization, row["within"])


async def find_member_ids_by_identity(
    conn: asyncpg.Connection, *, party_card_number: str, citizen_id: str | None
) -> list[tuple[uuid.UUID, str]]:
    """Members holding this card number or citizen id: (id, which field matched)."""
    rows = await conn.fetch(
        "SELECT id, 'party_card_number' AS field FROM members WHERE party_card_number = $1"
        " UNION ALL"
        " SELECT id, 'citizen_id' FROM members WHERE $2::text IS NOT NULL AND citizen_id = $2",
        party_card_number,
        citizen_id,
    )
    return [(r["id"], r["field"]) for r in rows]


async def members_by_card_numbers(
    conn: asyncpg.Connection, card_numbers: Sequence[str], *, for_update: bool = False
) -> dict[str, Member]:
    lock = " FOR UPDATE" if for_update else ""
    rows = await conn.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM members WHERE party_card_number = ANY($1::text[]){lock}",
        list(card_numbers),
    )
    return {r["party_card_number"]: _member(r) for r in rows}


async def card_numbers_by_citizen_ids(
    conn: asyncpg.Connection, citizen_ids: Sequence[str]
) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT citizen_id, party_card_number FROM members WHERE citizen_id = ANY($1::text[])",
        list(citizen_ids),
    )
    return {r["citizen_id"]: r["party_card_number"] for r in rows}


async def update_member(
    conn: asyncpg.Connection, member_id: uuid.UUID, changes: Mapping[str, Any]
) -> Member:
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "names":
            assert isinstance(value, NameSearchForms)
            values.update(
                name_key=value.key,
                name_rkey=value.reversed_key,
                name_tokens=value.tokens,
                name_words=value.words,
            )
        elif name == "status":
            values[name] = MemberStatus(value).value
        elif name == "positions":
            values[name] = [Position(p).value for p in value]
        else:
            values[name] = value
    assignments = [f"{name} = ${i}" for i, name in enumerate(values, start=2)]
    row = await conn.fetchrow(
        f"UPDATE members SET {', '.join(assignments)}, version = version + 1, updated_at = now()"
        f" WHERE id = $1 RETURNING {_MEMBER_COLUMNS}",
        member_id,
        *values.values(),
    )
    return _member(row)


class Match(StrEnum):
    """How a name matched the words typed, best first; results come in this order."""

    PREFIX = "prefix"  # starts with the words as typed (the last one may be begun)
    SUFFIX = "suffix"  # ends with the words as typed: given name, middle + given name
    ENDS = "ends"  # starts with the first word and ends with the last: surname + given name
    WORDS = "words"  # holds every word somewhere


@dataclass(frozen=True)
class Cursor:
    match: Match
    sort_key: str
    member_id: uuid.UUID


@dataclass(frozen=True)
class MemberSearch:
    folded_tokens: Sequence[str] = ()
    accented_words: Sequence[str] = ()
    last_word_complete: bool = False  # typed with diacritics: a whole word, not one begun
    party_card_number: str | None = None
    organization_id: uuid.UUID | None = None
    within: uuid.UUID | None = None  # an organisation whose subtree holds the members
    member_id: uuid.UUID | None = None
    statuses: Sequence[MemberStatus] = ()
    after: Cursor | None = None
    limit: int = 20


@dataclass(frozen=True)
class MemberListItem:
    member: Member
    sort_key: str
    organization_name: str
    match: Match


@dataclass(frozen=True)
class SearchPage:
    items: list[MemberListItem]
    next: Cursor | None


class _Query:
    """Accumulates conditions and their arguments."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    @property
    def where(self) -> str:
        return f"WHERE {' AND '.join(self.conditions)}" if self.conditions else ""


def _filters(search: MemberSearch, *, whole_words: bool = True) -> _Query:
    query = _Query()
    add, arg = query.conditions.append, query.arg
    if search.folded_tokens and whole_words:
        add(f"m.name_tokens @> {arg(list(search.folded_tokens))}::text[]")
    if search.accented_words:
        add(f"m.name_words @> {arg(list(search.accented_words))}::text[]")
    if search.party_card_number:
        add(f"m.party_card_number = {arg(search.party_card_number)}")
    if search.member_id:
        add(f"m.id = {arg(search.member_id)}")
    if search.organization_id is not None:
        add(f"m.organization_id = {arg(search.organization_id)}")
    if search.within is not None:
        add(f"m.ancestor_ids @> ARRAY[{arg(search.within)}::uuid]")
    if search.statuses:
        add(f"m.status = ANY({arg([s.value for s in search.statuses])}::text[])")
    return query


async def _fetch(
    conn: asyncpg.Connection, query: _Query, order_key: str | None, limit: int, match: Match
) -> list[MemberListItem]:
    """`order_key` then id, or id alone (record order) when it is None."""
    order, key = (f"{order_key}, m.id", order_key) if order_key else ("m.id", "''")
    rows = await conn.fetch(
        f"SELECT {', '.join('m.' + name for name in _MEMBER_FIELDS)},"
        f" {key} AS sort_key, o.name AS organization_name"
        f" FROM members m JOIN organizations o ON o.id = m.organization_id"
        f" {query.where} ORDER BY {order} LIMIT {query.arg(limit)}",
        *query.args,
    )
    return [MemberListItem(_member(r), r["sort_key"], r["organization_name"], match) for r in rows]


def _page(items: list[MemberListItem], limit: int) -> SearchPage:
    if len(items) <= limit:
        return SearchPage(items, None)
    last = items[limit - 1]
    return SearchPage(items[:limit], Cursor(last.match, last.sort_key, last.member.id))


def _starts_with(query: _Query, column: str, text: str) -> str:
    return f"({column} >= {query.arg(text)} AND {column} < {query.arg(text + '~')})"


def _starts_with_words(query: _Query, column: str, words: Sequence[str]) -> str:
    """The key is the words, or starts with them and a space: bytewise, and with keys made of
    [a-z0-9 ] only, that is exactly the range [text, text + '!') (' ' < '!'), one index range."""
    text = " ".join(words)
    return f"({column} >= {query.arg(text)} AND {column} < {query.arg(text + '!')})"


def _all_words(query: _Query, words: Sequence[str]) -> str:
    return f"m.name_tokens @> {query.arg(list(words))}::text[]"


@dataclass(frozen=True)
class _Tier:
    match: Match
    condition: Callable[[_Query, Sequence[str], bool], str]  # (query, words, last complete)
    order_key: str | None  # None: record order


def _prefix(query: _Query, words: Sequence[str], last_word_complete: bool) -> str:
    if last_word_complete:  # "nguyen hoa" then ends at a word boundary, not at "nguyen hoang"
        return _starts_with_words(query, "m.name_key", words)
    return _starts_with(query, "m.name_key", " ".join(words))


_TIERS = (
    _Tier(Match.PREFIX, _prefix, "m.name_key"),
    _Tier(
        Match.SUFFIX, lambda q, w, _: _starts_with_words(q, "m.name_rkey", w[::-1]), "m.name_rkey"
    ),
    _Tier(
        Match.ENDS,
        lambda q, w, _: (
            f"{_starts_with_words(q, 'm.name_rkey', w[-1:])}"
            f" AND {_starts_with_words(q, 'm.name_key', w[:1])} AND {_all_words(q, w)}"
        ),
        "m.name_rkey",
    ),
    _Tier(Match.WORDS, lambda q, w, _: _all_words(q, w), None),
)

_RECORD_ORDER = "''"  # the sort key of a tier in record order (then by id)

SMALL_MATCH_SET = 1000
"""Up to this many members estimated to hold the whole words typed (in the caller's scope), a
search ranks that set in one query; above it, it walks the name indexes tier by tier."""


async def search_members(
    conn: asyncpg.Connection, search: MemberSearch, *, small_match_set: int = SMALL_MATCH_SET
) -> SearchPage:
    """A page of members, keyset-paginated; only the conditions in use are in the SQL, so each
    query shape gets a plan of its own.

    Without name words: in name order. With them, in tiers: names that start with the words as
    typed (name order), end with them (given name first), start with the first and end with the
    last, then the others holding every word (record order). Two strategies give the same
    pages. When the planner expects few members to hold the whole words in the caller's scope
    (one lookup in the GIN index of words and scope), that set is ranked at once. Otherwise a
    tier walks its name index in order, which finds a page after a few rows when matches are
    plentiful; the tiers after the first, whose matches hold every word whole, are ranked from
    that set instead when it is small. Either strategy alone has unbounded cases at national
    scale: sorting a broad match set, or walking a name range whose rows the scope or the
    accents mostly reject."""
    if not search.folded_tokens:
        return await _search_without_words(conn, search)
    words = list(search.folded_tokens)
    tiers = [t for t in _TIERS if t.match is not Match.ENDS or len(words) > 1]
    whole = list(words) if search.last_word_complete else words[:-1]
    if await _few_candidates(conn, search, whole, small_match_set):
        ranked = await _rank(conn, search, words, tiers, 0, _candidates(search, whole))
        return _page(ranked, search.limit)
    start = 0 if search.after is None else [t.match for t in tiers].index(search.after.match)
    async with conn.transaction():
        items = await _walk(conn, search, words, tiers, range(start, 1))
        if len(items) <= search.limit:
            rest = replace(search, after=None) if start == 0 else search
            rest = replace(rest, limit=search.limit - len(items))
            if await _few_candidates(conn, search, words, small_match_set):
                items += await _rank(conn, rest, words, tiers, 1, _candidates(search, words))
            else:
                items += await _walk(conn, rest, words, tiers, range(max(start, 1), len(tiers)))
    return _page(items, search.limit)


async def _search_without_words(conn: asyncpg.Connection, search: MemberSearch) -> SearchPage:
    query = _filters(search)
    after = search.after
    if after is not None:
        query.conditions.append(
            f"(m.name_key, m.id) > ({query.arg(after.sort_key)}, {query.arg(after.member_id)})"
        )
    listed = await _fetch(conn, query, "m.name_key", search.limit + 1, Match.PREFIX)
    return _page(listed, search.limit)


def _candidates(search: MemberSearch, whole: Sequence[str]) -> _Query:
    """The caller's filters and the words every match holds whole."""
    query = _filters(search, whole_words=False)
    if whole:
        query.conditions.append(_all_words(query, whole))
    return query


async def _few_candidates(
    conn: asyncpg.Connection, search: MemberSearch, whole: Sequence[str], small_match_set: int
) -> bool:
    """Whether the planner expects few members to hold the `whole` words in the caller's scope.
    Only conditions it estimates well (one index each) count: with the accents or statuses it
    multiplies selectivities that are far from independent."""
    query = _Query()
    if whole:
        query.conditions.append(_all_words(query, whole))
    if search.organization_id is not None:
        query.conditions.append(f"m.organization_id = {query.arg(search.organization_id)}")
    if search.within is not None:
        query.conditions.append(f"m.ancestor_ids @> ARRAY[{query.arg(search.within)}::uuid]")
    if not query.conditions:
        return False
    plan = await conn.fetchval(
        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM members m {query.where}", *query.args
    )
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"]) <= small_match_set


async def _rank(
    conn: asyncpg.Connection,
    search: MemberSearch,
    words: Sequence[str],
    tiers: Sequence[_Tier],
    first: int,
    query: _Query,
) -> list[MemberListItem]:
    """Up to limit + 1 members of tiers `first`.. of a candidate set, in one query: each member
    ranked by its first tier, the members of earlier tiers left out."""
    complete = search.last_word_complete
    query.conditions += [f"NOT ({t.condition(query, words, complete)})" for t in tiers[:first]]
    ranks = " ".join(
        f"WHEN {tier.condition(query, words, complete)} THEN {rank}"
        for rank, tier in enumerate(tiers)
        if rank >= first
    )
    keys = " ".join(  # the outer query sees the inner one's columns, not m
        f"WHEN {rank} THEN {(tier.order_key or _RECORD_ORDER).removeprefix('m.')}"
        for rank, tier in enumerate(tiers)
    )
    ranked = (
        f"SELECT {', '.join('m.' + name for name in _MEMBER_FIELDS)}, o.name AS organization_name,"
        f" m.name_key, m.name_rkey, CASE {ranks} END AS rank"
        f" FROM members m JOIN organizations o ON o.id = m.organization_id {query.where}"
    )
    outer = ["rank IS NOT NULL"]
    after = search.after
    if after is not None:
        rank = [t.match for t in tiers].index(after.match)
        outer.append(
            f"(rank, sort_key, id) > ({query.arg(rank)}, {query.arg(after.sort_key)},"
            f" {query.arg(after.member_id)})"
        )
    rows = await conn.fetch(
        f'SELECT * FROM (SELECT r.*, (CASE rank {keys} END) COLLATE "C" AS sort_key'
        f" FROM ({ranked}) r) s WHERE {' AND '.join(outer)}"
        f" ORDER BY rank, sort_key, id LIMIT {query.arg(search.limit + 1)}",
        *query.args,
    )
    return [
        MemberListItem(_member(r), r["sort_key"], r["organization_name"], tiers[r["rank"]].match)
        for r in rows
    ]


async def _walk(
    conn: asyncpg.Connection,
    search: MemberSearch,
    words: Sequence[str],
    tiers: Sequence[_Tier],
    indexes: range,
) -> list[MemberListItem]:
    """Up to limit + 1 members of the tiers at `indexes`, each tier walking its index in
    order; runs inside a transaction (planner settings are local to it)."""
    after = search.after
    complete = search.last_word_complete
    items: list[MemberListItem] = []
    for index in indexes:
        tier = tiers[index]
        # the range implies the words; in the prefix tier the last may be only begun
        query = _filters(search, whole_words=False)
        query.conditions.append(tier.condition(query, words, complete))
        query.conditions += [f"NOT ({t.condition(query, words, complete)})" for t in tiers[:index]]
        if after is not None and tier.match is after.match:
            key = tier.order_key or _RECORD_ORDER
            query.conditions.append(
                f"({key}, m.id) > ({query.arg(after.sort_key)}, {query.arg(after.member_id)})"
            )
        # An ordered tier walks its name index: the planner, misled by correlated conditions,
        # would otherwise intersect bitmaps and sort a large match set.
        bitmaps = "on" if tier.order_key is None else "off"
        await conn.execute(f"SET LOCAL enable_bitmapscan = {bitmaps}")
        limit = search.limit + 1 - len(items)
        items += await _fetch(conn, query, tier.order_key, limit, tier.match)
        if len(items) > search.limit:
            break
    await conn.execute("SET LOCAL enable_bitmapscan = on")
    return items


# -- history ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    member_id: uuid.UUID
    kind: str
    occurred_on: date
    summary: str
    details: dict[str, Any]
    recorded_by: str
    recorded_at: Any


async def add_history(
    conn: asyncpg.Connection,
    *,
    member_id: uuid.UUID,
    kind: str,
    occurred_on: date,
    summary: str,
    details: Mapping[str, Any],
    recorded_by: str,
) -> HistoryEntry:
    row = await conn.fetchrow(
        "INSERT INTO member_history (member_id, kind, occurred_on, summary, details, recorded_by)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        member_id,
        kind,
        occurred_on,
        summary,
        dict(details),
        recorded_by,
    )
    return HistoryEntry(**dict(row))


async def list_history(conn: asyncpg.Connection, member_id: uuid.UUID) -> list[HistoryEntry]:
    rows = await conn.fetch(
        "SELECT * FROM member_history WHERE member_id = $1 ORDER BY occurred_on, id", member_id
    )
    return [HistoryEntry(**dict(r)) for r in rows]


# -- import jobs --------------------------------------------------------------------------------

_JOB_COLUMNS = (
    "id, status, mode, dry_run, file_name, file_format, file_size, scope_org_id, requested_by,"
    " phase, total_rows, processed_rows, created_count, updated_count, unchanged_count,"
    " error_count, message, created_at, started_at, heartbeat_at, finished_at"
)
STALE_JOB_SECONDS = 60


@dataclass(frozen=True)
class ImportJob:
    id: uuid.UUID
    status: str
    mode: str
    dry_run: bool
    file_name: str
    file_format: str
    file_size: int
    scope_org_id: uuid.UUID | None
    requested_by: str
    phase: str
    total_rows: int | None
    processed_rows: int
    created_count: int
    updated_count: int
    unchanged_count: int
    error_count: int
    message: str | None
    created_at: Any
    started_at: Any
    heartbeat_at: Any
    finished_at: Any


async def create_import_job(
    conn: asyncpg.Connection,
    *,
    job_id: uuid.UUID,
    mode: str,
    dry_run: bool,
    file_name: str,
    file_format: str,
    content: bytes,
    scope_org_id: uuid.UUID | None,
    requested_by: str,
    total_rows: int | None,
) -> ImportJob:
    row = await conn.fetchrow(
        "INSERT INTO import_jobs (id, status, mode, dry_run, file_name, file_format, file_size,"
        " content, scope_org_id, requested_by, total_rows)"
        f" VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_JOB_COLUMNS}",
        job_id,
        mode,
        dry_run,
        file_name,
        file_format,
        len(content),
        content,
        scope_org_id,
        requested_by,
        total_rows,
    )
    await conn.execute("SELECT pg_notify(current_schema() || '_imports', $1)", str(job_id))
    return ImportJob(**dict(row))


async def get_import_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> ImportJob | None:
    row = await conn.fetchrow(f"SELECT {_JOB_COLUMNS} FROM import_jobs WHERE id = $1", job_id)
    return ImportJob(**dict(row)) if row else None


async def claim_import_job(conn: asyncpg.Connection) -> tuple[ImportJob, bytes] | None:
    """The oldest pending job, or a running one whose worker stopped heartbeating."""
    row = await conn.fetchrow(
        "UPDATE import_jobs SET status = 'running', started_at = coalesce(started_at, now()),"
        " heartbeat_at = now(), phase = 'parsing', processed_rows = 0"
        " WHERE id = (SELECT id FROM import_jobs"
        "   WHERE status = 'pending'"
        "      OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $1))"
        "   ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)"
        f" RETURNING {_JOB_COLUMNS}, content",
        STALE_JOB_SECONDS,
    )
    if row is None:
        return None
    values = dict(row)
    content = values.pop("content")
    return ImportJob(**values), bytes(content)


async def record_import_progress(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    *,
    phase: str,
    processed_rows: int,
    total_rows: int | None,
) -> None:
    await conn.execute(
        "UPDATE import_jobs SET phase = $2, processed_rows = $3,"
        " total_rows = coalesce($4, total_rows), heartbeat_at = now()"
        " WHERE id = $1 AND status = 'running'",
        job_id,
        phase,
        processed_rows,
        total_rows,
    )


async def finish_import_job(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    *,
    status: str,
    message: str,
    total_rows: int | None = None,
    created: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    errors: int = 0,
) -> None:
    await conn.execute(
        "UPDATE import_jobs SET status = $2, message = $3, phase = 'done',"
        " total_rows = coalesce($4, total_rows), processed_rows = coalesce($4, processed_rows),"
        " created_count = $5, updated_count = $6, unchanged_count = $7, error_count = $8,"
        " finished_at = now(), heartbeat_at = now(), content = NULL WHERE id = $1",
        job_id,
        status,
        message,
        total_rows,
        created,
        updated,
        unchanged,
        errors,
    )


async def save_import_errors(
    conn: asyncpg.Connection, job_id: uuid.UUID, errors: Sequence[Any]
) -> None:
    await conn.copy_records_to_table(
        "import_errors",
        records=[(job_id, e.row_number, e.field, e.code, e.message, e.value) for e in errors],
        columns=("job_id", "row_number", "field", "code", "message", "value"),
    )


async def list_import_errors(
    conn: asyncpg.Connection, job_id: uuid.UUID, *, limit: int, offset: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT row_number, field, code, message, value FROM import_errors WHERE job_id = $1"
        " ORDER BY row_number, field LIMIT $2 OFFSET $3",
        job_id,
        limit,
        offset,
    )
    return rows


def members_for_export(conn: asyncpg.Connection, within: uuid.UUID | None) -> Any:
    """A server-side cursor over members with their organisation, in name order (inside a
    transaction); all of them, or those in the subtree of `within`."""
    where = "WHERE m.ancestor_ids @> ARRAY[$1::uuid]" if within is not None else ""
    args = [within] if within is not None else []
    return conn.cursor(
        f"SELECT {', '.join('m.' + c.strip() for c in _MEMBER_COLUMNS.split(','))},"
        f" o.code AS organization_code, o.name AS organization_name"
        f" FROM members m JOIN organizations o ON o.id = m.organization_id {where}"
        f" ORDER BY m.name_key, m.id",
        *args,
        prefetch=2000,
    )


def member_from_row(row: asyncpg.Record) -> Member:
    return _member(row)
