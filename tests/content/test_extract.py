"""Extraction from DOCX and PDF files that the tests write themselves.

PDFs are written with fpdf2 and the DejaVu fonts of Debian's fonts-dejavu-core (they cover
Vietnamese); DOCX files with python-docx, including Word's automatic numbering.
"""

import io
import zipfile
import zlib
from pathlib import Path

import docx
import pypdf
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.text.paragraph import Paragraph
from fpdf import FPDF
from msoffcrypto.format.ooxml import OOXMLFile
from PIL import Image, ImageDraw, ImageFont
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from sotay_common.events.content import NodeKind
from sotay_content.demo import load_demo_documents
from sotay_content.errors import ContentRejected
from sotay_content.extract import (
    ExtractionLimits,
    SourceFormat,
    check_zip_container,
    extract_document,
)
from sotay_content.markup import markdown_to_text
from sotay_content.regulations import is_all_caps, parse_heading, parse_regulation

FONTS = Path("/usr/share/fonts/truetype/dejavu")
CHARTER = next(d.body for d in load_demo_documents() if d.slug == "dieu-le-mau")


def nonblank_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def rejection(data: bytes, limits: ExtractionLimits | None = None) -> ContentRejected:
    with pytest.raises(ContentRejected) as error:
        extract_document(data, limits) if limits else extract_document(data)
    assert error.value.message_vi
    return error.value


# ---------------------------------------------------------------------------------------------
# PDF writers


class RegulationPdf(FPDF):
    """A4 pages with a running header and "Trang N" footers, Vietnamese fonts."""

    def __init__(self, running_header: bool = True) -> None:
        super().__init__(format="A4")
        self.running_header = running_header
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=20)

    def header(self) -> None:
        if not self.running_header:
            return
        self.set_font("DejaVu", "", 8)
        self.cell(0, 6, "Điều lệ mẫu - Đảng bộ tỉnh Thanh Bình", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 8, f"Trang {self.page_no()}", align="C")


def charter_pdf() -> bytes:
    """The demo charter typeset like a real one: capital headings larger, bodies wrapped."""
    pdf = RegulationPdf()
    pdf.add_page()
    for line in nonblank_lines(CHARTER):
        heading = parse_heading(line)
        if is_all_caps(line) or (heading and heading.kind is NodeKind.CHUONG):
            pdf.set_font("DejaVu", "B", 13)
            pdf.multi_cell(0, 7, line, align="C", new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("DejaVu", "B" if heading and heading.kind is NodeKind.DIEU else "", 11)
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scanned_pdf(scanned_pages: int = 1, text_pages: int = 0) -> bytes:
    """Pages that are only a picture of text, as a scanner makes them, after typed pages."""
    picture = Image.new("RGB", (1240, 1754), "white")
    font = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 36)
    ImageDraw.Draw(picture).text((100, 100), "Điều 1. Phạm vi điều chỉnh", fill="black", font=font)
    pdf = RegulationPdf(running_header=False)
    for number in range(1, text_pages + 1):
        pdf.add_page()
        pdf.set_font("DejaVu", "", 11)
        pdf.multi_cell(0, 6, f"Điều {number}. Trang đánh máy\n1. Nội dung đọc được bằng chữ.")
    for _ in range(scanned_pages):
        pdf.add_page()
        pdf.image(picture, x=0, y=0, w=210)
    return bytes(pdf.output())


def short_pdf(pages: int = 1) -> bytes:
    pdf = RegulationPdf(running_header=False)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("DejaVu", "", 11)
        pdf.multi_cell(0, 6, f"Điều {number}. Hiệu lực\n1. Có hiệu lực từ ngày ký.")
    return bytes(pdf.output())


def encrypted_pdf(user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(short_pdf()))
    writer.encrypt(user_password=user_password, owner_password="chủ-sở-hữu", algorithm="AES-256")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def flate_bomb_pdf() -> bytes:
    """A 0.5 MB PDF whose page content inflates to 100 MB."""
    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(595, 842)
    content = StreamObject()
    content._data = zlib.compress(b"q Q " * 25_000_000, 1)
    content[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(content)
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject()})
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


# ---------------------------------------------------------------------------------------------
# DOCX writers

NUMBERING_XML = f"""
<w:numbering {nsdecls("w")}>
  <w:abstractNum w:abstractNumId="90">
    <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>
      <w:lvlText w:val="Điều %1."/></w:lvl>
  </w:abstractNum>
  <w:abstractNum w:abstractNumId="91">
    <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>
      <w:lvlText w:val="%1."/></w:lvl>
    <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/>
      <w:lvlText w:val="%2)"/></w:lvl>
    <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="upperRoman"/>
      <w:lvlText w:val="%1.%3 -"/></w:lvl>
  </w:abstractNum>
  <w:num w:numId="900"><w:abstractNumId w:val="90"/></w:num>
</w:numbering>
"""


def number_paragraph(paragraph: Paragraph, num_id: int, level: int) -> None:
    paragraph._p.get_or_add_pPr().append(
        parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/>'
            f'<w:numId w:val="{num_id}"/></w:numPr>'
        )
    )


class NumberedDocx:
    """A DOCX whose Điều and Khoản numbers are Word's automatic numbering, not typed text."""

    def __init__(self) -> None:
        self.document = docx.Document()
        numbering = self.document.part.numbering_part.element
        for child in parse_xml(NUMBERING_XML):
            numbering.append(child)
        self.numbering = numbering
        self.next_num_id = 901

    def restarted_list(self) -> int:
        """A new list of the Khoản definition that restarts at 1, as Word writes it."""
        num_id = self.next_num_id
        self.next_num_id += 1
        self.numbering.append(
            parse_xml(
                f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="91"/>'
                '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
            )
        )
        return num_id

    def save(self) -> bytes:
        output = io.BytesIO()
        self.document.save(output)
        return output.getvalue()


def charter_docx() -> bytes:
    """The demo charter as Word would hold it: Điều and Khoản numbered automatically."""
    built = NumberedDocx()
    built.document.add_paragraph("ĐIỀU LỆ MẪU", style="Title")
    khoan_list = 0
    for line in nonblank_lines(CHARTER):
        heading = parse_heading(line)
        if heading and heading.kind is NodeKind.DIEU:
            paragraph = built.document.add_paragraph(line.split(". ", 1)[1])
            number_paragraph(paragraph, 900, 0)
            khoan_list = built.restarted_list()
        elif heading and heading.kind is NodeKind.KHOAN:
            number_paragraph(built.document.add_paragraph(line.split(". ", 1)[1]), khoan_list, 0)
        else:
            built.document.add_paragraph(line)
    return built.save()


def zip_with(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return output.getvalue()


def minimal_docx_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(NumberedDocx().save())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


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
