"""The HTTP API in process, on the test's rolled-back transaction: range requests, streaming,
status, chapters, re-renders."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from sotay_common.auth import TokenVerifier
from sotay_common.db import Database
from sotay_common.events.content import DocumentKind
from sotay_common.metrics import Metrics
from sotay_common.runtime import Runtime
from sotay_devstack.tokens import AUDIENCE, ISSUER, DevTokens
from sotay_voice.app import create_app
from sotay_voice.encode import decode_audio
from sotay_voice.settings import VoiceSettings
from sotay_voice.studio import Studio
from sotay_voice.worker import RenderWorker
from tests.voice.support import NEWS, REGULATION, Consumers, organization, published


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    database: Database, dev_tokens: DevTokens, voice_settings: VoiceSettings
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(voice_settings)
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_tokens.public_key_pem
    )
    app.state.runtime = Runtime(
        settings=voice_settings,
        database=database,
        metrics=Metrics("voice"),
        token_verifier=verifier,
    )
    app.state.token_verifier = verifier
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://voice"
    ) as c:
        yield c


@dataclass
class Rendered:
    document_id: uuid.UUID
    province: uuid.UUID
    cell: uuid.UUID
    opus: bytes


@pytest_asyncio.fixture(loop_scope="session")
async def rendered(database: Database, studio: Studio, consumers: Consumers) -> Rendered:
    province, cell = uuid.uuid4(), uuid.uuid4()
    await consumers.deliver(organization(province, None))
    await consumers.deliver(organization(cell, province))
    event = published(REGULATION, scope_org=province)
    await consumers.deliver(event)
    await RenderWorker(database, studio).run_next()
    async with database.connection() as conn:
        key = await conn.fetchval(
            "SELECT r.files->'opus'->>'key' FROM renders r JOIN documents d ON d.render_id = r.id"
            " WHERE d.id = $1",
            event.document_id,
        )
    return Rendered(event.document_id, province, cell, await studio.audio_store.get(key))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_whole_file_and_byte_ranges(
    client: httpx.AsyncClient, rendered: Rendered, dev_tokens: DevTokens
) -> None:
    listener = bearer(dev_tokens.member(uuid.uuid4(), organization_id=rendered.cell))
    url = f"/documents/{rendered.document_id}/audio"
    size = len(rendered.opus)
    whole = await client.get(url, headers=listener)
    assert whole.status_code == 200
    assert whole.content == rendered.opus
    assert whole.headers["content-type"] == "audio/ogg; codecs=opus"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(size)
    etag = whole.headers["etag"]

    cases = {
        "bytes=0-99": (0, 99),
        "bytes=100-": (100, size - 1),
        "bytes=-50": (size - 50, size - 1),
        f"bytes=10-{size + 500}": (10, size - 1),
    }
    for header, (start, end) in cases.items():
        part = await client.get(url, headers=listener | {"Range": header})
        assert part.status_code == 206, header
        assert part.content == rendered.opus[start : end + 1]
        assert part.headers["content-range"] == f"bytes {start}-{end}/{size}"

    beyond = await client.get(url, headers=listener | {"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert beyond.json()["code"] == "range_not_satisfiable"
    stale = await client.get(url, headers=listener | {"Range": "bytes=0-9", "If-Range": '"x"'})
    assert (stale.status_code, len(stale.content)) == (200, size)
    fresh = await client.get(url, headers=listener | {"Range": "bytes=0-9", "If-Range": etag})
    assert (fresh.status_code, fresh.content) == (206, rendered.opus[:10])
    head = await client.head(url, headers=listener | {"Range": "bytes=0-9"})
    assert (head.status_code, head.headers["content-length"], head.content) == (206, "10", b"")

    mp3 = await client.get(url, params={"format": "mp3"}, headers=listener)
    assert mp3.headers["content-type"] == "audio/mpeg"
    assert decode_audio(mp3.content).duration_s > 5
    assert (await client.get(url, params={"format": "wav"}, headers=listener)).status_code == 422


async def test_status_chapters_and_stream_of_a_rendered_document(
    client: httpx.AsyncClient, rendered: Rendered, dev_tokens: DevTokens
) -> None:
    listener = bearer(dev_tokens.member(uuid.uuid4(), organization_id=rendered.cell))
    base = f"/documents/{rendered.document_id}/audio"
    status = (await client.get(f"{base}/status", headers=listener)).json()
    assert status["status"] == "succeeded"
    assert status["status_label"] == "Đã có âm thanh"
    assert status["chunks_done"] == status["chunks_total"] > 1
    assert status["progress"] == 1.0
    assert {f["format"]: f["size_bytes"] for f in status["files"]}["opus"] == len(rendered.opus)
    chapters = (await client.get(f"{base}/chapters", headers=listener)).json()
    assert chapters["ready"] is True
    assert [c["anchor"] for c in chapters["chapters"]] == ["dieu-1", "dieu-2"]
    assert chapters["chapters"][1]["offset_seconds"] < chapters["duration_seconds"]
    streamed = await client.get(f"{base}/stream", headers=listener)
    assert streamed.status_code == 200
    assert streamed.content == rendered.opus
    assert streamed.headers["x-audio-status"] == "succeeded"


async def test_a_signed_link_plays_without_a_token_and_only_what_it_names(
    client: httpx.AsyncClient, rendered: Rendered, dev_tokens: DevTokens
) -> None:
    listener = bearer(dev_tokens.member(uuid.uuid4(), organization_id=rendered.cell))
    base = f"/documents/{rendered.document_id}/audio"
    link = (await client.get(f"{base}/link", headers=listener)).json()
    assert link["url"].startswith(f"{base}?format=opus&expires=")
    played = await client.get(link["url"], headers={"Range": "bytes=0-99"})
    assert (played.status_code, played.content) == (206, rendered.opus[:100])
    assert (await client.get(link["stream_url"])).content == rendered.opus
    mp3_instead = link["url"].replace("format=opus", "format=mp3")
    tampered = link["url"][:-1] + ("0" if link["url"][-1] != "0" else "1")
    for url in (
        mp3_instead,
        tampered,
        link["url"].replace(str(rendered.document_id), str(uuid.uuid4())),
    ):
        refused = await client.get(url)
        assert (refused.status_code, refused.json()["code"]) == (403, "audio_link_invalid"), url
    outsider = bearer(dev_tokens.member(uuid.uuid4(), organization_id=uuid.uuid4()))
    assert (await client.get(f"{base}/link", headers=outsider)).status_code == 403


async def test_callers_outside_the_scope_or_without_a_token_are_refused(
    client: httpx.AsyncClient, rendered: Rendered, dev_tokens: DevTokens
) -> None:
    url = f"/documents/{rendered.document_id}/audio"
    assert (await client.get(url)).status_code == 401
    outsider = bearer(dev_tokens.member(uuid.uuid4(), organization_id=uuid.uuid4()))
    refused = await client.get(url, headers=outsider)
    assert (refused.status_code, refused.json()["code"]) == (403, "audio_out_of_scope")
    missing = await client.get(f"/documents/{uuid.uuid4()}/audio/status", headers=outsider)
    assert (missing.status_code, missing.json()["code"]) == (404, "audio_not_found")


async def test_audio_not_rendered_yet_is_a_conflict_with_its_progress(
    client: httpx.AsyncClient, consumers: Consumers, dev_tokens: DevTokens
) -> None:
    event = published(NEWS, kind=DocumentKind.ANNOUNCEMENT)
    await consumers.deliver(event)
    admin = bearer(dev_tokens.system_admin())
    waiting = await client.get(f"/documents/{event.document_id}/audio", headers=admin)
    assert (waiting.status_code, waiting.json()["code"]) == (409, "audio_not_ready")
    status = (
        await client.get(f"/documents/{event.document_id}/audio/status", headers=admin)
    ).json()
    assert (status["status"], status["progress"], status["files"]) == ("pending", 0.0, [])


async def test_administrators_re_render_with_another_voice_and_see_the_voices(
    client: httpx.AsyncClient, rendered: Rendered, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.committee_admin(rendered.province))
    url = f"/documents/{rendered.document_id}/audio/render"
    body = {
        "engine": "piper",
        "voice": "en_US-joe-medium",
        "rate": 0.9,
        "pauses": {"heading_s": 1.5},
    }
    accepted = await client.post(url, json=body, headers=admin)
    assert accepted.status_code == 202, accepted.text
    assert (accepted.json()["engine"], accepted.json()["voice"]) == ("piper", "en_US-joe-medium")
    assert accepted.json()["status"] == "pending"
    invalid = await client.post(url, json={"rate": 5}, headers=admin)
    assert invalid.status_code == 422
    member = bearer(dev_tokens.member(uuid.uuid4(), organization_id=rendered.cell))
    assert (await client.post(url, json={}, headers=member)).status_code == 403
    voices = (await client.get("/voices", headers=admin)).json()
    assert "en_US-joe-medium" in voices["voices"]["piper"]
    assert voices["kind_profiles"]["news"]["engine"] == "piper"
    assert (await client.get("/voices", headers=member)).status_code == 403


@pytest.mark.parametrize("path", ["/openapi.json", "/asyncapi.json"])
async def test_the_contracts_are_documented(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200
