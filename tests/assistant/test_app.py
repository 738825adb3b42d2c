"""The background task of the service, on a schema of its own: with one index shared by two
replicas (as with a Qdrant server), one indexes and the other follows its changes."""

import asyncio
import json
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from sotay_assistant.answer import NoPhraser, default_abstention
from sotay_assistant.api import ENGINE
from sotay_assistant.app import run_assistant
from sotay_assistant.dense import DenseEncoder
from sotay_assistant.events import on_document_published
from sotay_assistant.index import PassageIndex
from sotay_assistant.retrieval import KnowledgeBase
from sotay_assistant.service import Engine, EngineSlot
from sotay_assistant.settings import AssistantSettings
from sotay_common.metrics import Metrics
from sotay_common.runtime import Runtime
from sotay_devstack.pytest_plugin import FreshSchema
from tests.assistant.support import deliver, small_rules

pytestmark = pytest.mark.xdist_group("assistant-model")


def replica(fresh: FreshSchema, knowledge: KnowledgeBase, store: Path) -> Runtime:
    settings = AssistantSettings(
        database_url=fresh.dsn,
        database_schema=fresh.schema,
        content_store_url=store.as_uri(),
        index_poll_interval_s=0.2,
    )
    runtime = Runtime(
        settings=settings,
        database=fresh.database,
        metrics=Metrics("assistant"),
        token_verifier=None,
    )
    runtime.state[ENGINE] = EngineSlot(Engine(knowledge, default_abstention(), NoPhraser()))
    return runtime


async def test_one_replica_indexes_and_the_other_reloads_what_it_wrote(
    fresh_database: FreshSchema, encoder: DenseEncoder, tmp_path: Path
) -> None:
    shared = QdrantClient(location=":memory:")
    replicas = [
        KnowledgeBase(PassageIndex(shared, payload_indexes=False), encoder) for _ in range(2)
    ]
    tasks = [
        asyncio.create_task(run_assistant(replica(fresh_database, kb, tmp_path / "store")))
        for kb in replicas
    ]
    try:
        await deliver(fresh_database.database, on_document_published, small_rules())
        async with asyncio.timeout(60):
            while any(kb.statistics.passages != 4 for kb in replicas):
                await asyncio.sleep(0.1)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    async with fresh_database.database.connection() as conn:
        published = await conn.fetch(
            "SELECT payload FROM outbox WHERE event_type = 'assistant.reindexed.v1'"
        )
    assert [json.loads(bytes(r["payload"]))["chunk_count"] for r in published] == [4]
    for kb in replicas:
        assert kb.search("Đảng viên ốm đau có được miễn đảng phí không?").hits[0].chunk.anchor == (
            "dieu-2-khoan-2"
        )
    shared.close()
