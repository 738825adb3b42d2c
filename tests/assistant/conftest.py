"""The e5 model is loaded once per test session, and the demo corpus indexed once, in local
in-memory Qdrant; tests that use them share one xdist worker (group "assistant-model").
Service tests run on the assistant's schema and migrations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib.resources import files

import pytest

from sotay_assistant.dense import DenseEncoder
from sotay_assistant.index import PassageIndex
from sotay_assistant.memory import QuestionMemory
from sotay_assistant.retrieval import KnowledgeBase
from sotay_common.db import Migration, common_migrations, load_migrations
from tests.assistant.support import demo_events


@pytest.fixture(scope="session")
def service_schema() -> str:
    return "assistant"


@pytest.fixture(scope="session")
def service_migrations() -> Sequence[Migration]:
    return [
        *common_migrations(),
        *load_migrations("assistant", files("sotay_assistant") / "migrations"),
    ]


@pytest.fixture(scope="session")
def encoder() -> DenseEncoder:
    return DenseEncoder()


@pytest.fixture(scope="session")
def demo_knowledge(encoder: DenseEncoder) -> Iterator[KnowledgeBase]:
    """The whole demo corpus, indexed: read-only for the tests that use it."""
    knowledge = KnowledgeBase(PassageIndex.connect(), encoder)
    for event in demo_events():
        knowledge.index_document(event)
    yield knowledge
    knowledge.index.close()


@pytest.fixture
def learning(demo_knowledge: KnowledgeBase) -> Iterator[KnowledgeBase]:
    """The demo corpus with known questions of the test's own."""
    kept, demo_knowledge.memory = demo_knowledge.memory, QuestionMemory()
    yield demo_knowledge
    demo_knowledge.memory = kept


@pytest.fixture
def empty_knowledge(encoder: DenseEncoder) -> Iterator[KnowledgeBase]:
    knowledge = KnowledgeBase(PassageIndex.connect(), encoder)
    yield knowledge
    knowledge.index.close()
