import uuid
from dataclasses import replace

import numpy as np
import pytest

from sotay_assistant.chunking import Chunk
from sotay_assistant.index import Hit
from sotay_assistant.rerank import (
    DEFAULT_DEPTH,
    FEATURES,
    AskedAnswer,
    Features,
    RankedQuestion,
    Ranker,
    asked_answer,
    candidate_features,
    default_ranker,
    fit_ranker,
    gives_asked_answer,
    opens_with,
    rerank,
)
from sotay_common.events.content import DocumentKind


def hit(
    anchor: str,
    fused: float,
    dense: float,
    sparse: float,
    text: str = "x",
    *,
    latent: float = 0.3,
    heading: str | None = None,
) -> Hit:
    chunk = Chunk(
        document_id=uuid.uuid4(),
        version=1,
        content_hash="h",
        kind=DocumentKind.REGULATION,
        document_title="Điều lệ mẫu",
        source_name="Điều lệ mẫu",
        organization_id=None,
        seq=0,
        anchor=anchor,
        dieu="1",
        dieu_title=heading,
        khoan="1",
        section=None,
        start=0,
        end=1,
        text=text,
        embed_text=text,
    )
    return Hit(chunk=chunk, fused=fused, dense=dense, sparse=sparse, latent=latent)


def asking(*tokens: str, weights: dict[str, float] | None = None) -> RankedQuestion:
    return RankedQuestion(tokens, weights or {}, {}, sparse_ceiling=40.0)


QUESTION = asking("đảng", "viên", "vắng", "mặt")


def anchors(hits: list[Hit]) -> list[str]:
    return [h.chunk.anchor for h in hits]


def only(feature: str) -> Ranker:
    """A ranker that reads one feature."""
    weights = tuple(1.0 if name == feature else 0.0 for name in FEATURES)
    zeros = tuple(0.0 for _ in FEATURES)
    return Ranker(20, zeros, tuple(1.0 for _ in FEATURES), weights, fitted_on="a test")


def column(features: Features, name: str) -> list[float]:
    return [round(float(v), 3) for v in features[:, FEATURES.index(name)]]


def test_features_compare_each_candidate_with_the_others() -> None:
    hits = [
        hit("a", fused=0.88, dense=0.916, sparse=16.4, latent=0.41),
        hit("b", fused=0.87, dense=0.906, sparse=32.8, latent=0.52),
    ]
    features = candidate_features(hits, QUESTION)
    assert features.shape == (2, len(FEATURES))
    assert column(features, "fused_rank") == [1.0, 0.5]
    assert column(features, "bm25_relative") == [0.5, 1.0]
    assert column(features, "bm25_coverage") == [0.41, 0.82]
    assert column(features, "e5_gap") == [0.0, -0.01]
    assert column(features, "latent_terms") == [0.41, 0.52]


def test_a_mark_counts_less_the_more_candidates_carry_it() -> None:
    question = asking("chi", "bộ", "có", "quyền", "cách", "chức", "đảng", "viên", "không")
    opening = hit("1", 0.6, 0.9, 20.0, "1. Chi bộ quyết định khiển trách, cảnh cáo đảng viên.")
    others = [hit(str(n), 0.3, 0.9, 10.0, "Đảng viên vi phạm kiểm điểm.") for n in range(2, 6)]
    few = candidate_features([opening, *others], question)
    assert column(few, "opens_with_subject") == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert column(few, "opens_with_subject_rarely") == [0.8, 0.0, 0.0, 0.0, 0.0]
    crowded = [opening, *(replace(h, chunk=opening.chunk) for h in others)]
    assert column(candidate_features(crowded, question), "opens_with_subject_rarely") == [0.0] * 5


def test_coverage_of_the_heading_and_of_the_regulation_wording() -> None:
    question = RankedQuestion(
        ("đóng", "đảng", "phí"),
        {"dong": 1.0, "dang": 1.0, "phi": 2.0},
        {"mien": 3.0, "giam": 1.0},
        sparse_ceiling=8.0,
    )
    hits = [
        hit("1", 0.6, 0.9, 9.0, "1. Đảng viên được miễn đảng phí.", heading="Miễn đảng phí"),
        hit("2", 0.5, 0.9, 8.0, "2. Đảng viên đóng đảng phí.", heading="Nguyên tắc đóng"),
    ]
    features = candidate_features(hits, question)
    assert column(features, "heading_coverage") == [0.75, 0.25]
    assert column(features, "wording_coverage") == [0.75, 0.0]


def test_the_ranker_orders_the_candidates_by_its_score() -> None:
    hits = [
        hit("a", 0.88, 0.91, 20.0, latent=0.2),
        hit("b", 0.87, 0.91, 20.0, latent=0.6),
        hit("c", 0.30, 0.91, 20.0, latent=0.9),
    ]
    ranked = rerank(hits, QUESTION, only("latent_terms"))
    assert anchors(ranked) == ["c", "b", "a"]
    assert [round(h.ranked, 3) for h in ranked] == [0.9, 0.6, 0.2]
    assert rerank([], QUESTION, only("latent_terms")) == []


def test_fitting_learns_what_tells_the_answering_candidate_apart() -> None:
    rng = np.random.default_rng(7)
    questions = []
    for _ in range(60):
        features = rng.normal(size=(10, len(FEATURES)))
        answering = int(np.argmax(features[:, FEATURES.index("latent_terms")]))
        questions.append((features, [i == answering for i in range(10)]))
    questions.append((rng.normal(size=(10, len(FEATURES))), [False] * 10))  # nothing to learn
    ranker = fit_ranker(questions, depth=10, fitted_on="a test")
    weights = dict(zip(FEATURES, ranker.weights, strict=True))
    assert max(weights, key=lambda name: abs(weights[name])) == "latent_terms"
    assert weights["latent_terms"] > 1.0
    assert Ranker.from_json(ranker.to_json()) == ranker
    with pytest.raises(ValueError):
        fit_ranker([(np.zeros((3, len(FEATURES))), [False] * 3)], depth=10, fitted_on="")


def test_the_packaged_ranker_loads_and_reads_the_signals_the_right_way() -> None:
    ranker = default_ranker()
    assert ranker.depth == DEFAULT_DEPTH
    weights = dict(zip(FEATURES, ranker.weights, strict=True))
    for signal in (
        "bm25_coverage",
        "e5_gap",
        "latent_terms",
        "gives_asked_answer_rarely",
        "asked_before",
        "translation",
    ):
        assert weights[signal] > 0, signal


def test_a_khoan_opening_with_the_questions_subject_is_preferred_unless_most_do() -> None:
    # a subject most candidates open with tells nothing: the fused order stays
    question = asking("chi", "bộ", "có", "quyền", "cách", "chức", "đảng", "viên", "không")
    others = [hit(str(n), 0.3, 0.9, 10.0, "Đảng viên vi phạm kiểm điểm.") for n in range(3, 6)]
    hits = [
        hit("2", 0.63, 0.904, 25.8, "2. Đảng ủy cơ sở quyết định khiển trách, cách chức."),
        hit("1", 0.61, 0.904, 25.8, "1. Chi bộ quyết định khiển trách, cảnh cáo đảng viên."),
        *others,
    ]
    assert anchors(rerank(hits, question, default_ranker()))[:2] == ["1", "2"]
    crowded = [*hits[:2], *(hit(h.chunk.anchor, 0.3, 0.9, 10.0, "Chi bộ họp.") for h in others)]
    assert anchors(rerank(crowded, question, default_ranker()))[:2] == ["2", "1"]


def test_a_khoan_known_to_answer_the_same_question_is_preferred() -> None:
    known = {"2. Đảng viên đóng đảng phí hằng tháng tại chi bộ.": 0.8}
    question = replace(
        asking("tiền", "đảng", "nộp", "ở", "đâu"), asked_before=lambda text: known.get(text, 0.0)
    )
    hits = [
        hit("1", 0.62, 0.91, 20.0, "1. Đảng viên được miễn đảng phí khi ốm đau."),
        hit("2", 0.61, 0.91, 20.0, "2. Đảng viên đóng đảng phí hằng tháng tại chi bộ."),
        *(hit(str(n), 0.3, 0.9, 10.0, "Chi bộ họp.") for n in range(3, 6)),
    ]
    assert column(candidate_features(hits, question), "asked_before") == [0, 0.8, 0, 0, 0]
    assert anchors(rerank(hits, question, default_ranker()))[:2] == ["2", "1"]
    assert anchors(rerank(hits, asking("tiền", "đảng", "nộp", "ở", "đâu"), default_ranker()))[
        :2
    ] == ["1", "2"]


def test_how_likely_the_question_is_as_a_members_wording_of_each_candidate() -> None:
    likelihood = {"Đảng viên đóng đảng phí.": -3.0, "Chi bộ họp.": -5.0}
    question = replace(
        QUESTION, translation=lambda texts: np.array([likelihood.get(t, -9.0) for t in texts])
    )
    hits = [
        hit("1", 0.6, 0.9, 9.0, "Chi bộ họp."),
        hit("2", 0.5, 0.9, 8.0, "Đảng viên đóng đảng phí."),
    ]
    features = candidate_features(hits, question)
    assert column(features, "translation") == [-5.0, -3.0]
    assert column(features, "translation_gap") == [-2.0, 0.0]
    assert anchors(rerank(hits, question, only("translation"))) == ["2", "1"]


def lead(hits: list[Hit], question: RankedQuestion) -> float:
    """How far the packaged ranker puts the second hit ahead of the first."""
    scores = default_ranker().scores(candidate_features(hits, question))
    return float(scores[1] - scores[0])


def test_a_khoan_stating_the_asked_quantity_is_preferred_the_more_the_fewer_do() -> None:
    question = asking("biên", "bản", "phải", "lưu", "trữ", "bao", "nhiêu", "năm")
    others = [hit(str(n), 0.3, 0.9, 10.0, "Chi bộ ghi biên bản.") for n in range(3, 6)]
    hits = [
        hit("2", 0.88, 0.936, 31.4, "2. Biên bản được lưu trên hệ thống trong 05 ngày làm việc."),
        hit("3", 0.87, 0.936, 31.0, "3. Sổ biên bản được lưu trữ ít nhất 10 năm."),
        *others,
    ]
    assert anchors(rerank(hits, question, default_ranker()))[:2] == ["3", "2"]
    crowded = [*hits[:2], *(hit(h.chunk.anchor, 0.3, 0.9, 10.0, "Sau 02 năm.") for h in others)]
    assert 0 < lead(crowded, question) < lead(hits, question)


def test_the_subject_is_looked_for_past_the_numbering_within_the_first_words() -> None:
    assert opens_with("3. Chi bộ họp mỗi tháng.", ["chi", "bo"], 5)
    assert opens_with("a) Đảng viên dự bị được ...", ["dang", "vien"], 5)
    assert not opens_with("1. Trong mọi trường hợp, chi bộ họp.", ["chi", "bo"], 5)
    assert not opens_with("1. Chi bộ họp.", [], 5)


def test_the_asked_kind_of_answer_is_read_from_the_question() -> None:
    assert asked_answer(("họp", "mấy", "lần", "một", "tháng")).units == {"lan"}
    assert asked_answer(("bao", "nhieu", "phut")).units == {"phut"}
    assert "ngay" in asked_answer(("gửi", "trong", "bao", "lâu")).units
    assert asked_answer(("ai", "chủ", "trì")) == AskedAnswer()
    assert asked_answer(("đóng", "bao", "nhiêu")) == AskedAnswer()
    assert asked_answer(("hồ", "sơ", "gồm", "những", "gì")).enumeration
    assert asked_answer(("những", "trường", "hợp", "nào", "bị", "xóa", "tên")).enumeration
    assert not asked_answer(("những", "người", "vắng", "mặt", "phải", "báo", "cáo")).enumeration
    assert asked_answer(("lễ", "kết", "nạp", "theo", "trình", "tự", "nào")).enumeration
    assert asked_answer(("chuyển", "đảng", "qua", "các", "bước", "nào")).enumeration


def test_a_quantity_or_a_list_is_what_the_passage_gives() -> None:
    times = AskedAnswer(units=frozenset({"lan"}))
    assert gives_asked_answer("Họp mỗi tháng một lần.", times)
    assert gives_asked_answer("Không ít hơn 90 phút.", AskedAnswer(units=frozenset({"phut"})))
    assert not gives_asked_answer("Họp mỗi tháng.", times)
    assert not gives_asked_answer("Họp 2 lần.", AskedAnswer())
    listing = AskedAnswer(enumeration=True)
    assert gives_asked_answer("1. Hồ sơ gồm:\na) Đơn;\nb) Lý lịch.", listing)
    assert gives_asked_answer("II. Hạn chế\n1. Họp hình thức.\n2. Ít thảo luận.", listing)
    assert not gives_asked_answer("1. Hồ sơ gồm đơn và lý lịch.", listing)
    assert gives_asked_answer("18% hồ sơ nộp quá hạn.", AskedAnswer(units=frozenset({"phan"})))
