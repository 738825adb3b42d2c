"""Label-tolerant parsing of party card fields from OCR text (pure string logic).

OCR confuses look-alike characters (O/0, I/l/1, S/5, "/" read as "I"), drops accents and
spaces, and picks up specks around the text. These parsers repair what can be repaired
without guessing and return None for anything else: a None goes to a person, a wrong
value could be accepted.
"""

import datetime as dt
import re
from collections.abc import Sequence

from sotay_identity.names import canonical_name, fold_accents, restore_surname

__all__ = [
    "LABELS",
    "as_digits",
    "letters",
    "match_committee",
    "match_label",
    "parse_card_number",
    "parse_date",
    "parse_name",
    "similarity",
    "strip_label",
]

# Printed labels, accent-folded, letters only; each field's value follows its label.
LABELS = {
    "full_name": ("HOVATEN", "HOTEN"),
    "date_of_birth": ("SINHNGAY", "NGAYSINH"),
    "admission_date": ("VAODANGNGAY", "NGAYVAODANG"),
    "official_date": ("CHINHTHUCNGAY", "NGAYCHINHTHUC"),
    "party_card_number": ("SOTHE", "SOTHEDANGVIEN"),
}
MIN_LABEL_SIMILARITY = 0.7
MIN_COMMITTEE_SIMILARITY = 0.82

# Characters OCR engines put for digits on dates and numbers.
_DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0", "o": "0", "D": "0", "Q": "0", "U": "0", "Ô": "0", "Ơ": "0", "ô": "0",
        "ơ": "0", "ò": "0", "ó": "0", "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2",
        "G": "6", "b": "6", "g": "9", "q": "9", "T": "7", "A": "4",
    }
)  # fmt: skip
_ONE_OR_SLASH = "Il|!iíìLJ]["  # each is either a "1" or a separator that lost its shape
_DATE_WORDS = re.compile(r"NGAY|THANG|NAM")
_SYLLABLE = re.compile(r"^[^\W\d_]{1,7}$")


def parse_date(text: str) -> dt.date | None:
    """A date printed dd/mm/yyyy (any separator, or none) or "ngày dd tháng mm năm yyyy"."""
    text = _blank_date_words(text)
    number_tokens = [t for t in text.split() if any(ch.isdigit() for ch in t)]
    if len(number_tokens) == 3:  # numbers separated by words or spaces
        day, month, year = (as_digits(t) for t in number_tokens)
        if len(year) == 4 and 1 <= len(day) <= 2 and 1 <= len(month) <= 2:
            return _date(day, month, year)
        return None
    compact = "".join(number_tokens or text.split()).translate(_DIGIT_LOOKALIKES)
    for reading in _separator_readings(compact):
        found = _date_of_groups(re.findall(r"\d+", reading))
        if found is not None:
            return found
    return None


def parse_card_number(text: str) -> str | None:
    """The card number: the only run of 12 digits (spaces or dots inside it are allowed)."""
    digits = as_digits(text, keep_separators=True)
    runs = re.findall(r"\d+", re.sub(r"(?<=\d)[ .,]+(?=\d)", "", digits))
    long_runs = [run for run in runs if len(run) > 2]  # shorter ones are specks of noise
    return long_runs[0] if len(long_runs) == 1 and len(long_runs[0]) == 12 else None


def parse_name(text: str) -> str | None:
    """The canonical full name, or None unless it looks like 2 to 7 Vietnamese syllables."""
    name = restore_surname(canonical_name(re.sub(r"[^\w\s']|\d|_", " ", text)))
    syllables = name.split()
    if not 2 <= len(syllables) <= 7 or not all(_SYLLABLE.match(s) for s in syllables):
        return None
    return name


def match_committee(text: str, committees: Sequence[str]) -> str | None:
    """The committee of the closed list that `text` names (accents, case, spacing ignored).

    None when nothing is close enough or when two committees are equally close.
    """
    folded = letters(text)
    ranked = sorted((_levenshtein(folded, letters(c)), c) for c in committees)
    if not ranked:
        return None
    distance, best = ranked[0]
    if 1 - distance / max(len(folded), len(letters(best)), 1) < MIN_COMMITTEE_SIMILARITY:
        return None
    if len(ranked) > 1 and ranked[1][0] == distance:
        return None
    return best


def committee_similarity(text: str, committees: Sequence[str]) -> float:
    """How well the closest committee matches `text`, from 0 to 1."""
    folded = letters(text)
    best = 0.0
    for committee in committees:
        other = letters(committee)
        length_bound = 1 - abs(len(folded) - len(other)) / max(len(folded), len(other), 1)
        if length_bound > best:  # no need to compute what cannot beat the best
            best = max(best, similarity(folded, other))
    return best


def match_label(words: Sequence[str]) -> tuple[str, float, int] | None:
    """(field, similarity, number of label words) of the label that best opens a line."""
    best: tuple[str, float, int] | None = None
    for count in range(1, min(5, len(words)) + 1):
        opening = letters(" ".join(words[:count]))
        for field_name, labels in LABELS.items():
            score = max(similarity(opening, label) for label in labels)
            if score >= MIN_LABEL_SIMILARITY and (best is None or score > best[1]):
                best = (field_name, score, count)
    return best


def strip_label(field_name: str, text: str) -> str:
    """`text` without an opening fragment of the field's label, if it has one."""
    words = text.split()
    for count in range(min(4, len(words)), 0, -1):
        opening = letters(" ".join(words[:count]))
        if len(opening) >= 3 and any(
            similarity(opening, part) >= 0.8
            for label in LABELS[field_name]
            for part in (label, label[-len(opening) :])  # the whole label, or its tail
        ):
            return " ".join(words[count:])
    return text.strip(" :")


def as_digits(token: str, *, keep_separators: bool = False) -> str:
    """`token` with digit look-alikes made digits; other characters dropped unless kept."""
    digits = token.translate(_DIGIT_LOOKALIKES)
    for ambiguous in _ONE_OR_SLASH:
        digits = digits.replace(ambiguous, "1")
    return digits if keep_separators else re.sub(r"\D", "", digits)


def letters(text: str) -> str:
    """Accent-folded upper-case letters and digits only: the form labels are compared in."""
    return re.sub(r"[^A-Z0-9]", "", fold_accents(text))


def similarity(a: str, b: str) -> float:
    """1 - edit distance / longer length."""
    if not a and not b:
        return 1.0
    return 1.0 - _levenshtein(a, b) / max(len(a), len(b))


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _blank_date_words(text: str) -> str:
    """Replace the words "ngày", "tháng", "năm" (any accents) with spaces."""
    folded = "".join(fold_accents(ch)[:1] or " " for ch in text)  # one char per char
    for match in _DATE_WORDS.finditer(folded):
        text = text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
    return text


def _separator_readings(text: str) -> list[str]:
    """Readings of `text` with each 1-or-slash look-alike taken as "/" or as "1"."""
    readings = [""]
    for ch in text:
        options = ("/", "1") if ch in _ONE_OR_SLASH else (ch,)
        readings = [reading + option for reading in readings for option in options][:64]
    return readings


def _date_of_groups(groups: list[str]) -> dt.date | None:
    if [len(g) for g in groups] == [2, 2, 4]:
        return _date(*groups)
    if len(groups) != 1:
        return None
    run = groups[0]
    if len(run) == 8:  # the separators were lost
        return _date(run[:2], run[2:4], run[4:])
    if len(run) == 10 and run[2] == run[5] == "1":  # the slashes were read as "1"
        return _date(run[:2], run[3:5], run[6:])
    return None


def _date(day: str, month: str, year: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
