"""SQL of the identity service: the member read model, accounts and tokens, consents, the
audit log, rate limits and eKYC sessions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from sotay_common import org_tree
from sotay_common.auth import Role
from sotay_common.events.members import MemberStatus, OrganizationType, Position
from sotay_common.org_tree import adopt_parent_ancestry as adopt_parent_ancestry
from sotay_common.org_tree import (
    recompute_descendant_ancestry as recompute_descendant_ancestry,
)
from sotay_identity.committees import ISSUING_TYPES
from sotay_identity.limits import Rule
from sotay_identity.matching import MemberRecord
from sotay_identity.ocr import FIELD_NAMES, CardReading, EngineText, FieldReading
from sotay_identity.roles import Grant, MemberFacts

# -- organisations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationNode(org_tree.OrganizationNode):
    type: OrganizationType


def _organization(row: Mapping[str, Any]) -> OrganizationNode:
    return OrganizationNode(
        id=row["id"],
        parent_id=row["parent_id"],
        ancestor_ids=list(row["ancestor_ids"]),
        name=row["name"],
        type=OrganizationType(row["type"]),
        status=row["status"],
        version=row["version"],
    )


async def upsert_organization(conn: asyncpg.Connection, org: OrganizationNode) -> bool:
    """Stores a snapshot unless a newer one is already there. True when it was applied."""
    return await org_tree.upsert_organization(conn, org, extra={"type": org.type.value})


async def get_organization(conn: asyncpg.Connection, org_id: uuid.UUID) -> OrganizationNode | None:
    row = await conn.fetchrow(
        "SELECT id, parent_id, ancestor_ids, name, type, status, version"
        " FROM organizations WHERE id = $1",
        org_id,
    )
    return _organization(row) if row else None


async def issuing_organizations(conn: asyncpg.Connection) -> list[tuple[str, OrganizationType]]:
    """(name, type) of every organisation whose committee may issue cards."""
    rows = await conn.fetch(
        "SELECT name, type FROM organizations WHERE type = ANY($1::text[])",
        [t.value for t in ISSUING_TYPES],
    )
    return [(row["name"], OrganizationType(row["type"])) for row in rows]


# -- members ------------------------------------------------------------------------------------

_MEMBER_COLUMNS = (
    "id, version, organization_id, full_name, date_of_birth, party_card_number, status,"
    " admission_date, official_date, positions, photo_ref"
)


def _member(row: Mapping[str, Any]) -> MemberRecord:
    return MemberRecord(
        member_id=row["id"],
        version=row["version"],
        organization_id=row["organization_id"],
        full_name=row["full_name"],
        date_of_birth=row["date_of_birth"],
        party_card_number=row["party_card_number"],
        status=MemberStatus(row["status"]),
        admission_date=row["admission_date"],
        official_date=row["official_date"],
        positions=tuple(Position(p) for p in row["positions"]),
        photo_ref=row["photo_ref"],
    )


async def upsert_member(conn: asyncpg.Connection, member: MemberRecord) -> bool:
    """Stores a snapshot unless a newer one is already there. True when it was applied."""
    applied = await conn.fetchval(
        f"INSERT INTO members ({_MEMBER_COLUMNS})"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version,"
        "  organization_id = EXCLUDED.organization_id, full_name = EXCLUDED.full_name,"
        "  date_of_birth = EXCLUDED.date_of_birth,"
        "  party_card_number = EXCLUDED.party_card_number, status = EXCLUDED.status,"
        "  admission_date = EXCLUDED.admission_date, official_date = EXCLUDED.official_date,"
        "  positions = EXCLUDED.positions, photo_ref = EXCLUDED.photo_ref, updated_at = now()"
        " WHERE members.version < EXCLUDED.version"
        " RETURNING true",
        member.member_id,
        member.version,
        member.organization_id,
        member.full_name,
        member.date_of_birth,
        member.party_card_number,
        member.status.value,
        member.admission_date,
        member.official_date,
        [p.value for p in member.positions],
        member.photo_ref,
    )
    return bool(applied)


async def apply_transfer(
    conn: asyncpg.Connection,
    member_id: uuid.UUID,
    *,
    version: int,
    organization_id: uuid.UUID,
    positions: Sequence[Position],
) -> bool:
    result: str = await conn.execute(
        "UPDATE members SET version = $2, organization_id = $3, positions = $4, updated_at = now()"
        " WHERE id = $1 AND version < $2",
        member_id,
        version,
        organization_id,
        [p.value for p in positions],
    )
    return result.endswith(" 1")


async def get_member(conn: asyncpg.Connection, member_id: uuid.UUID) -> MemberRecord | None:
    row = await conn.fetchrow(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = $1", member_id)
    return _member(row) if row else None


async def member_by_card_number(conn: asyncpg.Connection, number: str) -> MemberRecord | None:
    """The one member with this card number (None if none, or if two claim it for now)."""
    rows = await conn.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM members WHERE party_card_number = $1 LIMIT 2", number
    )
    return _member(rows[0]) if len(rows) == 1 else None


async def member_facts(conn: asyncpg.Connection, member_id: uuid.UUID) -> MemberFacts | None:
    row = await conn.fetchrow(
        "SELECT m.id, m.organization_id, o.type, m.status, m.positions FROM members m"
        " LEFT JOIN organizations o ON o.id = m.organization_id WHERE m.id = $1",
        member_id,
    )
    if row is None:
        return None
    return MemberFacts(
        member_id=row["id"],
        organization_id=row["organization_id"],
        organization_type=OrganizationType(row["type"]) if row["type"] else None,
        status=MemberStatus(row["status"]),
        positions=tuple(Position(p) for p in row["positions"]),
    )


async def organization_within(
    conn: asyncpg.Connection, org_id: uuid.UUID, root_id: uuid.UUID
) -> bool:
    """Whether `org_id` is `root_id` or below it in the read model's tree."""
    return bool(
        await conn.fetchval(
            "SELECT true FROM organizations WHERE id = $1 AND ($2 = id OR $2 = ANY(ancestor_ids))",
            org_id,
            root_id,
        )
    )


# -- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    member_id: uuid.UUID | None
    phone: str | None
    password_hash: str
    password_temporary_until: datetime | None
    status: str
    created_at: datetime
    password_changed_at: datetime


_ACCOUNT_COLUMNS = (
    "id, member_id, phone, password_hash, password_temporary_until, status, created_at,"
    " password_changed_at"
)


def _account(row: Mapping[str, Any]) -> Account:
    return Account(**{name: row[name] for name in Account.__dataclass_fields__})


async def insert_account(
    conn: asyncpg.Connection,
    *,
    account_id: uuid.UUID,
    member_id: uuid.UUID | None,
    phone: str | None,
    password_hash: str,
) -> Account:
    row = await conn.fetchrow(
        f"INSERT INTO accounts (id, member_id, phone, password_hash) VALUES ($1, $2, $3, $4)"
        f" RETURNING {_ACCOUNT_COLUMNS}",
        account_id,
        member_id,
        phone,
        password_hash,
    )
    return _account(row)


async def get_account(
    conn: asyncpg.Connection, account_id: uuid.UUID, *, for_update: bool = False
) -> Account | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = $1{lock}", account_id
    )
    return _account(row) if row else None


async def account_by_member(conn: asyncpg.Connection, member_id: uuid.UUID) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE member_id = $1", member_id
    )
    return _account(row) if row else None


async def account_by_phone(conn: asyncpg.Connection, phone: str) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE phone = $1", phone)
    return _account(row) if row else None


async def set_password(
    conn: asyncpg.Connection,
    account_id: uuid.UUID,
    password_hash: str,
    *,
    temporary_until: datetime | None = None,
) -> None:
    await conn.execute(
        "UPDATE accounts SET password_hash = $2, password_temporary_until = $3,"
        " password_changed_at = now() WHERE id = $1",
        account_id,
        password_hash,
        temporary_until,
    )


async def set_phone(conn: asyncpg.Connection, account_id: uuid.UUID, phone: str | None) -> None:
    await conn.execute("UPDATE accounts SET phone = $2 WHERE id = $1", account_id, phone)


async def grants(conn: asyncpg.Connection, account_id: uuid.UUID) -> list[Grant]:
    rows = await conn.fetch(
        "SELECT role, organization_id FROM role_grants WHERE account_id = $1 ORDER BY role",
        account_id,
    )
    return [Grant(Role(row["role"]), row["organization_id"]) for row in rows]


async def put_grant(
    conn: asyncpg.Connection, account_id: uuid.UUID, grant: Grant, *, granted_by: str
) -> None:
    await conn.execute(
        "INSERT INTO role_grants (account_id, role, organization_id, granted_by)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, role) DO UPDATE"
        " SET organization_id = EXCLUDED.organization_id, granted_by = EXCLUDED.granted_by,"
        "  granted_at = now()",
        account_id,
        grant.role.value,
        grant.organization_id,
        granted_by,
    )


async def delete_grant(conn: asyncpg.Connection, account_id: uuid.UUID, role: Role) -> bool:
    result: str = await conn.execute(
        "DELETE FROM role_grants WHERE account_id = $1 AND role = $2", account_id, role.value
    )
    return result.endswith(" 1")


async def any_system_admin(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval("SELECT true FROM role_grants WHERE role = 'system_admin' LIMIT 1")
    )


# -- refresh tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshToken:
    token_hash: bytes
    family_id: uuid.UUID
    account_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


async def insert_refresh_token(
    conn: asyncpg.Connection,
    token_hash: bytes,
    *,
    family_id: uuid.UUID,
    account_id: uuid.UUID,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, family_id, account_id, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        token_hash,
        family_id,
        account_id,
        expires_at,
    )


async def get_refresh_token(conn: asyncpg.Connection, token_hash: bytes) -> RefreshToken | None:
    row = await conn.fetchrow(
        "SELECT token_hash, family_id, account_id, issued_at, expires_at, used_at, revoked_at"
        " FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        token_hash,
    )
    return RefreshToken(**dict(row)) if row else None


async def mark_refresh_token_used(conn: asyncpg.Connection, token_hash: bytes) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1", token_hash
    )


async def revoke_family(conn: asyncpg.Connection, family_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
    )


async def revoke_account_tokens(conn: asyncpg.Connection, account_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL",
        account_id,
    )


# -- face templates and consents ----------------------------------------------------------------


async def put_template(conn: asyncpg.Connection, account_id: uuid.UUID, sealed: bytes) -> None:
    await conn.execute(
        "INSERT INTO face_templates (account_id, sealed) VALUES ($1, $2)"
        " ON CONFLICT (account_id) DO UPDATE SET sealed = EXCLUDED.sealed, created_at = now()",
        account_id,
        sealed,
    )


async def get_template(conn: asyncpg.Connection, account_id: uuid.UUID) -> bytes | None:
    sealed: bytes | None = await conn.fetchval(
        "SELECT sealed FROM face_templates WHERE account_id = $1", account_id
    )
    return sealed


async def delete_template(conn: asyncpg.Connection, account_id: uuid.UUID) -> bool:
    result: str = await conn.execute("DELETE FROM face_templates WHERE account_id = $1", account_id)
    return result.endswith(" 1")


@dataclass(frozen=True)
class Consent:
    id: uuid.UUID
    purpose: str
    text_version: str
    given_at: datetime
    withdrawn_at: datetime | None
    session_id: uuid.UUID | None
    account_id: uuid.UUID | None


_CONSENT_COLUMNS = "id, purpose, text_version, given_at, withdrawn_at, session_id, account_id"


async def insert_consent(
    conn: asyncpg.Connection, *, purpose: str, text_version: str, session_id: uuid.UUID
) -> Consent:
    row = await conn.fetchrow(
        f"INSERT INTO consents (id, purpose, text_version, session_id) VALUES ($1, $2, $3, $4)"
        f" RETURNING {_CONSENT_COLUMNS}",
        uuid.uuid4(),
        purpose,
        text_version,
        session_id,
    )
    return Consent(**dict(row))


async def attach_consents(
    conn: asyncpg.Connection, session_id: uuid.UUID, account_id: uuid.UUID
) -> None:
    await conn.execute(
        "UPDATE consents SET account_id = $2 WHERE session_id = $1", session_id, account_id
    )


async def consents_of(conn: asyncpg.Connection, account_id: uuid.UUID) -> list[Consent]:
    rows = await conn.fetch(
        f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE account_id = $1 ORDER BY given_at",
        account_id,
    )
    return [Consent(**dict(row)) for row in rows]


async def withdraw_consents(
    conn: asyncpg.Connection,
    *,
    purpose: str,
    account_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
) -> int:
    result: str = await conn.execute(
        "UPDATE consents SET withdrawn_at = now() WHERE purpose = $1 AND withdrawn_at IS NULL"
        " AND (account_id = $2 OR session_id = $3)",
        purpose,
        account_id,
        session_id,
    )
    return int(result.rsplit(" ", 1)[-1])


# -- audit log ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    purpose: str
    correlation_id: str | None


async def audit(
    conn: asyncpg.Connection,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_ids: Iterable[str],
    purpose: str,
    correlation_id: str | None,
) -> None:
    """One row per personal record read (a list of ten reviews writes ten rows)."""
    await conn.executemany(
        "INSERT INTO audit_log (actor, action, subject_type, subject_id, purpose, correlation_id)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (actor, action, subject_type, subject_id, purpose, correlation_id)
            for subject_id in subject_ids
        ],
    )


async def audit_entries(
    conn: asyncpg.Connection, subject_type: str, subject_id: str
) -> list[AuditEntry]:
    rows = await conn.fetch(
        "SELECT at, actor, action, subject_type, subject_id, purpose, correlation_id"
        " FROM audit_log WHERE subject_type = $1 AND subject_id = $2 ORDER BY id",
        subject_type,
        subject_id,
    )
    return [AuditEntry(**dict(row)) for row in rows]


# -- rate limits --------------------------------------------------------------------------------


async def hit_limit(conn: asyncpg.Connection, key: str, rule: Rule) -> datetime | None:
    """Counts one hit; returns when the key is blocked until, if this hit (or an earlier one)
    blocked it, else None. Fixed windows: the first hit after a window opens a new one."""
    row = await conn.fetchrow(
        "INSERT INTO rate_limits AS r (key, window_started_at, hits) VALUES ($1, now(), 1)"
        " ON CONFLICT (key) DO UPDATE SET"
        "  hits = CASE WHEN r.window_started_at <= now() - $2::interval THEN 1 ELSE r.hits + 1 END,"
        "  window_started_at = CASE WHEN r.window_started_at <= now() - $2::interval"
        "   THEN now() ELSE r.window_started_at END"
        " RETURNING hits, blocked_until",
        key,
        rule.window,
    )
    assert row is not None
    if row["hits"] > rule.limit:
        blocked_until: datetime = await conn.fetchval(
            "UPDATE rate_limits SET blocked_until = greatest(blocked_until, now() + $2::interval)"
            " WHERE key = $1 RETURNING blocked_until",
            key,
            rule.block,
        )
        return blocked_until
    return await blocked_until_of(conn, [key])


async def blocked_until_of(conn: asyncpg.Connection, keys: Sequence[str]) -> datetime | None:
    """The latest time any of `keys` is blocked until, if one is blocked now."""
    until: datetime | None = await conn.fetchval(
        "SELECT max(blocked_until) FROM rate_limits"
        " WHERE key = ANY($1::text[]) AND blocked_until > now()",
        list(keys),
    )
    return until


async def clear_limits(conn: asyncpg.Connection, keys: Sequence[str]) -> None:
    await conn.execute("DELETE FROM rate_limits WHERE key = ANY($1::text[])", list(keys))


async def database_now(conn: asyncpg.Connection) -> datetime:
    now: datetime = await conn.fetchval("SELECT now()")
    return now


# -- eKYC sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    state: str
    outcome: str | None
    nonce: str
    used_nonces: list[str]
    challenge: list[str]
    deadline: datetime
    card_attempts: int
    selfie_attempts: int
    client_address: str
    password_hash: str | None
    phone: str | None
    member_id: uuid.UUID | None
    card_number: str | None
    card_reading: CardReading | None
    portrait_template: bytes | None
    selfie_template: bytes | None
    image_keys: list[str]
    scores: dict[str, Any]
    reasons: list[dict[str, str]]
    account_id: uuid.UUID | None
    created_at: datetime
    review_since: datetime | None
    decided_at: datetime | None
    decided_by: str | None


_SESSION_COLUMNS = ", ".join(Session.__dataclass_fields__)
_UPDATABLE = frozenset(Session.__dataclass_fields__) - {"id", "created_at", "client_address"}


def _session(row: Mapping[str, Any]) -> Session:
    values = dict(row)
    values["card_reading"] = reading_from_json(values["card_reading"])
    values["used_nonces"] = list(values["used_nonces"])
    values["challenge"] = list(values["challenge"])
    values["image_keys"] = list(values["image_keys"])
    return Session(**values)


async def insert_session(
    conn: asyncpg.Connection,
    *,
    session_id: uuid.UUID,
    nonce: str,
    challenge: Sequence[str],
    deadline: datetime,
    client_address: str,
    password_hash: str,
    phone: str | None,
) -> Session:
    row = await conn.fetchrow(
        "INSERT INTO ekyc_sessions (id, nonce, challenge, deadline, client_address,"
        " password_hash, phone) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        f" RETURNING {_SESSION_COLUMNS}",
        session_id,
        nonce,
        list(challenge),
        deadline,
        client_address,
        password_hash,
        phone,
    )
    return _session(row)


async def get_session(
    conn: asyncpg.Connection, session_id: uuid.UUID, *, for_update: bool = False
) -> Session | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_SESSION_COLUMNS} FROM ekyc_sessions WHERE id = $1{lock}", session_id
    )
    return _session(row) if row else None


async def update_session(
    conn: asyncpg.Connection, session_id: uuid.UUID, changes: Mapping[str, Any]
) -> Session:
    assert set(changes) <= _UPDATABLE, set(changes) - _UPDATABLE
    values = dict(changes)
    if "card_reading" in values:
        values["card_reading"] = reading_to_json(values["card_reading"])
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
    row = await conn.fetchrow(
        f"UPDATE ekyc_sessions SET {assignments} WHERE id = $1 RETURNING {_SESSION_COLUMNS}",
        session_id,
        *values.values(),
    )
    return _session(row)


async def sessions_in_review(
    conn: asyncpg.Connection, *, within: uuid.UUID | None, limit: int
) -> list[Session]:
    """Sessions waiting for a person, oldest first; `within`: only members of that subtree."""
    rows = await conn.fetch(
        f"SELECT {', '.join('s.' + c for c in Session.__dataclass_fields__)}"
        " FROM ekyc_sessions s JOIN members m ON m.id = s.member_id"
        " JOIN organizations o ON o.id = m.organization_id"
        " WHERE s.state = 'in_review'"
        "  AND ($1::uuid IS NULL OR o.id = $1 OR $1 = ANY(o.ancestor_ids))"
        " ORDER BY s.review_since, s.id LIMIT $2",
        within,
        limit,
    )
    return [_session(row) for row in rows]


async def sessions_to_close(
    conn: asyncpg.Connection, *, review_older_than: dt.timedelta, limit: int = 100
) -> list[Session]:
    """Open sessions past their deadline, reviews older than the retention and decided
    sessions that still list images (a deletion failed), locked."""
    rows = await conn.fetch(
        f"SELECT {_SESSION_COLUMNS} FROM ekyc_sessions"
        " WHERE (state IN ('started', 'card_read') AND deadline < now())"
        "  OR (state = 'in_review' AND review_since < now() - $1::interval)"
        "  OR (state = 'decided' AND image_keys <> '{}')"
        " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        review_older_than,
        limit,
    )
    return [_session(row) for row in rows]


async def open_sessions_of_member(conn: asyncpg.Connection, member_id: uuid.UUID) -> list[Session]:
    rows = await conn.fetch(
        f"SELECT {_SESSION_COLUMNS} FROM ekyc_sessions"
        " WHERE member_id = $1 AND state <> 'decided' FOR UPDATE",
        member_id,
    )
    return [_session(row) for row in rows]


async def delete_stale_rows(conn: asyncpg.Connection) -> None:
    """Counters of windows long past, refresh tokens expired a week ago."""
    await conn.execute(
        "DELETE FROM rate_limits WHERE window_started_at < now() - interval '2 days'"
        " AND (blocked_until IS NULL OR blocked_until < now())"
    )
    await conn.execute("DELETE FROM refresh_tokens WHERE expires_at < now() - interval '7 days'")


# -- card readings as JSON ----------------------------------------------------------------------


def reading_to_json(reading: CardReading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {name: _field_to_json(field) for name, field in reading.fields().items()}


def _field_to_json(field: FieldReading[str] | FieldReading[dt.date]) -> dict[str, Any]:
    value = field.value
    return {
        "value": value.isoformat() if isinstance(value, dt.date) else value,
        "accepted": field.accepted,
        "reason": field.reason,
        "tesseract": _engine_to_json(field.tesseract_raw),
        "aster": _engine_to_json(field.aster_raw),
        "second_look": field.second_look,
    }


def _engine_to_json(text: EngineText | None) -> dict[str, Any] | None:
    return None if text is None else {"text": text.text, "confidence": text.confidence}


def reading_from_json(data: Mapping[str, Any] | None) -> CardReading | None:
    if data is None:
        return None
    fields: dict[str, Any] = {}
    for name in FIELD_NAMES:
        item = data[name]
        value = item["value"]
        if value is not None and name not in (
            "full_name",
            "party_card_number",
            "issuing_committee",
        ):
            value = dt.date.fromisoformat(value)
        fields[name] = FieldReading(
            tesseract_raw=_engine_from_json(item["tesseract"]),
            aster_raw=_engine_from_json(item["aster"]),
            value=value,
            accepted=item["accepted"],
            reason=item["reason"],
            second_look=item["second_look"],
        )
    return CardReading(**fields)


def _engine_from_json(data: Mapping[str, Any] | None) -> EngineText | None:
    return None if data is None else EngineText(data["text"], float(data["confidence"]))
