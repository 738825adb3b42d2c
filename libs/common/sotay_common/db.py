"""asyncpg pool, numbered SQL migrations per service schema, transactions with an outbox."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import zlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import asyncpg

from sotay_common.outbox import Outbox

logger = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, ensure_ascii=False).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


async def init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs (jsonb's wire format is a version byte and the text) so that binary COPY
    # works for json columns too.
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "json", encoder=_encode_json, decoder=json.loads, schema="pg_catalog", format="binary"
    )


def _server_settings(schema: str, application_name: str) -> dict[str, str]:
    return {"search_path": f"{schema}, public", "application_name": application_name}


async def connect(dsn: str, schema: str, *, application_name: str = "sotay") -> asyncpg.Connection:
    """A single connection outside the pool (the outbox relay holds one for LISTEN and its lock)."""
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn, server_settings=_server_settings(check_schema_name(schema), application_name)
    )
    await init_connection(conn)
    return conn


async def create_pool(
    dsn: str,
    schema: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    application_name: str = "sotay",
    connect_timeout_s: float = 60.0,
) -> asyncpg.Pool:
    """A pool whose connections resolve names in the service schema first.

    Waits for the database to accept connections (a pod may start before PostgreSQL).
    """
    check_schema_name(schema)
    deadline = asyncio.get_running_loop().time() + connect_timeout_s
    delay = 0.2
    while True:
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=init_connection,
                server_settings=_server_settings(schema, application_name),
            )
            return pool
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            logger.warning("database not reachable yet, retrying", extra={"error": str(exc)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(namespace: str, folder: Traversable) -> list[Migration]:
    """Files named NNNN_description.sql, in number order."""
    found = []
    for entry in folder.iterdir():
        if entry.is_file() and _MIGRATION_FILE.match(entry.name):
            found.append(Migration(f"{namespace}/{entry.name}", entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.name)
    numbers = [m.name.rsplit("/", 1)[1][:4] for m in found]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"duplicate migration numbers in {namespace}")
    return found


def common_migrations() -> list[Migration]:
    return load_migrations("common", files("sotay_common") / "migrations")


class MigrationChanged(RuntimeError):
    pass


async def apply_migrations(
    conn: asyncpg.Connection, schema: str, migrations: Sequence[Migration]
) -> list[str]:
    """Applies the migrations not yet applied, each in its own transaction, under a lock so
    that replicas starting together do not race. Returns the names applied now."""
    check_schema_name(schema)
    lock_key = zlib.crc32(f"migrate:{schema}".encode())
    await conn.execute("SELECT pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                    name text PRIMARY KEY,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch(f"SELECT name, checksum FROM {schema}.schema_migrations")
        applied = {r["name"]: r["checksum"] for r in rows}
        done = []
        for migration in migrations:
            if migration.name in applied:
                if applied[migration.name] != migration.checksum:
                    raise MigrationChanged(f"{migration.name} changed after it was applied")
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {schema}, public")
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
            logger.info("migration applied", extra={"migration": migration.name})
            done.append(migration.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", lock_key)


@dataclass
class Tx:
    """One open transaction: the connection and the outbox bound to it."""

    conn: asyncpg.Connection
    outbox: Outbox


class Database:
    """Hands out transactions with an outbox. Built on a pool in services; on one connection in
    tests, where every transaction becomes a savepoint of the test's own transaction."""

    def __init__(
        self,
        *,
        source: str,
        pool: asyncpg.Pool | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> None:
        if (pool is None) == (connection is None):
            raise ValueError("give either a pool or a connection")
        self.source = source
        self._pool = pool
        self._connection = connection

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self._connection is not None:
            yield self._connection
            return
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self, *, isolation: str = "read_committed") -> AsyncIterator[Tx]:
        async with self.connection() as conn:
            nested = self._connection is not None
            async with conn.transaction(isolation=None if nested else isolation):
                yield Tx(conn, Outbox(conn, source=self.source))

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(query, *args)
