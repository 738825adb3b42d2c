import pytest

from sotay_voice.numbers import (
    NumberStyle,
    parse_roman,
    read_decimal,
    read_digits,
    read_number,
    read_ordinal,
)


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (55, "năm mươi lăm"),
        (105, "một trăm linh năm"),
        (1001, "một nghìn không trăm linh một"),
        (10_000, "mười nghìn"),
        (100_500, "một trăm nghìn năm trăm"),
        (3_000_021, "ba triệu không trăm hai mươi mốt"),
        (1_000_000_000, "một tỷ"),
        (1_234_000_000_005, "một nghìn hai trăm ba mươi tư tỷ không trăm linh năm"),
        (-7, "âm bảy"),
    ],
)
def test_read_number(number: int, spoken: str) -> None:
    assert read_number(number) == spoken


def test_southern_style_uses_le_and_ngan() -> None:
    style = NumberStyle(zero_tens="lẻ", thousand="ngàn")
    assert read_number(2005, style) == "hai ngàn không trăm lẻ năm"


def test_ordinals_use_nhat_and_tu() -> None:
    assert [read_ordinal(n) for n in (1, 2, 4, 14, 24)] == [
        "nhất", "hai", "tư", "mười bốn", "hai mươi tư",
    ]  # fmt: skip


def test_digits_and_decimals() -> None:
    assert read_digits("0905") == "không chín không năm"
    assert read_decimal("4", "95") == "bốn phẩy chín mươi lăm"
    assert read_decimal("3", "05") == "ba phẩy không năm"
    assert read_decimal("2", "125") == "hai phẩy một hai năm"


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("I", 1), ("IV", 4), ("IX", 9), ("XII", 12), ("XIII", 13), ("XIV", 14), ("XX", 20),
     ("XXI", 21), ("XL", 40), ("MCMXLV", 1945)],
)  # fmt: skip
def test_parse_roman(numeral: str, value: int) -> None:
    assert parse_roman(numeral) == value


@pytest.mark.parametrize("numeral", ["", "IIII", "VX", "IC", "ABC", "xii"])
def test_parse_roman_rejects_non_canonical(numeral: str) -> None:
    assert parse_roman(numeral) is None
