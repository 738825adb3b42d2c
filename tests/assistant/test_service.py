"""Use cases on a rolled-back transaction with the real model: asking, conversations, ratings,
what staff see, and who may see which documents."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import pytest_asyncio

from sotay_assistant.answer import (
    NOT_FOUND_VI,
    NoPhraser,
    OpenAICompatiblePhraser,
    default_abstention,
)
from sotay_assistant.retrieval import KnowledgeBase
from sotay_assistant.schemas import AskRequest, RatingRequest
from sotay_assistant.service import (
    AnswerNotFound,
    AssistantService,
    ConversationNotFound,
    ConversationService,
    Engine,
    QuestionsService,
    StaffOnly,
    learn_from_ratings,
)
from sotay_common.db import Database
from tests.assistant.support import Callers, Tree, build_tree, small_rules

pytestmark = pytest.mark.xdist_group("assistant-model")


def engine_of(knowledge: KnowledgeBase) -> Engine:
    return Engine(knowledge, default_abstention(), NoPhraser())


@pytest.fixture
def service(database: Database, demo_knowledge: KnowledgeBase) -> AssistantService:
    return AssistantService(database, engine_of(demo_knowledge))


@pytest_asyncio.fixture(loop_scope="session")
async def tree(database: Database) -> Tree:
    async with database.transaction() as tx:
        return await build_tree(tx.conn)


def ask(question: str, conversation: object = None) -> AskRequest:
    return AskRequest.model_validate({"question": question, "conversation_id": conversation})


async def test_the_answer_quotes_the_khoan_and_is_kept_in_the_askers_history(
    service: AssistantService, database: Database, tree: Tree
) -> None:
    member = Callers.member(tree.cell_a.id)
    record = await service.ask(member, ask("Đảng viên hưởng lương hưu đóng đảng phí bao nhiêu?"))
    assert not record.abstained
    main, *see_also = record.citations
    assert (main["role"], main["label"]) == ("answer", "Khoản 1 Điều 28 Điều lệ mẫu")
    assert (main["dieu"], main["khoan"]) == ("28", "1")
    assert record.answer == f"Theo Khoản 1 Điều 28 Điều lệ mẫu: «{main['text']}»"
    highlighted = main["text"][main["highlight"]["start"] : main["highlight"]["end"]]
    assert highlighted == "c) Đảng viên hưởng lương hưu: 0,5% lương hưu;"
    assert all(c["role"] == "see_also" for c in see_also)
    assert record.organization_path == tree.cell_a.path_ids
    history = ConversationService(database)
    [summary] = await history.conversations(member, limit=10, offset=0)
    assert (summary.id, summary.turns) == (record.conversation_id, 1)
    assert summary.first_question == "Đảng viên hưởng lương hưu đóng đảng phí bao nhiêu?"
    with pytest.raises(ConversationNotFound):
        await history.conversation(Callers.member(tree.cell_a.id), record.conversation_id)


async def test_a_follow_up_continues_the_callers_own_conversation(
    service: AssistantService, database: Database, tree: Tree
) -> None:
    member = Callers.member(tree.cell_a.id)
    first = await service.ask(member, ask("Đảng viên chính thức có quyền biểu quyết không?"))
    follow_up = await service.ask(
        member, ask("còn đảng viên dự bị thì sao?", first.conversation_id)
    )
    assert follow_up.conversation_id == first.conversation_id
    assert follow_up.seq == 2
    assert follow_up.searched == "đảng viên dự bị có quyền biểu quyết không"
    assert follow_up.citations[0]["anchor"] in {"dieu-7-khoan-1", "dieu-7-khoan-2"}
    _, turns = await ConversationService(database).conversation(member, first.conversation_id)
    assert [t.id for t in turns] == [first.id, follow_up.id]
    stranger = Callers.member(tree.cell_a.id)
    with pytest.raises(ConversationNotFound):
        await service.ask(stranger, ask("còn tổ đảng thì sao?", first.conversation_id))


async def test_an_out_of_scope_question_is_not_answered_but_says_where_to_look(
    service: AssistantService, tree: Tree
) -> None:
    record = await service.ask(
        Callers.member(tree.cell_b.id), ask("Thời tiết Hà Nội ngày mai thế nào?")
    )
    assert record.abstained
    assert record.answer.startswith(NOT_FOUND_VI)
    assert "bí thư chi bộ" in record.answer
    assert all(c["role"] == "suggestion" for c in record.citations)
    assert record.scores["features"]["dense_top"] < 0.9


async def test_askers_rate_their_answers_and_staff_see_their_subtree_unanswered_first(
    service: AssistantService, database: Database, tree: Tree
) -> None:
    asker, elsewhere = Callers.member(tree.cell_a.id), Callers.member(tree.other_cell.id)
    answered = await service.ask(asker, ask("Đảng viên dự bị có được biểu quyết không?"))
    unanswered = await service.ask(asker, ask("Cách nấu phở bò ngon?"))
    far = await service.ask(elsewhere, ask("Chi bộ sinh hoạt định kỳ mấy lần một tháng?"))
    history = ConversationService(database)
    rated = await history.rate(asker, answered.id, RatingRequest(useful=True, comment="Rõ ràng"))
    assert (rated.useful, rated.comment) == (True, "Rõ ràng")
    with pytest.raises(AnswerNotFound):
        await history.rate(elsewhere, answered.id, RatingRequest(useful=False))

    staff = QuestionsService(database)
    commune = Callers.committee_admin(tree.commune.id)
    seen = await staff.asked(commune, unanswered_first=True, limit=50, offset=0)
    assert [r.id for r in seen] == [unanswered.id, answered.id]
    province_wide = await staff.asked(
        Callers.system_admin(), unanswered_first=False, limit=50, offset=0
    )
    assert {far.id, answered.id, unanswered.id} <= {r.id for r in province_wide}
    [today] = await staff.daily(commune, days=7)
    assert (today.asked, today.unanswered, today.rated_useful) == (2, 1, 1)
    with pytest.raises(StaffOnly):
        await staff.asked(asker, unanswered_first=True, limit=50, offset=0)


async def test_questions_rated_useful_are_known_for_the_quoted_khoan_until_rated_otherwise(
    database: Database, tree: Tree, learning: KnowledgeBase
) -> None:
    service, history = (
        AssistantService(database, engine_of(learning)),
        ConversationService(database),
    )
    asker = Callers.member(tree.cell_a.id)
    useful = await service.ask(asker, ask("Đảng viên dự bị có được biểu quyết không?"))
    not_rated = await service.ask(asker, ask("Chi bộ sinh hoạt định kỳ mấy lần một tháng?"))
    abstained = await service.ask(asker, ask("Cách nấu phở bò ngon?"))
    for record in (useful, abstained):
        await history.rate(asker, record.id, RatingRequest(useful=True))
    quoted, other = useful.citations[0]["text"], not_rated.citations[0]["text"]

    assert await learn_from_ratings(database, learning, limit=100) == 1
    assert len(learning.memory) == 1
    follow_up = "dang vien du bi co duoc bieu quyet khong vay"
    again = learning.search(follow_up)
    # all but "vậy" and "không vậy"; both questions gain the same regulation wording
    assert again.asked_before(quoted) == pytest.approx(17 / 19)
    assert again.asked_before(other) == 0.0
    assert await learn_from_ratings(database, learning, limit=100) == 0

    await history.rate(asker, useful.id, RatingRequest(useful=False))
    assert await learn_from_ratings(database, learning, limit=100) == 0
    assert len(learning.memory) == 0
    assert learning.search(follow_up).asked_before(quoted) == 0.0


async def test_a_document_scoped_to_an_organisation_answers_only_its_members(
    database: Database, tree: Tree, empty_knowledge: KnowledgeBase
) -> None:
    empty_knowledge.index_document(small_rules(organization_id=tree.commune.id))
    service = AssistantService(database, engine_of(empty_knowledge))
    question = ask("Chi bộ họp định kỳ vào ngày nào trong tháng?")
    inside = await service.ask(Callers.member(tree.cell_b.id), question)
    assert not inside.abstained
    assert inside.citations[0]["anchor"] == "dieu-1-khoan-1"
    outside = await service.ask(Callers.member(tree.other_cell.id), question)
    assert outside.abstained
    assert outside.citations == []


class _LanguageModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that answers from the passages it is sent."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        sources = body["messages"][-1]["content"]
        cited = "Khoản 1 Điều 28" if "Khoản 1 Điều 28" in sources else "?"
        reply = {"choices": [{"message": {"content": f"Theo {cited}, đóng 0,5% lương hưu."}}]}
        payload = json.dumps(reply, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def language_model() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LanguageModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


async def test_a_configured_language_model_words_the_answer_and_the_quote_stays_verbatim(
    database: Database, demo_knowledge: KnowledgeBase, tree: Tree, language_model: str
) -> None:
    phraser = OpenAICompatiblePhraser(language_model, "any", timeout_s=5)
    service = AssistantService(database, Engine(demo_knowledge, default_abstention(), phraser))
    record = await service.ask(
        Callers.member(tree.cell_a.id), ask("Đảng viên hưởng lương hưu đóng đảng phí bao nhiêu?")
    )
    assert record.answer == "Theo Khoản 1 Điều 28, đóng 0,5% lương hưu."
    assert record.scores["phrased"] is True
    main = record.citations[0]
    assert main["label"] == "Khoản 1 Điều 28 Điều lệ mẫu"
    assert "c) Đảng viên hưởng lương hưu: 0,5% lương hưu;" in main["text"]
