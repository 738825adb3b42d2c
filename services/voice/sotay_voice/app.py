"""Wiring of the voice service."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from importlib.resources import files

from fastapi import FastAPI

from sotay_common.db import connect
from sotay_common.runtime import BackgroundTask, Runtime, ServiceDefinition, create_service_app
from sotay_voice.api import router
from sotay_voice.events import PUBLISHES, consumers
from sotay_voice.service import DocumentAudio
from sotay_voice.settings import VoiceSettings
from sotay_voice.studio import Studio
from sotay_voice.worker import RenderMetrics, RenderWorker

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Sách nói: tài liệu đã ban hành được đọc thành âm thanh tiếng Việt. Published documents "
    "become Ogg Opus and MP3 audio with chapters (per Điều or heading), served with range "
    "requests and as a stream while rendering. Consumes document.* and organization.* events; "
    "publishes audio.rendered.v1 and audio.withdrawn.v1."
)


def render_worker_task(studio: Studio) -> BackgroundTask:
    async def run_render_workers(runtime: Runtime) -> None:
        """`render_concurrency` workers, woken by a notification or when a job falls due."""
        settings = studio.settings
        worker = RenderWorker(runtime.database, studio, RenderMetrics(runtime.metrics.registry))
        wake = asyncio.Event()
        await asyncio.gather(
            _listen(settings, wake),
            *(_work(worker, wake, settings) for _ in range(settings.render_concurrency)),
        )

    return run_render_workers


async def _listen(settings: VoiceSettings, wake: asyncio.Event) -> None:
    """Sets `wake` on every new render job, reconnecting after database outages."""
    while True:
        try:
            await _listen_until_disconnected(settings, wake)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("render notifications interrupted", extra={"error": repr(exc)})
        await asyncio.sleep(settings.render_poll_interval_s)


async def _listen_until_disconnected(settings: VoiceSettings, wake: asyncio.Event) -> None:
    listener = await connect(settings.database_url.get_secret_value(), settings.db_schema)
    closed = asyncio.Event()
    try:
        listener.add_termination_listener(lambda *_: closed.set())
        await listener.add_listener(f"{settings.db_schema}_renders", lambda *_: wake.set())
        wake.set()  # jobs may have come while nobody listened
        while not closed.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), settings.render_poll_interval_s)
            await listener.execute("SELECT 1")  # raises once the connection is gone
    finally:
        with suppress(Exception):
            await listener.close()


async def _work(worker: RenderWorker, wake: asyncio.Event, settings: VoiceSettings) -> None:
    while True:
        wait_s = settings.render_poll_interval_s
        try:
            while await worker.run_next():
                pass
            due = await worker.seconds_until_due()
            if due is not None:
                wait_s = min(wait_s, due + 0.05)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("render worker interrupted", extra={"error": repr(exc)})
        wake.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), wait_s)


def create_app(settings: VoiceSettings | None = None) -> FastAPI:
    settings = settings or VoiceSettings()
    studio = Studio(settings)
    app = create_service_app(
        ServiceDefinition(
            settings=settings,
            title="Sổ tay Đảng viên: voice",
            description=DESCRIPTION,
            migrations=files("sotay_voice") / "migrations",
            routers=[router],
            publishes=PUBLISHES,
            consumers=consumers(DocumentAudio(studio)),
            background_tasks=[render_worker_task(studio)],
        )
    )
    app.state.studio = studio
    return app
