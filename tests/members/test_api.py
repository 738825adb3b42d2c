"""The HTTP API in process, on the test's rolled-back transaction."""

import csv
import io
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from sotay_common.auth import TokenVerifier
from sotay_common.db import Database
from sotay_common.metrics import Metrics
from sotay_common.runtime import Runtime
from sotay_devstack.tokens import AUDIENCE, ISSUER, DevTokens
from sotay_members.app import create_app
from sotay_members.settings import MembersSettings
from tests.members.conftest import MakeMember
from tests.members.support import Tree


@pytest_asyncio.fixture(loop_scope="session")
async def client(database: Database, dev_tokens: DevTokens) -> AsyncIterator[httpx.AsyncClient]:
    settings = MembersSettings(import_max_bytes=50_000)
    app = create_app(settings)
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_tokens.public_key_pem
    )
    app.state.runtime = Runtime(
        settings=settings, database=database, metrics=Metrics("members"), token_verifier=verifier
    )
    app.state.token_verifier = verifier
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://members"
    ) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_members_are_created_read_and_updated_with_versions(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.committee_admin(tree.district.id))
    body = {
        "full_name": "Hoàng Thị Lan",
        "date_of_birth": "1990-07-01",
        "gender": "female",
        "party_card_number": "123456789012",
        "citizen_id": "001190001234",
        "admission_date": "2015-02-03",
        "official_date": "2016-02-03",
        "status": "official",
        "organization_id": str(tree.cell_a.id),
    }
    created = await client.post("/members", json=body, headers=admin)
    assert created.status_code == 201, created.text
    member = created.json()
    assert member["status_label"] == "Chính thức"
    assert created.headers["etag"] == '"1"'
    stale = await client.patch(
        f"/members/{member['id']}",
        json={"phone": "0912345678"},
        headers=admin | {"If-Match": '"5"'},
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "version_mismatch"
    fresh = await client.patch(
        f"/members/{member['id']}",
        json={"phone": "0912345678"},
        headers=admin | {"If-Match": '"1"'},
    )
    assert fresh.json()["version"] == 2
    secretary = bearer(dev_tokens.cell_secretary(tree.cell_a.id))
    seen_by_secretary = (await client.get(f"/members/{member['id']}", headers=secretary)).json()
    assert seen_by_secretary["citizen_id"] == "********1234"


async def test_bad_input_gives_problem_details_in_vietnamese(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.system_admin())
    response = await client.post(
        "/members",
        headers=admin,
        json={
            "full_name": "A",
            "date_of_birth": "1990-02-30",
            "gender": "nam",
            "party_card_number": "12",
            "admission_date": "2015-02-03",
            "status": "official",
            "organization_id": str(tree.cell_a.id),
            "unexpected": 1,
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"full_name", "date_of_birth", "gender", "party_card_number", "unexpected"}
    assert (await client.get("/members/not-a-uuid", headers=admin)).json()[
        "code"
    ] == "validation_failed"
    assert (await client.get(f"/members/{uuid.uuid4()}", headers=admin)).json()[
        "code"
    ] == "member_not_found"
    assert (await client.get("/members")).status_code == 401


async def test_a_secretary_cannot_read_or_change_another_cell_over_http(
    client: httpx.AsyncClient, tree: Tree, make_member: MakeMember, dev_tokens: DevTokens
) -> None:
    other = await make_member(tree.cell_b)
    secretary = bearer(dev_tokens.cell_secretary(tree.cell_a.id))
    read = await client.get(f"/members/{other.id}", headers=secretary)
    change = await client.patch(
        f"/members/{other.id}", json={"phone": "0912345678"}, headers=secretary
    )
    assert (read.status_code, read.json()["code"]) == (403, "member_out_of_scope")
    assert (change.status_code, change.json()["code"]) == (403, "member_out_of_scope")


async def test_search_pages_and_export(
    client: httpx.AsyncClient, tree: Tree, make_member: MakeMember, dev_tokens: DevTokens
) -> None:
    for name in ("Vũ Văn Hải", "Vũ Thị Hải Yến", "Đỗ Văn Hai"):
        await make_member(tree.cell_a, full_name=name)
    admin = bearer(dev_tokens.committee_admin(tree.commune.id))
    first = (await client.get("/members", params={"q": "hai", "limit": 2}, headers=admin)).json()
    assert len(first["items"]) == 2
    second = (
        await client.get(
            "/members", params={"q": "hai", "cursor": first["next_cursor"]}, headers=admin
        )
    ).json()
    names = [m["full_name"] for m in first["items"] + second["items"]]
    assert sorted(names) == sorted(["Vũ Văn Hải", "Vũ Thị Hải Yến", "Đỗ Văn Hai"])
    exact = (await client.get("/members", params={"q": "Hải"}, headers=admin)).json()["items"]
    assert {m["full_name"] for m in exact} == {"Vũ Văn Hải", "Vũ Thị Hải Yến"}
    export = await client.get(
        "/members/export", params={"organization_id": str(tree.cell_a.id)}, headers=admin
    )
    assert export.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["STT", "Họ và tên", "Ngày sinh"]
    assert len(lines) == 4


async def test_uploads_are_checked_before_they_are_queued(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.system_admin())
    too_big = await client.post(
        "/members/imports", headers=admin, files={"file": ("dv.csv", b"x" * 60_000, "text/csv")}
    )
    assert (too_big.status_code, too_big.json()["code"]) == (413, "payload_too_large")
    binary = await client.post(
        "/members/imports",
        headers=admin,
        files={"file": ("dv.csv", b"\x00\x01\x02" * 10, "text/csv")},
    )
    assert (binary.status_code, binary.json()["code"]) == (415, "unsupported_file")
    queued = await client.post(
        "/members/imports",
        headers=admin,
        data={"mode": "skip_invalid"},
        files={"file": ("dv.csv", "Họ và tên\n".encode(), "text/csv")},
    )
    assert queued.status_code == 202
    job = (await client.get(queued.headers["location"], headers=admin)).json()
    assert (job["status"], job["mode"], job["progress"]) == ("pending", "skip_invalid", 0.0)
    member = bearer(dev_tokens.member(uuid.uuid4()))
    assert (await client.get(queued.headers["location"], headers=member)).status_code == 404
