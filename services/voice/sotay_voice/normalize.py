"""Written Vietnamese to its spoken form, for speech synthesis.

`Normalizer.normalize` rewrites one passage (numbers, dates, times, document codes,
abbreviations, units, URLs) into words; `Normalizer.normalize_document` also reads the line
structure (headings, "Điều N.", list markers) into `SpokenBlock`s that keep their source
offsets, so pauses and chapters can be planned from them. The passes run in a fixed order:
each one consumes patterns a later, more general pass would misread (a date is not a
fraction, a document code is not a range).
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sotay_voice.lexicon import (
    LETTER_NAMES,
    Lexicon,
    LocalityKind,
    Scope,
    is_syllable,
    spell_letters,
)
from sotay_voice.numbers import (
    DEFAULT_STYLE,
    NumberStyle,
    parse_roman,
    read_decimal,
    read_digits,
    read_number,
    read_ordinal,
)

Match = re.Match[str]

_LETTERS = r"[^\W\d_]"
_NUMBER = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d{1,3}(?:,\d{3}){2,}|\d+(?:\.\d+)+|\d+(?:,\d+)?"
_MAX_NUMBER_DIGITS = 15  # longer digit runs are identifiers: read digit by digit

_DASHES = str.maketrans({"–": "-", "—": "-", "‒": "-", "−": "-", "\u00a0": " ", "\t": " "})

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?:https?://|www\.)\S+?(?=[.,;:!?)\]]*(?:\s|$))"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:vn|com|org|net|gov|edu|info)\b(?:/\S*?(?=[.,;:!?)\]]*(?:\s|$)))?"
)

_PARTY_CODE = re.compile(
    rf"(?P<so>\b[Ss]ố\s+)?(?P<num>\d+)\s?-\s?(?P<type>(?=[A-ZĐ]){_LETTERS}+)"
    rf"/(?P<issuer>(?=[A-ZĐ]){_LETTERS}+(?:&{_LETTERS}+)?\d*)"
)
_STATE_CODE = re.compile(
    rf"(?P<so>\b[Ss]ố\s+)?(?P<num>\d+)/(?:(?P<year>(?:19|20)\d\d)/)?"
    rf"(?P<type>(?=[A-ZĐ]){_LETTERS}+)-(?P<issuer>(?=[A-ZĐ]){_LETTERS}+\d*)"
    rf"(?:-(?P<unit>(?=[A-ZĐ]){_LETTERS}+))?"
)
_LAW_CODE = re.compile(
    rf"(?P<so>\b[Ss]ố\s+)?(?P<num>\d+)/(?P<year>(?:19|20)\d\d)/(?P<issuer>(?=[A-ZĐ]){_LETTERS}+\d*)"
)
# After a code, "ngày ... của X" or "của X" already names the issuer.
_ISSUER_FOLLOWS = re.compile(
    r"\s*,?\s*(?:ngày\s+\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\s*,?\s*)?(?:của|do)\b"
)

_DATE_LEAD = r"(?P<lead>\b(?:[Nn]gày|[Mm]ùng|[Mm]ồng)\s+)?"
_DATE_RANGE = re.compile(
    _DATE_LEAD
    + r"(?<![\d/.,])(?P<d1>\d{1,2})\s*-\s*(?P<d2>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{4}))?(?![\d/])"
)
_FULL_DATE = re.compile(
    _DATE_LEAD + r"(?<![\d/.,])(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})\b"
)
_MONTH_YEAR = re.compile(
    r"(?P<lead>\b[Tt]háng\s+)?(?<![\d/.,])(?P<m>\d{1,2})(?P<sep>[/.-])(?P<y>(?:19|20)\d\d)(?![\d/])"
)
_DAY_MONTH = re.compile(_DATE_LEAD + r"(?<![\d/.,])(?P<d>\d{1,2})/(?P<m>\d{1,2})(?![\d/])")
_DATE_CONTEXT_WORDS = {
    "sáng", "trưa", "chiều", "tối", "đêm", "hôm", "từ", "đến", "tới", "và", "dịp", "lễ",
    "niệm", "đầu", "cuối", "trước", "sau", "hạn",
}  # fmt: skip
_QUARTER = re.compile(r"(?P<lead>\b[Qq]uý\s+)(?P<q>IV|I{1,3}|[1-4])\s*[/.-]\s*(?P<y>\d{4})\b")
_TIME = re.compile(
    r"\b(?P<h>\d{1,2})(?:\s?(?:h|g|giờ)\s?|:)(?P<min>\d{2})(?:\s?(?:phút\b|'))?(?![\d:])"
)
_HOUR = re.compile(r"\b(?P<h>\d{1,2})\s?h(?![\w])")

_ROMAN_KEYWORDS = (
    "đại hội", "chương", "phần", "mục", "khóa", "khoá", "quý", "thế kỷ", "thế kỉ", "lần thứ",
    "thứ", "tập", "quyển", "phụ lục", "kỳ họp", "kỳ họp thứ", "hội nghị trung ương",
)  # fmt: skip
_ROMAN_IN_CONTEXT = re.compile(
    r"(?P<kw>\b(?i:" + "|".join(sorted(_ROMAN_KEYWORDS, key=len, reverse=True)) + r")\s+)"
    r"(?P<roman>[IVXLCDM]+)\b"
)
_ORDINAL = re.compile(r"(?P<kw>\b(?i:thứ)\s+)(?P<n>\d+)\b")
_RANGE_DASH = re.compile(r"(?<=\d)\s*-\s*(?=\d)")
_CURRENCY_PREFIX = re.compile(rf"\$\s?(?P<num>{_NUMBER})")

_UNITS = {
    "%": "phần trăm", "‰": "phần nghìn", "đ": "đồng", "VNĐ": "đồng", "VND": "đồng",
    "vnđ": "đồng", "USD": "đô la Mỹ", "km²": "ki lô mét vuông", "km2": "ki lô mét vuông",
    "m²": "mét vuông", "m2": "mét vuông", "m³": "mét khối", "m3": "mét khối",
    "km/h": "ki lô mét một giờ", "km": "ki lô mét", "ha": "héc ta", "kg": "ki lô gam",
    "cm": "xăng ti mét", "mm": "mi li mét", "m": "mét", "MW": "mê ga oát", "kW": "ki lô oát",
    "kWh": "ki lô oát giờ", "MWh": "mê ga oát giờ", "°C": "độ xê", "tr": "triệu",
}  # fmt: skip
_UNIT_ALTERNATION = "|".join(re.escape(unit) for unit in sorted(_UNITS, key=len, reverse=True))
_NUMBER_WITH_UNIT = re.compile(
    rf"(?<![\d,.])(?P<num>{_NUMBER})(?:\s?(?P<unit>{_UNIT_ALTERNATION})(?![^\W\d_²³]))?(?!\d)"
)
_PER_UNIT = re.compile(rf"/(?P<unit>{_UNIT_ALTERNATION})(?![\w²³])")

_WORD = re.compile(rf"{_LETTERS}+")
_CAPS_TOKEN = re.compile(rf"(?<!{_LETTERS})(?<!&){_LETTERS}{{2,}}(?!{_LETTERS}|&)")
_WORD_TOKEN = re.compile(rf"(?<!{_LETTERS})(?<!&){_LETTERS}+(?!{_LETTERS}|&)")
_PARENTHESISED_ACRONYM = re.compile(r"\s*\((?P<inner>[^\W\d_][\w&.-]*)\)")
# Breve, circumflex, horn and the five tone marks, as combining characters (NFD).
_VOWEL_MARKS = set("\u0306\u0302\u031b\u0300\u0301\u0303\u0309\u0323")

_SYMBOLS = [
    (re.compile(r"&"), " và "),
    (re.compile(r"\s\+\s|(?<=\w)\+(?=\w)"), " cộng "),
    (re.compile(r"\s=\s"), " bằng "),
    (re.compile(r"(?<=\w)/(?=\w)"), " trên "),
    (re.compile(r"[“”\"‘’«»`]|(?<!\w)'|'(?!\w)"), ""),
    (re.compile(r"…"), "..."),
    (re.compile(r"[(\[{]"), ", "),
    (re.compile(r"[)\]}]"), ", "),
    (re.compile(r"\s-\s|\s-(?=\w)|^-\s*"), ", "),
    (re.compile(r"(?<=\w)-(?=\w)"), " "),
    (re.compile(r"[*#•_~|^<>@/\\-]"), " "),
]
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_REPEATED_COMMAS = re.compile(r",(?:\s*,)+")
_COMMA_BEFORE_STOP = re.compile(r",\s*(?=[.;:!?])")
_COMMA_AFTER_STOP = re.compile(r"(?<=[.;:!?]),")
_SPACE_AFTER_PUNCT = re.compile(r"([,;:])(?=[^\s\d])")
_LEADING_PUNCT = re.compile(r"^[\s,.;:]+")
_SPACES = re.compile(r"\s+")


class BlockKind(StrEnum):
    HEADING = "heading"
    LIST_ITEM = "list_item"
    PARAGRAPH = "paragraph"


@dataclass(frozen=True)
class SpokenBlock:
    """One line of the document in spoken form, with where it came from.

    `start`/`end` are character offsets of the written line in the source text; `title` is
    the written line itself (what a chapter list shows).
    """

    kind: BlockKind
    text: str
    start: int
    end: int
    title: str


_SECTION_LINE = re.compile(
    r"(?P<kw>(?i:chương|phần|mục|tiết))\s+(?P<num>[IVXLCDM]+|\d+)(?![\w])\s*[.:-]?\s*(?P<rest>.*)"
)
_ARTICLE_LINE = re.compile(r"(?P<kw>Điều|ĐIỀU)\s+(?P<num>\d+)\s*[.:]\s*(?P<rest>.*)")
_ROMAN_LINE = re.compile(r"(?P<num>[IVXL]+)[.)]\s+(?P<rest>.+)")
_NUMBERED_LINE = re.compile(r"(?P<num>\d+(?:\.\d+)*)[.)]\s+(?P<rest>.+)")
_LETTER_LINE = re.compile(r"(?P<letter>[a-zđ])\)\s+(?P<rest>.+)")
_BULLET_LINE = re.compile(r"[-+•*–—]\s*(?P<rest>.+)")
_MAX_NUMBERED_HEADING_CHARS = 80
_LINE = re.compile(r"[^\n]+")


class Normalizer:
    """Spoken-form rewriting for one organisation (its locality kind decides `TU`)."""

    def __init__(self, lexicon: Lexicon | None = None, style: NumberStyle = DEFAULT_STYLE) -> None:
        self.lexicon = lexicon if lexicon is not None else Lexicon.load(LocalityKind.PROVINCE)
        self.style = style
        keys = sorted(self.lexicon.general_keys(), key=len, reverse=True)
        dotted = [re.escape(key) for key in keys if key.endswith(".")]
        plain = [re.escape(key) for key in keys if not key.endswith(".")]
        self._abbreviation = re.compile(
            r"(?<![\w&])(?:(?:" + "|".join(dotted or ["(?!)"]) + r")|(?:"
            + "|".join(plain or ["(?!)"]) + r")(?![\w&]))"
        )  # fmt: skip
        self._passes: list[Callable[[str], str]] = [
            self._read_emails_and_urls,
            self._read_document_codes,
            self._read_dates,
            self._read_times,
            self._read_roman_numerals,
            self._read_ordinals,
            self._read_numbers,
            self._lower_shouting,
            self._read_abbreviations,
            _replace_symbols,
        ]

    # -- public API -----------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        """The spoken form of a passage, NFC, one line."""
        text = unicodedata.normalize("NFC", text).translate(_DASHES)
        text = _SPACES.sub(" ", text).strip()
        for rewrite in self._passes:
            text = rewrite(text)
        return _tidy(text)

    def normalize_document(self, text: str) -> list[SpokenBlock]:
        """Spoken blocks, one per non-empty line, in order; headings end with a full stop."""
        lines = [
            (match.start() + _lstrip_count(match.group()), match.group().strip())
            for match in _LINE.finditer(text)
            if match.group().strip()
        ]
        blocks: list[SpokenBlock] = []
        index = 0
        while index < len(lines):
            start, line = lines[index]
            kind, spoken = self._read_line(line)
            end = start + len(line)
            title = line
            if (
                _is_bare_section(line)
                and index + 1 < len(lines)
                and _is_shouting(lines[index + 1][1])
            ):
                # "Chương II" followed by its title in capitals: one heading.
                next_start, next_line = lines[index + 1]
                spoken = _join_sentences(spoken, self.normalize(next_line))
                end = next_start + len(next_line)
                title = f"{line}. {next_line}"
                index += 1
            if spoken:
                blocks.append(SpokenBlock(kind, spoken, start, end, title))
            index += 1
        return blocks

    # -- line structure ---------------------------------------------------------------------

    def _read_line(self, line: str) -> tuple[BlockKind, str]:
        if match := _SECTION_LINE.fullmatch(line):
            value = _section_number(match["num"])
            if value is not None:
                head = f"{match['kw'].capitalize()} {read_number(value, self.style)}"
                return BlockKind.HEADING, self._heading(head, match["rest"])
        if match := _ARTICLE_LINE.fullmatch(line):
            head = f"Điều {read_number(int(match['num']), self.style)}"
            return BlockKind.HEADING, self._heading(head, match["rest"])
        if (match := _ROMAN_LINE.fullmatch(line)) and (value := parse_roman(match["num"])):
            return BlockKind.HEADING, self._heading(read_number(value, self.style), match["rest"])
        if match := _NUMBERED_LINE.fullmatch(line):
            head = " chấm ".join(
                read_number(int(part), self.style) for part in match["num"].split(".")
            )
            rest = match["rest"]
            if len(rest) <= _MAX_NUMBERED_HEADING_CHARS and rest[-1] not in ".;:,":
                return BlockKind.HEADING, self._heading(head, rest)
            return BlockKind.LIST_ITEM, self._heading(head, rest)
        if match := _LETTER_LINE.fullmatch(line):
            return BlockKind.LIST_ITEM, self._heading(LETTER_NAMES[match["letter"]], match["rest"])
        if match := _BULLET_LINE.fullmatch(line):
            return BlockKind.LIST_ITEM, _end_sentence(self.normalize(match["rest"]))
        if _is_shouting(line):
            return BlockKind.HEADING, _end_sentence(self.normalize(line))
        return BlockKind.PARAGRAPH, _end_sentence(self.normalize(line))

    def _heading(self, head: str, rest: str) -> str:
        """`head.` then the rest as its own sentence: "Điều năm. Nhiệm vụ của đảng viên."."""
        return _join_sentences(_capitalize(head), self.normalize(rest))

    # -- passes -------------------------------------------------------------------------------

    def _read_emails_and_urls(self, text: str) -> str:
        text = _EMAIL.sub(lambda m: _read_email(m.group()), text)
        return _URL.sub(lambda m: _read_host(m.group()), text)

    def _read_document_codes(self, text: str) -> str:
        text = _STATE_CODE.sub(lambda m: self._read_code(m, state=True), text)
        text = _LAW_CODE.sub(lambda m: self._read_code(m, state=True), text)
        return _PARTY_CODE.sub(lambda m: self._read_code(m, state=False), text)

    def _read_code(self, match: Match, state: bool) -> str:
        """ "Quyết định số 27-QĐ/TW" -> "Quyết định số hai mươi bảy của Trung ương"."""
        groups = match.groupdict()
        words: list[str] = []
        if groups.get("type"):
            doc_type = self.lexicon.lookup(groups["type"], Scope.DOC_TYPE)
            written_before = match.string[: match.start()].rstrip().lower()
            if doc_type is None:
                words.append(spell_letters(groups["type"]))
            elif not written_before.endswith(doc_type):
                words.append(doc_type)
        words += ["số", read_number(int(match["num"]), self.style)]
        if groups.get("year"):
            words += ["năm", read_number(int(groups["year"]), self.style)]
        if not _ISSUER_FOLLOWS.match(match.string, match.end()):
            words += ["của", self._read_issuer(match["issuer"], state)]
        if groups.get("unit"):
            words.append(self._read_acronym(groups["unit"]))
        if groups.get("so") and groups["so"][0] == "S":
            words[0] = _capitalize(words[0])
        return " ".join(words)

    def _read_issuer(self, issuer: str, state: bool) -> str:
        """ "TW" -> "Trung ương"; "QH14" -> "Quốc hội khóa mười bốn"."""
        letters = issuer.rstrip("0123456789")
        term = issuer[len(letters) :]
        scope = Scope.STATE_ISSUER if state else Scope.GENERAL
        name = self.lexicon.lookup(letters, scope) or spell_letters(letters)
        return f"{name} khóa {read_number(int(term), self.style)}" if term else name

    def _read_dates(self, text: str) -> str:
        text = _QUARTER.sub(self._read_quarter, text)
        text = _DATE_RANGE.sub(self._read_date_range, text)
        text = _FULL_DATE.sub(self._read_full_date, text)
        text = _MONTH_YEAR.sub(self._read_month_year, text)
        return _DAY_MONTH.sub(self._read_day_month, text)

    def _read_quarter(self, match: Match) -> str:
        quarter = parse_roman(match["q"]) or int(match["q"])
        return f"{match['lead']}{self._n(quarter)} năm {self._n(int(match['y']))}"

    def _read_date_range(self, match: Match) -> str:
        first, last, month = int(match["d1"]), int(match["d2"]), int(match["m"])
        if not (_is_day(first) and _is_day(last) and _is_month(month)):
            return match.group()
        spoken = f"{_lead(match)}{self._n(first)} đến {self._n(last)} tháng {self._month(month)}"
        return spoken + (f" năm {self._n(int(match['y']))}" if match["y"] else "")

    def _read_full_date(self, match: Match) -> str:
        day, month = int(match["d"]), int(match["m"])
        if not (_is_day(day) and _is_month(month)):
            return match.group()
        year = self._n(int(match["y"]))
        return f"{_lead(match)}{self._n(day)} tháng {self._month(month)} năm {year}"

    def _read_month_year(self, match: Match) -> str:
        month = int(match["m"])
        if not _is_month(month) or (match["lead"] is None and match["sep"] != "/"):
            return match.group()
        lead = match["lead"] or "tháng "
        return f"{lead}{self._month(month)} năm {self._n(int(match['y']))}"

    def _read_day_month(self, match: Match) -> str:
        first, second = int(match["d"]), int(match["m"])
        previous = match.string[: match.start()].split()
        date_context = match["lead"] is not None or (
            bool(previous) and previous[-1].lower() in _DATE_CONTEXT_WORDS
        )
        if _is_day(first) and _is_month(second) and (date_context or first >= second):
            return f"{match['lead'] or ''}{self._n(first)} tháng {self._month(second)}"
        if 0 < first < second:
            denominator = "tư" if second == 4 else self._n(second)
            return f"{self._n(first)} phần {denominator}"
        return f"{self._n(first)} trên {self._n(second)}"

    def _read_times(self, text: str) -> str:
        def time(match: Match) -> str:
            hour, minute = int(match["h"]), int(match["min"])
            if hour > 24 or minute > 59:
                return match.group()
            spoken = f"{self._n(hour)} giờ"
            return spoken + (f" {self._n(minute)} phút" if minute else "")

        def hour(match: Match) -> str:
            value = int(match["h"])
            return f"{self._n(value)} giờ" if value <= 24 else match.group()

        return _HOUR.sub(hour, _TIME.sub(time, text))

    def _read_roman_numerals(self, text: str) -> str:
        def roman(match: Match) -> str:
            value = parse_roman(match["roman"])
            if value is None:
                return match.group()
            ordinal = match["kw"].strip().lower().endswith("thứ")
            spoken = read_ordinal(value, self.style) if ordinal else self._n(value)
            return match["kw"] + spoken

        return _ROMAN_IN_CONTEXT.sub(roman, text)

    def _read_ordinals(self, text: str) -> str:
        return _ORDINAL.sub(lambda m: m["kw"] + read_ordinal(int(m["n"]), self.style), text)

    def _read_numbers(self, text: str) -> str:
        text = _RANGE_DASH.sub(" đến ", text)
        text = _CURRENCY_PREFIX.sub(lambda m: f"{self._read_number(m['num'])} đô la", text)
        text = _PER_UNIT.sub(lambda m: f" trên {_UNITS[m['unit']]}", text)

        def number(match: Match) -> str:
            spoken = self._read_number(match["num"])
            if match["unit"]:
                spoken += " " + _UNITS[match["unit"]]
            # Keep words apart from letters the number was glued to ("QH14", "5N").
            before, after = (
                match.string[match.start() - 1 : match.start()],
                match.string[match.end() : match.end() + 1],
            )
            return f"{' ' if before.isalpha() else ''}{spoken}{' ' if after.isalpha() else ''}"

        return _NUMBER_WITH_UNIT.sub(number, text)

    def _read_number(self, written: str) -> str:
        """One number as written with Vietnamese separators: "1.234.567", "4,95", "05"."""
        digit_count = sum(char.isdigit() for char in written)
        if re.fullmatch(r"0\d[\d.]*", written) or digit_count > _MAX_NUMBER_DIGITS:
            return read_digits(written)  # phone numbers, codes, identifiers
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", written):
            whole, _, fraction = written.replace(".", "").partition(",")
            return read_decimal(whole, fraction, self.style) if fraction else self._n(int(whole))
        if re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}", written):
            return self._n(int(written.replace(",", "")))
        if "." in written:
            return " chấm ".join(self._read_number(part) for part in written.split("."))
        if "," in written:
            whole, fraction = written.split(",")
            return read_decimal(whole, fraction, self.style)
        return self._n(int(written))

    def _lower_shouting(self, text: str) -> str:
        """All-capitals text (headings): lower-case its words, keep its acronyms."""
        if not _is_shouting(text):
            return text

        def lower(match: Match) -> str:
            token = match.group()
            # An acronym stays unless it is also a marked Vietnamese word ("TƯ" in "THỨ TƯ").
            acronym = self.lexicon.lookup(token) is not None and not _has_vowel_marks(token)
            if not token.isupper() or acronym or not is_syllable(token):
                return token
            return token.lower()

        lowered = _CAPS_TOKEN.sub(lower, text)
        return _capitalize(lowered)

    def _read_abbreviations(self, text: str) -> str:
        text = _PARENTHESISED_ACRONYM.sub(self._drop_acronym_definition, text)
        text = self._abbreviation.sub(self._expand_abbreviation, text)
        return _WORD_TOKEN.sub(self._read_caps_token, text)

    def _expand_abbreviation(self, match: Match) -> str:
        expansion = self.lexicon.lookup(match.group()) or match.group()
        glued = match.string[match.end() : match.end() + 1].isalpha()  # "TP.HCM"
        return expansion + " " if glued else expansion

    def _drop_acronym_definition(self, match: Match) -> str:
        """ "Hội đồng nhân dân (HĐND)": the acronym in brackets only repeats the name."""
        inner = match["inner"]
        return "" if inner.isupper() and not is_syllable(inner) else match.group()

    def _read_caps_token(self, match: Match) -> str:
        token = match.group()
        if not token.isupper() or (len(token) == 1 and is_syllable(token)):
            return token  # words, and one-letter words such as "Ở" or the name "A"
        return self._read_acronym(token)

    def _read_acronym(self, token: str) -> str:
        expansion = self.lexicon.lookup(token)
        if expansion is not None:
            return expansion
        return token.lower() if is_syllable(token) else spell_letters(token)

    # -- small readings -------------------------------------------------------------------------

    def _n(self, number: int) -> str:
        return read_number(number, self.style)

    def _month(self, month: int) -> str:
        return "tư" if month == 4 else self._n(month)


def _is_day(value: int) -> bool:
    return 1 <= value <= 31


def _is_month(value: int) -> bool:
    return 1 <= value <= 12


def _lead(match: Match) -> str:
    return match["lead"] or "ngày "


def _section_number(written: str) -> int | None:
    return int(written) if written.isdigit() else parse_roman(written)


def _is_bare_section(line: str) -> bool:
    match = _SECTION_LINE.fullmatch(line)
    return match is not None and not match["rest"].strip()


def _has_vowel_marks(token: str) -> bool:
    return bool(_VOWEL_MARKS & set(unicodedata.normalize("NFD", token)))


def _is_shouting(text: str) -> bool:
    """At least two words, nearly all in capitals."""
    words = [word for word in _WORD.findall(text) if len(word) > 1]
    capitals = [word for word in words if word.isupper()]
    return len(capitals) >= 2 and len(capitals) >= 0.7 * len(words)


def _read_label(label: str) -> str:
    """One dot-separated part of a host name or an e-mail's local part."""
    parts = [part for part in re.split(r"[-_+]", label.lower()) if part]
    spoken = []
    for part in parts:
        if part.isdigit():
            spoken.append(read_digits(part))
        elif len(part) <= 3 and not is_syllable(part):
            spoken.append(spell_letters(part))
        else:
            spoken.append(part)
    return " ".join(spoken)


def _read_host(url: str) -> str:
    """A URL is read as its host name only: "https://www.dangcongsan.vn/x" ->
    "dangcongsan chấm vê en"; the path means nothing to a listener."""
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", url, flags=re.IGNORECASE)
    host = re.split(r"[/:?#]", host, maxsplit=1)[0]
    return " chấm ".join(_read_label(label) for label in host.split(".") if label)


def _read_email(address: str) -> str:
    local, _, domain = address.partition("@")
    local_spoken = " chấm ".join(_read_label(label) for label in local.split(".") if label)
    return f"{local_spoken} a còng {_read_host(domain)}"


def _replace_symbols(text: str) -> str:
    for pattern, replacement in _SYMBOLS:
        text = pattern.sub(replacement, text)
    return text


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _REPEATED_COMMAS.sub(",", text)
    text = _COMMA_BEFORE_STOP.sub("", text)
    text = _COMMA_AFTER_STOP.sub("", text)
    text = _LEADING_PUNCT.sub("", text)
    text = _SPACE_AFTER_PUNCT.sub(r"\1 ", text)
    text = _SPACES.sub(" ", text).strip().rstrip(",").rstrip()
    return unicodedata.normalize("NFC", text)


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _end_sentence(text: str) -> str:
    text = text.rstrip(" ,")
    if not text:
        return text
    return text if text[-1] in ".!?;:" else text + "."


def _join_sentences(head: str, rest: str) -> str:
    head = _end_sentence(head)
    return f"{head} {_end_sentence(_capitalize(rest))}" if rest.strip() else head


def _lstrip_count(line: str) -> int:
    return len(line) - len(line.lstrip())
