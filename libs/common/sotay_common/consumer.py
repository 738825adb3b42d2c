"""Idempotent event consumers.

Each consumed event is recorded in the inbox (event id + consumer group) in the same
transaction as the handler's effect, so a redelivered event is applied once. Offsets are
committed only after the effect. Failures are retried with backoff; after N attempts, or at
once for an event that can never be processed (bad headers, a payload that does not match its
contract, `PoisonEvent`), the event goes to `<topic>.dlq` with the error and the partition
moves on. Outages of the database are not the event's fault: those are retried without
counting, and the event is redelivered rather than dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import asyncpg
from pydantic import ValidationError

from sotay_common.context import correlation_id_var, traceparent_var
from sotay_common.db import Database, Tx
from sotay_common.events import Event, EventEnvelope, dead_letter_topic, decode_headers
from sotay_common.metrics import Metrics
from sotay_common.outbox import RecordSender

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)

_TRANSIENT = (
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never succeed: dead-letter it without retries."""


class RedeliverLater(Exception):
    """The event could not be handled now for reasons outside it (e.g. the database is down)."""


@dataclass(frozen=True)
class Record:
    """The parts of a Kafka record a consumer needs (decoupled from the client library)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class HandlerContext:
    tx: Tx
    envelope: EventEnvelope
    record: Record


Handler = Callable[[HandlerContext, Any], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[E]):
    event: type[E]
    handler: Callable[[HandlerContext, E], Awaitable[None]]


class Outcome(Enum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    # Outages are retried inside the handler for at most this long, then the event is
    # redelivered: the poll loop must come back well within max_poll_interval_ms.
    transient_budget_s: float = 60.0

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_initial_s * 2 ** (attempt - 1), self.backoff_max_s))


class EventConsumer:
    """Dispatches the records of a consumer group to one handler per event type."""

    def __init__(
        self,
        *,
        group: str,
        database: Database,
        subscriptions: Sequence[Subscription[Any]],
        dead_letters: RecordSender,
        metrics: Metrics,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.group = group
        self.database = database
        self._handlers: Mapping[str, Subscription[Any]] = {
            s.event.event_type: s for s in subscriptions
        }
        self._dead_letters = dead_letters
        self._metrics = metrics
        self.retry = retry

    @property
    def topics(self) -> list[str]:
        return sorted({s.event.topic for s in self._handlers.values()})

    @property
    def event_types(self) -> list[type[Event]]:
        return [s.event for s in self._handlers.values()]

    async def process(self, record: Record) -> Outcome:
        """Handles one record to the end: applied, skipped, or dead-lettered.

        Raises `RedeliverLater` when it must be consumed again (nothing was committed)."""
        headers = decode_headers(record.headers)
        event_type = headers.get("ce_type", "?")
        try:
            envelope = EventEnvelope.from_headers(headers)
        except (KeyError, ValueError) as exc:
            return await self._dead_letter(record, event_type, exc, attempts=1)
        subscription = self._handlers.get(envelope.type)
        if subscription is None:
            self._metrics.events_consumed.labels(self.group, envelope.type, "ignored").inc()
            return Outcome.IGNORED
        try:
            event = subscription.event.model_validate_json(record.value)
        except ValidationError as exc:
            return await self._dead_letter(record, event_type, exc, attempts=1)

        correlation = correlation_id_var.set(envelope.correlation_id or envelope.id.hex)
        trace = traceparent_var.set(envelope.traceparent)
        started = time.perf_counter()
        try:
            outcome = await self._apply_with_retries(record, envelope, subscription, event)
        finally:
            correlation_id_var.reset(correlation)
            traceparent_var.reset(trace)
        self._metrics.event_handling.labels(self.group, envelope.type).observe(
            time.perf_counter() - started
        )
        return outcome

    async def _apply_with_retries(
        self, record: Record, envelope: EventEnvelope, subscription: Subscription[Any], event: Event
    ) -> Outcome:
        attempts = 0
        transient_since: float | None = None
        while True:
            try:
                return await self._apply_once(record, envelope, subscription, event)
            except PoisonEvent as exc:
                return await self._dead_letter(record, envelope.type, exc, attempts=attempts + 1)
            except _TRANSIENT as exc:
                now = time.monotonic()
                transient_since = transient_since or now
                if now - transient_since > self.retry.transient_budget_s:
                    raise RedeliverLater(repr(exc)) from exc
                logger.warning("transient failure, retrying", extra={"error": repr(exc)})
                await asyncio.sleep(self.retry.backoff_max_s)
            except Exception as exc:
                attempts += 1
                self._metrics.events_failed.labels(self.group, envelope.type).inc()
                logger.warning(
                    "event handler failed",
                    extra={
                        "consumer": self.group,
                        "type": envelope.type,
                        "attempt": attempts,
                        "error": repr(exc),
                    },
                )
                if attempts >= self.retry.max_attempts:
                    return await self._dead_letter(record, envelope.type, exc, attempts=attempts)
                await asyncio.sleep(self.retry.backoff(attempts))

    async def _apply_once(
        self, record: Record, envelope: EventEnvelope, subscription: Subscription[Any], event: Event
    ) -> Outcome:
        async with self.database.transaction() as tx:
            first_time = await tx.conn.fetchval(
                "INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING true",
                self.group,
                envelope.id,
                envelope.type,
            )
            if not first_time:
                self._metrics.events_consumed.labels(self.group, envelope.type, "duplicate").inc()
                return Outcome.DUPLICATE
            await subscription.handler(HandlerContext(tx, envelope, record), event)
        self._metrics.events_consumed.labels(self.group, envelope.type, "processed").inc()
        return Outcome.PROCESSED

    async def _dead_letter(
        self, record: Record, event_type: str, error: BaseException, *, attempts: int
    ) -> Outcome:
        headers = decode_headers(record.headers)
        headers.update(
            {
                "dlq_error": f"{type(error).__name__}: {error}"[:2000],
                "dlq_consumer_group": self.group,
                "dlq_attempts": str(attempts),
                "dlq_failed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "dlq_original_topic": record.topic,
                "dlq_original_partition": str(record.partition),
                "dlq_original_offset": str(record.offset),
            }
        )
        try:
            future = await self._dead_letters.send(
                dead_letter_topic(record.topic),
                key=record.key or b"",
                value=record.value,
                headers=headers,
            )
            await future
        except Exception as exc:
            raise RedeliverLater(f"dead-letter publish failed: {exc!r}") from exc
        logger.error(
            "event dead-lettered",
            extra={
                "consumer": self.group,
                "type": event_type,
                "attempts": attempts,
                "error": headers["dlq_error"],
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
        )
        self._metrics.events_dead_lettered.labels(self.group, event_type).inc()
        return Outcome.DEAD_LETTERED


async def delete_old_inbox_rows(conn: asyncpg.Connection, retention_days: float) -> int:
    total = 0
    while True:
        deleted: int = await conn.fetchval(
            "WITH old AS (SELECT consumer, event_id FROM inbox"
            "  WHERE received_at < now() - make_interval(secs => $1) LIMIT 5000),"
            " gone AS (DELETE FROM inbox i USING old"
            "  WHERE i.consumer = old.consumer AND i.event_id = old.event_id RETURNING 1)"
            " SELECT count(*) FROM gone",
            retention_days * 86400,
        )
        total += deleted
        if not deleted:
            return total
