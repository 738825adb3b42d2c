"""Wiring of the assistant service.

One process owns the index at a time: in local Qdrant mode there is only one process (one
HTTP worker); with a Qdrant server (ASSISTANT_QDRANT_URL) every replica answers questions but
only the one holding a PostgreSQL advisory lock indexes, and the others reload their corpus
statistics when it reports a change (NOTIFY).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from contextlib import suppress
from importlib.resources import files

import asyncpg
from fastapi import FastAPI

from sotay_assistant.api import ENGINE, router
from sotay_assistant.events import CONSUMERS, PUBLISHES
from sotay_assistant.repository import CHANGED_CHANNEL, JOBS_CHANNEL
from sotay_assistant.service import (
    Engine,
    EngineSlot,
    IndexWorker,
    build_engine,
    learn_from_ratings,
)
from sotay_assistant.settings import AssistantSettings
from sotay_common.db import connect
from sotay_common.runtime import Runtime, ServiceDefinition, create_service_app
from sotay_common.storage import open_blob_store

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Trợ lý hỏi đáp Điều lệ, quy định. Answers members' questions from the published "
    "regulations with the cited Khoản; indexes documents from document.published.v1 / "
    "document.archived.v1 and publishes assistant.reindexed.v1."
)


async def load_engine(runtime: Runtime) -> Engine:
    """The engine of this process: a new one, or the one a test put in `runtime.state`."""
    settings = runtime.settings
    assert isinstance(settings, AssistantSettings)
    slot = runtime.state.setdefault(ENGINE, EngineSlot())
    assert isinstance(slot, EngineSlot)
    if slot.engine is not None:
        return slot.engine
    try:
        engine = await asyncio.to_thread(build_engine, settings)
    except Exception as exc:
        logger.exception("the assistant could not load its model or index")
        slot.fail(repr(exc))
        raise
    slot.set(engine)
    logger.info("assistant ready", extra={"passages": engine.knowledge.index.count()})
    return engine


def _indexer_lock(schema: str) -> int:
    return zlib.crc32(f"assistant-indexer:{schema}".encode())


async def run_assistant(runtime: Runtime) -> None:
    """Loads the engine, then indexes (when this process holds the indexer lock) or follows
    the indexer's changes, and learns from members' ratings at intervals."""
    settings = runtime.settings
    assert isinstance(settings, AssistantSettings)
    engine = await load_engine(runtime)
    worker = IndexWorker(
        runtime.database,
        engine.knowledge,
        open_blob_store(settings.content_store_url),
        max_attempts=settings.index_max_attempts,
    )
    schema = settings.db_schema
    wake = asyncio.Event()
    changed = asyncio.Event()
    listener: asyncpg.Connection | None = None
    indexer = False
    clock = asyncio.get_running_loop()
    learn_at = clock.time()
    while True:
        try:
            if listener is None:
                listener = await connect(
                    settings.database_url.get_secret_value(),
                    schema,
                    application_name="sotay-assistant-indexer",
                )
                await listener.add_listener(schema + JOBS_CHANNEL, lambda *_: wake.set())
                await listener.add_listener(schema + CHANGED_CHANNEL, lambda *_: changed.set())
                indexer = False
            if not indexer:
                indexer = bool(
                    await listener.fetchval(
                        "SELECT pg_try_advisory_lock($1)", _indexer_lock(schema)
                    )
                )
                if indexer:
                    requeued = await worker.reconcile()
                    logger.info("this process indexes", extra={"requeued": requeued})
            if indexer:
                changed.clear()
                while await worker.run_next():
                    pass
                await worker.finish_rebuild()
            elif changed.is_set():
                changed.clear()
                await asyncio.to_thread(engine.knowledge.reload)
            if clock.time() >= learn_at:
                learn_at = clock.time() + settings.learn_interval_s
                await _learn_from_ratings(runtime, engine, settings)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("index worker interrupted", extra={"error": repr(exc)})
            if listener is not None:
                with suppress(Exception):
                    await listener.close()
            listener = None
        wake.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(_either(wake, changed), settings.index_poll_interval_s)


async def _learn_from_ratings(
    runtime: Runtime, engine: Engine, settings: AssistantSettings
) -> None:
    """A failure waits for the next interval; it does not interrupt the indexer or drop its
    listener (and with it the indexer lock)."""
    try:
        await learn_from_ratings(runtime.database, engine.knowledge, limit=settings.learn_limit)
    except Exception as exc:
        logger.warning("could not learn from ratings", extra={"error": repr(exc)})


async def _either(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def create_app(settings: AssistantSettings | None = None) -> FastAPI:
    settings = settings or AssistantSettings()
    return create_service_app(
        ServiceDefinition(
            settings=settings,
            title="Sổ tay Đảng viên: assistant",
            description=DESCRIPTION,
            migrations=files("sotay_assistant") / "migrations",
            routers=[router],
            publishes=PUBLISHES,
            consumers=CONSUMERS,
            background_tasks=[run_assistant],
        )
    )
