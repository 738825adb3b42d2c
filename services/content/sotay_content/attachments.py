"""Attachments: which files are accepted (judged by content, not by name) and the name they
are stored and served under."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from sotay_content.errors import ContentRejected


@dataclass(frozen=True)
class FileType:
    media_type: str
    extension: str


PDF = FileType("application/pdf", "pdf")
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
PNG = FileType("image/png", "png")
JPEG = FileType("image/jpeg", "jpg")
TEXT = FileType("text/plain; charset=utf-8", "txt")

# The main part that tells the Office formats apart inside their ZIP container.
_OFFICE_PARTS = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
_MAX_NAME_CHARS = 200
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f"*:<>?|]+')


def sniff_attachment(data: bytes, *, max_bytes: int) -> FileType:
    """The type of an accepted attachment: PDF, Word, Excel, PowerPoint, PNG, JPEG or UTF-8
    text; ContentRejected for anything else, an empty file or one over `max_bytes`."""
    if not data:
        raise ContentRejected("file_empty", "Tệp tải lên không có nội dung.")
    if len(data) > max_bytes:
        raise ContentRejected(
            "file_too_large", f"Tệp đính kèm vượt quá {max_bytes // (1024 * 1024)} MB cho phép."
        )
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"PK\x03\x04"):
        office = _office_type(data)
        if office is not None:
            return office
    elif _is_utf8_text(data):
        return TEXT
    raise ContentRejected(
        "file_type_not_allowed",
        "Chỉ nhận tệp đính kèm PDF, Word, Excel, PowerPoint (định dạng mới), ảnh PNG/JPEG"
        " hoặc văn bản UTF-8.",
    )


def _office_type(data: bytes) -> FileType | None:
    """Reads only the ZIP directory (nothing is inflated, so bombs do no harm here)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    return next((kind for part, kind in _OFFICE_PARTS.items() if part in names), None)


def _is_utf8_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def safe_file_name(raw: str | None, file_type: FileType) -> str:
    """The name to store and serve: no folders, control or reserved characters, NFC, at most
    200 characters, ending with the extension of what the file really is."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = " ".join(_UNSAFE_NAME_CHARS.sub(" ", name).split()).strip(". ")
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in (file_type.extension, "jpeg"):
        stem = name
    stem = stem[: _MAX_NAME_CHARS - len(file_type.extension) - 1].rstrip(". ") or "tep-dinh-kem"
    return f"{stem}.{file_type.extension}"
