"""Vietnamese name normalisation shared by the card reader and the member name match.

Vietnamese has two conventions for where the tone mark sits in open syllables with the
vowel pairs "oa", "oe" and "uy": the traditional one (Hòa, Thủy, Khỏe) and the "new" one
(Hoà, Thuỷ, Khoẻ). Both are in daily use, so the same person can appear with either
spelling. `canonical_name` re-places every tone mark with one rule (the traditional one, the
commoner in civil records) so that two spellings of one name compare equal.
"""

import re
import unicodedata

__all__ = [
    "COMMON_SURNAMES",
    "canonical_name",
    "canonical_syllable",
    "fold_accents",
    "restore_surname",
]

# Surnames that together cover nearly all Vietnamese people. OCR often loses the accents of
# an upper-case surname ("NGUYÊN" for "NGUYỄN"); these restore them.
COMMON_SURNAMES = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trịnh",
    "Mai",
    "Đào",
    "Lâm",
    "Cao",
    "Tạ",
    "Lương",
    "Hà",
    "Vương",
    "Chu",
    "Kiều",
    "Quách",
    "Lại",
    "Thái",
    "Triệu",
    "Khổng",
    "Tôn",
    "Ông",
    "Doãn",
    "Nghiêm",
    "Mạc",
    "Lò",
    "Đoàn",
    "Trương",
    "Văn",
    "Tăng",
    "Lưu",
    "Từ",
    "Âu",
    "Đàm",
    "Giang",
    "Hứa",
    "Khúc",
    "Lục",
    "Nông",
    "Phùng",
    "Quan",
    "Tô",
    "Thân",
    "Trình",
    "Vi",
    "Ninh",
    "Bạch",
    "Đồng",
    "Hầu",
    "Tiêu",
    "Tống",
    "Đường",
    "Bế",
    "Hoa",
)

# Combining tone marks after NFD: grave, acute, hook above, tilde, dot below.
_TONE_MARKS = frozenset("\u0300\u0301\u0309\u0303\u0323")
# Vowel letters after NFD; the shape marks (circumflex, breve, horn) stay attached to them.
_VOWELS = frozenset("aeiouy")
_SHAPE_MARKS = frozenset("\u0302\u0306\u031b")
_WHITESPACE = re.compile(r"\s+")


def fold_accents(text: str) -> str:
    """Return `text` without any diacritic (đ becomes d), upper-cased: for fuzzy matching."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.upper()


def restore_surname(name: str) -> str:
    """Give a canonical name's first syllable the accents of the one common surname it folds to.

    "Nguyên Văn An" -> "Nguyễn Văn An". A surname that is itself common, or folds to no
    common surname, or to several (none do today), is left as it is.
    """
    surname, _, rest = name.partition(" ")
    if surname in COMMON_SURNAMES:
        return name
    matches = [s for s in COMMON_SURNAMES if fold_accents(s) == fold_accents(surname)]
    return f"{matches[0]} {rest}".strip() if len(matches) == 1 else name


def canonical_name(name: str) -> str:
    """NFC, single spaces, each syllable capitalised, tone marks placed traditionally.

    "  NGUYỄN  thị THUỶ " -> "Nguyễn Thị Thủy"; "Lê Văn Hoà" -> "Lê Văn Hòa".
    """
    syllables = _WHITESPACE.split(unicodedata.normalize("NFC", name).strip())
    return " ".join(canonical_syllable(s).capitalize() for s in syllables if s)


def canonical_syllable(syllable: str) -> str:
    """Lower-case NFC syllable with its tone mark on the vowel the traditional rule picks."""
    letters = _decompose(syllable.lower())
    tone = next((mark for _, marks in letters for mark in marks if mark in _TONE_MARKS), None)
    bare = [(base, "".join(m for m in marks if m not in _TONE_MARKS)) for base, marks in letters]
    if tone is not None:
        target = _tone_position(bare)
        if target is not None:
            base, marks = bare[target]
            bare[target] = (base, marks + tone)
    return unicodedata.normalize("NFC", "".join(base + marks for base, marks in bare))


def _decompose(syllable: str) -> list[tuple[str, str]]:
    """Split into (base letter, combining marks) pairs."""
    letters: list[tuple[str, str]] = []
    for ch in unicodedata.normalize("NFD", syllable):
        if unicodedata.combining(ch) and letters:
            base, marks = letters[-1]
            letters[-1] = (base, marks + ch)
        else:
            letters.append((ch, ""))
    return letters


def _tone_position(letters: list[tuple[str, str]]) -> int | None:
    """Index of the letter that carries the tone (traditional placement), None if no vowel."""
    bases = "".join(base for base, _ in letters)
    start = _nucleus_start(bases)
    end = start
    while end < len(letters) and letters[end][0] in _VOWELS:
        end += 1
    nucleus = range(start, end)
    if not nucleus:
        return None
    shaped = [i for i in nucleus if _SHAPE_MARKS.intersection(letters[i][1])]
    if shaped:
        return shaped[-1]  # ươ -> ơ; otherwise the only shaped vowel
    has_final_consonant = end < len(letters)
    if len(nucleus) == 1 or has_final_consonant:
        return nucleus[-1]
    if len(nucleus) == 2:
        return nucleus[0]  # traditional: hòa, thủy, mía, múa
    return nucleus[1]  # three vowels: ngoài, khuỷu


def _nucleus_start(bases: str) -> int:
    """Index of the first vowel of the nucleus, skipping the initial consonant (qu, gi too)."""
    i = 0
    while i < len(bases) and bases[i] not in _VOWELS:
        i += 1
    followed_by_vowel = i + 1 < len(bases) and bases[i + 1] in _VOWELS
    if i > 0 and followed_by_vowel and bases[i - 1 : i + 1] in ("qu", "gi"):
        i += 1
    return i
