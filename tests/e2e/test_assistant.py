"""The assistant as a real process: documents arrive as CloudEvents on Kafka (as the content
service publishes them), assistant.reindexed.v1 is read back with a raw consumer, questions
go over HTTP."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from sotay_common.events import Event, EventEnvelope
from sotay_common.events.assistant import AssistantReindexedV1
from sotay_common.events.content import DocumentArchivedV1
from sotay_devstack.pytest_plugin import E2EStack, collect_records, record_headers
from sotay_devstack.services import ServiceProcess
from tests.assistant.support import demo_document, published_event
from tests.e2e.support import call

pytestmark = pytest.mark.e2e


async def publish(bootstrap: str, event: Event, *, idempotent: bool) -> None:
    """Puts `event` on its topic as the content service's outbox relay would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=idempotent)
    await producer.start()
    try:
        headers = EventEnvelope.for_event(event, source="/services/content").headers()
        await producer.send_and_wait(
            event.topic,
            key=event.aggregate_id.encode(),
            value=event.to_json_bytes(),
            headers=[(name, value.encode()) for name, value in headers.items()],
        )
    finally:
        await producer.stop()


def reindexed(e2e: E2EStack, document_id: uuid.UUID, count: int) -> list[AssistantReindexedV1]:
    records = asyncio.run(
        collect_records(
            e2e.servers.kafka_bootstrap,
            "assistant.index",
            where=lambda r: r.key == str(document_id).encode(),
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
def test_a_published_regulation_is_cited_until_it_is_archived(
    e2e: E2EStack, tmp_path: Path
) -> None:
    assistant = e2e.start(
        "assistant",
        env={
            "ASSISTANT_QDRANT_PATH": str(tmp_path / "qdrant"),
            "ASSISTANT_CONTENT_STORE_URL": (tmp_path / "content-store").as_uri(),
        },
    )
    idempotent = e2e.servers.idempotent_producer
    event = published_event(demo_document("quy-dinh-sinh-hoat-chi-bo"))
    event = event.model_copy(update={"document_id": uuid.uuid4()})
    document = str(event.document_id)
    asyncio.run(publish(e2e.servers.kafka_bootstrap, event, idempotent=idempotent))
    [indexed] = reindexed(e2e, event.document_id, 1)
    assert (indexed.version, indexed.content_hash) == (1, event.content_hash)
    assert indexed.chunk_count > 20
    assert not indexed.removed

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

    archived = DocumentArchivedV1(
        document_id=event.document_id, version=1, archived_at=datetime.now(UTC)
    )
    asyncio.run(publish(e2e.servers.kafka_bootstrap, archived, idempotent=idempotent))
    removal = reindexed(e2e, event.document_id, 2)[-1]
    assert (removal.removed, removal.chunk_count) == (True, 0)
    after = ask(assistant, member, "Sổ biên bản sinh hoạt chi bộ được lưu trữ bao lâu?")
    assert after["abstained"]
    assert document not in json.dumps(after)
