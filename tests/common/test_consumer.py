"""The idempotent consumer, run the same way in memory (FastStream's TestKafkaBroker) and
against the real broker."""

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from sotay_common.consumer import EventConsumer, HandlerContext, RetryPolicy, Subscription
from sotay_common.db import Migration, common_migrations
from sotay_common.events import EventEnvelope, dead_letter_topic
from sotay_common.kafka import BrokerSender, TopicProvisioner, register_consumer
from sotay_common.metrics import Metrics
from sotay_common.settings import ServiceSettings
from sotay_devstack.probe import PROBE_TOPIC, ProbeSentV1
from sotay_devstack.pytest_plugin import FreshSchema, collect_records, record_headers
from sotay_devstack.testenv import ServersForTests
from tests.brokers import running

DLQ = dead_letter_topic(PROBE_TOPIC)


@pytest.fixture(scope="session")
def service_migrations() -> Sequence[Migration]:
    return [
        *common_migrations(),
        Migration("test/0001_seen.sql", "CREATE TABLE seen (probe uuid, sequence int)"),
    ]


async def record_probe(ctx: HandlerContext, event: ProbeSentV1) -> None:
    if event.poison:
        raise ValueError("this probe can never be handled")
    await ctx.tx.conn.execute("INSERT INTO seen VALUES ($1, $2)", event.probe_id, event.sequence)


def consumer_for(schema: FreshSchema, broker: KafkaBroker, metrics: Metrics) -> EventConsumer:
    return EventConsumer(
        group=f"test.{uuid.uuid4().hex[:8]}",
        database=schema.database,
        subscriptions=[Subscription(ProbeSentV1, record_probe)],
        dead_letters=BrokerSender(broker),
        metrics=metrics,
        retry=RetryPolicy(max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05),
    )


@pytest.mark.parametrize("in_memory", [True, False], ids=["in-memory", "real-broker"])
async def test_duplicates_apply_once_and_poison_goes_to_the_dead_letter_topic(
    in_memory: bool, fresh_database: FreshSchema, test_servers: ServersForTests
) -> None:
    bootstrap = test_servers.kafka_bootstrap
    if not in_memory:
        await TopicProvisioner(bootstrap, partitions=2, replication=1).ensure([PROBE_TOPIC, DLQ])
    broker = KafkaBroker(bootstrap, acks="all")
    metrics = Metrics("test")
    consumer = consumer_for(fresh_database, broker, metrics)
    settings = ServiceSettings(kafka_session_timeout_ms=6000, kafka_heartbeat_interval_ms=300)
    register_consumer(broker, consumer, settings)
    dead: list[bytes] = []
    if in_memory:

        async def raw(message: StreamMessage[Any]) -> Any:
            return message.body

        @broker.subscriber(DLQ, decoder=raw)
        async def capture(body: bytes) -> None:
            dead.append(body)

    key = uuid.uuid4()
    first, poison, after = (
        ProbeSentV1(probe_id=key, sequence=1),
        ProbeSentV1(probe_id=key, sequence=2, poison=True),
        ProbeSentV1(probe_id=key, sequence=3),
    )
    envelope = EventEnvelope.for_event(first, source="/tests")
    async with running(broker, in_memory) as live:

        async def publish(value: bytes, headers: dict[str, str]) -> None:
            await live.publish(value, PROBE_TOPIC, key=str(key).encode(), headers=headers)

        await publish(first.to_json_bytes(), envelope.headers())
        await publish(first.to_json_bytes(), envelope.headers())  # delivered twice
        await publish(
            poison.to_json_bytes(), EventEnvelope.for_event(poison, source="/t").headers()
        )
        await publish(b"{not json", EventEnvelope.for_event(first, source="/t").headers())
        await publish(after.to_json_bytes(), EventEnvelope.for_event(after, source="/t").headers())
        for _ in range(200):
            seen = await fresh_database.database.fetchval(
                "SELECT array_agg(sequence ORDER BY sequence) FROM seen WHERE probe = $1", key
            )
            if seen and 3 in seen:
                break
            await asyncio.sleep(0.1)

    assert seen == [1, 3]
    assert (
        metrics.events_consumed.labels(consumer.group, "probe.sent.v1", "duplicate")._value.get()
        == 1
    )
    if in_memory:
        assert len(dead) == 2
    else:
        records = await collect_records(
            bootstrap, DLQ, where=lambda r: r.key == str(key).encode(), until=lambda f: len(f) >= 2
        )
        assert len(records) == 2
        headers = [record_headers(r) for r in records]
        assert headers[0]["dlq_consumer_group"] == consumer.group
        assert headers[0]["dlq_attempts"] == "3"
        assert "this probe can never be handled" in headers[0]["dlq_error"]
        assert headers[0]["ce_type"] == "probe.sent.v1"
        assert headers[1]["dlq_attempts"] == "1"
        assert records[1].value == b"{not json"
