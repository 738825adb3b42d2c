"""The HTTP API in process, on the test's rolled-back transaction, with the real model."""

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import pytest_asyncio

from sotay_assistant.answer import NoPhraser, default_abstention
from sotay_assistant.api import ENGINE
from sotay_assistant.app import create_app
from sotay_assistant.retrieval import KnowledgeBase
from sotay_assistant.service import Engine, EngineSlot
from sotay_assistant.settings import AssistantSettings
from sotay_common.auth import TokenVerifier
from sotay_common.db import Database
from sotay_common.metrics import Metrics
from sotay_common.runtime import Runtime
from sotay_devstack.tokens import AUDIENCE, ISSUER, DevTokens
from tests.assistant.support import Tree, build_tree

pytestmark = pytest.mark.xdist_group("assistant-model")
Client = Callable[[EngineSlot], httpx.AsyncClient]


@pytest_asyncio.fixture(loop_scope="session")
async def tree(database: Database) -> Tree:
    async with database.transaction() as tx:
        return await build_tree(tx.conn)


@pytest_asyncio.fixture(loop_scope="session")
async def client_with(database: Database, dev_tokens: DevTokens) -> AsyncIterator[Client]:
    clients: list[httpx.AsyncClient] = []

    def make(slot: EngineSlot) -> httpx.AsyncClient:
        settings = AssistantSettings(startup_wait_s=0.1)
        app = create_app(settings)
        verifier = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_tokens.public_key_pem
        )
        runtime = Runtime(
            settings=settings,
            database=database,
            metrics=Metrics("assistant"),
            token_verifier=verifier,
        )
        runtime.state[ENGINE] = slot
        app.state.runtime = runtime
        app.state.token_verifier = verifier
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://assistant"
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(client_with: Client, demo_knowledge: KnowledgeBase) -> httpx.AsyncClient:
    return client_with(EngineSlot(Engine(demo_knowledge, default_abstention(), NoPhraser())))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_ask_rate_and_read_the_conversation_back(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    member = bearer(dev_tokens.member(uuid.uuid4(), tree.cell_a.id))
    asked = await client.post(
        "/ask", json={"question": "dang vien du bi co duoc bieu quyet khong"}, headers=member
    )
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert not body["abstained"]
    assert body["searched_question"] == "đảng viên dự bị có được biểu quyết không"
    main = body["citations"][0]
    assert set(main) >= {"document_id", "document_title", "dieu", "khoan", "text", "label"}
    assert main["see_also"] is False
    assert body["answer"] == f"Theo {main['label']}: «{main['text']}»"
    highlight = main["highlight"]
    assert main["text"][highlight["start"] : highlight["end"]] == highlight["text"]
    assert all(c["see_also"] for c in body["citations"][1:])

    rated = await client.post(
        f"/answers/{body['answer_id']}/rating", json={"useful": False}, headers=member
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"]["useful"] is False
    conversation = await client.get(f"/conversations/{body['conversation_id']}", headers=member)
    [turn] = conversation.json()["answers"]
    assert (turn["answer_id"], turn["rating"]["useful"]) == (body["answer_id"], False)
    listed = (await client.get("/conversations", headers=member)).json()
    assert [c["id"] for c in listed] == [body["conversation_id"]]

    staff = bearer(dev_tokens.committee_admin(tree.commune.id))
    [question] = (await client.get("/questions", headers=staff)).json()
    assert question["answer_id"] == body["answer_id"]
    assert question["organization_id"] == str(tree.cell_a.id)
    assert question["useful"] is False
    assert "member_id" not in question


async def test_bad_requests_get_problem_details_in_vietnamese(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    member = bearer(dev_tokens.member(uuid.uuid4(), tree.cell_a.id))
    empty = await client.post("/ask", json={"question": "  "}, headers=member)
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in empty.json()["errors"]] == ["question"]
    unknown = await client.post(
        "/ask",
        json={"question": "Ai ký quyết định?", "conversation_id": str(uuid.uuid4())},
        headers=member,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "conversation_not_found")
    assert (await client.post("/ask", json={"question": "Đảng phí?"})).status_code == 401
    staff_only = await client.get("/questions", headers=member)
    assert (staff_only.status_code, staff_only.json()["code"]) == (403, "staff_only")
    documents = await client.get("/documents", headers=bearer(dev_tokens.system_admin()))
    assert documents.status_code == 200
    staff = bearer(dev_tokens.committee_admin(tree.commune.id))
    hidden = await client.get("/documents", headers=staff)
    assert (hidden.status_code, hidden.json()["code"]) == (403, "system_admins_only")
    schema = (await client.get("/openapi.json")).json()
    assert {"/ask", "/answers/{answer_id}/rating", "/questions"} <= set(schema["paths"])


async def test_questions_get_503_while_the_model_loads_or_when_it_failed(
    client_with: Client, tree: Tree, dev_tokens: DevTokens
) -> None:
    client = client_with(EngineSlot())
    member = bearer(dev_tokens.member(uuid.uuid4(), tree.cell_a.id))
    response = await client.post("/ask", json={"question": "Đảng phí bao nhiêu?"}, headers=member)
    assert (response.status_code, response.json()["code"]) == (503, "assistant_starting")
    history = await client.get("/conversations", headers=member)
    assert (history.status_code, history.json()) == (200, [])
    broken = EngineSlot()
    broken.fail("the index folder is locked by another process")
    refused = await client_with(broken).post("/ask", json={"question": "Đảng phí?"}, headers=member)
    assert (refused.status_code, refused.json()["code"]) == (503, "assistant_unavailable")
