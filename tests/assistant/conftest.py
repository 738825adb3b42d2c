"""The e5 model is loaded once per test session, and the demo corpus indexed once, in local
in-memory Qdrant; tests that use them share one xdist worker (group "assistant-model")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sotay_assistant.dense import DenseEncoder
from sotay_assistant.index import PassageIndex
from sotay_assistant.retrieval import KnowledgeBase
from tests.assistant.support import demo_events


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
def empty_knowledge(encoder: DenseEncoder) -> Iterator[KnowledgeBase]:
    knowledge = KnowledgeBase(PassageIndex.connect(), encoder)
    yield knowledge
    knowledge.index.close()
