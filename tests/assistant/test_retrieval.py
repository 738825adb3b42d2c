import pytest

from sotay_assistant.memory import KnownQuestion, passage_key
from sotay_assistant.retrieval import KnowledgeBase
from tests.assistant.support import demo_document_id

pytestmark = pytest.mark.xdist_group("assistant-model")

CHARTER = demo_document_id("dieu-le-mau")
RULES = demo_document_id("quy-dinh-sinh-hoat-chi-bo")


def top(knowledge: KnowledgeBase, question: str) -> tuple[object, str]:
    chunk = knowledge.search(question).hits[0].chunk
    return chunk.document_id, chunk.anchor


@pytest.mark.parametrize(
    ("accented", "typed"),
    [
        ("Đảng viên dự bị có được biểu quyết không?", "dang vien du bi co duoc bieu quyet khong"),
        ("Mức đóng đảng phí của học sinh, sinh viên?", "muc dong dang phi cua hoc sinh sinh vien"),
        ("Làm mất thẻ đảng viên thì phải làm gì?", "lam mat the dang vien thi phai lam gi"),
    ],
)
def test_a_question_without_diacritics_finds_the_same_khoan(
    demo_knowledge: KnowledgeBase, accented: str, typed: str
) -> None:
    assert top(demo_knowledge, typed) == top(demo_knowledge, accented)
    assert (
        demo_knowledge.read_question(typed).dense_text
        == demo_knowledge.read_question(accented).dense_text
    )


def test_chat_abbreviations_and_typos_find_the_khoan(demo_knowledge: KnowledgeBase) -> None:
    assert top(demo_knowledge, "đv dbi có đc biểu quyết ko") in {
        (CHARTER, "dieu-7-khoan-1"),
        (CHARTER, "dieu-7-khoan-2"),
        (RULES, "dieu-6-khoan-3"),
    }
    read = demo_knowledge.read_question("dnag vien ct co quyen bieu quyet ko")
    assert read.dense_text == "đảng viên chính thức có quyền biểu quyết không"


def test_members_wording_finds_the_khoan_worded_otherwise(demo_knowledge: KnowledgeBase) -> None:
    read = demo_knowledge.read_question("bị xoá tên rồi có đc vào đảng lại ko")
    assert read.regulation_words == ("kết", "nạp")
    assert top(demo_knowledge, "bị xoá tên rồi có đc vào đảng lại ko") in {
        (CHARTER, "dieu-16-khoan-1"),
        (CHARTER, "dieu-53-khoan-3"),
    }
    assert top(demo_knowledge, "Ai kèm cặp người mới vào Đảng trong năm dự bị?") == (
        CHARTER,
        "dieu-10-khoan-4",
    )


def test_hits_carry_each_retrievers_score(demo_knowledge: KnowledgeBase) -> None:
    question = "Chi bộ sinh hoạt định kỳ mấy lần một tháng?"
    result = demo_knowledge.search(question)
    assert len(result.hits) == 10
    ranker, demo_knowledge.ranker = demo_knowledge.ranker, None
    try:
        fused = demo_knowledge.search(question, limit=ranker.depth if ranker else 10).hits
    finally:
        demo_knowledge.ranker = ranker
    assert [h.fused for h in fused] == sorted((h.fused for h in fused), reverse=True)
    # the first ten ranked come from the fused candidates the ranker reads
    assert {h.chunk.anchor for h in result.hits} <= {h.chunk.anchor for h in fused}
    best = result.hits[0]
    assert 0.8 < best.dense < 1.0
    assert 0 < best.sparse <= 2.2 * result.sparse_ceiling
    assert 0.2 < best.latent <= 1.0


def test_a_question_asked_before_in_other_words_finds_the_khoan_that_answered_it(
    learning: KnowledgeBase,
) -> None:
    question = "Được kết nạp lại mấy lần?"
    readmission = (CHARTER, "dieu-16-khoan-3")
    assert top(learning, question) != readmission
    answering = next(
        p.chunk
        for p in learning.index.stored_passages()
        if (p.chunk.document_id, p.chunk.anchor) == readmission
    )
    asked = "Người đã ra khỏi Đảng rồi thì được xin vào lại mấy lần, và ai là người quyết định?"
    known = KnownQuestion("answer:1", asked, passage_key(answering.text))
    assert learning.remember([known, known]) == 1
    assert learning.search(question).asked_before(answering.text) > 0.1
    assert top(learning, question) == readmission
    assert learning.remember([], replacing="answer:") == 0
    assert len(learning.memory) == 0
    assert top(learning, question) != readmission


def test_a_question_worded_like_a_known_one_finds_its_khoan_even_when_it_is_not_fused(
    learning: KnowledgeBase,
) -> None:
    question = (
        "Tôi đã được chi bộ cho nghỉ họp vì tuổi già, nhưng hôm nào khỏe tôi vẫn muốn đến. "
        "Đến thì tôi có được giơ tay biểu quyết không?"
    )
    answering = next(
        p.chunk
        for p in learning.index.stored_passages()
        if (p.chunk.document_id, p.chunk.anchor) == (CHARTER, "dieu-21-khoan-3")
    )
    assert answering not in {hit.chunk for hit in learning.candidates(question).hits}
    asked = "Già rồi chi bộ cho nghỉ họp, nhưng hôm nào tôi vẫn đến họp thì có được biểu quyết?"
    learning.remember([KnownQuestion("answer:1", asked, passage_key(answering.text))])
    remembered = learning.candidates(question).hits[-1]
    assert (remembered.chunk, remembered.fused) == (answering, 0.0)
    assert top(learning, question) == (CHARTER, "dieu-21-khoan-3")
