"""Vietnamese number reading: cardinals, ordinals, digits, decimals and Roman numerals.

Pure functions, reused by the normaliser. Readings follow the standard (northern, broadcast)
style: "hai mươi mốt" (21), "mười lăm" (15), "hai mươi tư" (24), "một trăm linh năm" (105),
"một nghìn không trăm linh năm" (1005). The variants "lẻ" and "ngàn" are style options.
"""

import re
from dataclasses import dataclass

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
# Canonical Roman numerals only (so "IIII", "VX" or "IC" are rejected), up to 3999.
_ROMAN_PATTERN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")


@dataclass(frozen=True)
class NumberStyle:
    """Regional reading variants."""

    zero_tens: str = "linh"  # "linh" (north) or "lẻ" (south): 105 = một trăm linh/lẻ năm
    thousand: str = "nghìn"  # "nghìn" (north) or "ngàn" (south)


DEFAULT_STYLE = NumberStyle()


def _units_word(units: int, tens: int) -> str:
    """The units digit after a tens digit: mốt (21), tư (24), lăm (15, 25)."""
    if units == 1 and tens >= 2:
        return "mốt"
    if units == 4 and tens >= 2:
        return "tư"
    if units == 5 and tens >= 1:
        return "lăm"
    return DIGIT_WORDS[units]


def _read_below_thousand(number: int, full: bool, style: NumberStyle) -> list[str]:
    """Read 1..999; `full` (a higher group precedes) also says "không trăm" and "linh"."""
    hundreds, rest = divmod(number, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGIT_WORDS[hundreds], "trăm"]
    if tens == 0:
        if units and words:
            words += [style.zero_tens, DIGIT_WORDS[units]]
        elif units:
            words.append(DIGIT_WORDS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append(_units_word(units, tens))
    else:
        words += [DIGIT_WORDS[tens], "mươi"]
        if units:
            words.append(_units_word(units, tens))
    return words


def read_number(number: int, style: NumberStyle = DEFAULT_STYLE) -> str:
    """Cardinal reading of an integer: 2021 -> "hai nghìn không trăm hai mươi mốt"."""
    if number < 0:
        return "âm " + read_number(-number, style)
    if number == 0:
        return DIGIT_WORDS[0]
    words: list[str] = []
    billions, rest = divmod(number, 1_000_000_000)
    if billions:
        words += [*read_number(billions, style).split(), "tỷ"]
    groups = (
        (rest // 1_000_000, "triệu"),
        (rest // 1000 % 1000, style.thousand),
        (rest % 1000, ""),
    )
    for group, scale in groups:
        if group == 0:
            continue
        words += _read_below_thousand(group, full=bool(words), style=style)
        if scale:
            words.append(scale)
    return " ".join(words)


def read_ordinal(number: int, style: NumberStyle = DEFAULT_STYLE) -> str:
    """The word after "thứ": 1 -> "nhất", 4 -> "tư", 12 -> "mười hai"."""
    if number == 1:
        return "nhất"
    if number == 4:
        return "tư"
    return read_number(number, style)


def read_digits(digits: str) -> str:
    """Digit by digit: "0912" -> "không chín một hai"."""
    return " ".join(DIGIT_WORDS[int(digit)] for digit in digits if digit.isdigit())


def read_decimal(integer_part: str, fraction: str, style: NumberStyle = DEFAULT_STYLE) -> str:
    """A decimal with its parts as written: ("4", "95") -> "bốn phẩy chín mươi lăm".

    One or two fraction digits without a leading zero are read as a number (the common
    spoken form); longer or zero-led fractions are read digit by digit ("3,05" -> "ba phẩy
    không năm").
    """
    whole = read_number(int(integer_part), style)
    if len(fraction) <= 2 and not fraction.startswith("0"):
        return f"{whole} phẩy {read_number(int(fraction), style)}"
    return f"{whole} phẩy {read_digits(fraction)}"


def parse_roman(numeral: str) -> int | None:
    """The value of a canonical upper-case Roman numeral, or None: "XIII" -> 13."""
    if not numeral or not _ROMAN_PATTERN.fullmatch(numeral):
        return None
    values = [_ROMAN_VALUES[letter] for letter in numeral]
    total = 0
    for value, following in zip(values, [*values[1:], 0], strict=True):
        total += -value if value < following else value
    return total
