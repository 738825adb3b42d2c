"""The members service as a real process, its events seen by a raw Kafka consumer."""

import asyncio
import uuid
from pathlib import Path

import pytest

from sotay_common.events.members import MemberCreatedV1
from sotay_devstack.pytest_plugin import E2EStack, collect_records, record_headers
from sotay_devstack.testenv import make_broker
from tests.e2e.support import call, create_tree, member_body, wait_for
from tests.members.support_files import csv_bytes, row

pytestmark = pytest.mark.e2e


def card_numbers(count: int) -> list[str]:
    base = uuid.uuid4().int % 10**8
    return [f"{base:08d}{i:04d}" for i in range(count)]


@pytest.mark.smoke
def test_a_member_created_over_http_is_seen_on_kafka_as_a_cloudevent(e2e: E2EStack) -> None:
    members = e2e.start("members")
    admin = e2e.tokens.system_admin()
    tree = create_tree(members, admin, uuid.uuid4().hex[:6] + ".")
    [card] = card_numbers(1)
    response = call(members, "POST", "/members", admin, json=member_body(tree["cell_a"], card))
    assert response.status_code == 201, response.text
    member_id = response.json()["id"]

    records = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "members.member",
            where=lambda r: r.key == member_id.encode(),
            until=lambda found: len(found) >= 1,
        )
    )
    assert len(records) == 1
    headers = record_headers(records[0])
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "member.created.v1"
    assert headers["ce_source"] == "/services/members"
    assert headers["ce_subject"] == member_id
    assert headers["content-type"] == "application/json"
    uuid.UUID(headers["ce_id"])
    event = MemberCreatedV1.model_validate_json(records[0].value)
    assert (str(event.member_id), event.party_card_number, event.full_name) == (
        member_id,
        card,
        "Phan Văn Đức",
    )


def test_events_written_while_kafka_is_down_all_arrive_once(e2e: E2EStack, tmp_path: Path) -> None:
    broker = make_broker(e2e.servers.broker_kind, tmp_path / "broker")  # a broker of its own
    broker.start()
    try:
        members = e2e.start("members", kafka_bootstrap=broker.bootstrap_servers)
        admin = e2e.tokens.system_admin()
        tree = create_tree(members, admin, uuid.uuid4().hex[:6] + ".")
        broker.stop()
        created = []
        for card in card_numbers(200):
            response = call(
                members, "POST", "/members", admin, json=member_body(tree["cell_b"], card)
            )
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])
        ready = call(members, "GET", "/readyz", admin).json()
        assert ready["checks"] == {"database": "up", "broker": "down"}
        broker.start()
        wanted = {m.encode() for m in created}
        records = asyncio.run(
            collect_records(
                broker.bootstrap_servers,
                "members.member",
                where=lambda r: r.key in wanted,
                until=lambda found: len(found) >= 200,
                timeout=120,
            )
        )
    finally:
        broker.stop()
    event_ids = [record_headers(r)["ce_id"] for r in records]
    assert {r.key for r in records} == wanted
    assert len(event_ids) == len(set(event_ids)) == 200


@pytest.mark.smoke
def test_an_import_with_bad_rows_changes_nothing_and_reports_them(e2e: E2EStack) -> None:
    members = e2e.start("members")
    admin = e2e.tokens.system_admin()
    prefix = uuid.uuid4().hex[:6] + "."
    create_tree(members, admin, prefix)
    good, bad = card_numbers(2)
    content = csv_bytes(
        [
            row(1, good, prefix + "T.1.1"),
            row(2, bad[:8], prefix + "T.1.1"),
            row(3, bad, prefix + "NOPE"),
        ]
    )
    submitted = call(
        members,
        "POST",
        "/members/imports",
        admin,
        files={"file": ("dang-vien.csv", content, "text/csv")},
    )
    assert submitted.status_code == 202, submitted.text
    location = submitted.headers["location"]
    job = wait_for(
        lambda: (
            (j := call(members, "GET", location, admin).json())["status"]
            not in ("pending", "running")
            and j
        )
    )
    assert job["status"] == "rejected"
    assert job["error_count"] == 2
    errors = call(members, "GET", location + "/errors", admin).json()
    assert [(e["row_number"], e["field"], e["code"]) for e in errors] == [
        (3, "party_card_number", "invalid_party_card_number"),
        (4, "organization_code", "organization_not_found"),
    ]
    found = call(members, "GET", "/members", admin, params={"q": good}).json()["items"]
    assert found == []


def test_a_secretary_cannot_read_or_change_a_member_of_another_cell(e2e: E2EStack) -> None:
    members = e2e.start("members", wait_broker=False)
    admin = e2e.tokens.system_admin()
    tree = create_tree(members, admin, uuid.uuid4().hex[:6] + ".")
    [card] = card_numbers(1)
    other = call(members, "POST", "/members", admin, json=member_body(tree["cell_b"], card)).json()
    secretary = e2e.tokens.cell_secretary(uuid.UUID(tree["cell_a"]))
    read = call(members, "GET", f"/members/{other['id']}", secretary)
    change = call(members, "PATCH", f"/members/{other['id']}", secretary, json={"email": "x@y.vn"})
    assert (read.status_code, change.status_code) == (403, 403)
    assert call(members, "GET", f"/members/{other['id']}", admin).json()["email"] is None
