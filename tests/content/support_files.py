"""DOCX and PDF files written by the tests themselves.

PDFs are written with fpdf2 and the DejaVu fonts of Debian's fonts-dejavu-core (they cover
Vietnamese); DOCX files with python-docx, including Word's automatic numbering.
"""

import io
import zipfile
import zlib
from pathlib import Path

import docx
import pypdf
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.text.paragraph import Paragraph
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from pypdf.generic import DictionaryObject, NameObject, StreamObject

from sotay_common.events.content import NodeKind
from sotay_content.demo import load_demo_documents
from sotay_content.regulations import is_all_caps, parse_heading

FONTS = Path("/usr/share/fonts/truetype/dejavu")
CHARTER = next(d.body for d in load_demo_documents() if d.slug == "dieu-le-mau")


def nonblank_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


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
