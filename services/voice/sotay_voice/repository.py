"""SQL of the voice service: the organisation read model, documents, renders (jobs) and the
encoded increments of renders in progress."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

# -- organisations (read model) -----------------------------------------------------------------


async def upsert_organization(
    conn: asyncpg.Connection, org_id: uuid.UUID, parent_id: uuid.UUID | None, version: int
) -> bool:
    """Stores the organisation unless a newer version is already known."""
    changed = await conn.fetchval(
        "INSERT INTO organizations (id, parent_id, version) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id,"
        "  version = excluded.version, updated_at = now()"
        " WHERE organizations.version < excluded.version RETURNING true",
        org_id,
        parent_id,
        version,
    )
    return bool(changed)


MAX_TREE_DEPTH = 32


async def organization_chain(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[uuid.UUID]:
    """The organisation, then its parent, up to the root; empty when it is unknown."""
    rows = await conn.fetch(
        "WITH RECURSIVE chain (id, parent_id, depth) AS ("
        "  SELECT id, parent_id, 0 FROM organizations WHERE id = $1"
        "  UNION ALL"
        "  SELECT o.id, o.parent_id, c.depth + 1 FROM organizations o"
        "  JOIN chain c ON o.id = c.parent_id WHERE c.depth < $2)"
        " SELECT id FROM chain ORDER BY depth",
        org_id,
        MAX_TREE_DEPTH,
    )
    return [r["id"] for r in rows]


# -- renders --------------------------------------------------------------------------------------

_RENDER_COLUMNS = (
    "id, content_hash, voice_key, engine, voice, spec, status, source_record, requested_by,"
    " attempts, not_before, lease, chunks_total, chunks_done, seconds_rendered, duration_s,"
    " chapters, files, error_code, error_message, created_at, started_at, heartbeat_at,"
    " finished_at"
)
LIVE_STATUSES = ("pending", "running", "succeeded")


@dataclass(frozen=True)
class Render:
    id: uuid.UUID
    content_hash: str
    voice_key: str
    engine: str
    voice: str
    spec: dict[str, Any]
    status: str
    source_record: dict[str, Any] | None
    requested_by: str | None
    attempts: int
    not_before: datetime
    lease: uuid.UUID | None
    chunks_total: int | None
    chunks_done: int
    seconds_rendered: float
    duration_s: float | None
    chapters: list[dict[str, Any]]
    files: dict[str, dict[str, Any]]
    error_code: str | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None


def _render(row: asyncpg.Record) -> Render:
    return Render(**{k: v for k, v in dict(row).items() if k != "source_event"})


@dataclass(frozen=True)
class NewRender:
    content_hash: str
    voice_key: str
    engine: str
    voice: str
    spec: Mapping[str, Any]
    source_event: bytes
    source_record: Mapping[str, Any] | None
    requested_by: str | None = None


async def insert_render(conn: asyncpg.Connection, new: NewRender) -> tuple[Render, bool]:
    """A pending render, or the live one of the same content and voice (created is False)."""
    row = await conn.fetchrow(
        "INSERT INTO renders (id, content_hash, voice_key, engine, voice, spec, status,"
        " source_event, source_record, requested_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)"
        " ON CONFLICT (content_hash, voice_key)"
        "  WHERE status IN ('pending', 'running', 'succeeded') DO NOTHING"
        f" RETURNING {_RENDER_COLUMNS}",
        uuid.uuid4(),
        new.content_hash,
        new.voice_key,
        new.engine,
        new.voice,
        dict(new.spec),
        new.source_event,
        dict(new.source_record) if new.source_record is not None else None,
        new.requested_by,
    )
    if row is not None:
        await conn.execute("SELECT pg_notify(current_schema() || '_renders', $1)", str(row["id"]))
        return _render(row), True
    existing = await find_live_render(conn, new.content_hash, new.voice_key)
    assert existing is not None  # the conflicting row is visible once the insert waited for it
    return existing, False


async def find_live_render(
    conn: asyncpg.Connection, content_hash: str, voice_key: str
) -> Render | None:
    row = await conn.fetchrow(
        f"SELECT {_RENDER_COLUMNS} FROM renders WHERE content_hash = $1 AND voice_key = $2"
        " AND status = ANY($3::text[])",
        content_hash,
        voice_key,
        list(LIVE_STATUSES),
    )
    return _render(row) if row else None


async def get_render(conn: asyncpg.Connection, render_id: uuid.UUID) -> Render | None:
    row = await conn.fetchrow(f"SELECT {_RENDER_COLUMNS} FROM renders WHERE id = $1", render_id)
    return _render(row) if row else None


@dataclass(frozen=True)
class ClaimedRender:
    render: Render
    source_event: bytes


async def claim_render(conn: asyncpg.Connection, stale_after_s: float) -> ClaimedRender | None:
    """The oldest due pending render, or a running one whose worker stopped heartbeating,
    under a new lease. Previous increments are dropped: a render restarts from the top."""
    row = await conn.fetchrow(
        "UPDATE renders SET status = 'running', lease = $2, attempts = attempts + 1,"
        " started_at = coalesce(started_at, now()), heartbeat_at = now(), chunks_done = 0,"
        " seconds_rendered = 0"
        " WHERE id = (SELECT id FROM renders"
        "   WHERE (status = 'pending' AND not_before <= now())"
        "      OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => $1))"
        "   ORDER BY not_before FOR UPDATE SKIP LOCKED LIMIT 1)"
        f" RETURNING {_RENDER_COLUMNS}, source_event",
        stale_after_s,
        uuid.uuid4(),
    )
    if row is None:
        return None
    await conn.execute("DELETE FROM render_parts WHERE render_id = $1", row["id"])
    return ClaimedRender(_render(row), bytes(row["source_event"]))


async def next_due_in(conn: asyncpg.Connection, stale_after_s: float) -> float | None:
    """Seconds until a render becomes due (pending with a delay, or running and going stale)."""
    value = await conn.fetchval(
        "SELECT extract(epoch FROM min(CASE WHEN status = 'pending' THEN not_before"
        "  ELSE heartbeat_at + make_interval(secs => $1) END) - now())"
        " FROM renders WHERE status IN ('pending', 'running')",
        stale_after_s,
    )
    return None if value is None else max(0.0, float(value))


async def record_plan(
    conn: asyncpg.Connection,
    render_id: uuid.UUID,
    lease: uuid.UUID,
    *,
    chunks_total: int,
    chapters: Sequence[Mapping[str, Any]],
) -> bool:
    done = await conn.fetchval(
        "UPDATE renders SET chunks_total = $3, chapters = $4, heartbeat_at = now()"
        " WHERE id = $1 AND lease = $2 AND status = 'running' RETURNING true",
        render_id,
        lease,
        chunks_total,
        [dict(c) for c in chapters],
    )
    return bool(done)


@dataclass(frozen=True)
class Part:
    format: str
    seq: int
    data: bytes


async def record_progress(
    conn: asyncpg.Connection,
    render_id: uuid.UUID,
    lease: uuid.UUID,
    *,
    chunks_done: int,
    seconds_rendered: float,
    chapters: Sequence[Mapping[str, Any]],
    parts: Sequence[Part],
) -> bool:
    """Stores new increments and progress (a heartbeat too). False when the lease is lost
    (taken over, or the render was withdrawn): the worker must stop."""
    held = await conn.fetchval(
        "UPDATE renders SET chunks_done = $3, seconds_rendered = $4, chapters = $5,"
        " heartbeat_at = now() WHERE id = $1 AND lease = $2 AND status = 'running'"
        " RETURNING true",
        render_id,
        lease,
        chunks_done,
        seconds_rendered,
        [dict(c) for c in chapters],
    )
    if not held:
        return False
    if parts:
        await conn.copy_records_to_table(
            "render_parts",
            records=[(render_id, p.format, p.seq, p.data) for p in parts],
            columns=("render_id", "format", "seq", "data"),
        )
    return True


async def finish_render(
    conn: asyncpg.Connection,
    render_id: uuid.UUID,
    lease: uuid.UUID,
    *,
    duration_s: float,
    chapters: Sequence[Mapping[str, Any]],
    files: Mapping[str, Mapping[str, Any]],
) -> Render | None:
    row = await conn.fetchrow(
        "UPDATE renders SET status = 'succeeded', duration_s = $3, seconds_rendered = $3,"
        " chunks_done = chunks_total, chapters = $4, files = $5, finished_at = now(),"
        " heartbeat_at = now(), lease = NULL, error_code = NULL, error_message = NULL"
        " WHERE id = $1 AND lease = $2 AND status = 'running'"
        f" RETURNING {_RENDER_COLUMNS}",
        render_id,
        lease,
        duration_s,
        [dict(c) for c in chapters],
        {k: dict(v) for k, v in files.items()},
    )
    if row is None:
        return None
    await conn.execute("DELETE FROM render_parts WHERE render_id = $1", render_id)
    return _render(row)


async def retry_render_later(
    conn: asyncpg.Connection,
    render_id: uuid.UUID,
    lease: uuid.UUID,
    *,
    delay_s: float,
    error_code: str,
    error_message: str,
) -> bool:
    done = await conn.fetchval(
        "UPDATE renders SET status = 'pending', lease = NULL,"
        " not_before = now() + make_interval(secs => $3), error_code = $4, error_message = $5"
        " WHERE id = $1 AND lease = $2 AND status = 'running' RETURNING true",
        render_id,
        lease,
        delay_s,
        error_code,
        error_message,
    )
    if done:
        await conn.execute("DELETE FROM render_parts WHERE render_id = $1", render_id)
    return bool(done)


async def release_render(conn: asyncpg.Connection, render_id: uuid.UUID, lease: uuid.UUID) -> bool:
    """Gives a render back to the queue at once (the worker is stopping), the attempt unspent."""
    done = await conn.fetchval(
        "UPDATE renders SET status = 'pending', lease = NULL, not_before = now(),"
        " attempts = greatest(attempts - 1, 0)"
        " WHERE id = $1 AND lease = $2 AND status = 'running' RETURNING true",
        render_id,
        lease,
    )
    if done:
        await conn.execute("DELETE FROM render_parts WHERE render_id = $1", render_id)
    return bool(done)


async def fail_render(
    conn: asyncpg.Connection,
    render_id: uuid.UUID,
    lease: uuid.UUID,
    *,
    error_code: str,
    error_message: str,
) -> Render | None:
    row = await conn.fetchrow(
        "UPDATE renders SET status = 'failed', lease = NULL, finished_at = now(),"
        " error_code = $3, error_message = $4"
        " WHERE id = $1 AND lease = $2 AND status = 'running'"
        f" RETURNING {_RENDER_COLUMNS}",
        render_id,
        lease,
        error_code,
        error_message,
    )
    if row is None:
        return None
    await conn.execute("DELETE FROM render_parts WHERE render_id = $1", render_id)
    return _render(row)


async def read_parts(
    conn: asyncpg.Connection, render_id: uuid.UUID, audio_format: str, after_seq: int
) -> list[Part]:
    rows = await conn.fetch(
        "SELECT format, seq, data FROM render_parts WHERE render_id = $1 AND format = $2"
        " AND seq > $3 ORDER BY seq",
        render_id,
        audio_format,
        after_seq,
    )
    return [Part(r["format"], r["seq"], bytes(r["data"])) for r in rows]


# -- documents ------------------------------------------------------------------------------------

_DOCUMENT_COLUMNS = (
    "id, version, kind, title, scope_organization_id, scope_ancestor_ids, content_hash,"
    " render_id, archived_at, updated_at"
)


@dataclass(frozen=True)
class Document:
    id: uuid.UUID
    version: int
    kind: str
    title: str
    scope_organization_id: uuid.UUID | None
    scope_ancestor_ids: list[uuid.UUID]
    content_hash: str
    render_id: uuid.UUID
    archived_at: datetime | None
    updated_at: datetime


async def get_document(
    conn: asyncpg.Connection, document_id: uuid.UUID, *, for_update: bool = False
) -> Document | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE id = $1{lock}", document_id
    )
    return Document(**dict(row)) if row else None


async def get_document_event(conn: asyncpg.Connection, document_id: uuid.UUID) -> bytes | None:
    value = await conn.fetchval("SELECT event FROM documents WHERE id = $1", document_id)
    return bytes(value) if value is not None else None


@dataclass(frozen=True)
class PublishedDocument:
    id: uuid.UUID
    version: int
    kind: str
    title: str
    scope_organization_id: uuid.UUID | None
    scope_ancestor_ids: Sequence[uuid.UUID]
    content_hash: str
    event: bytes


async def save_document(
    conn: asyncpg.Connection, document: PublishedDocument, render_id: uuid.UUID
) -> Document:
    """Inserts or replaces the document's current version and links it to its render."""
    row = await conn.fetchrow(
        "INSERT INTO documents (id, version, kind, title, scope_organization_id,"
        " scope_ancestor_ids, content_hash, render_id, event)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (id) DO UPDATE SET version = excluded.version, kind = excluded.kind,"
        "  title = excluded.title, scope_organization_id = excluded.scope_organization_id,"
        "  scope_ancestor_ids = excluded.scope_ancestor_ids,"
        "  content_hash = excluded.content_hash, render_id = excluded.render_id,"
        "  event = excluded.event, archived_at = NULL, updated_at = now()"
        f" RETURNING {_DOCUMENT_COLUMNS}",
        document.id,
        document.version,
        document.kind,
        document.title,
        document.scope_organization_id,
        list(document.scope_ancestor_ids),
        document.content_hash,
        render_id,
        document.event,
    )
    await link_render(conn, document.id, render_id)
    return Document(**dict(row))


async def link_render(
    conn: asyncpg.Connection, document_id: uuid.UUID, render_id: uuid.UUID
) -> None:
    await conn.execute(
        "INSERT INTO document_renders (document_id, render_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        document_id,
        render_id,
    )


async def switch_render(
    conn: asyncpg.Connection, document_id: uuid.UUID, render_id: uuid.UUID
) -> Document:
    row = await conn.fetchrow(
        "UPDATE documents SET render_id = $2, updated_at = now() WHERE id = $1"
        f" RETURNING {_DOCUMENT_COLUMNS}",
        document_id,
        render_id,
    )
    await link_render(conn, document_id, render_id)
    return Document(**dict(row))


async def documents_playing(conn: asyncpg.Connection, render_id: uuid.UUID) -> list[Document]:
    """Documents (not archived) whose current version plays this render."""
    rows = await conn.fetch(
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE render_id = $1 AND archived_at IS NULL"
        " ORDER BY id",
        render_id,
    )
    return [Document(**dict(r)) for r in rows]


async def archive_document(conn: asyncpg.Connection, document_id: uuid.UUID) -> bool:
    archived = await conn.fetchval(
        "UPDATE documents SET archived_at = now(), updated_at = now()"
        " WHERE id = $1 AND archived_at IS NULL RETURNING true",
        document_id,
    )
    return bool(archived)


async def withdraw_unshared_renders(
    conn: asyncpg.Connection, document_id: uuid.UUID
) -> list[Render]:
    """Withdraws every render the document used that no other live document uses; returns
    them (their stored files are to be deleted)."""
    rows = await conn.fetch(
        "UPDATE renders r SET status = 'withdrawn', lease = NULL, finished_at = now()"
        " FROM document_renders mine"
        " WHERE mine.document_id = $1 AND r.id = mine.render_id AND r.status <> 'withdrawn'"
        "  AND NOT EXISTS (SELECT 1 FROM document_renders other"
        "   JOIN documents d ON d.id = other.document_id"
        "   WHERE other.render_id = r.id AND d.id <> $1 AND d.archived_at IS NULL)"
        f" RETURNING {', '.join('r.' + c.strip() for c in _RENDER_COLUMNS.split(','))}",
        document_id,
    )
    if rows:
        await conn.execute(
            "DELETE FROM render_parts WHERE render_id = ANY($1::uuid[])", [r["id"] for r in rows]
        )
    return [_render(r) for r in rows]


# -- audio links ----------------------------------------------------------------------------------


async def link_signing_key(conn: asyncpg.Connection) -> bytes:
    key: str = await conn.fetchval("SELECT key FROM link_signing_key")
    return key.encode()


# -- dead letters and inbox ---------------------------------------------------------------------


async def add_dead_letter(
    conn: asyncpg.Connection,
    *,
    topic: str,
    key: str,
    event_type: str,
    headers: Mapping[str, str],
    payload: bytes,
) -> None:
    """An outbox row carrying a copy of a consumed record to a dead-letter topic (published by
    the relay like any event, so it leaves only if the failure is committed)."""
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, event_type, headers, payload)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        uuid.uuid4(),
        topic,
        key,
        event_type,
        dict(headers),
        payload,
    )


async def forget_inbox_entry(conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID) -> None:
    """Lets a replay of a dead-lettered event be handled again."""
    await conn.execute(
        "DELETE FROM inbox WHERE consumer = $1 AND event_id = $2", consumer, event_id
    )
