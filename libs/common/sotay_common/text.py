"""Vietnamese text helpers shared by the services: NFC, diacritic folding for search, and one
placement of tone marks, so that old and new spellings (HÒA/HOÀ, THỦY/THUỶ) compare equal."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TONE_MARKS = {
    "\u0300": "grave",  # huyền
    "\u0301": "acute",  # sắc
    "\u0303": "tilde",  # ngã
    "\u0309": "hook",  # hỏi
    "\u0323": "dot",  # nặng
}
_QUALITY_VOWELS = set("ăâêôơư")
_VOWELS = set("aăâeêioôơuưy")
_WORD = re.compile(r"\w+", re.UNICODE)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def collapse_spaces(text: str) -> str:
    # str.split() splits on the same Unicode whitespace as the pattern \s, several times faster
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lowercase without any diacritics: 'Nguyễn Văn Đức' -> 'nguyen van duc'."""
    if len(text) <= 32:
        return _fold_short(text)
    return _fold(text)


@lru_cache(maxsize=65536)
def _fold_short(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def has_diacritics(text: str) -> bool:
    return fold(text) != text.lower()


def _split_tone(syllable: str) -> tuple[str, str | None]:
    """'hoà' -> ('hoa', '\u0300'); quality marks (ă â ê ô ơ ư) stay in the base."""
    tone = None
    kept = []
    for ch in unicodedata.normalize("NFD", syllable):
        if ch in _TONE_MARKS:
            tone = ch
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)), tone


def _tone_position(base: str) -> int | None:
    """Index of the letter that carries the tone, traditional ('old') placement: hòa, thủy, khỏe."""
    lower = base.lower()
    start = 0
    if lower.startswith("qu") or (
        lower.startswith("gi") and len(lower) > 2 and lower[2] in _VOWELS
    ):
        start = 2
    positions = [i for i in range(start, len(lower)) if lower[i] in _VOWELS]
    if not positions and start:
        positions = [start - 1]  # "gì": the i is the vowel after all
    if not positions:
        return None
    # vowels form one run inside a syllable
    run = [positions[0]]
    for i in positions[1:]:
        if i == run[-1] + 1:
            run.append(i)
    for i in run:
        if lower[i] in _QUALITY_VOWELS:
            return [j for j in run if lower[j] in _QUALITY_VOWELS][-1]
    closed = run[-1] < len(lower) - 1
    if len(run) == 1:
        return run[0]
    if len(run) == 2:
        return run[1] if closed else run[0]
    return run[1]


def canonical_tones(text: str) -> str:
    """Re-places tone marks by one rule so that spelling variants compare equal. Keeps case."""

    return _WORD.sub(lambda match: _canonical_word(match.group(0)), nfc(text))


@lru_cache(maxsize=65536)
def _canonical_word(word: str) -> str:
    # Names and documents reuse a few thousand syllables: computed once each.
    base, tone = _split_tone(word)
    if tone is None:
        return nfc(word)
    position = _tone_position(base)
    if position is None:
        return nfc(word)
    decomposed = base[:position] + unicodedata.normalize("NFD", base[position]) + tone
    return nfc(decomposed + base[position + 1 :])


def canonical_name(text: str) -> str:
    """A person's name for comparison: NFC, canonical tones, single spaces, upper case."""
    return canonical_tones(collapse_spaces(nfc(text))).upper()


def search_words(text: str) -> list[str]:
    """Lowercase words with canonical diacritics: the accent-sensitive form of a search."""
    return [_canonical_word(word) for word in _WORD.findall(nfc(text).lower())]


def folded_words(text: str) -> list[str]:
    """Lowercase words without diacritics: the accent-insensitive form of a search."""
    return _WORD.findall(fold(nfc(text)))
