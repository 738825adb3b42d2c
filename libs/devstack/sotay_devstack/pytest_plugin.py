"""Fixtures for every test of the repository (registered by the root conftest.py).

Databases: one per xdist worker (`test_<worker>`); each service's tests say which schema and
migrations they need (`service_schema` and `service_migrations` fixtures in their conftest).
`conn` is a connection inside a transaction rolled back after the test; `fresh_database`
gives a pool on a schema of its own for tests that need real commits (relays, consumers,
background jobs). Servers come from `sotay-dev test-env` (the environment); run alone, pytest
starts its own for the session.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from sotay_common.db import Database, Migration, apply_migrations, common_migrations, connect
from sotay_devstack.net import free_port
from sotay_devstack.services import SERVICES, ServiceProcess, service_env
from sotay_devstack.testenv import ServersForTests, running_test_servers
from sotay_devstack.tokens import DevTokens

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def worker_name(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


@pytest.fixture(scope="session")
def test_servers(worker_name: str) -> Iterator[ServersForTests]:
    servers = ServersForTests.from_env()
    if servers is not None:
        yield servers
        return
    kind = os.environ.get("SOTAY_TEST_BROKER", "kafka")
    with running_test_servers(REPO / ".run" / f"pytest-{worker_name}", kind) as started:
        yield started


@pytest.fixture(scope="session")
def kafka_bootstrap(test_servers: ServersForTests) -> str:
    return test_servers.kafka_bootstrap


def database_dsn(admin_dsn: str, database: str) -> str:
    return re.sub(r"/[^/?]*(\?|$)", f"/{database}\\1", admin_dsn, count=1)


async def create_database(admin_dsn: str, name: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_dsn(admin_dsn, name)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def worker_database(test_servers: ServersForTests, worker_name: str) -> str:
    """DSN of this worker's database."""
    return await create_database(test_servers.pg_admin_dsn, f"test_{worker_name}")


@pytest.fixture(scope="session")
def service_schema() -> str:
    return "common"


@pytest.fixture(scope="session")
def service_migrations() -> Sequence[Migration]:
    return common_migrations()


_migrated: set[tuple[str, str]] = set()


# Function-scoped on purpose: each test folder names its own schema and migrations, and a
# session-scoped fixture would keep the first folder's. The work itself is done once per schema.
@pytest_asyncio.fixture(loop_scope="session")
async def migrated_dsn(
    worker_database: str, service_schema: str, service_migrations: Sequence[Migration]
) -> str:
    key = (worker_database, service_schema)
    if key not in _migrated:
        conn = await connect(worker_database, service_schema)
        try:
            await apply_migrations(conn, service_schema, service_migrations)
        finally:
            await conn.close()
        _migrated.add(key)
    return worker_database


@pytest_asyncio.fixture(loop_scope="session")
async def conn(migrated_dsn: str, service_schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction that is rolled back when the test ends."""
    connection = await connect(migrated_dsn, service_schema)
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


@pytest.fixture
def database(conn: asyncpg.Connection) -> Database:
    """Transactions of the code under test become savepoints of the test's transaction."""
    return Database(connection=conn, source="/services/test")


class FreshSchema:
    def __init__(self, dsn: str, schema: str, pool: asyncpg.Pool) -> None:
        self.dsn = dsn
        self.schema = schema
        self.pool = pool
        self.database = Database(pool=pool, source="/services/test")

    async def connect(self) -> asyncpg.Connection:
        return await connect(self.dsn, self.schema)


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_database(
    worker_database: str, service_migrations: Sequence[Migration]
) -> AsyncIterator[FreshSchema]:
    """A schema of its own with the service's migrations, committed for real, dropped after."""
    from sotay_common.db import create_pool

    schema = f"t_{uuid.uuid4().hex[:12]}"
    setup = await connect(worker_database, schema)
    try:
        await apply_migrations(setup, schema, service_migrations)
    finally:
        await setup.close()
    pool = await create_pool(worker_database, schema, min_size=1, max_size=6)
    try:
        yield FreshSchema(worker_database, schema, pool)
    finally:
        await pool.close()
        cleanup = await asyncpg.connect(worker_database)
        try:
            await cleanup.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await cleanup.close()


@pytest.fixture(scope="session")
def dev_tokens() -> DevTokens:
    return DevTokens.generate()


async def collect_records(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    where: Callable[[ConsumerRecord[bytes, bytes]], bool] = lambda _: True,
    timeout: float = 30.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Reads `topic` from the beginning with a raw aiokafka consumer of a new group (not the
    project's code) and returns the records matching `where` once `until` holds (or at the
    timeout, so the caller's assertion shows what arrived)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=300,
        metadata_max_age_ms=1000,  # see topics created after we subscribed
    )
    await consumer.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not until(found) and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                found.extend(r for r in records if where(r))
    finally:
        await consumer.stop()
    return found


def record_headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {k: (v or b"").decode() for k, v in record.headers}


class E2EStack:
    """Services started as real processes for one test module, sharing its database."""

    def __init__(
        self,
        servers: ServersForTests,
        tokens: DevTokens,
        database_url: str,
        folder: Path,
        name: str = "e2e",
    ) -> None:
        self.name = name
        self.servers = servers
        self.tokens = tokens
        self.database_url = database_url
        self.folder = folder
        self.processes: dict[str, ServiceProcess] = {}

    def env_for(
        self, name: str, *, kafka_bootstrap: str | None = None, idempotent: bool | None = None
    ) -> dict[str, str]:
        prefix = SERVICES[name][1]
        return service_env(
            name,
            database_url=self.database_url,
            kafka_bootstrap=kafka_bootstrap or self.servers.kafka_bootstrap,
            idempotent_producer=self.servers.idempotent_producer
            if idempotent is None
            else idempotent,
            extra={
                **self.tokens.service_env(prefix),
                f"{prefix}LOG_LEVEL": "INFO",
                f"{prefix}KAFKA_TOPIC_PARTITIONS": "4",
                # tests run side by side on one broker: consumer groups of their own
                f"{prefix}KAFKA_CONSUMER_GROUP_PREFIX": f"{self.name}.",
            },
        )

    def start(
        self,
        name: str,
        *,
        env: dict[str, str] | None = None,
        wait_broker: bool = True,
        kafka_bootstrap: str | None = None,
        idempotent: bool | None = None,
    ) -> ServiceProcess:
        process = ServiceProcess(
            name=name,
            port=free_port(),
            env=self.env_for(name, kafka_bootstrap=kafka_bootstrap, idempotent=idempotent)
            | (env or {}),
            log_path=self.folder / f"{name}-{len(self.processes)}.log",
        )
        process.start()
        if wait_broker:
            process.wait_broker()
        self.processes[f"{name}-{len(self.processes)}"] = process
        return process

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()


@pytest.fixture
def e2e(
    request: pytest.FixtureRequest,
    test_servers: ServersForTests,
    dev_tokens: DevTokens,
    tmp_path_factory: pytest.TempPathFactory,
    worker_name: str,
) -> Iterator[E2EStack]:
    """A fresh database for the test and a way to start services against it (services of one
    test share it, each in its own schema, as in production)."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    name = f"e2e_{module}_{worker_name}_{uuid.uuid4().hex[:8]}"
    database_url = asyncio.run(create_database(test_servers.pg_admin_dsn, name))
    stack = E2EStack(test_servers, dev_tokens, database_url, tmp_path_factory.mktemp(module), name)
    try:
        yield stack
    finally:
        stack.stop_all()
