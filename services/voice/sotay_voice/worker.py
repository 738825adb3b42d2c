"""The render worker: claims render jobs and turns them into stored audio.

A job is claimed under a lease (SKIP LOCKED, so replicas share the queue). Rendering is CPU
work, so it runs in a worker thread; each encoded increment comes back to the event loop,
which stores it with the progress (and a heartbeat) as it arrives, so that a stream can play
what exists so far. A render whose worker stops heartbeating is taken over and restarted.
At the end the whole files go to the audio store and `audio.rendered.v1` to the outbox, in
the transaction that marks the job done.

A failure is retried with backoff when it may pass; otherwise (or after the last attempt)
the job fails, nothing is published, and the `document.published.v1` record it came from is
copied to `content.document.dlq` with the same `dlq_*` headers the consumers add, through
the outbox, in the transaction that records the failure. The next document is not held up:
the consumer only queues jobs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Histogram

from sotay_common.context import (
    accept_correlation_id,
    accept_traceparent,
    correlation_id_var,
    traceparent_var,
)
from sotay_common.db import Database
from sotay_common.events import dead_letter_topic
from sotay_common.events.content import DocumentPublishedV1
from sotay_common.storage import ObjectNotFound
from sotay_voice import events, repository
from sotay_voice.encode import FORMATS, AudioFormat, Chapter, EncodingError, Timeline
from sotay_voice.engines import SpeechEngineError
from sotay_voice.profiles import RenderSpec
from sotay_voice.render import DocumentRenderer, RenderOptions
from sotay_voice.repository import ClaimedRender, Part, Render
from sotay_voice.segment import Section, SpeechChunk, plan_document
from sotay_voice.service import delete_render_files, render_file_key
from sotay_voice.studio import Studio

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the render over, or it was withdrawn: stop without a trace."""


class RenderCancelled(Exception):
    """Raised in the rendering thread when the event loop side gave up."""


@dataclass(frozen=True)
class Problem:
    code: str
    message_vi: str
    retryable: bool


INTERRUPTED = Problem(
    "voice_render_interrupted",
    "Quá trình tạo âm thanh bị gián đoạn nhiều lần nên đã dừng.",
    retryable=False,
)


def classify(error: BaseException) -> Problem:
    if isinstance(error, SpeechEngineError):
        return Problem(error.code, error.message_vi, retryable=error.code == "voice_engine_failed")
    if isinstance(error, EncodingError):
        return Problem(error.code, error.message_vi, retryable=False)
    if isinstance(error, ObjectNotFound):
        message = "Không đọc được nội dung tài liệu để tạo âm thanh."
        return Problem("document_text_missing", message, retryable=True)
    return Problem("voice_render_failed", "Không tạo được âm thanh do lỗi hệ thống.", True)


@dataclass(frozen=True)
class Increment:
    """Encoded bytes of one chunk, and how far the render got with it."""

    data: dict[AudioFormat, bytes]
    seconds: float
    chapters: list[Chapter]


def planned_chapters(chunks: list[SpeechChunk]) -> list[dict[str, Any]]:
    """The chapters the chunks open, in order, with no offsets yet."""
    marks = [chunk.chapter for chunk in chunks if chunk.chapter is not None]
    return [
        {"title": mark.title, "anchor": mark.anchor or f"chapter-{n}", "offset_seconds": None}
        for n, mark in enumerate(marks, start=1)
    ]


def with_offsets(planned: list[dict[str, Any]], reached: list[Chapter]) -> list[dict[str, Any]]:
    """The planned chapters with the start times of those the audio has reached."""
    return [
        {**chapter, "offset_seconds": reached[i].start_s if i < len(reached) else None}
        for i, chapter in enumerate(planned)
    ]


def sections_of(event: DocumentPublishedV1) -> list[Section] | None:
    """The event's reading chapters (per Điều, per top section); headings when it has none."""
    if not event.chapters:
        return None
    return [Section(title=c.title, start=c.start, anchor=c.anchor) for c in event.chapters]


class RenderMetrics:
    """Prometheus metrics of the renders, in the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "voice_renders_total",
            "Render attempts by outcome (succeeded, retried, failed, abandoned)",
            ["outcome"],
            registry=registry,
        )
        self.seconds = Histogram(
            "voice_render_duration_seconds",
            "Wall time of a successful render",
            buckets=(1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600),
            registry=registry,
        )
        self.audio_seconds = Counter(
            "voice_audio_rendered_seconds_total", "Seconds of audio rendered", registry=registry
        )


class RenderWorker:
    def __init__(
        self, database: Database, studio: Studio, metrics: RenderMetrics | None = None
    ) -> None:
        self.database = database
        self.studio = studio
        self.settings = studio.settings
        self.metrics = metrics or RenderMetrics(CollectorRegistry())
        # The consumer group that took the records in (the runtime adds the prefix).
        self.render_group = self.settings.kafka_consumer_group_prefix + events.RENDER_GROUP

    async def run_next(self) -> bool:
        """Claims and renders one job. False when there is nothing due."""
        async with self.database.transaction() as tx:
            claimed = await repository.claim_render(tx.conn, self.settings.render_stale_after_s)
        if claimed is None:
            return False
        with _traced_as_its_source(claimed.render):
            await self._run_claimed(claimed)
        return True

    async def _run_claimed(self, claimed: ClaimedRender) -> None:
        render = claimed.render
        log = {"render_id": str(render.id), "attempt": render.attempts}
        if render.attempts > self.settings.render_max_attempts:
            await self._give_up(claimed, INTERRUPTED, "the worker stopped during every attempt")
            return
        logger.info("render started", extra=log)
        started = time.perf_counter()
        try:
            await self._render(
                render, DocumentPublishedV1.model_validate_json(claimed.source_event)
            )
        except LeaseLost:
            logger.info("render abandoned: lease lost or audio withdrawn", extra=log)
            self.metrics.outcomes.labels("abandoned").inc()
        except asyncio.CancelledError:
            # The service is stopping: another worker may take the render at once.
            await asyncio.shield(self._release(render))
            raise
        except Exception as exc:
            logger.warning("render failed", extra={**log, "error": repr(exc)})
            await self._after_failure(claimed, exc)
        else:
            self.metrics.outcomes.labels("succeeded").inc()
            self.metrics.seconds.observe(time.perf_counter() - started)

    async def seconds_until_due(self) -> float | None:
        async with self.database.connection() as conn:
            return await repository.next_due_in(conn, self.settings.render_stale_after_s)

    # -- rendering ---------------------------------------------------------------------------

    async def _render(self, render: Render, event: DocumentPublishedV1) -> None:
        spec = RenderSpec.from_json(render.spec)
        text = await self.studio.document_text(event)
        chunks = await asyncio.to_thread(
            plan_document,
            text,
            self.studio.normalizer,
            sections_of(event),
            spec.pauses,
            spec.limits,
        )
        planned = planned_chapters(chunks)
        async with self.database.transaction() as tx:
            if not await repository.record_plan(
                tx.conn, render.id, _lease(render), chunks_total=len(chunks), chapters=planned
            ):
                raise LeaseLost()
        renderer = DocumentRenderer(
            self.studio.engine(spec.engine),
            RenderOptions(
                voice=spec.voice, rate=spec.rate, synthesis_workers=self.settings.synthesis_workers
            ),
        )
        encoded, timeline = await self._run(render, renderer, chunks, planned)
        files = await self._store(render, encoded)
        async with self.database.transaction() as tx:
            finished = await repository.finish_render(
                tx.conn,
                render.id,
                _lease(render),
                duration_s=timeline.duration_s,
                chapters=with_offsets(planned, timeline.chapters),
                files=files,
            )
            if finished is not None:
                for document in await repository.documents_playing(tx.conn, render.id):
                    await tx.outbox.add(events.audio_rendered(document, finished))
        if finished is None:
            await delete_render_files(self.studio, replace(render, files=files))
            raise LeaseLost()
        self.metrics.audio_seconds.inc(timeline.duration_s)
        logger.info(
            "render finished",
            extra={
                "render_id": str(render.id),
                "duration_s": round(timeline.duration_s, 1),
                "chunks": len(chunks),
            },
        )

    async def _run(
        self,
        render: Render,
        renderer: DocumentRenderer,
        chunks: list[SpeechChunk],
        planned: list[dict[str, Any]],
    ) -> tuple[dict[AudioFormat, list[bytes]], Timeline]:
        """Renders in a thread; stores each increment as it arrives."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Increment] = asyncio.Queue()
        cancel = threading.Event()

        def deliver(increment: Increment) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, increment)

        thread = asyncio.ensure_future(
            asyncio.to_thread(_render_in_thread, renderer, chunks, deliver, cancel)
        )
        encoded: dict[AudioFormat, list[bytes]] = {fmt: [] for fmt in renderer.options.formats}
        sequence = chunks_done = 0
        try:
            while True:
                batch = await self._next_batch(queue, thread)
                if not batch and thread.done():
                    break
                parts = []
                for fmt, pieces in encoded.items():
                    data = b"".join(increment.data[fmt] for increment in batch)
                    pieces.append(data)
                    if data:
                        parts.append(Part(fmt.value, sequence, data))
                chunks_done = min(chunks_done + len(batch), len(chunks))
                latest = batch[-1] if batch else None
                async with self.database.transaction() as tx:
                    held = await repository.record_progress(
                        tx.conn,
                        render.id,
                        _lease(render),
                        chunks_done=chunks_done,
                        seconds_rendered=latest.seconds if latest else 0.0,
                        chapters=with_offsets(planned, latest.chapters if latest else []),
                        parts=parts,
                    )
                if not held:
                    raise LeaseLost()
                sequence += 1
            timeline = await thread
        finally:
            if not thread.done():
                cancel.set()
                await asyncio.wait({thread})
        return encoded, timeline

    async def _next_batch(
        self, queue: asyncio.Queue[Increment], thread: asyncio.Future[Timeline]
    ) -> list[Increment]:
        """Every increment ready now, waiting (up to a heartbeat) for the first one."""
        batch: list[Increment] = []
        if queue.empty() and not thread.done():
            getter = asyncio.ensure_future(queue.get())
            waiting: set[asyncio.Future[Any]] = {getter, thread}
            await asyncio.wait(
                waiting,
                timeout=self.settings.render_heartbeat_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if getter.done():
                batch.append(getter.result())
            else:
                getter.cancel()
        while not queue.empty():
            batch.append(queue.get_nowait())
        return batch

    async def _store(
        self, render: Render, encoded: dict[AudioFormat, list[bytes]]
    ) -> dict[str, dict[str, Any]]:
        files: dict[str, dict[str, Any]] = {}
        for fmt, pieces in encoded.items():
            key = render_file_key(render.id, fmt)
            data = b"".join(pieces)
            await self.studio.audio_store.put(key, data, content_type=FORMATS[fmt].mime_type)
            files[fmt.value] = {"key": key, "size": len(data)}
        return files

    # -- failures ----------------------------------------------------------------------------

    async def _release(self, render: Render) -> None:
        with suppress(Exception):
            async with self.database.transaction() as tx:
                await repository.release_render(tx.conn, render.id, _lease(render))
            logger.info(
                "render given back: the worker is stopping", extra={"render_id": str(render.id)}
            )

    async def _after_failure(self, claimed: ClaimedRender, error: Exception) -> None:
        render = claimed.render
        problem = classify(error)
        detail = f"{type(error).__name__}: {error}"
        if problem.retryable and render.attempts < self.settings.render_max_attempts:
            delay = self.settings.render_retry_backoff_s * 2 ** (render.attempts - 1)
            async with self.database.transaction() as tx:
                await repository.retry_render_later(
                    tx.conn,
                    render.id,
                    _lease(render),
                    delay_s=delay,
                    error_code=problem.code,
                    error_message=problem.message_vi,
                )
            self.metrics.outcomes.labels("retried").inc()
            return
        await self._give_up(claimed, problem, detail)

    async def _give_up(self, claimed: ClaimedRender, problem: Problem, detail: str) -> None:
        render = claimed.render
        async with self.database.transaction() as tx:
            failed = await repository.fail_render(
                tx.conn,
                render.id,
                _lease(render),
                error_code=problem.code,
                error_message=problem.message_vi,
            )
            if failed is not None and failed.source_record is not None:
                await _dead_letter(
                    tx.conn, self.render_group, failed, claimed.source_event, problem, detail
                )
        self.metrics.outcomes.labels("failed").inc()
        logger.error(
            "render failed for good",
            extra={"render_id": str(render.id), "code": problem.code, "error": detail},
        )


async def _dead_letter(
    conn: asyncpg.Connection,
    group: str,
    render: Render,
    source_event: bytes,
    problem: Problem,
    detail: str,
) -> None:
    """Copies the record that asked for the render to its dead-letter topic, and forgets it in
    the inbox so that replaying it renders again."""
    record = render.source_record
    assert record is not None
    headers = dict(record["headers"])
    headers.update(
        {
            "dlq_error": detail[:2000],
            "dlq_error_code": problem.code,
            "dlq_consumer_group": group,
            "dlq_attempts": str(render.attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "dlq_original_topic": record["topic"],
            "dlq_original_partition": str(record["partition"]),
            "dlq_original_offset": str(record["offset"]),
        }
    )
    await repository.add_dead_letter(
        conn,
        topic=dead_letter_topic(record["topic"]),
        key=record["key"],
        event_type=headers.get("ce_type", DocumentPublishedV1.event_type),
        headers=headers,
        payload=source_event,
    )
    with suppress(KeyError, ValueError):
        event_id = uuid.UUID(headers["ce_id"])
        await repository.forget_inbox_entry(conn, group, event_id)


@contextmanager
def _traced_as_its_source(render: Render) -> Iterator[None]:
    """Logs and events of a render carry the correlation id (and trace) of the event that
    asked for it."""
    headers = (render.source_record or {}).get("headers", {})
    correlation = correlation_id_var.set(
        accept_correlation_id(headers.get("correlation_id") or render.id.hex)
    )
    trace = traceparent_var.set(accept_traceparent(headers.get("traceparent")))
    try:
        yield
    finally:
        correlation_id_var.reset(correlation)
        traceparent_var.reset(trace)


def _render_in_thread(
    renderer: DocumentRenderer,
    chunks: list[SpeechChunk],
    deliver: Callable[[Increment], None],
    cancel: threading.Event,
) -> Timeline:
    with closing(renderer.stream(chunks)) as increments:
        for data in increments:
            if cancel.is_set():
                raise RenderCancelled()
            reached = renderer.progress()
            deliver(Increment(data, reached.duration_s, reached.chapters))
    assert renderer.timeline is not None
    return renderer.timeline


def _lease(render: Render) -> uuid.UUID:
    assert render.lease is not None
    return render.lease
