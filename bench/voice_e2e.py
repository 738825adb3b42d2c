"""Voice service end to end: publish-to-audio-ready time of a 1,000-word document.

Starts PostgreSQL and Kafka (or uses those of `sotay-dev test-env`), the voice service as a
process (and the content service when it is installed), then for each run publishes a new
document and times, from the moment of publishing:

- first audio: the first byte of `GET /documents/{id}/audio/stream` (played while rendering),
- streamed: the end of that stream (the whole Opus file),
- ready: `audio.rendered.v1` is seen on Kafka by a raw consumer (both files stored),

and the CPU time the voice process and its espeak-ng children used meanwhile: on a busy
machine, CPU s / cores is about what an idle one would need.

    .venv/bin/python -m bench.voice_e2e                   # 3 runs of 1,000 words
    .venv/bin/python -m bench.voice_e2e --words 4000 --runs 1 --via kafka --broker kafka

`--via content` publishes over the content service's API (POST /documents, then
/publish); `--via kafka` puts `document.published.v1` on Kafka as the content service would.
Goal: ready within 5 s for 1,000 words with espeak-ng.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.voice import generate_document
from sotay_common.events import EventEnvelope
from sotay_common.events.content import DocumentKind, DocumentPublishedV1, DocumentScope
from sotay_devstack.net import free_port
from sotay_devstack.pytest_plugin import create_database
from sotay_devstack.services import ServiceProcess, service_env
from sotay_devstack.testenv import ServersForTests, running_test_servers
from sotay_devstack.tokens import DevTokens

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    words: int
    audio_s: float
    first_audio_s: float
    streamed_s: float
    ready_s: float
    cpu_s: float


def process_cpu_seconds(pid: int) -> float:
    """User + system time of a process and its waited-for children (espeak-ng runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


@contextmanager
def servers(broker: str) -> Iterator[ServersForTests]:
    existing = ServersForTests.from_env()
    if existing is not None:
        yield existing
        return
    with running_test_servers(REPO / ".run" / "bench-voice", broker) as started:
        yield started


def start_service(
    name: str, servers: ServersForTests, database_url: str, tokens: DevTokens, folder: Path
) -> ServiceProcess:
    prefix = name.upper() + "_"
    env = service_env(
        name,
        database_url=database_url,
        kafka_bootstrap=servers.kafka_bootstrap,
        idempotent_producer=servers.idempotent_producer,
        extra={
            **tokens.service_env(prefix),
            f"{prefix}KAFKA_TOPIC_PARTITIONS": "4",
            f"{prefix}LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            # Both services see one store: voice reads texts sent by reference from it.
            f"{prefix}STORAGE_URL": f"file://{folder / name}",
            "VOICE_CONTENT_STORE_URL": f"file://{folder / 'content'}",
        },
    )
    process = ServiceProcess(name, free_port(), env, folder / f"{name}.log")
    process.start()
    process.wait_broker()
    return process


class Publisher:
    """Publishes a document's text and returns its id."""

    def __init__(self, via: str, bootstrap: str, content: ServiceProcess | None, token: str):
        self.via = via
        self.bootstrap = bootstrap
        self.content = content
        self.headers = {"Authorization": f"Bearer {token}"}

    async def publish(self, text: str) -> uuid.UUID:
        if self.content is not None:
            return await self._over_http(self.content, text)
        return await self._on_kafka(text)

    async def _over_http(self, content: ServiceProcess, text: str) -> uuid.UUID:
        async with httpx.AsyncClient(base_url=content.url, headers=self.headers) as client:
            body = {"kind": "study_topic", "title": text.split("\n", 1)[0][:200]}
            draft = await client.post(
                "/documents", json=body | {"body_format": "text", "body": text}
            )
            if draft.status_code != 201:
                raise RuntimeError(f"content refused the draft: {draft.text}")
            document_id = draft.json()["id"]
            published = await client.post(f"/documents/{document_id}/publish")
            if published.status_code != 201:
                raise RuntimeError(f"content refused to publish: {published.text}")
        return uuid.UUID(document_id)

    async def _on_kafka(self, text: str) -> uuid.UUID:
        event = DocumentPublishedV1(
            document_id=uuid.uuid4(),
            version=1,
            kind=DocumentKind.STUDY_TOPIC,
            title=text.split("\n", 1)[0][:200],
            scope=DocumentScope(organization_id=None),
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
            text=text,
            text_length=len(text),
            published_at=datetime.now(UTC),
        )
        headers = EventEnvelope.for_event(event, source="/services/content").headers()
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                event.topic,
                event.to_json_bytes(),
                key=event.aggregate_id.encode(),
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        finally:
            await producer.stop()
        return event.document_id


class EventWatch:
    """When each document's first event arrived on voice.audio (raw consumer)."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.seen: dict[bytes, float] = {}
        self.arrived = asyncio.Event()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            "voice.audio",
            bootstrap_servers=self.bootstrap,
            group_id=f"bench-{uuid.uuid4().hex}",
            auto_offset_reset="latest",
            metadata_max_age_ms=1000,
        )
        await consumer.start()
        try:
            async for record in consumer:
                self.seen.setdefault(record.key or b"", time.perf_counter())
                self.arrived.set()
        finally:
            await consumer.stop()

    async def arrival(self, document_id: uuid.UUID, timeout: float = 60) -> float:
        key = str(document_id).encode()
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while key not in self.seen:
                    self.arrived.clear()
                    await self.arrived.wait()
        return self.seen.get(key, float("nan"))


async def measure(
    publisher: Publisher, voice: ServiceProcess, token: str, text: str, events: EventWatch
) -> Run:
    """Publishes, then plays the stream as a member would, from its first byte to its end."""
    assert voice.process is not None
    async with httpx.AsyncClient(
        base_url=voice.url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        cpu_start = process_cpu_seconds(voice.process.pid)
        start = time.perf_counter()
        document_id = await publisher.publish(text)
        audio = f"/documents/{document_id}/audio"
        while True:  # until the consumer has recorded the document
            if (await client.get(f"{audio}/status")).status_code != 404:
                break
            await asyncio.sleep(0.02)
        first_audio = 0.0
        async with client.stream("GET", f"{audio}/stream") as stream:
            async for _ in stream.aiter_bytes():
                first_audio = first_audio or time.perf_counter() - start
        streamed = time.perf_counter() - start
        event_at = await events.arrival(document_id)
        cpu = process_cpu_seconds(voice.process.pid) - cpu_start
        status = (await client.get(f"{audio}/status")).json()
    if status["status"] != "succeeded":
        raise RuntimeError(f"render did not succeed: {status}")
    return Run(
        words=len(text.split()),
        audio_s=float(status["duration_seconds"]),
        first_audio_s=first_audio,
        streamed_s=streamed,
        ready_s=event_at - start,
        cpu_s=cpu,
    )


async def bench(
    publisher: Publisher, voice: ServiceProcess, token: str, words: int, runs: int
) -> list[Run]:
    events = EventWatch(publisher.bootstrap)
    watcher = asyncio.create_task(events.run())
    try:
        await asyncio.sleep(2)  # the consumer joins before the first run
        await measure(publisher, voice, token, generate_document(200, seed=1), events)  # warm-up
        return [
            await measure(publisher, voice, token, generate_document(words, seed=100 + i), events)
            for i in range(runs)
        ]
    finally:
        watcher.cancel()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    content_installed = importlib.util.find_spec("sotay_content.app") is not None
    parser.add_argument(
        "--via", choices=["content", "kafka"], default="content" if content_installed else "kafka"
    )
    parser.add_argument(
        "--broker", choices=["tansu", "kafka"], default="tansu", help="tansu: as make run"
    )
    args = parser.parse_args()
    if args.via == "content" and not content_installed:
        parser.error("the content service (sotay_content.app) is not installed")

    tokens = DevTokens.generate()
    admin = tokens.system_admin()
    with ExitStack() as stack, servers(args.broker) as running:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-voice-")))
        print(f"logs in {folder}", file=sys.stderr)
        name = f"bench_voice_{uuid.uuid4().hex[:8]}"
        database_url = asyncio.run(create_database(running.pg_admin_dsn, name))
        voice = start_service("voice", running, database_url, tokens, folder)
        stack.callback(voice.stop)
        content = None
        if args.via == "content":
            content = start_service("content", running, database_url, tokens, folder)
            stack.callback(content.stop)
        publisher = Publisher(args.via, running.kafka_bootstrap, content, admin)
        load_before = os.getloadavg()
        runs = asyncio.run(bench(publisher, voice, admin, args.words, args.runs))

    print(
        f"publish via {args.via}, broker {running.broker_kind};"
        f" load average before {load_before}, after {os.getloadavg()}"
    )
    print(f"on {os.cpu_count()} CPUs; espeak-ng voice vi, Ogg Opus 24 kb/s + MP3 32 kb/s")
    header = (
        f"{'words':>6} {'audio s':>8} {'1st audio s':>11} {'streamed s':>10} {'ready s':>8}"
        f" {'voice CPU s':>11}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.words:>6} {run.audio_s:>8.1f} {run.first_audio_s:>11.2f}"
            f" {run.streamed_s:>10.2f} {run.ready_s:>8.2f} {run.cpu_s:>11.2f}"
        )
    print(
        f"median: first audio {statistics.median(r.first_audio_s for r in runs):.2f} s,"
        f" ready (audio.rendered.v1) {statistics.median(r.ready_s for r in runs):.2f} s,"
        f" voice CPU {statistics.median(r.cpu_s for r in runs):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
