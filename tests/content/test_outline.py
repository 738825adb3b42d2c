from sotay_content.demo import load_demo_documents
from sotay_content.markup import markdown_to_text
from sotay_content.outline import WHOLE_TEXT_ANCHOR, chapters, outline, slugify


def covered_text(text: str, spans: list[tuple[int, int]]) -> str:
    return "".join(text[start:end] for start, end in spans)


def test_outline_of_a_resolution_in_plain_text() -> None:
    text = (
        "NGHỊ QUYẾT\nVỀ CHUYỂN ĐỔI SỐ\nCăn cứ Điều lệ.\n\nI. TÌNH HÌNH\n1. Kết quả đạt được\n"
        "Nội dung.\n2. Hạn chế\nNội dung dài hơn.\nII. MỤC TIÊU\n1. Đến năm 2030, hoàn thành.\n"
        "T/M TỈNH ỦY\nBÍ THƯ"
    )
    document = outline(text)

    assert [(s.level, s.title, s.anchor) for s in document.sections] == [
        (1, "NGHỊ QUYẾT VỀ CHUYỂN ĐỔI SỐ", "nghi-quyet-ve-chuyen-doi-so"),
        (1, "I. TÌNH HÌNH", "i-tinh-hinh"),
        (2, "1. Kết quả đạt được", "1-ket-qua-dat-duoc"),
        (2, "2. Hạn chế", "2-han-che"),
        (1, "II. MỤC TIÊU", "ii-muc-tieu"),
    ]
    tinh_hinh = document.sections[1]
    assert document.text[tinh_hinh.start : tinh_hinh.end].endswith("Nội dung dài hơn.")


def test_markdown_headings_choose_the_level_that_splits_the_document() -> None:
    markdown = "# Chuyên đề\n\nMở đầu.\n\n## Phần một\n\nA.\n\n### Nhỏ\n\nB.\n\n## Phần một\n\nC."
    result = chapters(markdown)

    assert [(c.title, c.anchor) for c in result.chapters] == [
        ("Chuyên đề", "chuyen-de"),
        ("Phần một", "phan-mot"),
        ("Phần một", "phan-mot-2"),
    ]
    assert result.text[result.chapters[1].start : result.chapters[1].end].endswith("B.")


def test_regulation_chapters_are_articles_and_cover_the_whole_text() -> None:
    body = next(d.body for d in load_demo_documents() if d.slug == "dieu-le-mau")
    result = chapters(body)

    titles = [c.title for c in result.chapters]
    assert titles[0] == "Phần mở đầu"
    assert titles[1] == "Điều 1. Phạm vi điều chỉnh và đối tượng áp dụng"
    assert len(titles) == 56
    article_4 = next(c for c in result.chapters if c.anchor == "dieu-4")
    assert result.text[article_4.start :].startswith("Chương II\nĐẢNG VIÊN\n\nĐiều 4.")
    spans = [(c.start, c.end) for c in result.chapters]
    assert "".join(covered_text(result.text, spans).split()) == "".join(result.text.split())


def test_text_without_headings_is_one_chapter() -> None:
    news = next(d for d in load_demo_documents() if d.kind == "news")
    result = chapters(markdown_to_text(news.body))

    assert [(c.anchor, c.start, c.end) for c in result.chapters] == [
        (WHOLE_TEXT_ANCHOR, 0, len(result.text))
    ]


def test_slugify_folds_vietnamese() -> None:
    assert slugify("Điều 5. Quyền của Đảng viên dự bị!") == "dieu-5-quyen-cua-dang-vien-du-bi"
