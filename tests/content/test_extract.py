"""Extraction from DOCX and PDF files that the tests write themselves (support_files.py)."""

import io
import zipfile

import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from sotay_content.errors import ContentRejected
from sotay_content.extract import (
    ExtractionLimits,
    SourceFormat,
    check_zip_container,
    extract_document,
)
from sotay_content.markup import markdown_to_text
from sotay_content.regulations import parse_regulation
from tests.content.support_files import (
    CHARTER,
    NumberedDocx,
    charter_docx,
    charter_pdf,
    encrypted_pdf,
    flate_bomb_pdf,
    minimal_docx_parts,
    nonblank_lines,
    number_paragraph,
    scanned_pdf,
    short_pdf,
    zip_with,
)


def rejection(data: bytes, limits: ExtractionLimits | None = None) -> ContentRejected:
    with pytest.raises(ContentRejected) as error:
        extract_document(data, limits) if limits else extract_document(data)
    assert error.value.message_vi
    return error.value


# ---------------------------------------------------------------------------------------------
# PDF


def test_pdf_of_a_regulation_keeps_every_line_and_article() -> None:
    extracted = extract_document(charter_pdf())

    assert extracted.source_format is SourceFormat.PDF
    assert extracted.pages is not None
    assert extracted.pages > 10
    assert "# Chương I" in extracted.markdown  # larger type became a heading
    text = markdown_to_text(extracted.markdown)
    assert nonblank_lines(text) == nonblank_lines(CHARTER)  # wraps joined, furniture dropped
    original, recovered = parse_regulation(CHARTER), parse_regulation(text)
    assert [(n.anchor, n.title) for n in recovered.walk()] == [
        (n.anchor, n.title) for n in original.walk()
    ]


def test_pdf_made_of_images_is_refused_with_a_clear_message() -> None:
    error = rejection(scanned_pdf())

    assert error.code == "pdf_image_only"
    assert error.message_vi.startswith("Tệp PDF chỉ chứa hình ảnh, không trích xuất được văn bản")


def test_pdf_mostly_scanned_is_refused_but_a_scanned_appendix_is_not() -> None:
    assert rejection(scanned_pdf(scanned_pages=2, text_pages=1)).code == "pdf_image_only"

    extracted = extract_document(scanned_pdf(scanned_pages=1, text_pages=2))
    assert len(parse_regulation(extracted.markdown).articles()) == 2


def test_pdf_with_a_password_is_refused_but_owner_only_protection_is_read() -> None:
    assert rejection(encrypted_pdf("mật-khẩu")).code == "file_encrypted"

    readable = extract_document(encrypted_pdf(""))
    assert readable.markdown == "Điều 1. Hiệu lực\n\n1. Có hiệu lực từ ngày ký."


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        short_pdf()[:300],
    ],
)
def test_broken_pdf_is_refused(data: bytes) -> None:
    assert rejection(data).code in {"file_corrupt", "document_empty"}


def test_pdf_decompression_bomb_is_stopped() -> None:
    data = flate_bomb_pdf()

    assert len(data) < 1_000_000
    assert rejection(data).code == "pdf_too_complex"


def test_pdf_page_and_size_limits() -> None:
    data = short_pdf(pages=3)

    assert rejection(data, ExtractionLimits(max_pdf_pages=2)).code == "pdf_too_many_pages"
    assert rejection(data, ExtractionLimits(max_upload_bytes=1000)).code == "file_too_large"
    assert len(parse_regulation(extract_document(data).markdown).articles()) == 3


# ---------------------------------------------------------------------------------------------
# DOCX


def test_docx_automatic_numbering_becomes_text() -> None:
    extracted = extract_document(charter_docx())

    assert extracted.source_format is SourceFormat.DOCX
    assert extracted.markdown.startswith("# ĐIỀU LỆ MẪU\n\n")
    text = markdown_to_text(extracted.markdown)
    assert nonblank_lines(text)[1:] == nonblank_lines(CHARTER)
    tree = parse_regulation(text)
    assert [a.number for a in tree.articles()] == [str(n) for n in range(1, 56)]
    assert tree.citation("dieu-28-khoan-1-diem-dd") == "Điểm đ Khoản 1 Điều 28"


def test_docx_headings_bullets_nested_levels_and_tables() -> None:
    built = NumberedDocx()
    built.document.add_heading("Chuyên đề học tập", level=1)
    built.document.add_heading("Phần một", level=2)
    items = built.restarted_list()
    for level, text in [(0, "Khoản"), (1, "điểm"), (1, "điểm"), (2, "mục"), (0, "Khoản")]:
        number_paragraph(built.document.add_paragraph(text), items, level)
    built.document.add_paragraph("Gạch đầu dòng", style="List Bullet")
    built.document.add_paragraph("Dấu *sao* và [ngoặc]")
    table = built.document.add_table(rows=2, cols=3)
    for row, values in zip(
        table.rows, [["Mức", "Tỷ lệ", ""], ["Lương", "1%", "ghi chú"]], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    table.cell(0, 1).merge(table.cell(0, 2))

    markdown = extract_document(built.save()).markdown

    assert markdown == (
        "# Chuyên đề học tập\n\n## Phần một\n\n1. Khoản\n\na) điểm\n\nb) điểm\n\n"
        "1.I - mục\n\n2. Khoản\n\n- Gạch đầu dòng\n\nDấu \\*sao\\* và \\[ngoặc\\]\n\n"
        "Mức | Tỷ lệ\nLương | 1% | ghi chú"
    )


def test_docx_zip_bomb_is_refused_before_parsing() -> None:
    parts = minimal_docx_parts()
    bomb = zip_with({**parts, "word/document.xml": b"<w:document>" + b" " * 10_000_000})

    assert len(bomb) < 200_000
    assert rejection(bomb).code == "file_zip_bomb"


def test_docx_with_too_many_parts_or_too_much_content_is_refused() -> None:
    parts = minimal_docx_parts()
    many = zip_with({**parts, **{f"word/media/{i}.xml": b"x" for i in range(1200)}})
    assert rejection(many).code == "file_zip_bomb"

    stored = zip_with(parts, zipfile.ZIP_STORED)
    limits = ExtractionLimits(max_zip_uncompressed_bytes=len(stored) // 2)
    with pytest.raises(ContentRejected) as error:
        check_zip_container(stored, limits)
    assert error.value.code == "file_zip_bomb"


def test_docx_with_a_password_is_refused() -> None:
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(charter_docx())).encrypt("mật-khẩu", encrypted)

    assert rejection(encrypted.getvalue()).code == "file_encrypted"


def test_broken_docx_is_refused() -> None:
    parts = minimal_docx_parts()
    data = NumberedDocx().save()

    assert rejection(data[: len(data) // 2]).code == "file_corrupt"
    broken_xml = zip_with({**parts, "word/document.xml": b"<w:document><unclosed>"})
    assert rejection(broken_xml).code == "file_corrupt"
    not_word = zip_with({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    assert rejection(not_word).code == "file_format_unsupported"


# ---------------------------------------------------------------------------------------------
# Text files


def test_text_uploads_in_utf8_and_utf16() -> None:
    body = "Điều 1. Phạm vi\r\n1. Áp dụng cho đảng viên."

    for data in [body.encode("utf-8"), body.encode("utf-8-sig"), body.encode("utf-16")]:
        extracted = extract_document(data)
        assert extracted.source_format is SourceFormat.TEXT
        assert extracted.markdown == "Điều 1. Phạm vi\n1. Áp dụng cho đảng viên."


def test_unreadable_or_empty_uploads_are_refused() -> None:
    assert rejection(b"").code == "file_empty"
    assert rejection(b" \n\t").code == "document_empty"
    legacy_encoding = "Đô thị".encode("cp1258", errors="ignore")  # not UTF-8
    assert rejection(legacy_encoding).code == "file_format_unsupported"
    assert rejection(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").code == "file_format_unsupported"
