"""Text out of uploaded DOCX, PDF and text files, as Markdown that keeps the structure.

Headings become Markdown headings, numbered paragraphs keep their numbers ("Điều 5.", "1.",
"a)"), bullets become "- ", table rows become "cell | cell". Uploads are checked before any
parser sees them: size, format by content (not by name), ZIP bombs, encryption, corruption,
PDFs made of images only. Every refusal is a ContentRejected with a stable code.

Extraction is CPU-bound and synchronous: run it in a worker thread or process with a time
limit, not on the event loop.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import docx
import pypdf
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pydantic import BaseModel, ConfigDict
from pypdf.errors import LimitReachedError, PyPdfError

from sotay_content.errors import ContentRejected
from sotay_content.regulations import parse_heading
from sotay_content.text import normalize_text


class SourceFormat(StrEnum):
    DOCX = "docx"
    PDF = "pdf"
    TEXT = "text"


class ExtractedDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    markdown: str  # normalised (see text.normalize_text)
    source_format: SourceFormat
    pages: int | None = None  # PDF only


@dataclass(frozen=True, slots=True)
class ExtractionLimits:
    """Upper bounds for one upload; the defaults suit Party documents with room to spare."""

    # The longest documents (congress reports with appendices) are a few MB as DOCX or PDF.
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pdf_pages: int = 500
    # A DOCX holds a few dozen parts; thousands means an attack or a mistake.
    max_zip_entries: int = 1000
    # Text, styles and images together; beyond this, unpacking alone would hurt the service.
    max_zip_uncompressed_bytes: int = 200 * 1024 * 1024
    # Office XML compresses 5-20 times; 100 times on a big part is a bomb.
    max_zip_ratio: int = 100
    zip_ratio_floor_bytes: int = 1024 * 1024  # small parts may compress as they like


DEFAULT_LIMITS = ExtractionLimits()

_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OOXML_STREAM = "EncryptedPackage".encode("utf-16-le")


def extract_document(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> ExtractedDocument:
    """Markdown of an uploaded file, whatever its name says: DOCX, PDF, or UTF-8 text."""
    if not data:
        raise ContentRejected("file_empty", "Tệp tải lên không có nội dung.")
    if len(data) > limits.max_upload_bytes:
        raise ContentRejected(
            "file_too_large",
            f"Tệp vượt quá {limits.max_upload_bytes // (1024 * 1024)} MB cho phép.",
        )
    if data[:1024].find(_PDF_MAGIC) >= 0:
        markdown, pages = extract_pdf(data, limits)
        return ExtractedDocument(markdown=markdown, source_format=SourceFormat.PDF, pages=pages)
    if data.startswith(_ZIP_MAGIC):
        return ExtractedDocument(
            markdown=extract_docx(data, limits), source_format=SourceFormat.DOCX
        )
    if data.startswith(_OLE_MAGIC):
        raise _ole_rejection(data)
    return ExtractedDocument(markdown=decode_text(data), source_format=SourceFormat.TEXT)


def _ole_rejection(data: bytes) -> ContentRejected:
    if _ENCRYPTED_OOXML_STREAM in data:
        return ContentRejected(
            "file_encrypted",
            "Tệp Word đang được đặt mật khẩu. Hãy gỡ mật khẩu rồi tải lên lại.",
        )
    return ContentRejected(
        "file_format_unsupported",
        "Định dạng Word cũ (.doc) chưa được hỗ trợ. Hãy lưu lại thành .docx hoặc PDF.",
    )


def decode_text(data: bytes) -> str:
    """A text or Markdown upload: UTF-8 (with or without BOM) or UTF-16 with BOM."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ContentRejected(
            "file_format_unsupported",
            "Không đọc được tệp: chỉ nhận DOCX, PDF hoặc văn bản mã hóa UTF-8.",
        ) from None
    if "\x00" in text:
        raise ContentRejected(
            "file_format_unsupported",
            "Không đọc được tệp: chỉ nhận DOCX, PDF hoặc văn bản mã hóa UTF-8.",
        )
    return _nonempty(normalize_text(text))


def _nonempty(markdown: str) -> str:
    if not markdown.strip():
        raise ContentRejected("document_empty", "Không tìm thấy nội dung chữ trong tệp.")
    return markdown


# ---------------------------------------------------------------------------------------------
# DOCX


def check_zip_container(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> None:
    """Refuse ZIP bombs before any XML is parsed.

    The declared sizes are trustworthy here: Python's zipfile stops at the declared size and
    fails on the CRC when an entry holds more, so nothing can unpack beyond what is checked.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise _docx_corrupt() from None
    bomb = ContentRejected(
        "file_zip_bomb", "Tệp DOCX có cấu trúc nén bất thường (nghi là tệp độc hại)."
    )
    if len(entries) > limits.max_zip_entries:
        raise bomb
    if sum(entry.file_size for entry in entries) > limits.max_zip_uncompressed_bytes:
        raise bomb
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise ContentRejected("file_encrypted", "Tệp DOCX đang được mã hóa.")
        over_floor = entry.file_size > limits.zip_ratio_floor_bytes
        if over_floor and entry.file_size > limits.max_zip_ratio * max(entry.compress_size, 1):
            raise bomb
    names = {entry.filename for entry in entries}
    # The main part is usually word/document.xml, but Word Online writes document2.xml.
    has_word_part = any(name.startswith("word/document") for name in names)
    if "[Content_Types].xml" not in names or not has_word_part:
        raise ContentRejected(
            "file_format_unsupported",
            "Tệp nén không phải văn bản Word (.docx). Chỉ nhận DOCX, PDF hoặc văn bản.",
        )


def _docx_corrupt() -> ContentRejected:
    return ContentRejected("file_corrupt", "Tệp DOCX bị hỏng, không mở được.")


def extract_docx(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> str:
    check_zip_container(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_docx_blocks(document))
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile):  # lxml: SyntaxError
        raise _docx_corrupt() from None
    return _nonempty(normalize_text("\n\n".join(block for block in blocks if block.strip())))


def _docx_blocks(document: DocxDocument) -> Iterator[str]:
    numbering = _Numbering(document)
    styles: dict[str | None, list[Any]] = {}
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            # python-docx scans every style on each lookup: resolve each style once.
            style_id = item._p.style
            if style_id not in styles:
                styles[style_id] = _style_chain(item.style)
            yield _paragraph_markdown(item, styles[style_id], numbering)
        elif isinstance(item, Table):
            yield "\n".join(_table_rows(item))


def _style_chain(style: Any) -> list[Any]:
    """The paragraph style and the styles it is based on, nearest first."""
    chain = []
    for _ in range(5):  # styles inherit through `based on`; real chains are short
        if style is None:
            break
        chain.append(style)
        style = style.base_style
    return chain


def _paragraph_markdown(paragraph: Paragraph, styles: list[Any], numbering: _Numbering) -> str:
    text = escape_markdown(normalize_text(paragraph.text).replace("\n", " "))
    if not text:
        return ""
    level = _heading_level(paragraph, styles)
    if level:
        return f"{'#' * level} {text}"
    label = numbering.label(_num_reference(paragraph, styles))
    return f"{label} {text}" if label else text


def _table_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        seen: set[int] = set()
        cells = []
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats in every grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(escape_markdown(normalize_text(cell.text).replace("\n", " ")))
        if any(cells):
            yield " | ".join(cells)


_HEADING_STYLE = re.compile(r"(?:heading|tiêu đề)\s*(\d)", re.I)


def _heading_level(paragraph: Paragraph, styles: list[Any]) -> int:
    """Markdown level from the style (Heading N, Title, or their derivatives) or outline."""
    outline = _outline_level(paragraph._p.pPr)
    if outline is not None:
        return outline
    for style in styles:
        name = style.name or ""
        match = _HEADING_STYLE.fullmatch(name)
        if match:
            return min(int(match[1]), 6)
        if name.lower() == "title":
            return 1
        outline = _outline_level(style.element.pPr)
        if outline is not None:
            return outline
    return 0


def _outline_level(ppr: Any) -> int | None:
    if ppr is None:
        return None
    element = ppr.find(qn("w:outlineLvl"))
    if element is None:
        return None
    value = int(element.get(qn("w:val"), "9"))
    return min(value + 1, 6) if value < 9 else None  # 9 means body text


@dataclass
class _Level:
    start: int = 1
    number_format: str = "decimal"
    text: str = "%1."


@dataclass
class _Numbering:
    """Renders Word's automatic numbering ("Điều %1.", "%1)", "%2)") as the text it shows.

    Lists that share an abstract definition continue one another, as in Word, unless a list
    restarts with its own start value.
    """

    document: DocxDocument
    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)  # counter key -> levels
    counter_key: dict[str, str] = field(default_factory=dict)  # numId -> counter key
    counters: dict[str, dict[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            root = self.document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract = {
            node.get(qn("w:abstractNumId"), ""): _parse_levels(node)
            for node in root.findall(qn("w:abstractNum"))
        }
        for num in root.findall(qn("w:num")):
            num_id = num.get(qn("w:numId"), "")
            ref = num.find(qn("w:abstractNumId"))
            abstract_id = ref.get(qn("w:val"), "") if ref is not None else ""
            levels = dict(abstract.get(abstract_id, {}))
            restarts = _start_overrides(num)
            for ilvl, start in restarts.items():
                base = levels.get(ilvl, _Level())
                levels[ilvl] = _Level(start, base.number_format, base.text)
            key = f"num:{num_id}" if restarts else f"abstract:{abstract_id}"
            self.counter_key[num_id] = key
            self.levels[key] = levels

    def label(self, reference: tuple[str, int] | None) -> str:
        """The number shown for the next item of list `reference` (numId, level), if any."""
        if reference is None:
            return ""
        num_id, ilvl = reference
        key = self.counter_key.get(num_id)
        if key is None:
            return ""
        levels = self.levels[key]
        counts = self.counters.setdefault(key, {})
        counts[ilvl] = counts[ilvl] + 1 if ilvl in counts else levels.get(ilvl, _Level()).start
        for deeper in [level for level in counts if level > ilvl]:
            del counts[deeper]
        level = levels.get(ilvl, _Level())
        if level.number_format == "bullet":
            return "-"
        return re.sub(
            r"%([1-9])",
            lambda m: _format_number(
                counts.get(int(m[1]) - 1, levels.get(int(m[1]) - 1, _Level()).start),
                levels.get(int(m[1]) - 1, _Level()).number_format,
            ),
            level.text,
        ).strip()


def _parse_levels(abstract: Any) -> dict[int, _Level]:
    levels = {}
    for lvl in abstract.findall(qn("w:lvl")):
        start = lvl.find(qn("w:start"))
        number_format = lvl.find(qn("w:numFmt"))
        text = lvl.find(qn("w:lvlText"))
        levels[int(lvl.get(qn("w:ilvl"), "0"))] = _Level(
            start=int(start.get(qn("w:val"), "1")) if start is not None else 1,
            number_format=(
                number_format.get(qn("w:val"), "decimal")
                if number_format is not None
                else "decimal"
            ),
            text=text.get(qn("w:val"), "") if text is not None else "",
        )
    return levels


def _start_overrides(num: Any) -> dict[int, int]:
    overrides = {}
    for override in num.findall(qn("w:lvlOverride")):
        start = override.find(qn("w:startOverride"))
        if start is not None:
            overrides[int(override.get(qn("w:ilvl"), "0"))] = int(start.get(qn("w:val"), "1"))
    return overrides


def _num_reference(paragraph: Paragraph, styles: list[Any]) -> tuple[str, int] | None:
    """(numId, level) from the paragraph, else from its style chain; numId 0 means none."""
    for ppr in [paragraph._p.pPr, *(style.element.pPr for style in styles)]:
        num_pr = ppr.find(qn("w:numPr")) if ppr is not None else None
        num_id = num_pr.find(qn("w:numId")) if num_pr is not None else None
        if num_pr is None or num_id is None:
            continue
        ilvl = num_pr.find(qn("w:ilvl"))
        level = int(ilvl.get(qn("w:val"), "0")) if ilvl is not None else 0
        value = num_id.get(qn("w:val"), "0")
        return (value, level) if value != "0" else None
    return None


def _format_number(value: int, number_format: str) -> str:
    if number_format in ("lowerLetter", "upperLetter"):
        letters = _letters(value)
        return letters if number_format == "lowerLetter" else letters.upper()
    if number_format in ("lowerRoman", "upperRoman"):
        roman = to_roman(value)
        return roman.lower() if number_format == "lowerRoman" else roman
    if number_format == "decimalZero":
        return f"{value:02d}"
    if number_format == "none":
        return ""
    return str(value)


def _letters(value: int) -> str:
    """Word's letter numbering: a..z, then aa..zz, aaa.."""
    if value < 1:
        return str(value)
    return chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)


def to_roman(value: int) -> str:
    if not 0 < value < 4000:
        return str(value)
    numerals = [
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ]  # fmt: skip
    parts = []
    for amount, numeral in numerals:
        count, value = divmod(value, amount)
        parts.append(numeral * count)
    return "".join(parts)


_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<])")
_MARKDOWN_LINE_START = re.compile(r"^(#|>|\+\s|=+$|-{3,}$|_{3,}$|\*{3,}$)")


def escape_markdown(text: str) -> str:
    """Text that Markdown shows as written; list markers ("1.", "a)", "- ") stay meaningful."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", text)
    return _MARKDOWN_LINE_START.sub(r"\\\1", escaped)


# ---------------------------------------------------------------------------------------------
# PDF


@dataclass
class _PdfLine:
    text: str
    size: float
    page: int
    x: float  # where the line starts, in points from the page's left edge


@dataclass
class _LineBuilder:
    page: int
    lines: list[_PdfLine] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    sizes: Counter[float] = field(default_factory=Counter)
    x: float | None = None

    def visit(self, text: str, cm: list[float], tm: list[float], _font: Any, size: float) -> None:
        pieces = text.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                self.flush()
            if piece.strip():
                self.parts.append(piece)
                effective = size * math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
                self.sizes[round(effective, 1)] += len(piece.strip())
                if self.x is None:
                    self.x = tm[4] * cm[0] + cm[4]

    def flush(self) -> None:
        text = normalize_text("".join(self.parts))
        if text:
            size = self.sizes.most_common(1)[0][0]
            self.lines.append(_PdfLine(text, size, self.page, round(self.x or 0.0)))
        self.parts.clear()
        self.sizes.clear()
        self.x = None


# A page with an image and fewer letters than this is a scan (perhaps with a stamped number).
_MIN_LETTERS_PER_TEXT_PAGE = 20


def extract_pdf(data: bytes, limits: ExtractionLimits = DEFAULT_LIMITS) -> tuple[str, int]:
    """(Markdown, page count) of a PDF with a text layer."""
    reader = _open_pdf(data)
    page_count = len(reader.pages)
    if page_count > limits.max_pdf_pages:
        raise ContentRejected("pdf_too_many_pages", f"Tệp PDF có hơn {limits.max_pdf_pages} trang.")
    lines: list[_PdfLine] = []
    scanned_pages = 0
    try:
        for number, page in enumerate(reader.pages):
            builder = _LineBuilder(number)
            page.extract_text(visitor_text=builder.visit)
            builder.flush()
            lines.extend(builder.lines)
            letters = sum(ch.isalnum() for line in builder.lines for ch in line.text)
            if letters < _MIN_LETTERS_PER_TEXT_PAGE and _has_images(page.get("/Resources")):
                scanned_pages += 1
    except LimitReachedError:
        raise ContentRejected(
            "pdf_too_complex", "Tệp PDF quá phức tạp hoặc có dữ liệu nén bất thường."
        ) from None
    except (PyPdfError, KeyError, ValueError, TypeError):
        raise _pdf_corrupt() from None
    if scanned_pages > page_count / 2:
        raise ContentRejected(
            "pdf_image_only",
            "Tệp PDF chỉ chứa hình ảnh, không trích xuất được văn bản. Hãy tải lên bản "
            "DOCX hoặc PDF có lớp chữ (không phải bản quét).",
        )
    return _nonempty(_pdf_markdown(_drop_page_furniture(lines, page_count))), page_count


def _open_pdf(data: bytes) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ContentRejected(
                "file_encrypted", "Tệp PDF đang được đặt mật khẩu. Hãy gỡ mật khẩu rồi tải lên lại."
            )
        len(reader.pages)
    except (PyPdfError, KeyError, ValueError, TypeError, NotImplementedError):
        raise _pdf_corrupt() from None
    return reader


def _pdf_corrupt() -> ContentRejected:
    return ContentRejected("file_corrupt", "Tệp PDF bị hỏng, không mở được.")


def _has_images(resources: Any, depth: int = 0) -> bool:
    """Whether page resources draw an image, looking into form XObjects a few levels down."""
    if resources is None or depth > 3:
        return False
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return False
    for reference in xobjects.get_object().values():
        xobject = reference.get_object()
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            return True
        if subtype == "/Form" and _has_images(xobject.get("/Resources"), depth + 1):
            return True
    return False


_PAGE_NUMBER = re.compile(r"(?:trang\s*)?[-–]?\s*\d{1,4}\s*(?:/\s*\d{1,4})?\s*[-–]?", re.I)


def _drop_page_furniture(lines: list[_PdfLine], page_count: int) -> list[_PdfLine]:
    """Without page numbers and running headers/footers repeated on most pages."""
    edges: Counter[str] = Counter()
    if page_count >= 3:
        for page in range(page_count):
            on_page = [line.text for line in lines if line.page == page]
            edges.update({*on_page[:1], *on_page[-1:]})
    repeated = {text for text, count in edges.items() if count >= 0.6 * page_count}
    return [
        line
        for line in lines
        if line.text not in repeated and not _PAGE_NUMBER.fullmatch(line.text)
    ]


_LIST_START = re.compile(r"[-+•–]\s")


def _pdf_markdown(lines: list[_PdfLine]) -> str:
    """Lines to Markdown: larger type becomes headings, wrapped lines join their paragraph."""
    if not lines:
        return ""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body_size = sizes.most_common(1)[0][0]
    heading_sizes = sorted({s for s in sizes if s >= 1.15 * body_size}, reverse=True)
    levels = {size: min(index + 1, 3) for index, size in enumerate(heading_sizes)}
    body_lines = [line for line in lines if line.size == body_size]
    full_line = _typical_full_line_chars(body_lines)
    left_margin = Counter(line.x for line in body_lines).most_common(1)[0][0]
    paragraphs: list[str] = []
    previous: _PdfLine | None = None
    for line in lines:
        level = levels.get(line.size, 0)
        text = escape_markdown(line.text)
        if level:
            paragraphs.append(f"{'#' * level} {text}")
        elif previous is not None and _continues(previous, line, full_line, left_margin):
            paragraphs[-1] = f"{paragraphs[-1]} {text}"
        else:
            paragraphs.append(text)
        previous = None if level else line
    return normalize_text("\n\n".join(paragraphs))


# Below this many body lines the width of a full line cannot be told, so nothing is joined.
_MIN_LINES_TO_JOIN = 12


def _typical_full_line_chars(body_lines: list[_PdfLine]) -> float:
    if len(body_lines) < _MIN_LINES_TO_JOIN:
        return math.inf
    lengths = sorted(len(line.text) for line in body_lines)
    return lengths[int(0.9 * (len(lengths) - 1))]


def _continues(previous: _PdfLine, line: _PdfLine, full_line: float, left_margin: float) -> bool:
    """Whether `line` wraps the paragraph ending with `previous`.

    The previous line must fill its width and this one start at the margin (not indented, not
    centred). A line that looks like a new article or item ("Điều 28.", "2.", "- ") still
    continues when the previous line stopped mid-sentence ("... quy định tại" + "Điều 28.").
    """
    if not (
        previous.size == line.size
        and len(previous.text) >= 0.75 * full_line
        and abs(line.x - left_margin) <= 2
    ):
        return False
    if parse_heading(line.text) is not None or _LIST_START.match(line.text):
        return previous.text[-1] not in ".;:!?"
    return True
