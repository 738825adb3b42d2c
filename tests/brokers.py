"""The same consumer test in memory and against the real broker: FastStream's test broker or a
started KafkaBroker, and a service's consumer registered on it under a group of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from faststream.kafka import KafkaBroker, TestKafkaBroker

from sotay_common.consumer import EventConsumer, RetryPolicy
from sotay_common.db import Database
from sotay_common.events import dead_letter_topic
from sotay_common.kafka import BrokerSender, TopicProvisioner, register_consumer
from sotay_common.metrics import Metrics
from sotay_common.runtime import ConsumerDefinition
from sotay_common.settings import ServiceSettings


@asynccontextmanager
async def running(broker: KafkaBroker, in_memory: bool) -> AsyncIterator[KafkaBroker]:
    if in_memory:
        async with TestKafkaBroker(broker) as test_broker:
            yield test_broker
    else:
        await broker.start()
        try:
            yield broker
        finally:
            await broker.stop()


async def service_consumer(
    definition: ConsumerDefinition,
    database: Database,
    bootstrap: str,
    *,
    in_memory: bool,
    topics: Sequence[str],
) -> tuple[KafkaBroker, EventConsumer]:
    """A broker with the service's consumer on it, under a fresh group so that it reads the
    shared topics from the start; on the real broker `topics` and their dead-letter topics are
    created first."""
    if not in_memory:
        await TopicProvisioner(bootstrap, partitions=2, replication=1).ensure(
            [*topics, *map(dead_letter_topic, topics)]
        )
    broker = KafkaBroker(bootstrap, acks="all")
    consumer = EventConsumer(
        group=f"{definition.group}.{uuid.uuid4().hex[:8]}",
        database=database,
        subscriptions=definition.subscriptions,
        dead_letters=BrokerSender(broker),
        metrics=Metrics("test"),
        retry=RetryPolicy(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.05),
    )
    register_consumer(
        broker,
        consumer,
        ServiceSettings(kafka_session_timeout_ms=6000, kafka_heartbeat_interval_ms=300),
    )
    return broker, consumer


async def handled_events(
    database: Database, group: str, event_ids: Sequence[uuid.UUID], expected: int
) -> int:
    """How many of `event_ids` the group has handled, waiting up to 30 s for `expected` (the
    topics are shared with other tests, so only these events are counted)."""
    handled = 0
    for _ in range(300):
        handled = await database.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
            group,
            list(event_ids),
        )
        if handled == expected:
            break
        await asyncio.sleep(0.1)
    return int(handled)
