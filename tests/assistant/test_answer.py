import pytest

from sotay_assistant.answer import (
    NOT_FOUND_VI,
    AbstentionModel,
    OpenAICompatiblePhraser,
    Turn,
    answering_sentence,
    compose_answer,
    default_abstention,
    fit_abstention,
    rewrite_follow_up,
)
from sotay_assistant.retrieval import KnowledgeBase


@pytest.mark.xdist_group("assistant-model")
def test_answer_quotes_the_khoan_verbatim_with_its_citation(demo_knowledge: KnowledgeBase) -> None:
    result = demo_knowledge.search("Đảng viên hưởng lương hưu đóng đảng phí bao nhiêu?")
    answer = compose_answer(result)
    assert answer.answered
    assert answer.citation is not None
    assert answer.quote is not None
    assert answer.citation.label == "Khoản 1 Điều 28 Điều lệ mẫu"
    assert answer.quote == result.hits[0].chunk.text
    assert answer.text == f"Theo Khoản 1 Điều 28 Điều lệ mẫu: «{answer.quote}»"
    assert answer.highlight is not None
    highlighted = answer.quote[answer.highlight.start : answer.highlight.end]
    assert highlighted == "c) Đảng viên hưởng lương hưu: 0,5% lương hưu;"
    assert answer.citation.anchor not in {c.anchor for c in answer.see_also}
    assert answer.phrased is None


@pytest.mark.xdist_group("assistant-model")
@pytest.mark.parametrize(
    "question",
    ["Thời tiết Hà Nội ngày mai thế nào?", "gia vang hom nay bao nhieu", "Cách nấu phở bò ngon?"],
)
def test_out_of_scope_questions_abstain(demo_knowledge: KnowledgeBase, question: str) -> None:
    answer = compose_answer(demo_knowledge.search(question))
    assert not answer.answered
    assert answer.text.startswith(NOT_FOUND_VI)
    assert "bí thư chi bộ" in answer.text
    assert answer.quote is None
    assert answer.citation is None


@pytest.mark.xdist_group("assistant-model")
def test_an_unreachable_language_model_leaves_the_cited_answer(
    demo_knowledge: KnowledgeBase,
) -> None:
    result = demo_knowledge.search("Đảng viên dự bị có được biểu quyết không?")
    phraser = OpenAICompatiblePhraser("http://127.0.0.1:9/v1", "any", timeout_s=2)
    answer = compose_answer(result, phraser=phraser)
    assert answer.answered
    assert answer.phrased is None
    assert answer.quote == result.hits[0].chunk.text


@pytest.mark.xdist_group("assistant-model")
def test_a_follow_up_carries_the_previous_topic(demo_knowledge: KnowledgeBase) -> None:
    first = compose_answer(demo_knowledge.search("Đảng viên chính thức có quyền biểu quyết không?"))
    follow_up = rewrite_follow_up("còn đảng viên dự bị thì sao?", Turn.after(first))
    assert follow_up == "đảng viên dự bị có quyền biểu quyết không"
    anchor = demo_knowledge.search(follow_up).hits[0].chunk.anchor
    assert anchor in {"dieu-7-khoan-1", "dieu-7-khoan-2"}


def test_follow_up_without_a_shared_subject_takes_the_previous_topic() -> None:
    previous = Turn("Mức đóng đảng phí của sinh viên là bao nhiêu?", "Mức đóng đảng phí")
    assert rewrite_follow_up("còn người hưởng lương hưu?", previous) == (
        "người hưởng lương hưu Mức đóng đảng phí"
    )


def test_full_questions_are_not_rewritten() -> None:
    previous = Turn("Thời gian dự bị là bao lâu?", "Thời gian dự bị")
    question = "Đảng viên làm mất thẻ đảng viên thì phải báo cáo chi bộ trong bao nhiêu ngày?"
    assert rewrite_follow_up(question, previous) == question
    assert rewrite_follow_up("còn tổ đảng?", None) == "còn tổ đảng?"


def test_answering_sentence_is_the_clause_with_most_question_weight() -> None:
    quote = "1. Hồ sơ gồm:\na) Đơn xin vào Đảng;\nb) Lý lịch của người xin vào Đảng;"
    span = answering_sentence(quote, {"ly": 2.0, "lich": 2.0, "don": 1.0})
    assert span is not None
    assert quote[span.start : span.end] == "b) Lý lịch của người xin vào Đảng;"
    assert answering_sentence(quote, {"bau": 3.0}) is None


def test_abstention_fit_separates_and_round_trips() -> None:
    answerable = [((0.92 + i / 1000, 0.8, 0.0, 1.0, 2.0, 12.0), True) for i in range(10)]
    unanswerable = [((0.84 + i / 1000, 0.3, 0.3, 0.0, 0.2, 12.0), False) for i in range(10)]
    model = fit_abstention(answerable + unanswerable, fitted_on="synthetic")
    assert model.probability_of((0.93, 0.8, 0.0, 1.0, 2.0, 12.0)) > model.threshold
    assert model.probability_of((0.84, 0.3, 0.3, 0.0, 0.2, 12.0)) < model.threshold
    assert AbstentionModel.from_json(model.to_json()) == model


def test_packaged_calibration_loads() -> None:
    model = default_abstention()
    assert 0 < model.threshold < 1
    assert "dev" in model.fitted_on
