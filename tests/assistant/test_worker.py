"""The index worker on a schema of its own (real commits), with the real model: requests the
consumers recorded become passages, assistant.reindexed.v1 goes to the outbox, failures are
retried or given up, and a lost index is rebuilt."""

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from sotay_assistant.dense import DenseEncoder
from sotay_assistant.events import on_document_archived, on_document_published
from sotay_assistant.index import PassageIndex
from sotay_assistant.repository import CHANGED_CHANNEL
from sotay_assistant.retrieval import KnowledgeBase
from sotay_assistant.service import IndexWorker
from sotay_common.events.content import DocumentArchivedV1
from sotay_common.storage import FileBlobStore
from sotay_devstack.pytest_plugin import FreshSchema
from tests.assistant.support import SMALL_RULES, deliver, small_rules, write_index_of_layout_1
from tests.assistant.test_events import NOW

pytestmark = pytest.mark.xdist_group("assistant-model")


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "content-store")


@pytest_asyncio.fixture(loop_scope="session")
async def worker(
    fresh_database: FreshSchema, empty_knowledge: KnowledgeBase, store: FileBlobStore
) -> AsyncIterator[IndexWorker]:
    yield IndexWorker(fresh_database.database, empty_knowledge, store, max_attempts=2)


async def reindexed_events(fresh: FreshSchema) -> list[dict[str, Any]]:
    async with fresh.database.connection() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM outbox WHERE event_type = 'assistant.reindexed.v1' ORDER BY id"
        )
    return [json.loads(bytes(r["payload"])) for r in rows]


async def document_row(fresh: FreshSchema, document_id: uuid.UUID) -> dict[str, Any]:
    async with fresh.database.connection() as conn:
        found = await conn.fetchrow("SELECT * FROM documents WHERE document_id = $1", document_id)
    assert found is not None
    return dict(found)


async def test_a_recorded_publication_is_indexed_once_then_withdrawn_on_archive(
    worker: IndexWorker, fresh_database: FreshSchema
) -> None:
    database, knowledge = fresh_database.database, worker.knowledge
    event = small_rules()
    await deliver(database, on_document_published, event)
    assert await worker.run_next()
    assert not await worker.run_next()
    done = await document_row(fresh_database, event.document_id)
    assert (done["job_status"], done["indexed_version"], done["chunk_count"]) == ("done", 1, 4)
    assert done["indexed_hash"] == event.content_hash
    [published] = await reindexed_events(fresh_database)
    assert published["document_id"] == str(event.document_id)
    assert (published["chunk_count"], published["removed"]) == (4, False)
    best = knowledge.search("Đảng viên ốm đau có được miễn đảng phí không?").hits[0]
    assert best.chunk.anchor == "dieu-2-khoan-2"

    republished = small_rules(version=2, document_id=event.document_id)
    await deliver(database, on_document_published, republished)
    assert await worker.run_next()
    assert len(await reindexed_events(fresh_database)) == 1  # same content: nothing to tell
    indexed = knowledge.indexed_document(event.document_id)
    assert indexed is not None
    assert indexed.version == 2

    archived = DocumentArchivedV1(document_id=event.document_id, version=2, archived_at=NOW)
    await deliver(database, on_document_archived, archived)
    assert await worker.run_next()
    removal = (await reindexed_events(fresh_database))[-1]
    assert (removal["removed"], removal["chunk_count"], removal["version"]) == (True, 0, 2)
    assert knowledge.indexed_document(event.document_id) is None
    assert knowledge.search("miễn đảng phí").hits == []


async def test_a_text_sent_by_reference_is_read_from_the_content_store(
    worker: IndexWorker, fresh_database: FreshSchema, store: FileBlobStore
) -> None:
    inline = small_rules()
    key = f"documents/{inline.document_id}/versions/1/text.txt"
    await store.put(key, (inline.text or "").encode("utf-8"))
    by_reference = inline.model_copy(update={"text": None, "text_ref": key})
    await deliver(fresh_database.database, on_document_published, by_reference)
    assert await worker.run_next()
    assert (await document_row(fresh_database, inline.document_id))["chunk_count"] == 4


async def test_failures_are_retried_or_given_up_and_a_stalled_job_is_taken_over(
    worker: IndexWorker, fresh_database: FreshSchema
) -> None:
    database = fresh_database.database
    missing = small_rules().model_copy(update={"text": None, "text_ref": "documents/nowhere.txt"})
    await deliver(database, on_document_published, missing)
    assert await worker.run_next()
    retried = await document_row(fresh_database, missing.document_id)
    assert (retried["job_status"], retried["attempts"]) == ("pending", 1)
    assert "ObjectNotFound" in retried["error"]
    assert not await worker.run_next()  # not due yet

    wrong_length = small_rules()
    wrong_length = wrong_length.model_copy(update={"text_length": wrong_length.text_length + 1})
    await deliver(database, on_document_published, wrong_length)
    assert await worker.run_next()
    failed = await document_row(fresh_database, wrong_length.document_id)
    assert failed["job_status"] == "failed"
    assert failed["error"].startswith("document_text_length_mismatch")

    stalled = small_rules()
    await deliver(database, on_document_published, stalled)
    async with database.transaction() as tx:  # a worker claimed it, then its process died
        await tx.conn.execute(
            "UPDATE documents SET job_status = 'running', attempts = 1,"
            " heartbeat_at = now() - interval '5 minutes' WHERE document_id = $1",
            stalled.document_id,
        )
    assert await worker.run_next()
    taken_over = await document_row(fresh_database, stalled.document_id)
    assert (taken_over["job_status"], taken_over["attempts"]) == ("done", 2)


async def test_an_index_that_lost_its_documents_is_rebuilt_from_the_recorded_events(
    worker: IndexWorker, fresh_database: FreshSchema, encoder: DenseEncoder
) -> None:
    event = small_rules(body=SMALL_RULES.replace("mùng 3", "mùng 5"))
    await deliver(fresh_database.database, on_document_published, event)
    assert await worker.run_next()
    assert await worker.reconcile() == 0
    worker.knowledge = KnowledgeBase(PassageIndex.connect(), encoder)  # a new, empty folder
    stray = small_rules()  # indexed before the database was reset
    worker.knowledge.index_document(stray)
    assert await worker.reconcile() == 2
    assert worker.knowledge.indexed_document(stray.document_id) is None
    assert await worker.run_next()
    assert worker.knowledge.indexed_document(event.document_id) is not None
    assert len(await reindexed_events(fresh_database)) == 2
    worker.knowledge.index.close()


async def test_an_index_of_an_earlier_layout_answers_until_the_indexer_has_rebuilt_it(
    fresh_database: FreshSchema, store: FileBlobStore, encoder: DenseEncoder, tmp_path: Path
) -> None:
    database, event = fresh_database.database, small_rules()
    await deliver(database, on_document_published, event)
    earlier = IndexWorker(database, KnowledgeBase(PassageIndex.connect(), encoder), store)
    assert await earlier.run_next()  # recorded as indexed, by the earlier version
    earlier.knowledge.index.close()
    folder = str(tmp_path / "qdrant")
    write_index_of_layout_1(folder, encoder, event)
    knowledge = KnowledgeBase(PassageIndex.connect(path=folder), encoder)
    worker = IndexWorker(database, knowledge, store)
    listener = await fresh_database.connect()
    changes: list[str] = []
    await listener.add_listener(
        fresh_database.schema + CHANGED_CHANNEL, lambda *args: changes.append(args[-1])
    )

    assert not await worker.finish_rebuild()  # the document is not in the new collection yet
    assert knowledge.rebuilding
    assert knowledge.search("họp chi bộ vào ngày nào").hits
    assert await worker.run_next()  # re-indexed into the new collection
    assert await worker.finish_rebuild()
    assert not knowledge.index.rebuilding  # (not the property: mypy keeps it narrowed)
    assert knowledge.indexed_document(event.document_id) is not None
    assert knowledge.search("họp chi bộ vào ngày nào").hits[0].latent > 0
    assert not await worker.finish_rebuild()
    await listener.execute("SELECT 1")  # let the notifications arrive
    assert "rebuilt" in changes
    await listener.close()
    knowledge.index.close()
