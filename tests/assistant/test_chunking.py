import pytest

from sotay_assistant.chunking import chunk_document, source_name
from sotay_assistant.errors import AssistantError
from sotay_common.events.content import NodeKind
from tests.assistant.support import demo_document, published_event


def test_one_chunk_per_khoan_quoting_the_text_exactly() -> None:
    event = published_event(demo_document("dieu-le-mau"))
    chunks = chunk_document(event)
    assert event.text is not None
    assert event.structure is not None
    khoan_anchors = {n.anchor for n in event.structure if n.kind is NodeKind.KHOAN}
    assert {c.anchor for c in chunks if c.khoan} == khoan_anchors
    for chunk in chunks:
        assert chunk.text == event.text[chunk.start : chunk.end]
    assert [c.seq for c in chunks] == list(range(len(chunks)))


def test_khoan_chunk_keeps_its_diem_and_carries_the_dieu_heading() -> None:
    chunks = {c.anchor: c for c in chunk_document(published_event(demo_document("dieu-le-mau")))}
    list_khoan = chunks["dieu-7-khoan-2"]
    assert "d) Thi hành kỷ luật đảng viên" in list_khoan.text
    assert list_khoan.citation == "Khoản 2 Điều 7"
    assert list_khoan.embed_text.startswith("Điều 7. Quyền của đảng viên dự bị\n2. ")
    assert (list_khoan.dieu, list_khoan.khoan) == ("7", "2")
    # a lead-in sentence before Khoản 1 is context of every Khoản of the Điều
    assert "các từ ngữ dưới đây được hiểu như sau" in chunks["dieu-2-khoan-6"].embed_text


def test_dieu_without_khoan_is_one_chunk() -> None:
    chunks = {
        c.anchor: c
        for c in chunk_document(published_event(demo_document("quy-dinh-sinh-hoat-chi-bo")))
    }
    whole = chunks["dieu-5"]
    assert whole.khoan is None
    assert whole.citation == "Điều 5"
    assert "a) Khai mạc" in whole.text
    assert "g) Bế mạc." in whole.text
    assert whole.source_name == "Quy định mẫu 12-QĐ/TU"


def test_documents_without_structure_are_cut_by_section_into_bounded_pieces() -> None:
    event = published_event(demo_document("nghi-quyet-01-nq-tu"))
    chunks = chunk_document(event)
    assert event.text is not None
    assert all(len(c.text) <= 900 for c in chunks)
    assert all(c.text == event.text[c.start : c.end] for c in chunks)
    target = next(c for c in chunks if "dưới 5%" in c.text)
    assert target.section == "II. MỤC TIÊU"
    assert target.dieu is None
    assert target.citation == "II. MỤC TIÊU"
    assert target.embed_text.startswith(event.title)


def test_review_questions_of_a_study_topic_are_not_passages() -> None:
    chunks = chunk_document(published_event(demo_document("chuyen-de-sinh-hoat-chi-bo")))
    assert not any("Câu hỏi ôn tập" in c.text for c in chunks)
    assert any("mỗi tháng một lần" in c.text for c in chunks)


def test_text_sent_by_reference_is_passed_in_and_checked() -> None:
    event = published_event(demo_document("tin-trien-khai-so-tay"))
    by_reference = event.model_copy(update={"text": None, "text_ref": "texts/abc"})
    assert event.text is not None
    assert chunk_document(by_reference, event.text) == chunk_document(event)
    with pytest.raises(AssistantError) as missing:
        chunk_document(by_reference)
    assert missing.value.code == "document_text_missing"
    with pytest.raises(AssistantError) as wrong:
        chunk_document(by_reference, event.text + "x")
    assert wrong.value.code == "document_text_length_mismatch"


def test_source_name_is_the_title_before_ve_with_the_number() -> None:
    assert source_name("Điều lệ mẫu về tổ chức và sinh hoạt", None) == "Điều lệ mẫu"
    assert source_name("Nghị quyết về chuyển đổi số", "01-NQ/TU") == "Nghị quyết 01-NQ/TU"
    assert source_name("Tỉnh ủy ra mắt Sổ tay", None) == "Tỉnh ủy ra mắt Sổ tay"
