"""Canonical form of every stored text: NFC, one kind of space, one kind of line break.

Structure offsets (regulations.py), content hashes (documents.py) and the bodies carried in
events all refer to this form, so it must stay stable: changing it changes every offset.
"""

from __future__ import annotations

import re
import unicodedata

_LINE_BREAKS = "\r\x0b\x0c\x85\u2028\u2029"
_SPACES = "\t\xa0\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
_INVISIBLE = "\xad\u200b\u200c\u200d\u2060\ufeff"
# Vietnamese text typed with legacy fonts or converters uses the Icelandic Eth for Đ.
_LOOKALIKES = {"Ð": "Đ", "ð": "đ", "Ɖ": "Đ"}

_TRANSLATION: dict[int, str | None] = {
    **{code: None for code in range(0x20) if chr(code) not in "\n" + _LINE_BREAKS + _SPACES},
    **{code: None for code in range(0x7F, 0xA0) if code != 0x85},
    **dict.fromkeys(map(ord, _LINE_BREAKS), "\n"),
    **dict.fromkeys(map(ord, _SPACES), " "),
    **dict.fromkeys(map(ord, _INVISIBLE), None),
    **{ord(src): dst for src, dst in _LOOKALIKES.items()},
}

_INNER_SPACE_RUNS = re.compile(r"(?<=\S) {2,}")
_TRAILING_SPACES = re.compile(r" +(?=\n|$)")
_BLANK_LINE_RUNS = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC; tabs and exotic spaces to spaces; CR/LF variants to LF; at most one blank line.

    Runs of spaces inside a line become one space and trailing spaces go; a line's leading
    indentation is kept, because Markdown gives it meaning (nested lists, code blocks).
    """
    text = text.replace("\r\n", "\n").translate(_TRANSLATION)
    text = unicodedata.normalize("NFC", text)
    text = _INNER_SPACE_RUNS.sub(" ", text)
    text = _TRAILING_SPACES.sub("", text)
    text = _BLANK_LINE_RUNS.sub("\n\n", text)
    return text.lstrip("\n").rstrip()
