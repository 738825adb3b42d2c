"""The assistant as a real process beside the content service: a regulation published over
HTTP reaches it as document.published.v1, assistant.reindexed.v1 is read back with a raw
consumer, questions go over HTTP."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from sotay_common.events.assistant import AssistantReindexedV1
from sotay_content.demo import DemoDocument
from sotay_devstack.pytest_plugin import E2EStack, collect_records, record_headers
from sotay_devstack.services import ServiceProcess
from sotay_devstack.testenv import make_broker
from tests.assistant.support import demo_document
from tests.e2e.support import call

pytestmark = pytest.mark.e2e


def document_body(document: DemoDocument) -> dict[str, Any]:
    """A demo document as committee staff would enter it in the content service."""
    return {
        "kind": document.kind.value,
        "title": document.title,
        "number": document.number,
        "issuing_body": document.issuer,
        "issued_on": document.issued_on.isoformat(),
        "tags": list(document.tags),
        "body_format": document.body_format,
        "body": document.body,
    }


def reindexed(bootstrap: str, document_id: str, count: int) -> list[AssistantReindexedV1]:
    records = asyncio.run(
        collect_records(
            bootstrap,
            "assistant.index",
            where=lambda r: r.key == document_id.encode(),
            until=lambda found: len(found) >= count,
            timeout=120,
        )
    )
    assert all(record_headers(r)["ce_type"] == "assistant.reindexed.v1" for r in records)
    return [AssistantReindexedV1.model_validate_json(r.value) for r in records]


def ask(assistant: ServiceProcess, token: str, question: str) -> dict[str, object]:
    response = call(assistant, "POST", "/ask", token, json={"question": question})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def cited(answer: dict[str, object]) -> list[tuple[str, str]]:
    citations = answer["citations"]
    assert isinstance(citations, list)
    return [(c["document_id"], c["anchor"]) for c in citations]


@pytest.mark.smoke
def test_a_regulation_published_through_content_is_cited_until_it_is_archived(
    e2e: E2EStack, tmp_path: Path
) -> None:
    # A broker of its own: other tests publish documents too, which this assistant would index.
    broker = make_broker(e2e.servers.broker_kind, tmp_path / "broker")
    broker.start()
    try:
        bootstrap = broker.bootstrap_servers
        store = (tmp_path / "content-store").as_uri()
        content = e2e.start(
            "content", kafka_bootstrap=bootstrap, env={"CONTENT_STORAGE_URL": store}
        )
        assistant = e2e.start(
            "assistant",
            kafka_bootstrap=bootstrap,
            env={
                "ASSISTANT_QDRANT_PATH": str(tmp_path / "qdrant"),
                "ASSISTANT_CONTENT_STORE_URL": store,
            },
        )
        ask_publish_archive(e2e, bootstrap, content, assistant)
    finally:
        broker.stop()


def ask_publish_archive(
    e2e: E2EStack, bootstrap: str, content: ServiceProcess, assistant: ServiceProcess
) -> None:
    admin = e2e.tokens.system_admin()
    rules = demo_document("quy-dinh-sinh-hoat-chi-bo")
    created = call(content, "POST", "/documents", admin, json=document_body(rules))
    assert created.status_code == 201, created.text
    document = created.json()["id"]
    published = call(content, "POST", f"/documents/{document}/publish", admin)
    assert published.status_code == 201, published.text
    [indexed] = reindexed(bootstrap, document, 1)
    assert (indexed.version, indexed.removed) == (1, False)
    assert indexed.chunk_count > 20

    member = e2e.tokens.member(uuid.uuid4(), uuid.uuid4())
    accented = ask(assistant, member, "Sổ biên bản sinh hoạt chi bộ được lưu trữ bao lâu?")
    assert not accented["abstained"]
    assert cited(accented)[0] == (document, "dieu-7-khoan-3")
    assert str(accented["answer"]).startswith("Theo Khoản 3 Điều 7 Quy định mẫu 12-QĐ/TU: «")
    typed = ask(assistant, member, "so bien ban sinh hoat chi bo duoc luu tru bao lau")
    assert cited(typed)[0] == cited(accented)[0]
    elsewhere = ask(assistant, member, "Giá vàng hôm nay bao nhiêu một chỉ?")
    assert elsewhere["abstained"]
    assert elsewhere["citations"] == []

    archived = call(content, "POST", f"/documents/{document}/archive", admin)
    assert archived.status_code == 200, archived.text
    removal = reindexed(bootstrap, document, 2)[-1]
    assert (removal.removed, removal.chunk_count) == (True, 0)
    after = ask(assistant, member, "Sổ biên bản sinh hoạt chi bộ được lưu trữ bao lâu?")
    assert after["abstained"]
    assert document not in json.dumps(after)
