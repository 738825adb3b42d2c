"""Vietnamese text as the retrievers see it: syllable tokens, folded (accent-free) forms,
syllable bigrams, and the expansion of the abbreviations members type in chat.

A token is one lowercase syllable with canonical tone placement (sotay_common.text), or a
number written one way: "03" -> "3", "10.000" -> "10000", "0,5" -> "0.5", "10k" -> "10000".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources

from sotay_common.text import canonical_tones, fold, nfc

_NUMBER = r"\d+(?:[.,]\d+)*k?(?!\w)"
# A document number such as 03-CT/TU or 12-QĐ/TU: its letters are codes, not abbreviations.
_DOCUMENT_NUMBER = r"\d+[-/][^\W\d_]+(?:[-/][^\W\d_]+)+"
_TOKEN = re.compile(rf"(?P<docno>{_DOCUMENT_NUMBER})|(?P<number>{_NUMBER})|(?P<word>[^\W_]+)")
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
_CLAUSE_BREAK = re.compile(r"[.;:!?\n]")


def tokenize(text: str) -> list[str]:
    """Lowercase syllables (canonical tones) and normalised numbers, in reading order."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(canonical_tones(nfc(text)).lower()):
        if match["number"]:
            tokens.append(normalize_number(match["number"]))
        elif match["docno"]:
            tokens.extend(_code_parts(match["docno"]))
        else:
            tokens.append(match["word"])
    return tokens


def _code_parts(document_number: str) -> list[str]:
    parts = re.split(r"[-/]", document_number)
    return [normalize_number(parts[0]), *parts[1:]]


def normalize_number(raw: str) -> str:
    """One spelling per number: no leading zeros, no thousands dots, a decimal point."""
    thousands = raw.endswith("k")
    digits = raw.removesuffix("k")
    if _THOUSANDS.fullmatch(digits):
        digits = digits.replace(".", "")
    digits = digits.replace(",", ".")
    if "." not in digits:
        digits = digits.lstrip("0") or "0"
    if thousands and digits.isdigit():
        return str(int(digits) * 1000)
    return digits


def clauses(text: str) -> list[list[str]]:
    """Tokens grouped by clause, so that bigrams do not join words across punctuation."""
    return [tokens for part in _CLAUSE_BREAK.split(text) if (tokens := tokenize(part))]


def folded(tokens: Iterable[str]) -> list[str]:
    return [fold(token) for token in tokens]


def bigrams(tokens: Sequence[str]) -> list[str]:
    return [f"{first} {second}" for first, second in itertools.pairwise(tokens)]


def is_number(token: str) -> bool:
    return token[:1].isdigit()


@cache
def default_abbreviations() -> Mapping[str, str]:
    """The packaged table (data/abbreviations.tsv): folded abbreviation -> words."""
    source = resources.files("sotay_assistant").joinpath("data/abbreviations.tsv")
    return parse_abbreviations(source.read_text(encoding="utf-8"))


def parse_abbreviations(table: str) -> dict[str, str]:
    """Lines `abbreviation<TAB>expansion`; `#` starts a comment. Keys are folded."""
    entries: dict[str, str] = {}
    for line in table.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        short, expansion = (part.strip() for part in line.split("\t", 1))
        entries[fold(short)] = nfc(expansion)
    return entries


def expand_abbreviations(text: str, table: Mapping[str, str] | None = None) -> str:
    """Writes chat abbreviations out: "đv dbi có đc bq ko" -> "đảng viên dự bị có được ...".

    Letters inside document numbers (03-CT/TU) and numbers (10k) are left alone.
    """
    table = default_abbreviations() if table is None else table

    def expand(match: re.Match[str]) -> str:
        word = match["word"]
        if word is None:
            return match.group(0)
        return table.get(fold(word), word)

    return _TOKEN.sub(expand, nfc(text))
