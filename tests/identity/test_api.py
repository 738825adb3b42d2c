"""The HTTP API in process, on the test's rolled-back transaction, with the real models.

Every bad input of the issue gets a problem+json with its stable code, and nothing of it is
stored: not an image, a truncated file, a decompression bomb, a 50 MB upload, no face, two
faces, a face too small, no card, an expired session, a replayed nonce, a challenge done in
the wrong order."""

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import cv2
import httpx
import numpy as np
import pytest_asyncio

from sotay_common.auth import TokenVerifier
from sotay_common.db import Database
from sotay_common.metrics import Metrics
from sotay_common.runtime import Runtime
from sotay_devstack.tokens import AUDIENCE, ISSUER, DevTokens
from sotay_identity.app import create_app
from sotay_identity.components import Components
from sotay_identity.consent import CONSENT_TEXTS, EKYC_BIOMETRIC
from sotay_identity.pipeline import UploadedFrame
from tests.identity.conftest import with_settings
from tests.identity.support.cards import encode_jpeg, scene_without_card
from tests.identity.support.registration import (
    Tree,
    add_member,
    card_jpeg,
    card_truth,
    photo,
    selfie_frames,
)
from tests.identity.test_images import png_declaring
from tests.identity.test_registration import stored_files

PASSWORD = "Sông Đà mùa nước lũ"
PROBLEM = "application/problem+json"


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    database: Database, components: Components, dev_tokens: DevTokens
) -> AsyncIterator[httpx.AsyncClient]:
    # Many bad selfies in one session: each uses an attempt.
    patient = with_settings(components, ekyc_max_selfie_attempts=20, ekyc_max_card_attempts=20)
    app = create_app(patient.settings)
    app.state.identity = patient
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_tokens.public_key_pem
    )
    app.state.runtime = Runtime(
        settings=patient.settings,
        database=database,
        metrics=Metrics("identity"),
        token_verifier=verifier,
    )
    app.state.token_verifier = verifier
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://identity"
    ) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def start(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post(
        "/ekyc/sessions",
        json={
            "consent_text_version": CONSENT_TEXTS[EKYC_BIOMETRIC].version,
            "consent_given": True,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def jpeg_of(image: np.ndarray[Any, Any]) -> bytes:
    return encode_jpeg(np.ascontiguousarray(image, dtype=np.uint8))


def frames_form(
    frames: list[UploadedFrame], nonce: str
) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    data = {"nonce": nonce, "timestamps": json.dumps([f.t_ms for f in frames])}
    files = [("frames", (f"{i}.jpg", f.data, "image/jpeg")) for i, f in enumerate(frames)]
    return data, files


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["detail"]  # a Vietnamese message the member can act on
    return body


async def assert_nothing_stored(
    conn: asyncpg.Connection, components: Components, session_id: str, state: str
) -> None:
    row = await conn.fetchrow(
        "SELECT state, card_reading, image_keys, selfie_template FROM ekyc_sessions WHERE id = $1",
        session_id,
    )
    assert row is not None
    assert (row["state"], row["selfie_template"]) == (state, None)
    if state == "started":
        assert (row["card_reading"], row["image_keys"]) == (None, [])
        assert stored_files(components, uuid.UUID(session_id)) == []


async def test_bad_card_uploads_are_refused_with_their_code_and_nothing_stored(
    client: httpx.AsyncClient, components: Components, conn: asyncpg.Connection
) -> None:
    session = await start(client)
    url = f"/ekyc/sessions/{session['session_id']}/card"
    sharp = jpeg_of(photo("astronaut"))
    cases = [
        (b"%PDF-1.7 this is a document", 415, "not_an_image"),
        (sharp[: len(sharp) // 2], 422, "corrupt_image"),
        (png_declaring(30_000, 30_000), 422, "too_many_pixels"),
        (scene_without_card(7), 422, "card_not_found"),
    ]
    for content, status, code in cases:
        response = await client.post(url, files={"file": ("card.jpg", content, "image/jpeg")})
        assert_problem(response, status, code)
    await assert_nothing_stored(conn, components, session["session_id"], "started")


async def test_a_50_mb_upload_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    session = await start(client)
    huge = b"\xff\xd8\xff" + bytes(50_000_000)

    response = await client.post(
        f"/ekyc/sessions/{session['session_id']}/card",
        files={"file": ("card.jpg", huge, "image/jpeg")},
    )

    assert_problem(response, 413, "payload_too_large")


@pytest_asyncio.fixture(loop_scope="session")
async def card_read(
    client: httpx.AsyncClient, tree: Tree, conn: asyncpg.Connection
) -> dict[str, Any]:
    """A session whose card was read: ready for selfie frames."""
    member = await add_member(conn, tree.cell)
    session = await start(client)
    card = card_jpeg(card_truth(member, tree.committee), "astronaut")
    response = await client.post(
        f"/ekyc/sessions/{session['session_id']}/card",
        files={"file": ("card.jpg", card, "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    read = response.json()
    assert read["state"] == "card_read"
    assert read["fields"]["party_card_number"] == {
        "value": member.party_card_number,
        "accepted": True,
    }
    return session


def still_frames(image: np.ndarray[Any, Any], count: int = 6) -> list[UploadedFrame]:
    data = jpeg_of(image)
    return [UploadedFrame(data, t_ms) for t_ms in range(0, count * 100, 100)]


def face_too_small() -> np.ndarray[Any, Any]:
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[100:220, 200:320] = cv2.resize(photo("astronaut"), (120, 120))
    return canvas


def two_faces() -> np.ndarray[Any, Any]:
    return np.hstack([photo("astronaut"), cv2.resize(photo("hopper"), (437, 512))])


async def test_bad_selfies_are_refused_with_their_code_and_nothing_stored(
    client: httpx.AsyncClient,
    card_read: dict[str, Any],
    components: Components,
    conn: asyncpg.Connection,
) -> None:
    session_id = card_read["session_id"]
    url = f"/ekyc/sessions/{session_id}"
    challenge = card_read["challenge"]
    scene = cv2.imdecode(np.frombuffer(scene_without_card(3), np.uint8), cv2.IMREAD_COLOR)
    not_a_picture = UploadedFrame(b"selfie.txt: not a picture", 0)
    # each case makes its frames for the challenge of the moment (a new one after each failure)
    cases: list[tuple[Callable[[list[str]], list[UploadedFrame]], int, str]] = [
        (lambda _: still_frames(scene), 422, "no_face"),
        (lambda _: still_frames(two_faces()), 422, "multiple_faces"),
        (lambda _: still_frames(face_too_small()), 422, "face_too_small"),
        (lambda steps: selfie_frames("astronaut", steps[::-1]), 422, "wrong_order"),
        (lambda _: [not_a_picture, *still_frames(photo("astronaut"))], 415, "not_an_image"),
    ]
    for make_frames, status, code in cases:
        data, files = frames_form(make_frames(challenge["steps"]), challenge["nonce"])
        response = await client.post(f"{url}/selfie", data=data, files=files)
        body = assert_problem(response, status, code)
        assert body["attempts_left"] >= 1
        # the nonce was used up: sending it again is a replay
        replayed = await client.post(f"{url}/selfie", data=data, files=files)
        assert_problem(replayed, 409, "replayed_nonce")
        renewed = await client.post(f"{url}/challenge")
        assert renewed.status_code == 200, renewed.text
        challenge = renewed.json()["challenge"]
        await assert_nothing_stored(conn, components, session_id, "card_read")


async def test_a_selfie_after_the_deadline_is_refused(
    client: httpx.AsyncClient, card_read: dict[str, Any], conn: asyncpg.Connection
) -> None:
    session_id = card_read["session_id"]
    await conn.execute(
        "UPDATE ekyc_sessions SET deadline = now() - interval '1 second' WHERE id = $1", session_id
    )
    challenge = card_read["challenge"]
    data, files = frames_form(selfie_frames("astronaut", challenge["steps"]), challenge["nonce"])

    response = await client.post(f"/ekyc/sessions/{session_id}/selfie", data=data, files=files)

    assert_problem(response, 410, "session_expired")


async def test_a_member_registers_over_http_then_signs_in_and_refreshes(
    client: httpx.AsyncClient, card_read: dict[str, Any], conn: asyncpg.Connection
) -> None:
    session_id = card_read["session_id"]
    challenge = card_read["challenge"]
    data, files = frames_form(selfie_frames("astronaut", challenge["steps"]), challenge["nonce"])

    response = await client.post(f"/ekyc/sessions/{session_id}/selfie", data=data, files=files)

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["state"], result["outcome"], result["reasons"]) == ("decided", "verified", [])
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/accounts/me", headers=bearer(result["tokens"]["access_token"]))
    assert me.status_code == 200, me.text
    assert (me.json()["id"], me.json()["roles"]) == (result["account_id"], ["member"])
    assert me.json()["face_template_stored"] is True
    card_number = await conn.fetchval(
        "SELECT card_number FROM ekyc_sessions WHERE id = $1", session_id
    )
    signed_in = await client.post("/auth/login", json={"login": card_number, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    refreshed = await client.post(
        "/auth/refresh", json={"refresh_token": signed_in.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200
    status = await client.get(f"/ekyc/sessions/{session_id}")
    assert status.json()["outcome"] == "verified"


async def test_a_locked_login_says_when_to_retry(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        wrong = await client.post(
            "/auth/login", json={"login": "0900000001", "password": "sai mật khẩu"}
        )
        assert_problem(wrong, 401, "invalid_credentials")

    locked = await client.post(
        "/auth/login", json={"login": "0900000001", "password": "sai mật khẩu"}
    )

    body = assert_problem(locked, 429, "login_locked")
    assert int(locked.headers["retry-after"]) == body["retry_after_s"] > 0


async def test_the_jwks_and_the_consent_text_are_public(client: httpx.AsyncClient) -> None:
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert [key["kid"] for key in jwks["keys"]] == ["dev"]
    text = (await client.get(f"/consents/texts/{EKYC_BIOMETRIC}")).json()
    assert text["version"] == CONSENT_TEXTS[EKYC_BIOMETRIC].version
    assert "sinh trắc học" in text["text"]
    assert (await client.get("/accounts/me")).status_code == 401


async def test_reviews_are_for_committee_admins(
    client: httpx.AsyncClient, dev_tokens: DevTokens, tree: Tree
) -> None:
    admin = bearer(dev_tokens.committee_admin(tree.district.id))
    member = bearer(dev_tokens.member(uuid.uuid4(), tree.cell.id))

    assert (await client.get("/ekyc/reviews", headers=admin)).json() == []
    assert_problem(await client.get("/ekyc/reviews", headers=member), 403, "reviewers_only")
