import unicodedata

from sotay_content.text import normalize_text


def test_normalises_unicode_spaces_and_line_breaks() -> None:
    raw = unicodedata.normalize(
        "NFD", "\ufeff\r\n Đảng\u00a0\u00a0viên\t\u200bdự bị \r\n\r\n\r\n\rÐiều 5\x07  "
    )

    assert normalize_text(raw) == " Đảng viên dự bị\n\nĐiều 5"
    assert unicodedata.is_normalized("NFC", normalize_text(raw))


def test_keeps_leading_indentation_and_is_idempotent() -> None:
    raw = "1. Khoản\n   a) điểm lồng trong danh sách Markdown\n\n    mã nguồn"

    once = normalize_text(raw)
    assert once == raw
    assert normalize_text(once) == once
