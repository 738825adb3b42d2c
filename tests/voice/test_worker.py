"""The render worker on real engines and a real database (savepoints of the test's
transaction): jobs become stored audio and events; failures retry, then dead-letter."""

import asyncio
import uuid
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from sotay_common.consumer import Outcome
from sotay_common.db import Database
from sotay_common.events.content import DocumentKind
from sotay_common.events.voice import AudioRenderedV1
from sotay_devstack.pytest_plugin import FreshSchema
from sotay_voice import repository
from sotay_voice.encode import AudioFormat, decode_audio
from sotay_voice.service import render_file_key
from sotay_voice.studio import Studio
from sotay_voice.worker import RenderMetrics, RenderWorker
from tests.voice.support import NEWS, REGULATION, Consumers, archived, published


@dataclass(frozen=True)
class OutboxRow:
    key: str
    headers: dict[str, str]
    payload: bytes


async def outbox(database: Database, topic: str) -> list[OutboxRow]:
    async with database.connection() as conn:
        rows = await conn.fetch(
            "SELECT key, headers, payload FROM outbox WHERE topic = $1 ORDER BY id", topic
        )
    return [OutboxRow(r["key"], r["headers"], bytes(r["payload"])) for r in rows]


async def test_a_published_document_is_rendered_stored_and_announced(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    event = published(REGULATION)
    assert await consumers.deliver(event) is Outcome.PROCESSED
    registry = CollectorRegistry()
    worker = RenderWorker(database, studio, RenderMetrics(registry))
    assert await worker.run_next()
    assert not await worker.run_next()
    assert registry.get_sample_value("voice_renders_total", {"outcome": "succeeded"}) == 1

    async with database.connection() as conn:
        document = await repository.get_document(conn, event.document_id)
        assert document is not None
        render = await repository.get_render(conn, document.render_id)
    assert render is not None
    assert render.status == "succeeded"
    assert render.duration_s is not None
    words = len(REGULATION.split())
    assert words / 5 < render.duration_s < words / 1.2
    opus = await studio.audio_store.get(render.files["opus"]["key"])
    mp3 = await studio.audio_store.get(render.files["mp3"]["key"])
    assert decode_audio(opus).duration_s == pytest.approx(render.duration_s, abs=0.05)
    assert decode_audio(mp3).duration_s == pytest.approx(render.duration_s, abs=0.2)
    assert [(c["anchor"], c["title"]) for c in render.chapters] == [
        ("dieu-1", "Điều 1. Phạm vi điều chỉnh"),
        ("dieu-2", "Điều 2. Đối tượng áp dụng"),
    ]
    first, second = (c["offset_seconds"] for c in render.chapters)
    assert 0 < first < second < render.duration_s

    [row] = await outbox(database, "voice.audio")
    assert render.source_record is not None
    assert row.headers["correlation_id"] == render.source_record["headers"]["correlation_id"]
    rendered = AudioRenderedV1.model_validate_json(row.payload)
    assert (rendered.document_id, rendered.version, rendered.voice) == (event.document_id, 1, "vi")
    assert {f.format: f.size_bytes for f in rendered.formats} == {
        "ogg_opus": len(opus),
        "mp3": len(mp3),
    }
    assert rendered.chapters[1].offset_seconds == second
    assert rendered.formats[0].url == f"/documents/{event.document_id}/audio?format=opus"


async def test_a_failing_engine_retries_then_dead_letters_the_published_event(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    broken = published(NEWS, kind=DocumentKind.NEWS)  # news is read by a corrupt Piper voice
    event_id = uuid.uuid4()
    await consumers.deliver(broken, event_id=event_id, offset=41)
    registry = CollectorRegistry()
    worker = RenderWorker(database, studio, RenderMetrics(registry))
    assert await worker.run_next()
    async with database.connection() as conn:
        document = await repository.get_document(conn, broken.document_id)
        assert document is not None
        retried = await repository.get_render(conn, document.render_id)
    assert retried is not None
    assert (retried.status, retried.error_code) == ("pending", "voice_engine_failed")
    assert await outbox(database, "content.document.dlq") == []

    assert registry.get_sample_value("voice_renders_total", {"outcome": "retried"}) == 1
    assert await worker.run_next()  # the last attempt
    async with database.connection() as conn:
        failed = await repository.get_render(conn, document.render_id)
    assert failed is not None
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert failed.error_message == "Bộ tổng hợp giọng nói piper gặp lỗi, chưa tạo được âm thanh."
    assert registry.get_sample_value("voice_renders_total", {"outcome": "failed"}) == 1
    assert await outbox(database, "voice.audio") == []
    [dead] = await outbox(database, "content.document.dlq")
    headers = dead.headers
    assert headers["ce_id"] == str(event_id)
    assert headers["ce_type"] == "document.published.v1"
    assert headers["dlq_consumer_group"] == "voice.render"
    assert headers["dlq_error_code"] == "voice_engine_failed"
    assert "cannot load" in headers["dlq_error"]
    assert (headers["dlq_attempts"], headers["dlq_original_offset"]) == ("2", "41")
    assert dead.key == str(broken.document_id)
    assert dead.payload == broken.to_json_bytes()

    # The replay of the dead letter is handled again (the inbox forgot it).
    assert await consumers.deliver(broken, event_id=event_id) is Outcome.PROCESSED
    async with database.connection() as conn:
        document = await repository.get_document(conn, broken.document_id)
        assert document is not None
        again = await repository.get_render(conn, document.render_id)
    assert again is not None
    assert (again.status, again.id != failed.id) == ("pending", True)


async def claim_and_die(database: Database) -> None:
    """A worker claims the next render and dies without a trace (no more heartbeats)."""
    async with database.transaction() as tx:
        assert await repository.claim_render(tx.conn, stale_after_s=60)
        await tx.conn.execute(
            "UPDATE renders SET heartbeat_at = now() - interval '10 minutes'"
            " WHERE status = 'running'"
        )


async def test_a_render_whose_worker_died_is_taken_over_and_finished(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    event = published(REGULATION)
    await consumers.deliver(event)
    await claim_and_die(database)
    assert await RenderWorker(database, studio).run_next()
    async with database.connection() as conn:
        document = await repository.get_document(conn, event.document_id)
        assert document is not None
        render = await repository.get_render(conn, document.render_id)
    assert render is not None
    assert (render.status, render.attempts) == ("succeeded", 2)


async def test_a_render_that_keeps_killing_its_worker_fails_and_is_dead_lettered(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    event = published(REGULATION)
    await consumers.deliver(event)
    for _ in range(studio.settings.render_max_attempts):
        await claim_and_die(database)
    assert await RenderWorker(database, studio).run_next()
    [dead] = await outbox(database, "content.document.dlq")
    assert dead.headers["dlq_error_code"] == "voice_render_interrupted"
    assert dead.headers["dlq_attempts"] == "3"


async def started(database: Database) -> None:
    """Until the running render has stored its first increment."""
    async with asyncio.timeout(30):
        while True:
            async with database.connection() as conn:
                if await conn.fetchval("SELECT chunks_done FROM renders"):
                    return
            await asyncio.sleep(0.01)


async def test_a_stopping_worker_gives_its_render_back_unspent(
    fresh_database: FreshSchema, studio: Studio
) -> None:
    database = fresh_database.database
    await Consumers(database, studio).deliver(published("\n".join([REGULATION] * 20)))
    worker = asyncio.create_task(RenderWorker(database, studio).run_next())
    await started(database)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    async with database.connection() as conn:
        row = await conn.fetchrow("SELECT status, attempts, lease FROM renders")
        assert await conn.fetchval("SELECT count(*) FROM render_parts") == 0
    assert (row["status"], row["attempts"], row["lease"]) == ("pending", 0, None)
    assert await RenderWorker(database, studio).run_next()
    async with database.connection() as conn:
        assert await conn.fetchval("SELECT status FROM renders") == "succeeded"


async def test_archiving_during_a_render_stops_it_and_leaves_no_files(
    fresh_database: FreshSchema, studio: Studio
) -> None:
    database = fresh_database.database
    consumers = Consumers(database, studio)
    event = published("\n".join([REGULATION] * 20))
    await consumers.deliver(event)
    worker = asyncio.create_task(RenderWorker(database, studio).run_next())
    await started(database)
    await consumers.deliver(archived(event.document_id))
    assert await worker
    async with database.connection() as conn:
        render_id, status = await conn.fetchrow("SELECT id, status FROM renders")
        assert status == "withdrawn"
        assert await conn.fetchval("SELECT count(*) FROM render_parts") == 0
        published_types = await conn.fetch("SELECT event_type FROM outbox ORDER BY id")
    for audio_format in AudioFormat:
        assert not await studio.audio_store.exists(render_file_key(render_id, audio_format))
    assert [r["event_type"] for r in published_types] == ["audio.withdrawn.v1"]


async def test_a_text_sent_by_reference_is_read_from_the_content_store(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    key = f"texts/{uuid.uuid4()}/1.txt"
    await studio.content_store.put(key, REGULATION.encode(), content_type="text/plain")
    by_reference = published(REGULATION, text_ref=key)
    missing = published(NEWS, kind=DocumentKind.ANNOUNCEMENT, text_ref=f"texts/{uuid.uuid4()}")
    await consumers.deliver(by_reference)
    await consumers.deliver(missing)
    worker = RenderWorker(database, studio)
    assert await worker.run_next()
    assert await worker.run_next()
    async with database.connection() as conn:
        statuses = {
            r["id"]: (r["status"], r["error_code"], r["duration_s"])
            for r in await conn.fetch(
                "SELECT d.id, r.status, r.error_code, r.duration_s"
                " FROM documents d JOIN renders r ON r.id = d.render_id"
            )
        }
    status, error, duration = statuses[by_reference.document_id]
    assert (status, error) == ("succeeded", None)
    assert duration > len(REGULATION.split()) / 5
    assert statuses[missing.document_id][:2] == ("pending", "document_text_missing")  # retried
