import uuid

from sotay_assistant.chunking import Chunk
from sotay_assistant.index import Hit
from sotay_assistant.rerank import (
    AskedAnswer,
    RerankSettings,
    asked_answer,
    gives_asked_answer,
    opens_with,
    rerank,
)
from sotay_common.events.content import DocumentKind


def hit(anchor: str, fused: float, dense: float, sparse: float, text: str = "x") -> Hit:
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
        dieu_title=None,
        khoan="1",
        section=None,
        start=0,
        end=1,
        text=text,
        embed_text=text,
    )
    return Hit(chunk=chunk, fused=fused, dense=dense, sparse=sparse)


QUESTION = ("đảng", "viên", "vắng", "mặt")


def anchors(hits: list[Hit]) -> list[str]:
    return [h.chunk.anchor for h in hits]


def test_a_far_better_keyword_match_overtakes_a_rank_neighbour() -> None:
    hits = [
        hit("a", fused=0.88, dense=0.916, sparse=16.4),  # first by rank only
        hit("b", fused=0.87, dense=0.916, sparse=34.6),  # BM25 twice as sure
        hit("c", fused=0.42, dense=0.905, sparse=16.2),
    ]
    assert anchors(rerank(hits, QUESTION, RerankSettings())) == ["b", "a", "c"]


def test_close_scores_keep_the_fused_order_and_hits_past_the_depth_stay_put() -> None:
    hits = [
        hit("a", fused=0.88, dense=0.913, sparse=22.9),
        hit("b", fused=0.79, dense=0.910, sparse=24.6),
        hit("c", fused=0.30, dense=0.990, sparse=99.0),
    ]
    assert anchors(rerank(hits, QUESTION, RerankSettings(depth=2))) == ["a", "b", "c"]
    assert rerank([], QUESTION, RerankSettings()) == []


def test_a_khoan_opening_with_the_questions_subject_is_preferred_unless_most_do() -> None:
    question = ("chi", "bộ", "có", "quyền", "cách", "chức", "đảng", "viên", "không")
    others = [hit(str(n), 0.3, 0.9, 10.0, "Đảng viên vi phạm kiểm điểm.") for n in range(3, 6)]
    hits = [
        hit("2", 0.63, 0.904, 25.8, "2. Đảng ủy cơ sở quyết định khiển trách, cách chức."),
        hit("1", 0.61, 0.904, 25.8, "1. Chi bộ quyết định khiển trách, cảnh cáo đảng viên."),
        *others,
    ]
    assert anchors(rerank(hits, question, RerankSettings()))[:2] == ["1", "2"]
    crowded = [*hits[:2], *(hit(h.chunk.anchor, 0.3, 0.9, 10.0, "Chi bộ họp.") for h in others)]
    assert anchors(rerank(crowded, question, RerankSettings()))[:2] == ["2", "1"]


def test_the_subject_is_looked_for_past_the_numbering_within_the_first_words() -> None:
    assert opens_with("3. Chi bộ họp mỗi tháng.", ["chi", "bo"], 5)
    assert opens_with("a) Đảng viên dự bị được ...", ["dang", "vien"], 5)
    assert not opens_with("1. Trong mọi trường hợp, chi bộ họp.", ["chi", "bo"], 5)
    assert not opens_with("1. Chi bộ họp.", [], 5)


def test_a_khoan_stating_the_asked_quantity_is_preferred_unless_most_do() -> None:
    question = ("biên", "bản", "phải", "lưu", "trữ", "bao", "nhiêu", "năm")
    others = [hit(str(n), 0.3, 0.9, 10.0, "Chi bộ ghi biên bản.") for n in range(3, 6)]
    hits = [
        hit("2", 0.88, 0.936, 31.4, "2. Biên bản được lưu trên hệ thống trong 05 ngày làm việc."),
        hit("3", 0.87, 0.936, 31.0, "3. Sổ biên bản được lưu trữ ít nhất 10 năm."),
        *others,
    ]
    assert anchors(rerank(hits, question, RerankSettings()))[:2] == ["3", "2"]
    crowded = [*hits[:2], *(hit(h.chunk.anchor, 0.3, 0.9, 10.0, "Sau 02 năm.") for h in others)]
    assert anchors(rerank(crowded, question, RerankSettings()))[:2] == ["2", "3"]


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


def test_a_khoan_whose_range_the_stated_quantity_falls_in_is_preferred_unless_most_do() -> None:
    question = ("tôi", "62", "tuổi", "có", "được", "vào", "đảng", "không")
    others = [hit(str(n), 0.3, 0.9, 10.0, "Chi bộ xét kết nạp.") for n in range(3, 6)]
    hits = [
        hit("1", 0.88, 0.893, 15.5, "1. Tuổi đời từ đủ 18 tuổi đến 60 tuổi."),
        hit("2", 0.69, 0.876, 16.5, "2. Người trên 60 tuổi có uy tín cao."),
        *others,
    ]
    assert anchors(rerank(hits, question, RerankSettings()))[:2] == ["2", "1"]
    crowded = [*hits[:2], *(hit(h.chunk.anchor, 0.3, 0.9, 10.0, "Trên 50 tuổi.") for h in others)]
    assert anchors(rerank(crowded, question, RerankSettings()))[:2] == ["1", "2"]
