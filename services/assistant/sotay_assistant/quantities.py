"""Quantities a question states and the ranges a passage sets, so that "tôi 62 tuổi" meets
"người trên 60 tuổi" and not "từ đủ 18 tuổi đến 60 tuổi".

Members describe their situation with numbers ("nằm viện 4 tháng", "thôn còn 2 đảng viên") and
the regulations answer with thresholds ("từ 03 tháng trở lên", "dưới 03 đảng viên"). Words
cannot tell those passages from their siblings; comparing the numbers can. Durations are
compared in days, so "2 tuần" meets "dưới 03 tháng".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sotay_assistant.vietnamese import is_number, number_value, tokenize
from sotay_common.text import fold

# Unit (folded syllables) -> (dimension, size in that dimension's base unit).
_UNITS: dict[tuple[str, ...], tuple[str, float]] = {
    ("tuoi",): ("tuoi", 1),
    ("ngay",): ("ngay", 1),
    ("tuan",): ("ngay", 7),
    ("thang",): ("ngay", 365 / 12),  # so that "12 tháng" is "1 năm"
    ("quy",): ("ngay", 365 / 4),
    ("nam",): ("ngay", 365),
    ("dang", "vien"): ("nguoi", 1),
    ("nguoi",): ("nguoi", 1),
    ("uy", "vien"): ("nguoi", 1),
    ("lan",): ("lan", 1),
    ("ky",): ("ky", 1),
    ("phut",): ("phut", 1),
}
# "một năm mấy lần", "một tháng đóng bao nhiêu": "một" frames a question rather than states
# a quantity; a member who means it writes "1 năm".
_ONE = "mot"
_DATE_WORDS = frozenset({"ngay", "thang", "nam"})  # "ngày 15 tháng 12" is a date, not 15 months
_OPEN_ABOVE = (("tren",), ("qua",), ("hon",))
_OPEN_BELOW = (("duoi",), ("chua", "du"), ("it", "hon"))
_AT_MOST = (("khong", "qua"), ("toi", "da"))
_AT_LEAST = (("it", "nhat"), ("khong", "it", "hon"), ("toi", "thieu"), ("tu", "du"), ("tu",))
_AND_UP = ("tro", "len")
_AND_UP_REACH = 4  # "từ 03 đảng viên chính thức trở lên"


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float  # in the dimension's base unit
    dimension: str


@dataclass(frozen=True, slots=True)
class Range:
    low: float
    high: float
    dimension: str
    low_open: bool = False
    high_open: bool = False

    def holds(self, quantity: Quantity) -> bool:
        if quantity.dimension != self.dimension:
            return False
        value = quantity.value
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


_BOUNDS = (
    (_OPEN_ABOVE, lambda q: Range(q.value, math.inf, q.dimension, low_open=True)),
    (_OPEN_BELOW, lambda q: Range(-math.inf, q.value, q.dimension, high_open=True)),
    (_AT_MOST, lambda q: Range(-math.inf, q.value, q.dimension)),
    (_AT_LEAST, lambda q: Range(q.value, math.inf, q.dimension)),
)

# The bounds a question may put on its own number, and which way each moves it (0: not at all).
_QUESTION_BOUNDS = (
    (_OPEN_ABOVE, math.inf),
    (_OPEN_BELOW, -math.inf),
    (_AT_MOST, 0.0),
    (_AT_LEAST, 0.0),
)


def stated_quantities(question: Sequence[str]) -> list[Quantity]:
    """The numbers with a unit that the question states: "tôi 62 tuổi" -> 62 tuổi, "hơn 1
    năm" -> just over 365 days. Dates ("ngày 15 tháng 12") and "một" are left out; "bao nhiêu
    tháng" states nothing."""
    keys = _keys(question)
    found = []
    for index in range(len(keys)):
        if (index and keys[index - 1] in _DATE_WORDS) or fold(question[index]) == _ONE:
            continue
        quantity = _quantity_at(keys, index)
        if quantity is not None:
            found.append(_beyond(keys, index, quantity[0]))
    return found


def _beyond(keys: Sequence[str], index: int, quantity: Quantity) -> Quantity:
    """ "hơn 1 năm" is a little more than a year, so that it meets "trên 12 tháng" and not
    "đến 12 tháng"; "dưới 3 tháng" a little less. "không quá 3 tháng" is 3 months, as a passage
    reads it (`_negated`)."""
    before = [
        (len(opening), direction)
        for openings, direction in _QUESTION_BOUNDS
        for opening in openings
        if tuple(keys[max(index - len(opening), 0) : index]) == opening
        and not _negated(keys, index - len(opening))
    ]
    direction = max(before)[1] if before else 0.0  # the longest: "không ít hơn", not "hơn"
    if not direction:
        return quantity
    return Quantity(math.nextafter(quantity.value, direction), quantity.dimension)


def set_ranges(passage: str) -> list[Range]:
    """The ranges the passage sets: "trên 60 tuổi", "từ đủ 03 tháng đến 24 tháng", "dưới 03
    đảng viên", "không quá 02 lần", "từ 15 đảng viên trở lên"."""
    keys = _keys(tokenize(passage))
    ranges = []
    index = 0
    while index < len(keys):
        found = _range_at(keys, index)
        if found is None:
            index += 1
        else:
            ranges.append(found[0])
            index = found[1]  # past its number: "không ít hơn 90" is not also "hơn 90"
    return ranges


def meets(passage: str, quantities: Sequence[Quantity]) -> bool:
    """Whether a stated quantity falls in a range the passage sets."""
    if not quantities:
        return False
    return any(r.holds(q) for r in set_ranges(passage) for q in quantities)


def _quantity_at(keys: Sequence[str], index: int) -> tuple[Quantity, int] | None:
    """The quantity starting at `index` and where it ends, if a number and unit start there."""
    number = _number(keys[index]) if index < len(keys) else None
    if number is None:
        return None
    unit = _unit_at(keys, index + 1)
    if unit is None:
        return None
    (dimension, size), end = unit
    return Quantity(number * size, dimension), end


def _unit_at(keys: Sequence[str], index: int) -> tuple[tuple[str, float], int] | None:
    for unit, measure in _UNITS.items():
        end = index + len(unit)
        if tuple(keys[index:end]) == unit:
            return measure, end
    return None


def _keys(tokens: Sequence[str]) -> list[str]:
    """Tokens as the patterns read them: syllables folded, counts as digits ("hai" -> "2.0";
    "bà" stays a word although it folds to "ba")."""
    return [fold(t) if (value := number_value(t)) is None else str(value) for t in tokens]


def _number(key: str) -> float | None:
    return number_value(key) if is_number(key) else None


def _range_at(keys: Sequence[str], index: int) -> tuple[Range, int] | None:
    """The range opening at `index` and the index just past its first number."""
    for openings, make in _BOUNDS:
        for opening in openings:
            start = index + len(opening)
            if tuple(keys[index:start]) != opening or _negated(keys, index):
                continue
            found = _from_range(keys, start) if opening[0] == "tu" else _bound(keys, start, make)
            if found is not None:
                return found, start + 1
    return None


def _bound(keys: Sequence[str], start: int, make: Callable[[Quantity], Range]) -> Range | None:
    found = _quantity_at(keys, start)
    return None if found is None else make(found[0])


def _negated(keys: Sequence[str], index: int) -> bool:
    """ "quá" and "ít hơn" right after "không" belong to "không quá" and "không ít hơn"."""
    return index > 0 and keys[index - 1] == "khong" and keys[index] in ("qua", "it")


def _from_range(keys: Sequence[str], start: int) -> Range | None:
    """After "từ (đủ)": "N unit đến M unit" or "N đến M unit" is closed; "N unit ... trở lên"
    is open; anything else ("từ 10 ngày" as a start date) sets no range."""
    low = _number(keys[start]) if start < len(keys) else None
    if low is None:
        return None
    unit = _unit_at(keys, start + 1)
    end = unit[1] if unit else start + 1
    if end < len(keys) and keys[end] == "den":
        high = _number(keys[end + 1]) if end + 1 < len(keys) else None
        high_unit = _unit_at(keys, end + 2)
        if high is None or high_unit is None or (unit and unit[0] != high_unit[0]):
            return None
        dimension, size = high_unit[0]
        return Range(low * size, high * size, dimension)
    if unit is None:
        return None
    (dimension, size), _ = unit
    for index in range(end, min(end + _AND_UP_REACH, len(keys))):
        if tuple(keys[index : index + 2]) == _AND_UP:
            return Range(low * size, math.inf, dimension)
    return None
