import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from sotay_devstack.brokers import ApacheKafka, Broker, Tansu, metadata_broker_count
from sotay_devstack.net import free_port

pytestmark = [pytest.mark.xdist_group("brokers"), pytest.mark.timeout(180)]

# Short group timeouts: Tansu makes a join wait about half the session timeout.
GROUP_TIMEOUTS = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300}


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    with ApacheKafka(tmp_path_factory.mktemp("kafka"), partitions=4) as broker:
        yield broker


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tansu]:
    with Tansu(log_path=tmp_path_factory.mktemp("tansu") / "tansu.log") as broker:
        yield broker


@pytest.fixture(params=["kafka", "tansu"])
def broker(request: pytest.FixtureRequest) -> Broker:
    started: Broker = request.getfixturevalue(request.param)
    return started


def new_topic_name() -> str:
    return f"test.{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def producer(broker: Broker) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers,
        acks="all",
        enable_idempotence=broker.supports_idempotence,
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


@asynccontextmanager
async def consumer(broker: Broker, topic: str, group: str) -> AsyncIterator[AIOKafkaConsumer]:
    client = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **GROUP_TIMEOUTS,
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def create_topic(broker: Broker, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
    finally:
        await admin.close()


async def read(client: AIOKafkaConsumer, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    records: list[ConsumerRecord[bytes, bytes]] = []
    async with asyncio.timeout(30):
        while len(records) < count:
            batches = await client.getmany(timeout_ms=500, max_records=count - len(records))
            for batch in batches.values():
                records.extend(batch)
    return records


def test_metadata_probe_finds_no_broker_on_a_closed_port() -> None:
    assert metadata_broker_count(free_port()) == 0


def test_started_broker_answers_metadata(broker: Broker) -> None:
    host, port = broker.bootstrap_servers.split(":")
    assert host == "127.0.0.1"
    assert metadata_broker_count(int(port)) == 1


async def test_admin_creates_a_topic_with_12_partitions(broker: Broker) -> None:
    topic = new_topic_name()
    await create_topic(broker, topic, partitions=12)
    async with producer(broker) as client:
        assert await client.partitions_for(topic) == set(range(12))


async def test_keys_headers_and_order_round_trip(broker: Broker) -> None:
    topic = new_topic_name()
    await create_topic(broker, topic, partitions=12)
    sent = [
        (f"member-{i % 3}".encode(), f"Đảng viên số {i}".encode(), [("ce_id", str(i).encode())])
        for i in range(30)
    ]
    async with producer(broker) as client:
        for key, value, headers in sent:
            await client.send(topic, value, key=key, headers=headers)
        await client.flush()

    async with consumer(broker, topic, group=f"g.{topic}") as client:
        records = await read(client, len(sent))
    received = {(r.key, r.value, tuple(r.headers)) for r in records}
    assert received == {(key, value, tuple(headers)) for key, value, headers in sent}
    for key in {key for key, _, _ in sent}:
        of_key = [r for r in records if r.key == key]
        assert len({r.partition for r in of_key}) == 1  # one aggregate, one partition
        assert [r.value for r in of_key] == [v for k, v, _ in sent if k == key]


async def test_auto_created_topic_gets_the_default_partitions(kafka: ApacheKafka) -> None:
    topic = new_topic_name()
    async with producer(kafka) as client:
        await client.send_and_wait(topic, b"first", key=b"k")
        assert await client.partitions_for(topic) == set(range(4))


async def test_consumer_group_resumes_from_its_manual_commit(broker: Broker) -> None:
    topic, group = new_topic_name(), new_topic_name()
    await create_topic(broker, topic, partitions=1)
    async with producer(broker) as client:
        for i in range(10):
            await client.send(topic, str(i).encode())
        await client.flush()

    async with consumer(broker, topic, group) as client:
        first = await read(client, 6)
        partition = TopicPartition(topic, 0)
        await client.commit({partition: first[5].offset + 1})
    async with consumer(broker, topic, group) as client:
        rest = await read(client, 4)
    assert [r.value for r in first[:6] + rest] == [str(i).encode() for i in range(10)]


async def test_idempotent_producer_matches_the_flag(broker: Broker) -> None:
    client = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap_servers, acks="all", enable_idempotence=True
    )
    if broker.supports_idempotence:
        await client.start()
        try:
            metadata = await client.send_and_wait(new_topic_name(), b"once", key=b"k")
            assert metadata.offset == 0
        finally:
            await client.stop()
    else:  # Tansu answers InitProducerId with an error
        with pytest.raises(KafkaError):
            await client.start()
        await client.stop()


async def test_kafka_keeps_data_across_a_kill_and_clients_reconnect(kafka: ApacheKafka) -> None:
    topic = new_topic_name()
    await create_topic(kafka, topic, partitions=3)
    async with producer(kafka) as client:
        for i in range(200):
            await client.send(topic, str(i).encode(), key=str(i % 7).encode())
        await client.flush()
        port = kafka.port
        kafka.kill()
        assert not kafka.running
        kafka.start()
        assert kafka.port == port
        await client.send_and_wait(topic, b"after the outage", key=b"0")  # same client

    async with consumer(kafka, topic, group=f"g.{topic}") as reader:
        records = await read(reader, 201)
    values = {r.value for r in records}
    assert values == {str(i).encode() for i in range(200)} | {b"after the outage"}


async def test_tansu_restarts_on_the_same_port_empty(tansu: Tansu) -> None:
    topic = new_topic_name()
    async with producer(tansu) as client:
        await client.send_and_wait(topic, b"before")
    port = tansu.port
    tansu.stop()
    tansu.start()
    assert tansu.port == port
    async with producer(tansu) as client:
        metadata = await client.send_and_wait(topic, b"after")
    assert metadata.offset == 0  # memory storage: the earlier message is gone


def test_broker_dies_with_the_process_that_started_it(
    dies_with_its_parent: Callable[[str], bool], tmp_path: Path
) -> None:
    assert dies_with_its_parent(
        "import time\n"
        "from pathlib import Path\n"
        "from sotay_devstack.brokers import Tansu\n"
        f"broker = Tansu(log_path=Path({str(tmp_path / 'tansu.log')!r}))\n"
        "broker.start()\n"
        "print(broker.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
