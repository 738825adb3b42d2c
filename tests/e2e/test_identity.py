"""The identity and members services as real processes: a member created through the members
API registers by eKYC over HTTP (a generated photo of their card with a real face on it, selfie
frames of that face doing the challenge), member.verified.v1 is seen on Kafka by a raw consumer,
and the member's own token is accepted by the members service, which verifies it through
identity's JWKS."""

import asyncio
import base64
import json
import os
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from sotay_common.events import topics
from sotay_common.events.identity import MemberVerifiedV1
from sotay_common.events.members import MemberStatus
from sotay_devstack.pytest_plugin import E2EStack, collect_records, record_headers
from sotay_devstack.services import ServiceProcess
from sotay_identity.consent import CONSENT_TEXTS, EKYC_BIOMETRIC
from sotay_identity.matching import MemberRecord
from tests.e2e.support import call, create_tree, member_body, wait_for
from tests.identity.support.registration import (
    card_jpeg,
    card_number,
    card_truth,
    selfie_frames,
)

pytestmark = pytest.mark.e2e

PASSWORD = "Đồng lúa chín vàng 1975"
COMMITTEE = "Tỉnh ủy Thanh Bình"  # the card issuer of create_tree's province


def start_identity(e2e: E2EStack, folder: Path, **settings: str) -> ServiceProcess:
    """Identity signs with the dev key under its kid, as make run does: dev tokens and
    identity's tokens verify alike."""
    env = {
        "IDENTITY_SIGNING_KEY_PEM": e2e.tokens.private_key_pem,
        "IDENTITY_SIGNING_KEY_ID": "dev",
        "IDENTITY_TEMPLATE_KEY": base64.b64encode(os.urandom(32)).decode(),
        "IDENTITY_STORAGE_URL": (folder / "identity-store").as_uri(),
        "IDENTITY_READ_MODEL_GROUP": f"identity.member-read-model.{uuid.uuid4().hex[:8]}",
        **{f"IDENTITY_{name.upper()}": value for name, value in settings.items()},
    }
    return e2e.start("identity", env=env)


def start_members_on_jwks(e2e: E2EStack, identity: ServiceProcess) -> ServiceProcess:
    return e2e.start(
        "members",
        env={
            "MEMBERS_AUTH_PUBLIC_KEY_PEM": "",
            "MEMBERS_AUTH_JWKS_URL": f"{identity.url}/.well-known/jwks.json",
        },
    )


def create_member(members: ServiceProcess, admin: str) -> MemberRecord:
    tree = create_tree(members, admin, uuid.uuid4().hex[:6] + ".")
    response = call(
        members, "POST", "/members", admin, json=member_body(tree["cell_a"], card_number())
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return MemberRecord(
        member_id=uuid.UUID(body["id"]),
        version=body["version"],
        organization_id=uuid.UUID(body["organization"]["id"]),
        full_name=body["full_name"],
        date_of_birth=date.fromisoformat(body["date_of_birth"]),
        party_card_number=body["party_card_number"],
        status=MemberStatus(body["status"]),
        admission_date=date.fromisoformat(body["admission_date"]),
        official_date=date.fromisoformat(body["official_date"]),
        positions=(),
        photo_ref=None,
    )


def wait_until_identity_knows(identity: ServiceProcess, admin: str, member_id: uuid.UUID) -> None:
    """Identity learns of members from Kafka: until then it answers member_not_found."""

    def known() -> bool:
        response = call(identity, "GET", f"/members/{member_id}/account", admin)
        return bool(response.json().get("code") == "account_not_found")

    assert wait_for(known, timeout=60), identity.logs()


def post_when_ready(identity: ServiceProcess, path: str, **kwargs: Any) -> httpx.Response:
    """The models load in the background after start-up: 503 ekyc_not_ready until then."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.post(identity.url + path, timeout=60, **kwargs)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def register(identity: ServiceProcess, member: MemberRecord) -> dict[str, Any]:
    started = httpx.post(
        f"{identity.url}/ekyc/sessions",
        json={
            "consent_text_version": CONSENT_TEXTS[EKYC_BIOMETRIC].version,
            "consent_given": True,
            "password": PASSWORD,
        },
    )
    assert started.status_code == 201, started.text
    session = started.json()
    url = f"/ekyc/sessions/{session['session_id']}"
    card = card_jpeg(card_truth(member, COMMITTEE), "astronaut")
    read = post_when_ready(identity, f"{url}/card", files={"file": ("the.jpg", card, "image/jpeg")})
    assert read.status_code == 200, read.text
    challenge = session["challenge"]
    frames = selfie_frames("astronaut", challenge["steps"])
    selfie = httpx.post(
        f"{identity.url}{url}/selfie",
        data={"nonce": challenge["nonce"], "timestamps": json.dumps([f.t_ms for f in frames])},
        files=[("frames", (f"{i}.jpg", f.data, "image/jpeg")) for i, f in enumerate(frames)],
        timeout=60,
    )
    assert selfie.status_code == 200, selfie.text
    result: dict[str, Any] = selfie.json()
    return result


@pytest.mark.smoke
def test_a_member_registers_by_ekyc_and_signs_in_to_the_members_service(
    e2e: E2EStack, tmp_path: Path
) -> None:
    identity = start_identity(e2e, tmp_path)
    members = start_members_on_jwks(e2e, identity)
    admin = e2e.tokens.system_admin()  # a dev token: verified through identity's JWKS too
    member = create_member(members, admin)
    wait_until_identity_knows(identity, admin, member.member_id)

    result = register(identity, member)

    assert (result["outcome"], result["reasons"]) == ("verified", [])
    account_id = result["account_id"]
    records = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            topics.IDENTITY_ACCOUNT,
            where=lambda r: r.key == account_id.encode(),
            until=lambda found: len(found) >= 1,
        )
    )
    assert len(records) == 1
    headers = record_headers(records[0])
    assert (headers["ce_type"], headers["ce_source"]) == (
        "member.verified.v1",
        "/services/identity",
    )
    event = MemberVerifiedV1.model_validate_json(records[0].value)
    assert (str(event.account_id), event.member_id, event.method) == (
        account_id,
        member.member_id,
        "ekyc",
    )
    assert set(json.loads(records[0].value)) == {
        "account_id",
        "member_id",
        "method",
        "scores",
        "verified_at",
    }
    signed_in = httpx.post(
        f"{identity.url}/auth/login",
        json={"login": member.party_card_number, "password": PASSWORD},
    )
    assert signed_in.status_code == 200, signed_in.text
    me = call(members, "GET", "/members/me", signed_in.json()["access_token"])
    assert me.status_code == 200, me.text
    assert (me.json()["id"], me.json()["full_name"]) == (str(member.member_id), "Phan Văn Đức")


def test_a_doubtful_registration_is_approved_by_a_committee_admin(
    e2e: E2EStack, tmp_path: Path
) -> None:
    identity = start_identity(e2e, tmp_path, face_threshold="0.99")
    members = e2e.start("members")
    admin = e2e.tokens.system_admin()
    member = create_member(members, admin)
    wait_until_identity_knows(identity, admin, member.member_id)

    result = register(identity, member)

    assert result["outcome"] == "needs_review"
    reviewer = e2e.tokens.committee_admin(member.organization_id)
    [item] = call(identity, "GET", "/ekyc/reviews", reviewer).json()
    assert item["member_id"] == str(member.member_id)
    review = call(identity, "GET", f"/ekyc/reviews/{item['session_id']}", reviewer).json()
    assert review["member"]["party_card_number"] == member.party_card_number
    assert review["images"] == ["card", "portrait", "selfie"]
    image = call(identity, "GET", f"/ekyc/reviews/{item['session_id']}/images/selfie", reviewer)
    assert (image.status_code, image.content[:3]) == (200, b"\xff\xd8\xff")
    decided = call(
        identity,
        "POST",
        f"/ekyc/reviews/{item['session_id']}/decision",
        reviewer,
        json={"approve": True},
    )
    assert decided.json()["outcome"] == "verified", decided.text
    records = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            topics.IDENTITY_ACCOUNT,
            where=lambda r: r.key == decided.json()["account_id"].encode(),
            until=lambda found: len(found) >= 1,
        )
    )
    assert [MemberVerifiedV1.model_validate_json(r.value).method for r in records] == [
        "admin_review"
    ]
