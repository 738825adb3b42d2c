"""The content service as a real process beside the members service (whose organisation events
it consumes), its events seen by a raw Kafka consumer."""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sotay_common.events.content import DocumentArchivedV1, DocumentPublishedV1
from sotay_content.regulations import parse_regulation, rebuild_tree
from sotay_devstack.pytest_plugin import E2EStack, collect_records, record_headers
from sotay_devstack.services import ServiceProcess
from tests.content.support import CHARTER
from tests.content.support_files import minimal_docx_parts, scanned_pdf, zip_with
from tests.e2e.support import call, create_tree, wait_for

pytestmark = pytest.mark.e2e


def start(e2e: E2EStack) -> tuple[ServiceProcess, dict[str, str]]:
    members = e2e.start("members")
    content = e2e.start("content")
    tree = create_tree(members, e2e.tokens.system_admin(), uuid.uuid4().hex[:6] + ".")
    return content, tree


def charter(scope: str) -> dict[str, Any]:
    return {
        "kind": "regulation",
        "title": CHARTER.title,
        "issuing_body": CHARTER.issuer,
        "issued_on": CHARTER.issued_on.isoformat(),
        "tags": list(CHARTER.tags),
        "scope_organization_id": scope,
        "body_format": CHARTER.body_format,
        "body": CHARTER.body,
    }


def once_known(
    request: Callable[[], httpx.Response], unknown: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """Repeats a request while its answer shows that an organisation event has not yet reached
    the content service (each organisation's events arrive in their own time)."""

    def attempt() -> httpx.Response | None:
        response = request()
        return None if unknown(response) else response

    response: httpx.Response | None = wait_for(attempt, timeout=60)
    assert response is not None, "the organisation never reached the content service"
    return response


def create_once_known(content: ServiceProcess, token: str, body: dict[str, Any]) -> httpx.Response:
    """Creates a draft as soon as the content service has heard of its organisation."""
    return once_known(
        lambda: call(content, "POST", "/documents", token, json=body),
        lambda r: r.status_code == 422 and r.json()["code"] == "organization_unknown",
    )


def read_once_known(content: ServiceProcess, token: str, document_id: str) -> httpx.Response:
    """A member's read of a document scoped above their cell: until the content service has
    heard of the cell, it cannot tell that the document's scope is one of its ancestors."""
    return once_known(
        lambda: call(content, "GET", f"/documents/{document_id}", token),
        lambda r: r.status_code == 404,
    )


@pytest.mark.smoke
def test_a_published_regulation_reaches_kafka_whole_and_its_archiving_too(
    e2e: E2EStack,
) -> None:
    content, tree = start(e2e)
    admin = e2e.tokens.system_admin()
    created = create_once_known(content, admin, charter(tree["province"]))
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]
    published = call(content, "POST", f"/documents/{document_id}/publish", admin)
    assert published.status_code == 201, published.text
    unchanged = call(content, "POST", f"/documents/{document_id}/publish", admin)
    assert (unchanged.status_code, unchanged.json()["unchanged"]) == (200, True)
    member = e2e.tokens.member(uuid.uuid4(), uuid.UUID(tree["cell_b"]))
    assert read_once_known(content, member, document_id).status_code == 200
    archived = call(content, "POST", f"/documents/{document_id}/archive", admin)
    assert archived.json()["status"] == "archived"

    records = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "content.document",
            where=lambda r: r.key == document_id.encode(),
            until=lambda found: any(
                record_headers(r)["ce_type"] == "document.archived.v1" for r in found
            ),
        )
    )
    headers = [record_headers(r) for r in records]
    assert [h["ce_type"] for h in headers] == ["document.published.v1", "document.archived.v1"]
    assert {h["ce_source"] for h in headers} == {"/services/content"}
    event = DocumentPublishedV1.model_validate_json(records[0].value)
    assert (str(event.document_id), event.version, event.kind.value) == (
        document_id,
        1,
        "regulation",
    )
    assert (str(event.scope.organization_id), event.scope.ancestor_ids) == (tree["province"], [])
    assert event.text is not None
    assert event.structure is not None
    assert rebuild_tree(event.text, event.structure) == parse_regulation(CHARTER.body)
    withdrawn = DocumentArchivedV1.model_validate_json(records[1].value)
    assert (str(withdrawn.document_id), withdrawn.version) == (document_id, 1)
    assert call(content, "GET", f"/documents/{document_id}", member).status_code == 404


@pytest.mark.smoke
def test_out_of_scope_publishing_and_bad_files_are_refused_and_store_nothing(
    e2e: E2EStack,
) -> None:
    content, tree = start(e2e)
    cell_a_admin = e2e.tokens.committee_admin(uuid.UUID(tree["cell_a"]))
    cell_b_admin = e2e.tokens.committee_admin(uuid.UUID(tree["cell_b"]))
    outside = create_once_known(content, cell_a_admin, charter(tree["cell_b"]))
    assert (outside.status_code, outside.json()["code"]) == (403, "document_out_of_scope")
    own = create_once_known(content, cell_a_admin, charter(tree["cell_a"]))
    assert own.status_code == 201, own.text
    document_id = own.json()["id"]
    refused = call(content, "POST", f"/documents/{document_id}/publish", cell_b_admin)
    assert (refused.status_code, refused.json()["code"]) == (403, "document_out_of_scope")

    form = {"kind": "regulation", "title": "Quy định", "scope_organization_id": tree["cell_a"]}
    scan = call(
        content,
        "POST",
        "/documents/upload",
        cell_a_admin,
        data=form,
        files={"file": ("quet.pdf", scanned_pdf(), "application/pdf")},
    )
    assert (scan.status_code, scan.json()["code"]) == (422, "pdf_image_only")
    bomb = zip_with({**minimal_docx_parts(), "word/document.xml": b" " * 50_000_000})
    bombed = call(
        content,
        "POST",
        "/documents/upload",
        cell_a_admin,
        data=form,
        files={"file": ("bom.docx", bomb)},
    )
    assert (bombed.status_code, bombed.json()["code"]) == (422, "file_zip_bomb")
    scripted = call(
        content,
        "POST",
        "/documents",
        cell_a_admin,
        json={"kind": "news", "title": "Tin", "body": "Chào <script>alert(1)</script>"},
    )
    assert scripted.status_code == 201, scripted.text
    assert "<script" not in scripted.json()["html"]

    drafts = call(
        content, "GET", "/documents", e2e.tokens.system_admin(), params={"status": "draft"}
    ).json()["items"]
    assert sorted(d["title"] for d in drafts) == sorted([CHARTER.title, "Tin"])
    published = call(content, "GET", "/documents", e2e.tokens.system_admin()).json()["items"]
    assert published == []
