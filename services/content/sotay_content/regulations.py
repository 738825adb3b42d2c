"""Structure of Vietnamese regulations: Chương / Mục / Điều / Khoản / Điểm.

`parse_regulation` reads plain (or extracted, or Markdown) text and returns the normalised text
with a tree of nodes whose `start`/`end` are offsets into that text, so `text[start:end]` is
exactly a node's text (heading included). Anchors depend only on numbering ("dieu-5-khoan-2"),
so they survive editorial changes. The flat node list plus the text is the compact form carried
in events; `rebuild_tree` turns it back into a tree and checks it.

Offsets count Unicode code points of the NFC text (Python `str` indices), not UTF-16 units.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from sotay_common.events.content import NODE_LABELS_VI, NodeKind, StructureNode
from sotay_content.errors import ContentRejected
from sotay_content.text import normalize_text

RANK = {
    NodeKind.PREAMBLE: 0,
    NodeKind.CHUONG: 1,
    NodeKind.MUC: 2,
    NodeKind.DIEU: 3,
    NodeKind.KHOAN: 4,
    NodeKind.DIEM: 5,
}
LABELS_VI = NODE_LABELS_VI
PREAMBLE_ANCHOR = "preamble"


class RegulationNode(StructureNode):
    children: tuple[RegulationNode, ...] = ()

    def walk(self) -> Iterator[RegulationNode]:
        """This node and its descendants, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_flat(self) -> StructureNode:
        return StructureNode(**self.model_dump(exclude={"children"}))


class TocEntry(BaseModel):
    """A line of the table of contents: Chương, Mục and Điều, with their anchors."""

    model_config = ConfigDict(frozen=True)

    kind: NodeKind
    anchor: str
    label: str
    level: int


class RegulationTree(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    nodes: tuple[RegulationNode, ...]

    def walk(self) -> Iterator[RegulationNode]:
        for node in self.nodes:
            yield from node.walk()

    def flat_nodes(self) -> list[StructureNode]:
        """The compact form to store or publish beside the text."""
        return [node.to_flat() for node in self.walk()]

    def articles(self) -> list[RegulationNode]:
        return [node for node in self.walk() if node.kind is NodeKind.DIEU]

    def find(self, anchor: str) -> RegulationNode:
        for node in self.walk():
            if node.anchor == anchor:
                return node
        raise KeyError(anchor)

    def node_text(self, node: StructureNode) -> str:
        return self.text[node.start : node.end]

    def path(self, anchor: str) -> tuple[RegulationNode, ...]:
        """The node with this anchor and its ancestors, outermost first."""
        found = _find_path(self.nodes, anchor)
        if found is None:
            raise KeyError(anchor)
        return found

    def citation(self, anchor: str) -> str:
        """How a reader cites the node: "Điểm a Khoản 2 Điều 5", "Mục 1 Chương II"."""
        path = self.path(anchor)
        if path[-1].kind is NodeKind.PREAMBLE:
            return LABELS_VI[NodeKind.PREAMBLE]
        innermost_first = reversed(path)
        parts: list[str] = []
        for node in innermost_first:
            parts.append(f"{LABELS_VI[node.kind]} {node.number}")
            if node.kind in (NodeKind.DIEU, NodeKind.CHUONG):
                break
        return " ".join(parts)

    def table_of_contents(self) -> list[TocEntry]:
        """Chương, Mục and Điều in order, each with its anchor, for readers to jump to."""
        return list(_toc_entries(self.nodes, level=1))


_TOC_KINDS = (NodeKind.CHUONG, NodeKind.MUC, NodeKind.DIEU)


def _toc_entries(nodes: Sequence[RegulationNode], level: int) -> Iterator[TocEntry]:
    for node in nodes:
        if node.kind in _TOC_KINDS:
            yield TocEntry(kind=node.kind, anchor=node.anchor, label=node.heading, level=level)
            yield from _toc_entries(node.children, level + 1)


def _find_path(nodes: Sequence[RegulationNode], anchor: str) -> tuple[RegulationNode, ...] | None:
    for node in nodes:
        if node.anchor == anchor:
            return (node,)
        below = _find_path(node.children, anchor)
        if below is not None:
            return (node, *below)
    return None


# ---------------------------------------------------------------------------------------------
# Heading shapes of one line, without context.

_ROMAN_1_TO_12 = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
# What gets typed for Roman numerals: digit one, small L, bar, Cyrillic letters, and the
# Unicode Roman numeral signs (Ⅰ..Ⅻ, ⅰ..ⅻ). No document has 40 chapters, so L is never 50.
_ROMAN_LOOKALIKES = str.maketrans(
    {
        **dict.fromkeys("1lL|ІіӀ", "I"),
        **dict.fromkeys("Хх", "X"),
        **dict.fromkeys("Ѵѵ", "V"),
        **{chr(0x2160 + i): numeral for i, numeral in enumerate(_ROMAN_1_TO_12)},
        **{chr(0x2170 + i): numeral for i, numeral in enumerate(_ROMAN_1_TO_12)},
    }
)
_CHAPTER_NUMBER = r"[\dIVXivxlL|ІіӀХхѴѵ\u2160-\u216b\u2170-\u217b]{1,6}"
_ROMAN_VALUE = re.compile(r"(X{0,3})(IX|IV|V?I{0,3})")
_SEPARATORS = ".:-–—"
# Vietnamese legal lists skip f, j, w, z, but typists do not always: accept the Latin order
# with đ after d.
DIEM_LETTERS = "abcdđefghijklmnopqrstuvwxyz"

_CHUONG = re.compile(rf"ch[ưu][ơo]ng\s*(?P<num>{_CHAPTER_NUMBER})(?P<rest>.*)", re.I)
_MUC = re.compile(rf"m[ụu]c\s*(?P<num>{_CHAPTER_NUMBER})(?P<rest>.*)", re.I)
_DIEU = re.compile(r"[đd]i[ềeê]u\s*(?P<num>\d{1,3})(?P<suffix>[a-zđ]?)(?P<rest>.*)", re.I)
_KHOAN = re.compile(r"(?P<num>\d{1,3})\s*[.)](?!\d)(?P<rest>.*)")
_KHOAN_BARE = re.compile(r"(?P<num>\d{1,3})\s+(?P<rest>\S.*)")
_DIEM = re.compile(r"(?P<letter>[a-zđ])\s*[).](?![\w.])(?P<rest>.*)")
_DECORATION = re.compile(r"\*+|__+")
_MARKDOWN_PREFIX = re.compile(r"^(?:#{1,6}\s+|>\s*)")
_QUOTES = "“\"'‘«„"
# The signature block closing a document: "T/M BAN CHẤP HÀNH", "KT. BÍ THƯ", "TL. ...".
_SIGNATURE = re.compile(r"(?:T/M|TM\.|K/T|KT\.|T/L|TL\.)\s*\S.*")


@dataclass(frozen=True, slots=True)
class Heading:
    """What a line says it starts, before the context decides whether it really does."""

    kind: NodeKind
    number: str  # canonical
    value: int  # ordinal used for sequence checks and anchors
    title: str | None
    explicit: bool  # a separator follows the number ("2." rather than "2 Đảng viên")


def probe_line(line: str) -> str:
    """The line without Markdown decoration (#, >, ** and __), for classification."""
    return _MARKDOWN_PREFIX.sub("", _DECORATION.sub("", line).strip()).strip()


def parse_heading(line: str) -> Heading | None:
    """The structural heading a line would start, or None. Context is not checked here."""
    probe = probe_line(line)
    if not probe or probe[0] in _QUOTES:
        return None
    return (
        _numbered_heading(NodeKind.CHUONG, _CHUONG.fullmatch(probe))
        or _numbered_heading(NodeKind.MUC, _MUC.fullmatch(probe))
        or _dieu_heading(_DIEU.fullmatch(probe))
        or _khoan_heading(probe)
        or _diem_heading(_DIEM.fullmatch(probe))
    )


def _numbered_heading(kind: NodeKind, match: re.Match[str] | None) -> Heading | None:
    if match is None:
        return None
    rest = _split_rest(match["rest"])
    number = _chapter_number(match["num"])
    if rest is None or number is None:
        return None
    explicit, title = rest
    return Heading(kind, number[0], number[1], title, explicit)


def _dieu_heading(match: re.Match[str] | None) -> Heading | None:
    if match is None:
        return None
    rest = _split_rest(match["rest"])
    if rest is None:
        return None
    value = int(match["num"])
    number = f"{value}{match['suffix'].lower()}"
    return Heading(NodeKind.DIEU, number, value, rest[1], rest[0])


def _khoan_heading(probe: str) -> Heading | None:
    match = _KHOAN.fullmatch(probe)
    explicit = match is not None
    if match is None:
        match = _KHOAN_BARE.fullmatch(probe)
        if match is None or not match["rest"][0].isupper():
            return None
    value = int(match["num"])
    return Heading(NodeKind.KHOAN, str(value), value, None, explicit)


def _diem_heading(match: re.Match[str] | None) -> Heading | None:
    if match is None:
        return None
    letter = match["letter"]
    return Heading(NodeKind.DIEM, letter, DIEM_LETTERS.index(letter), None, True)


def _split_rest(rest: str) -> tuple[bool, str | None] | None:
    """(separator seen, title) from what follows a number, or None if it reads as a sentence."""
    stripped = rest.strip()
    if not stripped:
        return False, None
    if stripped[0] in _SEPARATORS:
        return True, _clean_title(stripped[1:])
    if rest[0].isspace() and stripped[0].isupper():
        return False, _clean_title(stripped)
    return None


def _clean_title(raw: str) -> str | None:
    title = probe_line(raw).rstrip(".").strip()
    return title or None


def _chapter_number(raw: str) -> tuple[str, int] | None:
    """Canonical number and value of a Chương/Mục: Arabic stays Arabic, Roman is repaired."""
    if raw.isdigit():
        value = int(raw)
        return (str(value), value) if 0 < value < 100 else None
    roman = raw.translate(_ROMAN_LOOKALIKES).upper()
    roman_number = roman_value(roman)
    return (roman, roman_number) if roman_number else None


def roman_value(roman: str) -> int | None:
    """Value of a canonical Roman numeral up to 39, or None if it is not one."""
    match = _ROMAN_VALUE.fullmatch(roman)
    if match is None or not roman:
        return None
    tens, units = match.groups()
    value = 10 * len(tens)
    if units in ("IX", "IV"):
        return value + (9 if units == "IX" else 4)
    return value + (5 if units.startswith("V") else 0) + units.count("I")


# ---------------------------------------------------------------------------------------------
# Anchors


def anchor_for(kind: NodeKind, heading_value: int, number: str, parent: str | None) -> str:
    """Anchor of a node from its numbering and its parent's anchor (None at the top)."""
    if kind is NodeKind.PREAMBLE:
        return PREAMBLE_ANCHOR
    if kind is NodeKind.CHUONG:
        return f"chuong-{heading_value}"
    if kind is NodeKind.DIEU:
        return f"dieu-{number.replace('đ', 'dd')}"
    own = {
        NodeKind.MUC: f"muc-{heading_value}",
        NodeKind.KHOAN: f"khoan-{number}",
        NodeKind.DIEM: f"diem-{number.replace('đ', 'dd')}",
    }[kind]
    return f"{parent}-{own}" if parent else own


# ---------------------------------------------------------------------------------------------
# Parser


@dataclass
class _Building:
    kind: NodeKind
    number: str | None
    title: str | None
    anchor: str
    start: int
    end: int = 0
    children: list[_Building] = field(default_factory=list)

    def freeze(self) -> RegulationNode:
        return RegulationNode(
            kind=self.kind,
            number=self.number,
            title=self.title,
            anchor=self.anchor,
            start=self.start,
            end=self.end,
            children=tuple(child.freeze() for child in self.children),
        )


_MAX_TITLE_CHARS = 200
_MAX_TITLE_LINES = 3
# A Điều number may jump (articles repealed, typing mistakes) but not by more than this; a
# larger jump is a cross-reference that happens to start a line.
_MAX_DIEU_GAP = 10
_MAX_KHOAN_GAP = 3
_MAX_DIEM_GAP = 2


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
        self.roots: list[_Building] = []
        self.open: list[_Building] = []
        self.last_value: dict[NodeKind, int] = {}
        self.last_dieu_number = ""
        self.content_start: int | None = None
        self.content_end = 0

    def parse(self) -> RegulationTree:
        index = 0
        while index < len(self.lines) and not self._at_signature(index):
            index = self._step(index)
        self._close_down_to(0)
        if not self.roots and self.content_start is not None:
            self._add_preamble()
        return RegulationTree(text=self.text, nodes=tuple(r.freeze() for r in self.roots))

    def _step(self, index: int) -> int:
        start, end = self.lines[index]
        line = self.text[start:end]
        start += len(line) - len(line.lstrip())  # Markdown indentation is not the node's
        heading = parse_heading(line)
        if heading is None or not self._accepts(heading):
            self._note_content(start, end)
            return index + 1
        title, index_after = heading.title, index + 1
        if title is None and heading.kind in (NodeKind.CHUONG, NodeKind.MUC, NodeKind.DIEU):
            title, index_after = self._title_below(index + 1, heading.kind)
        self._open(heading, title, start)
        self.content_end = self.lines[index_after - 1][1]
        return index_after

    def _at_signature(self, index: int) -> bool:
        """Whether the signature block starts here; it belongs to no node."""
        start, end = self.lines[index]
        return bool(self.roots) and is_signature_line(self.text[start:end])

    def _note_content(self, start: int, end: int) -> None:
        if self.content_start is None:
            self.content_start = start
        self.content_end = end

    def _accepts(self, heading: Heading) -> bool:
        kind, value = heading.kind, heading.value
        previous = self.last_value.get(kind)
        if kind in (NodeKind.KHOAN, NodeKind.DIEM) and not self._is_open(NodeKind.DIEU):
            return False
        if kind is NodeKind.KHOAN:
            floor = previous or 0
            if not heading.explicit:
                return value == floor + 1
            return floor < value <= floor + _MAX_KHOAN_GAP
        if kind is NodeKind.DIEM:
            floor = -1 if previous is None else previous
            return floor < value <= floor + _MAX_DIEM_GAP
        if previous is None:
            return True
        if kind is NodeKind.DIEU:
            if value == previous:  # "Điều 5a" after "Điều 5"
                return heading.number > self.last_dieu_number
            return previous < value <= previous + _MAX_DIEU_GAP
        return value > previous

    def _is_open(self, kind: NodeKind) -> bool:
        return any(node.kind is kind for node in self.open)

    def _title_below(self, index: int, kind: NodeKind) -> tuple[str | None, int]:
        """A heading's title typed on the following line(s); returns (title, next index)."""
        parts: list[str] = []
        while index < len(self.lines) and len(parts) < _MAX_TITLE_LINES:
            start, end = self.lines[index]
            candidate = probe_line(self.text[start:end])
            if not _can_be_title(candidate):
                break
            if parts and not is_all_caps(candidate):
                break
            parts.append(candidate)
            index += 1
            if kind is NodeKind.DIEU or not is_all_caps(candidate):
                break
        return _clean_title(" ".join(parts)), index

    def _open(self, heading: Heading, title: str | None, start: int) -> None:
        if not self.roots and not self.open and self.content_start is not None:
            self._add_preamble()
        self._close_down_to(RANK[heading.kind])
        parent = self.open[-1] if self.open else None
        node = _Building(
            kind=heading.kind,
            number=heading.number,
            title=title,
            anchor=anchor_for(
                heading.kind, heading.value, heading.number, parent.anchor if parent else None
            ),
            start=start,
        )
        (parent.children if parent else self.roots).append(node)
        self.open.append(node)
        self.last_value[heading.kind] = heading.value
        if heading.kind is NodeKind.DIEU:
            self.last_dieu_number = heading.number
        for deeper in NodeKind:
            if RANK[deeper] > RANK[heading.kind] and deeper is not NodeKind.DIEU:
                self.last_value.pop(deeper, None)

    def _close_down_to(self, rank: int) -> None:
        while self.open and RANK[self.open[-1].kind] >= rank:
            self.open.pop().end = self.content_end

    def _add_preamble(self) -> None:
        assert self.content_start is not None
        self.roots.append(
            _Building(
                kind=NodeKind.PREAMBLE,
                number=None,
                title=None,
                anchor=PREAMBLE_ANCHOR,
                start=self.content_start,
                end=self.content_end,
            )
        )


def _can_be_title(candidate: str) -> bool:
    return (
        bool(candidate)
        and len(candidate) <= _MAX_TITLE_CHARS
        and candidate[-1] not in ".;:,"
        and candidate[0] not in _QUOTES
        and parse_heading(candidate) is None
    )


def is_signature_line(line: str) -> bool:
    """Whether the line opens a signature block ("T/M BAN CHẤP HÀNH", "KT. BÍ THƯ")."""
    probe = probe_line(line)
    return bool(_SIGNATURE.fullmatch(probe)) and is_all_caps(probe)


def is_all_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def parse_regulation(raw: str) -> RegulationTree:
    """Normalise `raw` and find its Chương / Mục / Điều / Khoản / Điểm (see module doc)."""
    return _Parser(normalize_text(raw)).parse()


# ---------------------------------------------------------------------------------------------
# Rebuilding from the compact form


def rebuild_tree(text: str, nodes: Sequence[StructureNode]) -> RegulationTree:
    """Check a flat node list against its text and return the tree; raise ContentRejected."""
    if normalize_text(text) != text:
        raise ContentRejected("structure_text_not_normalised", "Văn bản chưa được chuẩn hóa.")
    ordered = sorted(nodes, key=lambda node: (node.start, RANK[node.kind]))
    roots: list[_Building] = []
    stack: list[_Building] = []
    seen: set[str] = set()
    for node in ordered:
        _check_span(text, node)
        while stack and not _contains(stack[-1], node):
            stack.pop()
        parent = stack[-1] if stack else None
        _check_node(text, node, parent, seen)
        building = _Building(
            kind=node.kind,
            number=node.number,
            title=node.title,
            anchor=node.anchor,
            start=node.start,
            end=node.end,
        )
        siblings = parent.children if parent else roots
        if siblings and siblings[-1].end > node.start:
            raise _node_error("structure_overlap", node, "chồng lấn với mục đứng trước")
        siblings.append(building)
        stack.append(building)
        seen.add(node.anchor)
    return RegulationTree(text=text, nodes=tuple(root.freeze() for root in roots))


def _contains(outer: _Building, inner: StructureNode) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _check_span(text: str, node: StructureNode) -> None:
    if not 0 <= node.start < node.end <= len(text):
        raise _node_error("structure_offsets_invalid", node, "có vị trí nằm ngoài văn bản")
    span = text[node.start : node.end]
    if span != span.strip():
        raise _node_error("structure_offsets_invalid", node, "có vị trí không khớp nội dung")


def _check_node(text: str, node: StructureNode, parent: _Building | None, seen: set[str]) -> None:
    if parent is not None and RANK[parent.kind] >= RANK[node.kind]:
        raise _node_error("structure_nesting_invalid", node, "nằm sai cấp")
    if node.kind is NodeKind.PREAMBLE:
        expected = PREAMBLE_ANCHOR
        if parent is not None or node.number is not None:
            raise _node_error("structure_nesting_invalid", node, "nằm sai cấp")
    else:
        line_end = text.find("\n", node.start)
        heading = parse_heading(text[node.start : line_end if line_end >= 0 else len(text)])
        if heading is None or heading.kind is not node.kind or heading.number != node.number:
            raise _node_error("structure_heading_mismatch", node, "không khớp dòng tiêu đề")
        expected = anchor_for(
            node.kind, heading.value, heading.number, parent.anchor if parent else None
        )
    if node.anchor != expected or node.anchor in seen:
        raise _node_error("structure_anchor_invalid", node, "có mã neo sai hoặc trùng")


def _node_error(code: str, node: StructureNode, problem_vi: str) -> ContentRejected:
    return ContentRejected(code, f"Cấu trúc văn bản: {node.heading} {problem_vi}.")
