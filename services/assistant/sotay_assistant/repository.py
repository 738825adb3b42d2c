"""SQL of the assistant service: the organisation read model, the documents it indexes with
their indexing jobs, conversations, answers and their ratings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from sotay_assistant.indexing import DocumentState
from sotay_common.events.content import DocumentPublishedV1
from sotay_common.org_tree import OrganizationNode as OrganizationNode
from sotay_common.org_tree import adopt_parent_ancestry as adopt_parent_ancestry
from sotay_common.org_tree import get_organization as get_organization
from sotay_common.org_tree import (
    recompute_descendant_ancestry as recompute_descendant_ancestry,
)
from sotay_common.org_tree import upsert_organization as upsert_organization

JOBS_CHANNEL = "_index_jobs"  # after the schema name: a job is waiting
CHANGED_CHANNEL = "_index_changed"  # the index changed: readers in other processes reload


# -- organisations ------------------------------------------------------------------------------


# -- documents and their indexing jobs ------------------------------------------------------------


@dataclass(frozen=True)
class IndexJob:
    """A claimed request: index `event` (a published version), or remove the document."""

    document_id: uuid.UUID
    version: int
    archived: bool
    content_hash: str | None
    event: DocumentPublishedV1 | None
    generation: int
    attempts: int


@dataclass(frozen=True)
class IndexedDocumentRow:
    document_id: uuid.UUID
    version: int
    archived: bool
    title: str | None
    kind: str | None
    job_status: str
    attempts: int
    error: str | None
    requested_at: datetime
    indexed_version: int | None
    indexed_hash: str | None
    chunk_count: int
    indexed_at: datetime | None


async def document_state(
    conn: asyncpg.Connection, document_id: uuid.UUID, *, for_update: bool = False
) -> DocumentState | None:
    row = await conn.fetchrow(
        "SELECT version, archived, content_hash FROM documents WHERE document_id = $1"
        + (" FOR UPDATE" if for_update else ""),
        document_id,
    )
    return DocumentState(**dict(row)) if row else None


async def _notify_jobs(conn: asyncpg.Connection) -> None:
    await conn.execute(f"SELECT pg_notify(current_schema() || '{JOBS_CHANNEL}', '')")


async def request_indexing(conn: asyncpg.Connection, event: DocumentPublishedV1) -> None:
    """Records `event` as the document's content to index (replacing any earlier request)."""
    await conn.execute(
        "INSERT INTO documents (document_id, version, archived, content_hash, kind, title,"
        " organization_id, event, job_status)"
        " VALUES ($1, $2, false, $3, $4, $5, $6, $7, 'pending')"
        " ON CONFLICT (document_id) DO UPDATE SET version = EXCLUDED.version, archived = false,"
        "  content_hash = EXCLUDED.content_hash, kind = EXCLUDED.kind, title = EXCLUDED.title,"
        "  organization_id = EXCLUDED.organization_id, event = EXCLUDED.event,"
        "  job_status = 'pending', generation = documents.generation + 1, attempts = 0,"
        "  run_after = now(), error = NULL, requested_at = now()",
        event.document_id,
        event.version,
        event.content_hash,
        event.kind.value,
        event.title,
        event.scope.organization_id,
        event.model_dump(mode="json"),
    )
    await _notify_jobs(conn)


async def request_removal(conn: asyncpg.Connection, document_id: uuid.UUID, version: int) -> None:
    await conn.execute(
        "INSERT INTO documents (document_id, version, archived, job_status)"
        " VALUES ($1, $2, true, 'pending')"
        " ON CONFLICT (document_id) DO UPDATE SET version = EXCLUDED.version, archived = true,"
        "  event = NULL, job_status = 'pending', generation = documents.generation + 1,"
        "  attempts = 0, run_after = now(), error = NULL, requested_at = now()",
        document_id,
        version,
    )
    await _notify_jobs(conn)


async def requeue(conn: asyncpg.Connection, document_id: uuid.UUID) -> None:
    """Asks for the document's current request to be carried out again."""
    await conn.execute(
        "UPDATE documents SET job_status = 'pending', generation = generation + 1, attempts = 0,"
        " run_after = now(), error = NULL WHERE document_id = $1",
        document_id,
    )
    await _notify_jobs(conn)


async def claim_job(conn: asyncpg.Connection, *, stale_after_s: float) -> IndexJob | None:
    """The oldest pending request that is due, or a running one whose worker stopped
    heartbeating."""
    row = await conn.fetchrow(
        "UPDATE documents SET job_status = 'running', heartbeat_at = now(),"
        " attempts = attempts + 1"
        " WHERE document_id = (SELECT document_id FROM documents"
        "   WHERE (job_status = 'pending' AND run_after <= now())"
        "      OR (job_status = 'running' AND heartbeat_at < now() - make_interval(secs => $1))"
        "   ORDER BY requested_at FOR UPDATE SKIP LOCKED LIMIT 1)"
        " RETURNING document_id, version, archived, content_hash, event, generation, attempts",
        stale_after_s,
    )
    if row is None:
        return None
    values = dict(row)
    event = values.pop("event")
    return IndexJob(
        **values, event=None if event is None else DocumentPublishedV1.model_validate(event)
    )


async def heartbeat(conn: asyncpg.Connection, job: IndexJob) -> None:
    await conn.execute(
        "UPDATE documents SET heartbeat_at = now()"
        " WHERE document_id = $1 AND generation = $2 AND job_status = 'running'",
        job.document_id,
        job.generation,
    )


async def finish_job(
    conn: asyncpg.Connection,
    job: IndexJob,
    *,
    indexed_version: int | None,
    indexed_hash: str | None,
    chunk_count: int,
) -> None:
    """Records what the index now holds; the job is done unless a newer request came in."""
    await conn.execute(
        "UPDATE documents SET indexed_version = $3, indexed_hash = $4, chunk_count = $5,"
        " indexed_at = now(), error = NULL,"
        " job_status = CASE WHEN generation = $2 THEN 'done' ELSE job_status END"
        " WHERE document_id = $1",
        job.document_id,
        job.generation,
        indexed_version,
        indexed_hash,
        chunk_count,
    )
    await notify_changed(conn, str(job.document_id))


async def notify_changed(conn: asyncpg.Connection, what: str) -> None:
    """Tells the processes that answer questions to read the index again."""
    await conn.execute(f"SELECT pg_notify(current_schema() || '{CHANGED_CHANNEL}', $1)", what)


async def unsettled_requests(conn: asyncpg.Connection) -> int:
    """How many requests are waiting or being carried out."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM documents WHERE job_status IN ('pending', 'running')"
    )
    return count


async def fail_job(
    conn: asyncpg.Connection, job: IndexJob, *, error: str, retry_in_s: float | None
) -> None:
    """Failed: to be tried again in `retry_in_s`, or for good (None)."""
    await conn.execute(
        "UPDATE documents SET error = $3,"
        " job_status = CASE WHEN $4::float8 IS NULL THEN 'failed' ELSE 'pending' END,"
        " run_after = now() + make_interval(secs => coalesce($4::float8, 0))"
        " WHERE document_id = $1 AND generation = $2",
        job.document_id,
        job.generation,
        error[:2000],
        retry_in_s,
    )


async def recorded_documents(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every document ever requested, with whether its last request was carried out and
    what it left in the index."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT document_id, job_status = 'done' AS settled, archived, indexed_hash FROM documents"
    )
    return rows


_DOCUMENT_COLUMNS = (
    "document_id, version, archived, title, kind, job_status, attempts, error, requested_at,"
    " indexed_version, indexed_hash, chunk_count, indexed_at"
)


async def list_documents(conn: asyncpg.Connection) -> list[IndexedDocumentRow]:
    rows = await conn.fetch(f"SELECT {_DOCUMENT_COLUMNS} FROM documents ORDER BY requested_at DESC")
    return [IndexedDocumentRow(**dict(r)) for r in rows]


# -- conversations and answers ------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    id: uuid.UUID
    owner: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConversationSummary:
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    first_question: str
    turns: int


@dataclass(frozen=True)
class AnswerRecord:
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    question: str
    searched: str
    answer: str
    abstained: bool
    confidence: float
    topic: str | None
    citations: list[dict[str, Any]]
    scores: dict[str, Any]
    organization_path: list[uuid.UUID]
    asked_at: datetime
    useful: bool | None
    comment: str | None
    rated_at: datetime | None


_ANSWER_COLUMNS = (
    "id, conversation_id, seq, question, searched, answer, abstained, confidence, topic,"
    " citations, scores, organization_path, asked_at, useful, comment, rated_at"
)


def _answer(row: asyncpg.Record) -> AnswerRecord:
    return AnswerRecord(**dict(row))


async def get_conversation(
    conn: asyncpg.Connection, conversation_id: uuid.UUID, *, for_update: bool = False
) -> Conversation | None:
    row = await conn.fetchrow(
        "SELECT id, owner, created_at, updated_at FROM conversations WHERE id = $1"
        + (" FOR UPDATE" if for_update else ""),
        conversation_id,
    )
    return Conversation(**dict(row)) if row else None


async def create_conversation(
    conn: asyncpg.Connection, conversation_id: uuid.UUID, owner: str
) -> Conversation:
    row = await conn.fetchrow(
        "INSERT INTO conversations (id, owner) VALUES ($1, $2)"
        " RETURNING id, owner, created_at, updated_at",
        conversation_id,
        owner,
    )
    return Conversation(**dict(row))


async def last_answer(conn: asyncpg.Connection, conversation_id: uuid.UUID) -> AnswerRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE conversation_id = $1"
        " ORDER BY seq DESC LIMIT 1",
        conversation_id,
    )
    return _answer(row) if row else None


@dataclass(frozen=True)
class NewAnswer:
    id: uuid.UUID
    conversation_id: uuid.UUID
    question: str
    searched: str
    answer: str
    abstained: bool
    confidence: float
    topic: str | None
    citations: list[dict[str, Any]]
    scores: dict[str, Any]
    organization_path: list[uuid.UUID]


async def insert_answer(conn: asyncpg.Connection, new: NewAnswer) -> AnswerRecord:
    """Appends a turn to its conversation (locked by the caller)."""
    row = await conn.fetchrow(
        "INSERT INTO answers (id, conversation_id, seq, question, searched, answer, abstained,"
        " confidence, topic, citations, scores, organization_path)"
        " VALUES ($1, $2, (SELECT coalesce(max(seq), 0) + 1 FROM answers"
        "   WHERE conversation_id = $2), $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        f" RETURNING {_ANSWER_COLUMNS}",
        new.id,
        new.conversation_id,
        new.question,
        new.searched,
        new.answer,
        new.abstained,
        new.confidence,
        new.topic,
        new.citations,
        new.scores,
        new.organization_path,
    )
    await conn.execute(
        "UPDATE conversations SET updated_at = now() WHERE id = $1", new.conversation_id
    )
    return _answer(row)


async def list_answers(conn: asyncpg.Connection, conversation_id: uuid.UUID) -> list[AnswerRecord]:
    rows = await conn.fetch(
        f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE conversation_id = $1 ORDER BY seq",
        conversation_id,
    )
    return [_answer(r) for r in rows]


async def list_conversations(
    conn: asyncpg.Connection, owner: str, *, limit: int, offset: int
) -> list[ConversationSummary]:
    rows = await conn.fetch(
        "SELECT c.id, c.created_at, c.updated_at, first.question AS first_question,"
        " (SELECT count(*) FROM answers a WHERE a.conversation_id = c.id)::int AS turns"
        " FROM conversations c"
        " JOIN LATERAL (SELECT question FROM answers a WHERE a.conversation_id = c.id"
        "   ORDER BY seq LIMIT 1) first ON true"
        " WHERE c.owner = $1 ORDER BY c.updated_at DESC, c.id LIMIT $2 OFFSET $3",
        owner,
        limit,
        offset,
    )
    return [ConversationSummary(**dict(r)) for r in rows]


async def answer_with_owner(
    conn: asyncpg.Connection, answer_id: uuid.UUID
) -> tuple[AnswerRecord, str] | None:
    row = await conn.fetchrow(
        f"SELECT {', '.join('a.' + c.strip() for c in _ANSWER_COLUMNS.split(','))}, c.owner"
        " FROM answers a JOIN conversations c ON c.id = a.conversation_id WHERE a.id = $1",
        answer_id,
    )
    if row is None:
        return None
    values = dict(row)
    owner = values.pop("owner")
    return AnswerRecord(**values), owner


async def rate_answer(
    conn: asyncpg.Connection, answer_id: uuid.UUID, *, useful: bool, comment: str | None
) -> AnswerRecord:
    row = await conn.fetchrow(
        "UPDATE answers SET useful = $2, comment = $3, rated_at = now() WHERE id = $1"
        f" RETURNING {_ANSWER_COLUMNS}",
        answer_id,
        useful,
        comment,
    )
    return _answer(row)


@dataclass(frozen=True)
class RatedQuestion:
    answer_id: uuid.UUID
    searched: str  # the question as searched (a follow-up rewritten)
    passage_text: str  # the passage the answer quoted


async def rated_useful(conn: asyncpg.Connection, *, limit: int) -> list[RatedQuestion]:
    """Answers members rated useful, the most recently rated first."""
    rows = await conn.fetch(
        "SELECT id, searched, citations->0->>'text' AS passage_text FROM answers"
        " WHERE useful AND NOT abstained AND citations->0->>'role' = 'answer'"
        " ORDER BY rated_at DESC LIMIT $1",
        limit,
    )
    return [RatedQuestion(r["id"], r["searched"], r["passage_text"]) for r in rows]


def _within(within: uuid.UUID | None) -> str:
    """SQL selecting the answers of members of `within`'s subtree ($1; all when None)."""
    return "organization_path @> ARRAY[$1::uuid]" if within is not None else "$1::uuid IS NULL"


async def questions_asked(
    conn: asyncpg.Connection,
    *,
    within: uuid.UUID | None,
    unanswered_first: bool,
    limit: int,
    offset: int,
) -> list[AnswerRecord]:
    """Questions of members of `within`'s subtree (everyone's when None), newest first, or
    those that got no answer or were rated not useful first."""
    attention = "(abstained OR useful IS false) DESC, " if unanswered_first else ""
    rows = await conn.fetch(
        f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE {_within(within)}"
        f" ORDER BY {attention}asked_at DESC, id LIMIT $2 OFFSET $3",
        within,
        limit,
        offset,
    )
    return [_answer(r) for r in rows]


@dataclass(frozen=True)
class DailyCounts:
    day: date
    asked: int
    unanswered: int
    rated_useful: int
    rated_not_useful: int


async def daily_counts(
    conn: asyncpg.Connection, *, within: uuid.UUID | None, days: int
) -> list[DailyCounts]:
    rows = await conn.fetch(
        "SELECT (asked_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, count(*)::int AS asked,"
        " count(*) FILTER (WHERE abstained)::int AS unanswered,"
        " count(*) FILTER (WHERE useful)::int AS rated_useful,"
        " count(*) FILTER (WHERE useful IS false)::int AS rated_not_useful"
        f" FROM answers WHERE {_within(within)}"
        " AND asked_at >= now() - make_interval(days => $2)"
        " GROUP BY 1 ORDER BY 1 DESC",
        within,
        days,
    )
    return [DailyCounts(**dict(r)) for r in rows]
