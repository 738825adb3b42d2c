"""Start/stop times and memory of the local PostgreSQL, Apache Kafka and Tansu.

    .venv/bin/python bench/infra_startup.py [--messages 20000]

Memory is the resident set (RSS) of the server's process tree, idle after start and after
producing and consuming --messages records of 1 KB.
"""

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sotay_devstack.brokers import ApacheKafka, Broker, Tansu
from sotay_devstack.postgres import PostgresCluster


def timed(action: Callable[[], None]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def tree_rss_mb(pid: int | None) -> float:
    """Resident memory of pid and its descendants, in MiB."""
    if pid is None:
        return 0.0
    total_kb, pending = 0, [pid]
    while pending:
        current = pending.pop()
        status = Path(f"/proc/{current}/status").read_text()
        total_kb += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
        for task in Path(f"/proc/{current}/task").iterdir():
            pending += [int(child) for child in (task / "children").read_text().split()]
    return total_kb / 1024


async def load(broker: Broker, messages: int) -> float:
    """Produce then consume messages records of 1 KB; returns the seconds it took."""
    started = time.monotonic()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(messages):
            await producer.send("bench.load", b"x" * 1024, key=str(i % 100).encode())
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        "bench.load",
        bootstrap_servers=broker.bootstrap_servers,
        group_id="bench",
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    try:
        received = 0
        while received < messages:
            batches = await consumer.getmany(timeout_ms=1000)
            received += sum(len(batch) for batch in batches.values())
    finally:
        await consumer.stop()
    return time.monotonic() - started


def bench_postgres(root: Path) -> None:
    cluster = PostgresCluster(root / "postgres")
    initdb = timed(cluster.ensure_initialized)
    start = timed(cluster.start)
    rss = tree_rss_mb(cluster.pid)
    stop = timed(cluster.stop)
    restart = timed(cluster.start)
    cluster.stop()
    print(
        f"postgres  initdb {initdb:.2f} s  start {start:.2f} s  stop {stop:.2f} s  "
        f"restart {restart:.2f} s  idle RSS {rss:.0f} MiB (all processes)"
    )


def bench_broker(name: str, broker: ApacheKafka | Tansu, messages: int) -> None:
    cold = timed(broker.start)
    idle = tree_rss_mb(broker.pid)
    seconds = asyncio.run(load(broker, messages))
    loaded = tree_rss_mb(broker.pid)
    stop = timed(broker.stop)
    warm = timed(broker.start)
    broker.kill()
    after_kill = timed(broker.start)
    broker.stop()
    print(
        f"{name:<8}  cold start {cold:.2f} s  warm start {warm:.2f} s  "
        f"start after kill {after_kill:.2f} s  stop {stop:.2f} s  idle RSS {idle:.0f} MiB  "
        f"RSS after {messages} x 1 KB {loaded:.0f} MiB  (load {seconds:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sotay-bench-") as folder:
        root = Path(folder)
        root.chmod(0o755)  # the postgres user must reach it when we are root
        bench_postgres(root)
        bench_broker("kafka", ApacheKafka(root / "kafka"), args.messages)
        bench_broker("tansu", Tansu(log_path=root / "tansu.log"), args.messages)


if __name__ == "__main__":
    main()
