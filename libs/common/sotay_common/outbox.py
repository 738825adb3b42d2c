"""Transactional outbox: events are rows written in the transaction that changes the state,
and a relay publishes them to Kafka in id order, marking each row sent once Kafka has it."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import asyncpg

from sotay_common.events import Event, EventEnvelope
from sotay_common.metrics import Metrics

logger = logging.getLogger(__name__)

_COLUMNS = ("event_id", "topic", "key", "event_type", "headers", "payload")


class Outbox:
    """Adds events to the outbox of the transaction open on `conn`."""

    def __init__(self, conn: asyncpg.Connection, *, source: str) -> None:
        self.conn = conn
        self.source = source

    def _row(self, event: Event) -> tuple[Any, ...]:
        envelope = EventEnvelope.for_event(event, source=self.source)
        return (
            envelope.id,
            event.topic,
            event.aggregate_id,
            event.event_type,
            envelope.headers(),
            event.to_json_bytes(),
        )

    async def add(self, event: Event) -> None:
        await self.conn.execute(
            "INSERT INTO outbox (event_id, topic, key, event_type, headers, payload)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            *self._row(event),
        )

    async def add_many(self, events: Iterable[Event]) -> int:
        """Bulk form for imports: one COPY instead of one INSERT per event."""
        records = [self._row(e) for e in events]
        if records:
            await self.conn.copy_records_to_table("outbox", records=records, columns=_COLUMNS)
        return len(records)


class RecordSender(Protocol):
    """Hands one record to the Kafka producer; the returned future resolves once Kafka acked."""

    async def send(
        self, topic: str, *, key: bytes, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]: ...


@dataclass(frozen=True)
class RelaySettings:
    batch_size: int = 500
    poll_interval_s: float = 2.0
    retention: timedelta = timedelta(hours=72)
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    stats_interval_s: float = 10.0
    cleanup_interval_s: float = 600.0


class PublishFailed(RuntimeError):
    pass


class OutboxRelay:
    """Publishes a schema's outbox. One relay leads per schema (a session advisory lock), so
    that rows leave in id order however many replicas run; the others stand by."""

    def __init__(
        self,
        *,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        schema: str,
        sender: RecordSender,
        metrics: Metrics,
        settings: RelaySettings = RelaySettings(),
        ensure_topics: Callable[[Sequence[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._connect = connect
        self.schema = schema
        self._sender = sender
        self._metrics = metrics
        self.settings = settings
        self._ensure_topics = ensure_topics
        self._channel = f"{schema}_outbox"
        self._lock_key = zlib.crc32(f"outbox-relay:{schema}".encode())
        self._wake = asyncio.Event()
        self.is_leader = False

    async def run(self) -> None:
        """Runs until cancelled, surviving database and broker outages."""
        delay = self.settings.backoff_initial_s
        while True:
            try:
                await self._run_connected()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "outbox relay interrupted, retrying",
                    extra={"schema": self.schema, "error": repr(exc), "retry_in_s": delay},
                )
                self.is_leader = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.backoff_max_s)
            else:
                delay = self.settings.backoff_initial_s

    async def _run_connected(self) -> None:
        conn = await self._connect()
        try:
            await self._become_leader(conn)
            await conn.add_listener(self._channel, self._on_notify)
            await self._pump(conn)
        finally:
            self.is_leader = False
            with suppress(Exception):
                await asyncio.shield(conn.close(timeout=2))

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _become_leader(self, conn: asyncpg.Connection) -> None:
        standing_by = False
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
            if not standing_by:
                logger.info(
                    "outbox relay stands by: another replica leads", extra={"schema": self.schema}
                )
                standing_by = True
            await asyncio.sleep(self.settings.poll_interval_s)
        self.is_leader = True
        logger.info("outbox relay leads", extra={"schema": self.schema})

    async def _pump(self, conn: asyncpg.Connection) -> None:
        loop = asyncio.get_running_loop()
        next_stats = next_cleanup = loop.time()
        delay = self.settings.backoff_initial_s
        while True:
            self._wake.clear()
            try:
                published = await self.drain(conn)
            except PublishFailed as exc:
                logger.warning(
                    "broker unavailable, outbox keeps the events",
                    extra={"schema": self.schema, "error": str(exc), "retry_in_s": delay},
                )
                await self._refresh_stats(conn)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.backoff_max_s)
                continue
            delay = self.settings.backoff_initial_s
            now = loop.time()
            if now >= next_stats:
                await self._refresh_stats(conn)
                next_stats = now + self.settings.stats_interval_s
            if now >= next_cleanup:
                await self._delete_old_rows(conn)
                next_cleanup = now + self.settings.cleanup_interval_s
            if published == 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)

    async def drain(self, conn: asyncpg.Connection) -> int:
        """Publishes every unsent row, batch by batch. Returns how many were published."""
        total = 0
        while True:
            rows = await conn.fetch(
                "SELECT id, topic, key, headers, payload FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id LIMIT $1",
                self.settings.batch_size,
            )
            if not rows:
                if total:
                    self._metrics.outbox_backlog.labels(self.schema).set(0)
                    self._metrics.outbox_oldest_age.labels(self.schema).set(0)
                return total
            total += await self._publish_batch(conn, rows)
            if len(rows) < self.settings.batch_size:
                return total

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[Any]:
        return await self._sender.send(
            row["topic"],
            key=row["key"].encode(),
            value=bytes(row["payload"]),
            headers=row["headers"],
        )

    async def _send_wave(self, wave: Sequence[asyncpg.Record]) -> list[Any]:
        """Sends records of distinct keys together; one result (or exception) per record."""
        futures: list[asyncio.Future[Any]] = []
        for row in wave:
            try:
                futures.append(await self._send(row))
            except Exception as exc:  # the producer refused to enqueue (e.g. no metadata)
                done = await asyncio.gather(*futures, return_exceptions=True)
                return [*done, *[exc] * (len(wave) - len(futures))]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    async def _publish_batch(self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> int:
        """Publishes in waves holding at most one record per key, each wave acknowledged before
        the next, and stops a key at its first failure: whatever the producer does on errors
        (retries, expired batches), the events of one key reach Kafka in id order. Events of
        different keys, the common case, all travel in the first wave."""
        sent: list[asyncpg.Record] = []
        errors: list[BaseException] = []
        failed_keys: set[str] = set()
        pending = list(rows)
        while pending:
            wave: list[asyncpg.Record] = []
            later: list[asyncpg.Record] = []
            keys_in_wave: set[str] = set()
            for row in pending:
                if row["key"] in failed_keys:
                    continue
                (later if row["key"] in keys_in_wave else wave).append(row)
                keys_in_wave.add(row["key"])
            for row, result in zip(wave, await self._send_wave(wave), strict=True):
                if isinstance(result, BaseException):
                    errors.append(result)
                    failed_keys.add(row["key"])
                else:
                    sent.append(row)
            pending = later
        if sent:
            await conn.execute(
                "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                [row["id"] for row in sent],
            )
            for row in sent:
                self._metrics.events_published.labels(row["topic"], row["headers"]["ce_type"]).inc()
        if errors:
            if self._ensure_topics is not None:
                with suppress(Exception):
                    await self._ensure_topics(sorted({row["topic"] for row in rows}))
            raise PublishFailed(f"{len(rows) - len(sent)} of {len(rows)} not sent: {errors[0]!r}")
        return len(sent)

    async def _refresh_stats(self, conn: asyncpg.Connection) -> None:
        row = await conn.fetchrow(
            "SELECT count(*) AS backlog,"
            " coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age"
            " FROM outbox WHERE sent_at IS NULL"
        )
        assert row is not None
        self._metrics.outbox_backlog.labels(self.schema).set(row["backlog"])
        self._metrics.outbox_oldest_age.labels(self.schema).set(float(row["age"]))

    async def _delete_old_rows(self, conn: asyncpg.Connection) -> None:
        cutoff = self.settings.retention
        while True:
            deleted = await conn.fetchval(
                "WITH old AS (SELECT id FROM outbox"
                "  WHERE sent_at < now() - $1::interval LIMIT 5000),"
                " gone AS (DELETE FROM outbox WHERE id IN (SELECT id FROM old) RETURNING 1)"
                " SELECT count(*) FROM gone",
                cutoff,
            )
            if not deleted:
                return
