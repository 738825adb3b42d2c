import pytest

from sotay_voice.normalize import Normalizer
from sotay_voice.segment import (
    ChunkLimits,
    PauseProfile,
    Section,
    SpeechChunk,
    plan_chunks,
    plan_document,
)

DOCUMENT = """QUY ĐỊNH VỀ NHỮNG ĐIỀU ĐẢNG VIÊN KHÔNG ĐƯỢC LÀM
{preamble}
Điều 1. Phạm vi
Quy định này áp dụng với 25 chi bộ. Mỗi chi bộ xây dựng kế hoạch cụ thể.
a) Chi bộ cơ sở;
b) Chi bộ trực thuộc.
Điều 2. Hiệu lực
Quy định có hiệu lực từ ngày 01/01/2022.""".format(
    preamble="Căn cứ Điều lệ Đảng và Quy định số 37-QĐi/TW ngày 25/10/2021 của Bộ Chính trị, "
    "Ban Thường vụ Tỉnh ủy hướng dẫn thực hiện như sau, để các cấp ủy, tổ chức đảng và đảng "
    "viên nắm vững, thực hiện nghiêm túc và thống nhất trong toàn Đảng bộ tỉnh."
)

NORMALIZER = Normalizer()
PAUSES = PauseProfile()


def words(chunks: list[SpeechChunk]) -> list[str]:
    return " ".join(chunk.text for chunk in chunks).split()


@pytest.fixture(scope="module")
def chunks() -> list[SpeechChunk]:
    return plan_document(DOCUMENT, NORMALIZER, limits=ChunkLimits(60, 150))


def test_no_word_is_lost_or_added(chunks: list[SpeechChunk]) -> None:
    blocks = NORMALIZER.normalize_document(DOCUMENT)
    assert words(chunks) == " ".join(block.text for block in blocks).split()


def test_first_chunk_is_short_and_others_are_bounded(chunks: list[SpeechChunk]) -> None:
    assert len(chunks[0].text) <= 60
    assert all(len(chunk.text) <= 150 for chunk in chunks)


def test_a_long_first_sentence_is_cut_at_a_comma() -> None:
    text = (
        "Thực hiện nghị quyết của Ban Chấp hành Đảng bộ tỉnh, các chi bộ tổ chức học tập, "
        "quán triệt sâu rộng đến từng đảng viên."
    )
    planned = plan_document(text, NORMALIZER, limits=ChunkLimits(70, 300))
    assert planned[0].text == "Thực hiện nghị quyết của Ban Chấp hành Đảng bộ tỉnh,"
    assert planned[0].pause_after_s == PAUSES.clause_s
    assert words(planned) == NORMALIZER.normalize(text).split()


def test_a_sentence_without_punctuation_is_cut_between_words() -> None:
    text = " ".join(["đảng viên"] * 100) + "."
    planned = plan_document(text, NORMALIZER, limits=ChunkLimits(40, 100))
    assert all(len(chunk.text) <= 100 for chunk in planned)
    assert words(planned) == text.split()


def test_chapters_come_from_headings_without_sections(chunks: list[SpeechChunk]) -> None:
    titles = [chunk.chapter.title for chunk in chunks if chunk.chapter]
    assert titles == [
        "QUY ĐỊNH VỀ NHỮNG ĐIỀU ĐẢNG VIÊN KHÔNG ĐƯỢC LÀM",
        "Điều 1. Phạm vi",
        "Điều 2. Hiệu lực",
    ]


def test_chapters_come_from_sections_when_given() -> None:
    sections = [
        Section.from_mapping(
            {"title": "Điều 1", "start": DOCUMENT.index("Điều 1"), "kind": "article",
             "number": 1, "anchor": "dieu-1", "extra": "ignored"}
        ),
        Section("Điều 2", DOCUMENT.index("Điều 2") + 4, "article", "2", "dieu-2"),
    ]  # fmt: skip
    planned = plan_document(DOCUMENT, NORMALIZER, sections)
    marks = [(chunk.chapter.title, chunk.chapter.anchor) for chunk in planned if chunk.chapter]
    assert marks == [("Điều 1", "dieu-1"), ("Điều 2", "dieu-2")]
    opening = next(chunk for chunk in planned if chunk.chapter and chunk.chapter.anchor == "dieu-2")
    assert opening.text.startswith("Điều hai.")
    assert DOCUMENT[opening.source_start : opening.source_end] == "Điều 2. Hiệu lực"


def test_pauses_follow_the_structure(chunks: list[SpeechChunk]) -> None:
    by_text = {chunk.text: chunk.pause_after_s for chunk in chunks}
    assert by_text["A. Chi bộ cơ sở;"] == PAUSES.list_item_s
    # The block before a chapter gets at least the before-chapter pause.
    assert by_text["Bê. Chi bộ trực thuộc."] == PAUSES.before_chapter_s
    assert by_text["Điều một. Phạm vi."] == PAUSES.heading_s
    assert chunks[-1].pause_after_s == PAUSES.paragraph_s


def test_custom_pauses_are_used() -> None:
    pauses = PauseProfile(paragraph_s=2.0)
    planned = plan_chunks(NORMALIZER.normalize_document("Một câu.\nHai câu."), pauses=pauses)
    assert [chunk.pause_after_s for chunk in planned] == [2.0, 2.0]


def test_empty_document_has_no_chunks() -> None:
    assert plan_document(" \n\n ", NORMALIZER) == []
