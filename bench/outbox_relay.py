"""Outbox relay throughput: events/s from PostgreSQL to a loopback broker, per relay.

    .venv/bin/python bench/outbox_relay.py [--events 100000] [--broker kafka|tansu] [--keys N]

Writes --events outbox rows (1 KB-ish member events, --keys distinct aggregate ids) with one
COPY, then times one OutboxRelay draining them to the broker (acks=all; idempotent producer on
Kafka), batch size as the service default. Also prints the consumer-side count.
"""

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker

from sotay_common.db import Database, apply_migrations, common_migrations, connect, create_pool
from sotay_common.events.members import MemberCreatedV1, MemberStatus
from sotay_common.kafka import BrokerSender, TopicProvisioner
from sotay_common.metrics import Metrics
from sotay_common.outbox import OutboxRelay, RelaySettings
from sotay_common.settings import ServiceSettings
from sotay_devstack.postgres import PostgresCluster
from sotay_devstack.testenv import make_broker


def event(key: uuid.UUID, n: int) -> MemberCreatedV1:
    return MemberCreatedV1(
        member_id=key,
        version=n,
        organization_id=uuid.uuid4(),
        full_name="Nguyễn Văn Thành Long",
        date_of_birth=date(1980, 1, 1),
        party_card_number=f"{n % 10**12:012d}",
        status=MemberStatus.OFFICIAL,
        admission_date=date(2005, 1, 1),
        official_date=date(2006, 1, 1),
        positions=[],
        occurred_at=datetime.now(UTC),
    )


async def count_records(bootstrap: str, topic: str, expected: int, timeout: float = 300) -> int:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=uuid.uuid4().hex,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    deadline = time.monotonic() + timeout
    try:
        while seen < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()
    return seen


async def run(events: int, keys: int, bootstrap: str, idempotent: bool, dsn: str) -> None:
    schema = "bench_relay"
    setup = await connect(dsn, schema)
    await setup.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await apply_migrations(setup, schema, common_migrations())
    await setup.close()
    pool = await create_pool(dsn, schema)
    database = Database(pool=pool, source="/bench")
    aggregate_ids = [uuid.uuid4() for _ in range(keys)]
    started = time.perf_counter()
    async with database.transaction() as tx:
        await tx.outbox.add_many(event(aggregate_ids[i % keys], i) for i in range(events))
    written = time.perf_counter() - started
    defaults = ServiceSettings()
    await TopicProvisioner(
        bootstrap, partitions=defaults.kafka_topic_partitions, replication=1
    ).ensure([MemberCreatedV1.topic])
    broker = KafkaBroker(
        bootstrap, acks="all", enable_idempotence=idempotent, linger_ms=5, max_batch_size=256 * 1024
    )
    await broker.start()
    relay = OutboxRelay(
        connect=lambda: connect(dsn, schema),
        schema=schema,
        sender=BrokerSender(broker),
        metrics=Metrics("bench"),
        settings=RelaySettings(batch_size=defaults.outbox_batch_size),
    )
    conn = await connect(dsn, schema)
    started = time.perf_counter()
    published = await relay.drain(conn)
    elapsed = time.perf_counter() - started
    await conn.close()
    await broker.stop()
    await pool.close()
    received = await count_records(bootstrap, MemberCreatedV1.topic, events)
    print(f"outbox rows written (COPY): {events} in {written:.2f} s")
    rate = published / elapsed
    print(f"relay published: {published} events in {elapsed:.2f} s = {rate:,.0f} events/s")
    print(f"  (batch {defaults.outbox_batch_size}, {keys} keys, idempotent producer: {idempotent})")
    print(f"consumer saw: {received} records")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--broker", choices=["kafka", "tansu"], default="kafka")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as folder:
        cluster = PostgresCluster(Path(folder) / "pg")
        cluster.ensure_initialized()
        cluster.start()
        broker = make_broker(args.broker, Path(folder) / "broker")
        broker.start()
        try:
            asyncio.run(
                run(
                    args.events,
                    args.keys,
                    broker.bootstrap_servers,
                    args.broker == "kafka",
                    cluster.dsn(),
                )
            )
        finally:
            broker.stop()
            cluster.stop()


if __name__ == "__main__":
    main()
