"""SQL of the content service: the organisation read model, documents and their versions,
read receipts and attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from sotay_common.events.content import Chapter, DocumentKind, StructureNode
from sotay_common.org_tree import adopt_parent_ancestry as adopt_parent_ancestry
from sotay_common.org_tree import get_organization as get_organization
from sotay_common.org_tree import (
    recompute_descendant_ancestry as recompute_descendant_ancestry,
)
from sotay_common.org_tree import upsert_organization as upsert_organization
from sotay_content.domain import (
    Attachment,
    Document,
    DocumentContent,
    DocumentListItem,
    DocumentStatus,
    PublishedVersion,
    Rendition,
    ScopeFilter,
    VersionSummary,
)
from sotay_content.publication import SearchForms
from sotay_content.regulations import TocEntry

# Dates typed by users and shown to them are Vietnamese dates.
LOCAL_TIME_ZONE = "Asia/Ho_Chi_Minh"

# -- the organisation read model ----------------------------------------------------------------


# -- documents ----------------------------------------------------------------------------------

_CONTENT_FIELDS = (
    "kind",
    "title",
    "summary",
    "number",
    "issuing_body",
    "issued_on",
    "language",
    "tags",
    "scope_org_id",
    "body_format",
    "body",
)
_CONTENT_COLUMNS = ", ".join(_CONTENT_FIELDS)
_DOCUMENT_COLUMNS = (
    f"id, status, {_CONTENT_COLUMNS}, draft_revision, published_version, published_revision,"
    " created_by, created_at, updated_by, updated_at, archived_by, archived_at"
)


def _content(row: asyncpg.Record) -> DocumentContent:
    return DocumentContent(
        kind=DocumentKind(row["kind"]),
        title=row["title"],
        summary=row["summary"],
        number=row["number"],
        issuing_body=row["issuing_body"],
        issued_on=row["issued_on"],
        language=row["language"],
        tags=tuple(row["tags"]),
        scope_org_id=row["scope_org_id"],
        body_format=row["body_format"],
        body=row["body"],
    )


def _content_values(content: DocumentContent) -> list[Any]:
    return [
        content.kind.value,
        content.title,
        content.summary,
        content.number,
        content.issuing_body,
        content.issued_on,
        content.language,
        list(content.tags),
        content.scope_org_id,
        content.body_format,
        content.body,
    ]


def _document(row: asyncpg.Record) -> Document:
    return Document(
        id=row["id"],
        status=DocumentStatus(row["status"]),
        draft=_content(row),
        draft_revision=row["draft_revision"],
        published_version=row["published_version"],
        published_revision=row["published_revision"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
        archived_by=row["archived_by"],
        archived_at=row["archived_at"],
    )


async def insert_document(
    conn: asyncpg.Connection,
    *,
    document_id: uuid.UUID,
    content: DocumentContent,
    search: SearchForms,
    actor: str,
) -> Document:
    values = [document_id, *_content_values(content), search.tokens, search.words, actor]
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO documents (id, {_CONTENT_COLUMNS}, search_tokens, search_words,"
        f" created_by, updated_by, status)"
        f" VALUES ({placeholders}, ${len(values)}, 'draft') RETURNING {_DOCUMENT_COLUMNS}",
        *values,
    )
    return _document(row)


async def get_document(
    conn: asyncpg.Connection, document_id: uuid.UUID, *, for_update: bool = False
) -> Document | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE id = $1{lock}", document_id
    )
    return _document(row) if row else None


async def update_draft(
    conn: asyncpg.Connection,
    document_id: uuid.UUID,
    *,
    content: DocumentContent,
    search: SearchForms,
    actor: str,
) -> Document:
    """Replaces the draft; the revision moves on (the published version is untouched)."""
    values = [*_content_values(content), search.tokens, search.words, actor]
    names = [*_CONTENT_FIELDS, "search_tokens", "search_words", "updated_by"]
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    row = await conn.fetchrow(
        f"UPDATE documents SET {assignments}, draft_revision = draft_revision + 1,"
        f" updated_at = clock_timestamp() WHERE id = $1 RETURNING {_DOCUMENT_COLUMNS}",
        document_id,
        *values,
    )
    return _document(row)


async def record_publication(
    conn: asyncpg.Connection, document_id: uuid.UUID, *, version: int, revision: int
) -> Document:
    """`version` is the latest published version, made from draft `revision`."""
    row = await conn.fetchrow(
        f"UPDATE documents SET status = 'published', published_version = $2,"
        f" published_revision = $3 WHERE id = $1 RETURNING {_DOCUMENT_COLUMNS}",
        document_id,
        version,
        revision,
    )
    return _document(row)


async def archive_document(
    conn: asyncpg.Connection, document_id: uuid.UUID, *, actor: str, at: datetime
) -> Document:
    row = await conn.fetchrow(
        f"UPDATE documents SET status = 'archived', archived_by = $2, archived_at = $3"
        f" WHERE id = $1 RETURNING {_DOCUMENT_COLUMNS}",
        document_id,
        actor,
        at,
    )
    return _document(row)


# -- published versions -------------------------------------------------------------------------

_VERSION_COLUMNS = (
    f"document_id, version, {_CONTENT_COLUMNS}, scope_ancestor_ids, plain_text, html,"
    " content_hash, structure, toc, chapters, text_ref, published_by, published_at"
)


def _version(row: asyncpg.Record) -> PublishedVersion:
    structure = row["structure"]
    toc = row["toc"]
    return PublishedVersion(
        document_id=row["document_id"],
        version=row["version"],
        content=_content(row),
        scope_ancestor_ids=list(row["scope_ancestor_ids"]),
        rendition=Rendition(
            plain_text=row["plain_text"],
            html=row["html"],
            content_hash=row["content_hash"],
            structure=None
            if structure is None
            else [StructureNode.model_validate(n) for n in structure],
            toc=None if toc is None else [TocEntry.model_validate(e) for e in toc],
            chapters=[Chapter.model_validate(c) for c in row["chapters"]],
        ),
        text_ref=row["text_ref"],
        published_by=row["published_by"],
        published_at=row["published_at"],
    )


def _json_list(items: Sequence[Any] | None) -> list[Any] | None:
    return None if items is None else [item.model_dump(mode="json") for item in items]


async def insert_version(
    conn: asyncpg.Connection, version: PublishedVersion, search: SearchForms
) -> None:
    rendition = version.rendition
    values = [
        version.document_id,
        version.version,
        *_content_values(version.content),
        version.scope_ancestor_ids,
        rendition.plain_text,
        rendition.html,
        rendition.content_hash,
        _json_list(rendition.structure),
        _json_list(rendition.toc),
        _json_list(rendition.chapters),
        version.text_ref,
        version.published_by,
        version.published_at,
        search.tokens,
        search.words,
    ]
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    await conn.execute(
        f"INSERT INTO document_versions ({_VERSION_COLUMNS}, search_tokens, search_words)"
        f" VALUES ({placeholders})",
        *values,
    )


async def get_version(
    conn: asyncpg.Connection, document_id: uuid.UUID, version: int
) -> PublishedVersion | None:
    row = await conn.fetchrow(
        f"SELECT {_VERSION_COLUMNS} FROM document_versions WHERE document_id = $1 AND version = $2",
        document_id,
        version,
    )
    return _version(row) if row else None


async def list_versions(conn: asyncpg.Connection, document_id: uuid.UUID) -> list[VersionSummary]:
    rows = await conn.fetch(
        "SELECT version, title, content_hash, published_by, published_at FROM document_versions"
        " WHERE document_id = $1 ORDER BY version DESC",
        document_id,
    )
    return [VersionSummary(**dict(row)) for row in rows]


# -- lists, search and the feed -----------------------------------------------------------------


@dataclass(frozen=True)
class DocumentQuery:
    """`published`: the latest published version of each live document (readers' view);
    otherwise the drafts of documents in `statuses` (managers' view)."""

    published: bool
    scope: ScopeFilter
    statuses: Sequence[DocumentStatus] = ()
    search: SearchForms | None = None
    kinds: Sequence[DocumentKind] = ()
    tag: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    organization_id: uuid.UUID | None = None
    unread_by: str | None = None
    after: tuple[datetime, uuid.UUID] | None = None
    limit: int = 20


_LIST_FIELDS = "kind, title, summary, number, issuing_body, issued_on, language, tags, scope_org_id"


def _subtree(column: str, root: str) -> str:
    return (
        f"{column} IN (SELECT id FROM organizations"
        f" WHERE id = {root} OR {root} = ANY(ancestor_ids))"
    )


async def list_documents(conn: asyncpg.Connection, query: DocumentQuery) -> list[DocumentListItem]:
    """Newest first, keyset-paginated on (sort time, id). Only the conditions in use are in
    the SQL, so each query shape gets a plan of its own."""
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    fields = ", ".join(f"s.{name}" for name in _LIST_FIELDS.split(", "))
    if query.published:
        sort, id_column = "s.published_at", "s.document_id"
        select = f"SELECT d.id, d.status, {fields}, s.version, s.published_at, d.updated_at"
        source = (
            " FROM documents d JOIN document_versions s"
            " ON s.document_id = d.id AND s.version = d.published_version"
        )
        conditions = ["d.status = 'published'"]
    else:
        sort, id_column = "s.updated_at", "s.id"
        select = (
            f"SELECT s.id, s.status, {fields}, s.published_version AS version,"
            " NULL::timestamptz AS published_at, s.updated_at"
        )
        source = " FROM documents s"
        conditions = [f"s.status = ANY({arg([status.value for status in query.statuses])})"]
    select += f", {sort} AS sort_at"
    if query.unread_by is not None:
        select += ", r.reader IS NOT NULL AS read_before"
        source += (
            f" LEFT JOIN read_receipts r ON r.document_id = {id_column}"
            f" AND r.reader = {arg(query.unread_by)}"
        )
        conditions.append("r.content_hash IS DISTINCT FROM s.content_hash")
    scope = _scope_condition(query.scope, arg)
    if scope is not None:
        conditions.append(scope)
    if query.search is not None:
        conditions.append(f"s.search_tokens @> {arg(query.search.tokens)}::text[]")
        if query.search.words:
            conditions.append(f"s.search_words @> {arg(query.search.words)}::text[]")
    if query.kinds:
        conditions.append(f"s.kind = ANY({arg([kind.value for kind in query.kinds])}::text[])")
    if query.tag is not None:
        conditions.append(f"s.tags @> ARRAY[{arg(query.tag)}::text]")
    day = f"coalesce(s.issued_on, ({sort} AT TIME ZONE '{LOCAL_TIME_ZONE}')::date)"
    if query.date_from is not None:
        conditions.append(f"{day} >= {arg(query.date_from)}")
    if query.date_to is not None:
        conditions.append(f"{day} <= {arg(query.date_to)}")
    if query.organization_id is not None:
        conditions.append(_subtree("s.scope_org_id", arg(query.organization_id)))
    if query.after is not None:
        at, last_id = query.after
        conditions.append(f"({sort}, {id_column}) < ({arg(at)}, {arg(last_id)})")
    rows = await conn.fetch(
        f"{select}{source} WHERE {' AND '.join(conditions)}"
        f" ORDER BY {sort} DESC, {id_column} DESC LIMIT {arg(query.limit)}",
        *args,
    )
    return [_list_item(row) for row in rows]


def _scope_condition(scope: ScopeFilter, arg: Any) -> str | None:
    if scope.everything:
        return None
    column = "s.scope_org_id"
    parts = []
    if scope.unscoped:
        parts.append(f"{column} IS NULL")
    if scope.organization_ids:
        parts.append(f"{column} = ANY({arg(list(scope.organization_ids))}::uuid[])")
    if scope.subtree_of is not None:
        parts.append(_subtree(column, arg(scope.subtree_of)))
    return f"({' OR '.join(parts)})" if parts else "false"


def _list_item(row: asyncpg.Record) -> DocumentListItem:
    return DocumentListItem(
        id=row["id"],
        status=DocumentStatus(row["status"]),
        kind=DocumentKind(row["kind"]),
        title=row["title"],
        summary=row["summary"],
        number=row["number"],
        issuing_body=row["issuing_body"],
        issued_on=row["issued_on"],
        language=row["language"],
        tags=list(row["tags"]),
        scope_org_id=row["scope_org_id"],
        version=row["version"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        sort_at=row["sort_at"],
        read_before=bool(row.get("read_before", False)),
    )


# -- read receipts ------------------------------------------------------------------------------


async def record_read(
    conn: asyncpg.Connection,
    *,
    document_id: uuid.UUID,
    reader: str,
    version: int,
    content_hash: str,
) -> datetime:
    """Idempotent: reading the same content again keeps the first reading time."""
    read_at: datetime = await conn.fetchval(
        "INSERT INTO read_receipts (document_id, reader, version, content_hash)"
        " VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (reader, document_id) DO UPDATE SET version = EXCLUDED.version,"
        "  content_hash = EXCLUDED.content_hash,"
        "  read_at = CASE WHEN read_receipts.content_hash = EXCLUDED.content_hash"
        "   THEN read_receipts.read_at ELSE clock_timestamp() END"
        " RETURNING read_at",
        document_id,
        reader,
        version,
        content_hash,
    )
    return read_at


# -- attachments --------------------------------------------------------------------------------

_ATTACHMENT_COLUMNS = (
    "id, document_id, file_name, media_type, size_bytes, sha256, storage_key, is_source,"
    " uploaded_by, uploaded_at"
)


def _attachment(row: asyncpg.Record) -> Attachment:
    return Attachment(**dict(row))


async def insert_attachment(
    conn: asyncpg.Connection,
    *,
    attachment_id: uuid.UUID,
    document_id: uuid.UUID,
    file_name: str,
    media_type: str,
    size_bytes: int,
    sha256: str,
    storage_key: str,
    is_source: bool,
    actor: str,
) -> Attachment:
    row = await conn.fetchrow(
        f"INSERT INTO attachments (id, document_id, file_name, media_type, size_bytes, sha256,"
        f" storage_key, is_source, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        f" RETURNING {_ATTACHMENT_COLUMNS}",
        attachment_id,
        document_id,
        file_name,
        media_type,
        size_bytes,
        sha256,
        storage_key,
        is_source,
        actor,
    )
    return _attachment(row)


async def get_attachment(
    conn: asyncpg.Connection, document_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment | None:
    row = await conn.fetchrow(
        f"SELECT {_ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1 AND document_id = $2",
        attachment_id,
        document_id,
    )
    return _attachment(row) if row else None


async def list_attachments(conn: asyncpg.Connection, document_id: uuid.UUID) -> list[Attachment]:
    rows = await conn.fetch(
        f"SELECT {_ATTACHMENT_COLUMNS} FROM attachments WHERE document_id = $1"
        " ORDER BY uploaded_at, id",
        document_id,
    )
    return [_attachment(row) for row in rows]
