"""Vietnamese text as the retrievers see it: syllable tokens, folded (accent-free) forms,
syllable bigrams, the expansion of the abbreviations members type in chat, and the regulation's
wording of what members say otherwise ("vào Đảng" for "kết nạp").

A token is one lowercase syllable with canonical tone placement (sotay_common.text), or a
number written one way: "03" -> "3", "10.000" -> "10000", "0,5" -> "0.5", "10k" -> "10000".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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


# Counts spelled out, with their diacritics: "bà", "sau" and "tạm" are not numbers. "năm" is left
# out: it is the year far more often than five ("một năm đảng viên phải...").
_NUMBER_WORDS = {
    "một": 1, "hai": 2, "ba": 3, "bốn": 4, "sáu": 6, "bảy": 7, "tám": 8, "chín": 9, "mười": 10,
}  # fmt: skip


def is_count(token: str) -> bool:
    """A number ("90") or a count spelled out ("hai")."""
    return is_number(token) or token in _NUMBER_WORDS


def number_value(token: str) -> float | None:
    """The value of a number token ("90", "0.5") or of a count spelled out ("hai")."""
    if is_number(token):
        try:
            return float(token)
        except ValueError:
            return None
    return _NUMBER_WORDS.get(token)


def _words(listing: str) -> frozenset[str]:
    return frozenset(listing.split(" "))


_ONSETS = _words("b c ch d g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x") | {""}
_OPEN_RHYMES = _words(
    "a e i o u y ai ao au ay eo eu ia iu oa oe oi ua ue ui uo uu uy ya "
    "ieu yeu oai oao oay oeo uay uoi uou uya uyu"
)
_CLOSING_NUCLEI = _words("a e i o u y ie ye uo oa oe ua ue uy uye oo")
_FINALS = _words("c ch m n ng nh p t")
_RHYMES = _OPEN_RHYMES | {nucleus + final for nucleus in _CLOSING_NUCLEI for final in _FINALS}


def is_syllable(folded_token: str) -> bool:
    """Whether an accent-free token can be a Vietnamese syllable (an onset and a rhyme):
    "nguoi" and "uoi" can, "khnog" and "abo" cannot. Generous: some forms it accepts are
    not used, none it rejects is."""
    return any(
        folded_token[:split] in _ONSETS and folded_token[split:] in _RHYMES
        for split in range(min(len(folded_token), 3) + 1)
    )


@cache
def default_abbreviations() -> Mapping[str, str]:
    """The packaged table (data/abbreviations.tsv): folded abbreviation -> words."""
    source = resources.files("sotay_assistant").joinpath("data/abbreviations.tsv")
    return parse_abbreviations(source.read_text(encoding="utf-8"))


def parse_abbreviations(table: str) -> dict[str, str]:
    """Lines `abbreviation<TAB>expansion`; `#` starts a comment. Keys are folded."""
    return {fold(short): nfc(expansion) for short, expansion in _table_rows(table)}


def _table_rows(table: str) -> list[tuple[str, str]]:
    """The `key<TAB>value` pairs of a packaged table; `#` starts a comment."""
    rows = []
    for line in table.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, value = (part.strip() for part in line.split("\t", 1))
            rows.append((key, value))
    return rows


@dataclass(frozen=True, slots=True)
class Paraphrase:
    said: tuple[str, ...]  # how members say it, syllables with diacritics
    written: tuple[str, ...]  # how the regulations say it


Paraphrases = Mapping[tuple[str, ...], Sequence[Paraphrase]]  # by the folded `said`


@cache
def paraphrase_rows() -> tuple[tuple[str, str], ...]:
    """The packaged table (data/paraphrases.tsv): (member phrase, regulation words) pairs."""
    source = resources.files("sotay_assistant").joinpath("data/paraphrases.tsv")
    return tuple(_table_rows(source.read_text(encoding="utf-8")))


@cache
def default_paraphrases() -> Paraphrases:
    """The packaged table as `regulation_wording` reads it."""
    return parse_paraphrases(paraphrase_rows())


def parse_paraphrases(rows: Iterable[tuple[str, str]]) -> dict[tuple[str, ...], list[Paraphrase]]:
    table: dict[tuple[str, ...], list[Paraphrase]] = {}
    for said, written in rows:
        phrase = Paraphrase(tuple(tokenize(said)), tuple(tokenize(written)))
        table.setdefault(tuple(folded(phrase.said)), []).append(phrase)
    return table


def regulation_wording(tokens: Sequence[str], table: Paraphrases | None = None) -> list[str]:
    """The regulation's words for every member phrase found in `tokens`, in question order:
    ["bị", "xóa", "tên", "có", "được", "vào", "đảng", "lại"] -> ["kết", "nạp"]. A syllable
    matches with its diacritics ("bộ họp" is not "bỏ họp"), or without any when it has none
    (diacritics the restorer could not tell)."""
    table = default_paraphrases() if table is None else table
    keys = folded(tokens)
    sizes = sorted({len(phrase) for phrase in table}, reverse=True)
    words: list[str] = []
    for start in range(len(keys)):
        for size in sizes:
            end = start + size
            if end > len(keys):
                continue  # a shorter slice is the same as the shorter size, tried later
            found = _matching_phrase(table, tokens[start:end], keys[start:end])
            if found is not None:
                words.extend(found.written)
                break
    return words


def _matching_phrase(
    table: Paraphrases, tokens: Sequence[str], keys: Sequence[str]
) -> Paraphrase | None:
    for phrase in table.get(tuple(keys), ()):
        pairs = zip(tokens, phrase.said, keys, strict=True)
        if all(typed in (said, key) for typed, said, key in pairs):
            return phrase
    return None


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
