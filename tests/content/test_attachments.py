import io
import zipfile

import pytest

from sotay_content.attachments import (
    DOCX,
    JPEG,
    PDF,
    PNG,
    PPTX,
    TEXT,
    XLSX,
    FileType,
    safe_file_name,
    sniff_attachment,
)
from sotay_content.errors import ContentRejected
from tests.content.support_files import charter_docx


def office(main_part: str) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        # A fixed time keeps the bytes, and so the test ids, the same in every xdist worker.
        for name, text in [("[Content_Types].xml", "<Types/>"), (main_part, "<x/>")]:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return output.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", PDF),
        (b"\x89PNG\r\n\x1a\n....", PNG),
        (b"\xff\xd8\xff\xe0....", JPEG),
        (office("xl/workbook.xml"), XLSX),
        (office("ppt/presentation.xml"), PPTX),
        ("Biên bản họp chi bộ".encode(), TEXT),
    ],
)
def test_accepted_types_are_known_by_content(data: bytes, expected: FileType) -> None:
    assert sniff_attachment(data, max_bytes=1000) == expected


def test_a_real_docx_is_a_word_file() -> None:
    assert sniff_attachment(charter_docx(), max_bytes=10**7) == DOCX


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "file_empty"),
        (b"x" * 1001, "file_too_large"),
        (b"MZ\x90\x00" * 10, "file_type_not_allowed"),
        (office("other/thing.xml"), "file_type_not_allowed"),
        (b"PK\x03\x04 broken zip", "file_type_not_allowed"),
        (b"text with a \x00 byte", "file_type_not_allowed"),
        ("chữ".encode("utf-16"), "file_type_not_allowed"),
    ],
)
def test_other_files_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(ContentRejected) as refused:
        sniff_attachment(data, max_bytes=1000)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("raw", "file_type", "expected"),
    [
        ("Kế hoạch.pdf", PDF, "Kế hoạch.pdf"),
        ("..\\..\\thư mục\\Biên bản.PDF", PDF, "Biên bản.pdf"),
        ("/etc/passwd", PDF, "passwd.pdf"),
        ("anh.jpeg", JPEG, "anh.jpg"),
        ('báo "cáo"?.docx', DOCX, "báo cáo.docx"),
        (None, PNG, "tep-dinh-kem.png"),
        ("Ke hoach.exe", PDF, "Ke hoach.exe.pdf"),
        ("x" * 300 + ".pdf", PDF, "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_made_safe(raw: str | None, file_type: FileType, expected: str) -> None:
    assert safe_file_name(raw, file_type) == expected
