"""The abbreviation lexicon: a TSV shipped in the package plus optional operator files.

Rows are `abbreviation<TAB>expansion[<TAB>scope[<TAB>locality]]`; `#` starts a comment.
Later files override earlier ones row by row, so an operator file can both add and correct.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from pathlib import Path

# Vietnamese names of letters, used to spell acronyms no rule or lexicon row explains.
LETTER_NAMES = {
    "a": "a", "ă": "á", "â": "ớ", "b": "bê", "c": "xê", "d": "dê", "đ": "đê", "e": "e",
    "ê": "ê", "f": "ép", "g": "gờ", "h": "hát", "i": "i", "j": "gi", "k": "ca", "l": "e lờ",
    "m": "em", "n": "en", "o": "o", "ô": "ô", "ơ": "ơ", "p": "pê", "q": "quy", "r": "e rờ",
    "s": "ét", "t": "tê", "u": "u", "ư": "ư", "v": "vê", "w": "vê kép", "x": "ích", "y": "i",
    "z": "dét",
}  # fmt: skip

_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Permissive shape of one Vietnamese syllable with its tone mark removed.
_SYLLABLE = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdđghklmnpqrstvx])?"
    r"[aăâeêioôơuưy]{1,3}(ng|nh|ch|[cmnpt])?"
)


class LexiconError(Exception):
    """An operator lexicon file that cannot be read."""

    code = "voice_lexicon_invalid"

    def __init__(self, path: Path, line_number: int, reason: str) -> None:
        super().__init__(f"{path}:{line_number}: {reason}")
        self.message_vi = f"Tệp từ viết tắt {path.name} có lỗi ở dòng {line_number}: {reason}."


class Scope(StrEnum):
    GENERAL = "general"
    DOC_TYPE = "doc_type"
    STATE_ISSUER = "state_issuer"


class LocalityKind(StrEnum):
    """Whether the party organisation is a province's or a centrally-run city's (for `TU`)."""

    PROVINCE = "province"
    CITY = "city"


@dataclass(frozen=True)
class _Row:
    abbreviation: str
    expansion: str
    scope: Scope
    locality: LocalityKind | None


def builtin_lexicon_path() -> Path:
    return Path(str(files("sotay_voice").joinpath("data", "abbreviations.tsv")))


def spell_letters(text: str) -> str:
    """Letter names of the letters in `text`: "WTO" -> "vê kép tê o"."""
    names = (LETTER_NAMES.get(char) for char in text.lower())
    return " ".join(name for name in names if name)


def strip_tone(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))


def is_syllable(word: str) -> bool:
    """Whether `word` can be read as one Vietnamese syllable ("NAM" yes, "HĐND" no)."""
    return _SYLLABLE.fullmatch(strip_tone(word)) is not None


def _parse_row(path: Path, line_number: int, line: str) -> _Row | None:
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    fields = [field.strip() for field in line.split("\t")]
    if len(fields) < 2 or not fields[0] or not fields[1]:
        raise LexiconError(path, line_number, "cần ít nhất hai cột: từ viết tắt và cách đọc")
    scope_text = fields[2] if len(fields) > 2 and fields[2] else Scope.GENERAL.value
    locality_text = fields[3] if len(fields) > 3 and fields[3] else None
    try:
        scope = Scope(scope_text)
        locality = LocalityKind(locality_text) if locality_text else None
    except ValueError as error:
        raise LexiconError(path, line_number, f"giá trị không hợp lệ ({error})") from error
    nfc = unicodedata.normalize
    return _Row(nfc("NFC", fields[0]), nfc("NFC", fields[1]), scope, locality)


def read_rows(path: Path) -> list[_Row]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise LexiconError(path, 0, f"không đọc được tệp ({error})") from error
    rows = (_parse_row(path, number, line) for number, line in enumerate(lines, start=1))
    return [row for row in rows if row is not None]


class Lexicon:
    """Abbreviation expansions for one locality kind."""

    def __init__(self, rows: list[_Row], locality: LocalityKind) -> None:
        self.locality = locality
        self._entries: dict[Scope, dict[str, str]] = {scope: {} for scope in Scope}
        # Rows for no particular locality first, so a locality-specific row wins.
        for row in sorted(rows, key=lambda row: row.locality is not None):
            if row.locality in (None, locality):
                self._entries[row.scope][row.abbreviation] = row.expansion

    @classmethod
    def load(
        cls,
        locality: LocalityKind = LocalityKind.PROVINCE,
        operator_files: tuple[Path, ...] = (),
    ) -> "Lexicon":
        """The built-in lexicon, extended and overridden by the operator's files in order."""
        rows = read_rows(builtin_lexicon_path())
        for path in operator_files:
            rows += read_rows(path)
        return cls(rows, locality)

    def general_keys(self) -> list[str]:
        return list(self._entries[Scope.GENERAL])

    def lookup(self, abbreviation: str, scope: Scope = Scope.GENERAL) -> str | None:
        """The expansion of a whole token; issuer scopes fall back to general rows and to
        compounds of known parts ("BTVTU" -> "Ban Thường vụ Tỉnh ủy")."""
        found = self._entries[scope].get(abbreviation)
        if found is not None or scope is Scope.DOC_TYPE:
            return found
        general = self._entries[Scope.GENERAL].get(abbreviation)
        if general is not None:
            return general
        parts = self._split_compound(abbreviation)
        return " ".join(parts) if parts else None

    def _split_compound(self, token: str) -> list[str] | None:
        """Expansions of known parts (two letters or more, longest first) covering `token`."""
        general = self._entries[Scope.GENERAL]
        for end in range(len(token), 1, -1):
            head = general.get(token[:end])
            if head is None:
                continue
            if end == len(token):
                return [head]
            rest = self._split_compound(token[end:])
            if rest is not None:
                return [head, *rest]
        return None
