import unicodedata
from datetime import date

import pytest

from sotay_common.events.content import DocumentKind
from sotay_content.documents import (
    KIND_LABELS_VI,
    content_hash,
    parse_document_number,
    validate_document_number,
)
from sotay_content.errors import ContentRejected


@pytest.mark.parametrize(
    ("raw", "canonical", "parts"),
    [
        ("27-QĐ/TW", "27-QĐ/TW", ("27", "QĐ", "TW", None, "party")),
        ("Số: 01-NQ/TU", "01-NQ/TU", ("01", "NQ", "TU", None, "party")),
        ("05 - CT / TW", "05-CT/TW", ("05", "CT", "TW", None, "party")),
        ("21–kl/tw", "21-KL/TW", ("21", "KL", "TW", None, "party")),
        ("12-HD/BTGTW", "12-HD/BTGTW", ("12", "HD", "BTGTW", None, "party")),
        ("27-QÐ/TW", "27-QĐ/TW", ("27", "QĐ", "TW", None, "party")),  # U+00D0
        (
            unicodedata.normalize("NFD", "102-QĐ/TW"),
            "102-QĐ/TW",
            ("102", "QĐ", "TW", None, "party"),
        ),
        ("123/QĐ-UBND", "123/QĐ-UBND", ("123", "QĐ", "UBND", None, "state")),
        ("15/2020/NĐ-CP", "15/2020/NĐ-CP", ("15", "NĐ", "CP", 2020, "state")),
        ("số 45/KH-UBND.VX", "45/KH-UBND.VX", ("45", "KH", "UBND.VX", None, "state")),
    ],
)
def test_parses_party_and_state_numbers(
    raw: str, canonical: str, parts: tuple[str, str, str, int | None, str]
) -> None:
    number = parse_document_number(raw)

    assert number.canonical == canonical
    assert (number.serial, number.type_code, number.issuer, number.year, number.style) == parts


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "document_number_missing"),
        ("27/TW", "document_number_invalid"),
        ("Nghị quyết 27", "document_number_invalid"),
        ("27-XY/TW", "document_number_unknown_type"),
        ("27-QĐ/", "document_number_invalid"),
    ],
)
def test_rejects_malformed_numbers(raw: str, code: str) -> None:
    with pytest.raises(ContentRejected) as error:
        parse_document_number(raw)
    assert error.value.code == code
    assert error.value.message_vi


def test_number_must_fit_the_kind() -> None:
    assert validate_document_number(DocumentKind.RESOLUTION, "01-NQ/TU") is not None
    assert validate_document_number(DocumentKind.REGULATION, "27-QĐ/TW") is not None
    assert validate_document_number(DocumentKind.NEWS, None) is None
    with pytest.raises(ContentRejected) as mismatch:
        validate_document_number(DocumentKind.DIRECTIVE, "01-NQ/TU")
    assert mismatch.value.code == "document_number_kind_mismatch"
    with pytest.raises(ContentRejected) as missing:
        validate_document_number(DocumentKind.CONCLUSION, "  ")
    assert missing.value.code == "document_number_missing"
    assert "Kết luận" in missing.value.message_vi


def test_every_kind_has_a_vietnamese_label() -> None:
    assert set(KIND_LABELS_VI) == set(DocumentKind)
    assert KIND_LABELS_VI[DocumentKind.STUDY_TOPIC] == "Chuyên đề học tập"


def digest(
    *,
    kind: DocumentKind = DocumentKind.RESOLUTION,
    title: str = "Nghị quyết về chuyển đổi số",
    body: str = "Điều 1. Mục tiêu\n1. Đến năm 2030.",
    number: str | None = "01-NQ/TU",
    issued_on: date = date(2025, 1, 10),
) -> str:
    return content_hash(
        kind=kind, title=title, body=body, number=number, issuer="Tỉnh ủy", issued_on=issued_on
    )


def test_content_hash_ignores_typing_variants_but_not_content() -> None:
    reference = digest()

    assert len(reference) == 64
    assert reference == digest(
        title=unicodedata.normalize("NFD", "Nghị quyết  về chuyển đổi số "),
        body="Điều 1. Mục tiêu\r\n1. Đến\u00a0năm 2030.\n\n\n",
        number="số 01 - NQ/TU",
    )
    assert digest(body="Điều 1. Mục tiêu\n1. Đến năm 2031.") != reference
    assert digest(title="Nghị quyết khác") != reference
    assert digest(number="02-NQ/TU") != reference
    assert digest(number=None) != reference
    assert digest(issued_on=date(2025, 1, 11)) != reference
    assert digest(kind=DocumentKind.DIRECTIVE) != reference
