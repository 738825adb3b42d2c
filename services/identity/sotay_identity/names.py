"""Vietnamese names as the card reader and the member match need them.

Tone placement and folding come from `sotay_common.text` (one rule for every service: the
traditional placement, Hòa / Thủy / Khỏe, so that both spellings of a name compare equal).
This module adds what reading a card needs on top: names in Title case, the accent-folded
upper-case form labels are compared in, and the accents of a common surname that OCR lost.
"""

import re

from sotay_common.text import canonical_tones, fold, nfc

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

_WHITESPACE = re.compile(r"\s+")


def fold_accents(text: str) -> str:
    """Return `text` without any diacritic (đ becomes d), upper-cased: for fuzzy matching."""
    return fold(text).upper()


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
    syllables = _WHITESPACE.split(nfc(name).strip())
    return " ".join(canonical_syllable(s).capitalize() for s in syllables if s)


def canonical_syllable(syllable: str) -> str:
    """Lower-case NFC syllable with its tone mark on the vowel the traditional rule picks."""
    return canonical_tones(syllable.lower())
