"""The servers a test run needs: one private PostgreSQL cluster and one broker (Apache Kafka by
default, Tansu with SOTAY_TEST_BROKER=tansu). `sotay-dev test-env -- CMD` starts them, runs CMD
with their addresses in the environment, and stops them."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sotay_devstack.brokers import ApacheKafka, Broker, Tansu
from sotay_devstack.postgres import PostgresCluster

ENV_PG_DSN = "SOTAY_TEST_PG_DSN"
ENV_KAFKA = "SOTAY_TEST_KAFKA_BOOTSTRAP"
ENV_BROKER = "SOTAY_TEST_BROKER"


@dataclass(frozen=True)
class ServersForTests:
    pg_admin_dsn: str
    kafka_bootstrap: str
    broker_kind: str

    @property
    def idempotent_producer(self) -> bool:
        return self.broker_kind == "kafka"

    def env(self) -> dict[str, str]:
        return {
            ENV_PG_DSN: self.pg_admin_dsn,
            ENV_KAFKA: self.kafka_bootstrap,
            ENV_BROKER: self.broker_kind,
        }

    @classmethod
    def from_env(cls) -> ServersForTests | None:
        dsn, bootstrap = os.environ.get(ENV_PG_DSN), os.environ.get(ENV_KAFKA)
        if not dsn or not bootstrap:
            return None
        return cls(dsn, bootstrap, os.environ.get(ENV_BROKER, "kafka"))


def make_broker(kind: str, folder: Path) -> Broker:
    if kind == "tansu":
        return Tansu(log_path=folder / "tansu.log")
    if kind == "kafka":
        return ApacheKafka(folder, partitions=4)
    raise ValueError(f"{ENV_BROKER} must be kafka or tansu, not {kind!r}")


@contextmanager
def running_test_servers(run_dir: Path, broker_kind: str) -> Iterator[ServersForTests]:
    """Fresh servers for one test run (previous run's data removed)."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cluster = PostgresCluster(run_dir / "pg", settings={"max_connections": "400"})
    broker = make_broker(broker_kind, run_dir / broker_kind)
    cluster.ensure_initialized()
    cluster.start()
    try:
        broker.start()
        try:
            yield ServersForTests(cluster.dsn(), broker.bootstrap_servers, broker_kind)
        finally:
            broker.stop()
    finally:
        cluster.stop()


def run_with_test_servers(command: Sequence[str], *, repo: Path) -> int:
    kind = os.environ.get(ENV_BROKER, "kafka")
    with running_test_servers(repo / ".run" / f"test-{kind}", kind) as servers:
        print(f"[test-env] PostgreSQL {servers.pg_admin_dsn}, {kind} {servers.kafka_bootstrap}")
        env = {**os.environ, **servers.env()}
        return subprocess.call(list(command), env=env)  # noqa: S603
