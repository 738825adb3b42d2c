"""Outline of any document (Markdown headings, numbered sections) and its reading chapters.

`chapters` is what the voice service reads aloud: one chapter per Điều for regulations, else one
per top section; chapters cover the whole text in order, so nothing is skipped when reading.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from pydantic import BaseModel, ConfigDict

from sotay_common.events.content import Chapter, NodeKind
from sotay_content.regulations import (
    LABELS_VI,
    RegulationTree,
    is_all_caps,
    is_signature_line,
    parse_regulation,
    probe_line,
    roman_value,
)
from sotay_content.text import normalize_text


class OutlineSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: int  # 1 = top level present in this document
    title: str
    anchor: str
    start: int
    end: int


class Outline(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    sections: tuple[OutlineSection, ...]


class DocumentChapters(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    chapters: tuple[Chapter, ...]


WHOLE_TEXT_TITLE = "Toàn văn"
WHOLE_TEXT_ANCHOR = "toan-van"

_ATX = re.compile(r"(?P<marks>#{1,6})\s+(?P<title>.+?)(?:\s+#+)?")
_PART = re.compile(r"(?:phần\s+(?:thứ\s+\S+|[IVX]+|\d+))(?:\s*[.:\-–—]\s*.*|\s+\S.*)?", re.I)
_ROMAN_SECTION = re.compile(r"(?P<num>[IVX]{1,5})\s*[.)\-–—]\s*(?P<title>\S.*)")
_ARABIC_SECTION = re.compile(r"(?P<num>\d{1,2}(?:\.\d{1,2})*)\s*[.)](?!\d)\s*(?P<title>\S.*)")
# Ranks: Markdown "#" x n is 10 x n; plain-text headings slot in between: Phần above Roman
# sections and lines in capitals, those above "1." sections, those above "1.1." sections.
_RANK_PART, _RANK_ROMAN, _RANK_ARABIC = 5, 15, 25
_MAX_HEADING_CHARS = 150


def outline(raw: str) -> Outline:
    """Headings of a document with their spans, levels renumbered from 1."""
    text = normalize_text(raw)
    found = _headings(text)
    levels = {rank: level for level, rank in enumerate(sorted({r for r, *_ in found}), 1)}
    anchors: Counter[str] = Counter()
    sections = []
    for index, (rank, title, start) in enumerate(found):
        following = (s for r, _, s in found[index + 1 :] if r <= rank)
        end = _content_end(text, next(following, len(text)))
        sections.append(
            OutlineSection(
                level=levels[rank],
                title=title,
                anchor=_unique(slugify(title) or "muc", anchors),
                start=start,
                end=end,
            )
        )
    return Outline(text=text, sections=tuple(sections))


def _headings(text: str) -> list[tuple[int, str, int]]:
    """(rank, title, start) of each heading line; consecutive capital lines make one heading.

    Scanning stops at the signature block, whose capital lines are no headings.
    """
    found: list[tuple[int, str, int]] = []
    previous_caps_line_end = -2
    for match in re.finditer(r"[^\n]+", text):
        line = match.group()
        if found and is_signature_line(line):
            break
        heading = _heading(line.strip())
        if heading is None:
            continue
        rank, title = heading
        caps_line = rank == _RANK_ROMAN and is_all_caps(title)
        if caps_line and previous_caps_line_end == match.start() - 1:
            found[-1] = (rank, f"{found[-1][1]} {title}", found[-1][2])
        else:
            found.append((rank, title, match.start() + len(line) - len(line.lstrip())))
        previous_caps_line_end = match.end() if caps_line else -2
    return found


def _heading(line: str) -> tuple[int, str] | None:
    atx = _ATX.fullmatch(line)
    if atx:
        return 10 * len(atx["marks"]), probe_line(atx["title"])
    probe = probe_line(line)
    if not probe or len(probe) > _MAX_HEADING_CHARS:
        return None
    if _PART.fullmatch(probe):
        return _RANK_PART, probe
    roman = _ROMAN_SECTION.fullmatch(probe)
    if roman and roman_value(roman["num"]):
        return _RANK_ROMAN, probe
    arabic = _ARABIC_SECTION.fullmatch(probe)
    if arabic and _reads_as_heading(arabic["title"]):
        return _RANK_ARABIC + 10 * arabic["num"].count("."), probe
    if is_all_caps(probe) and probe[-1] not in ".;:,":
        return _RANK_ROMAN, probe
    return None


def _reads_as_heading(title: str) -> bool:
    return title[0].isupper() and title[-1] not in ".;:,?!"


def _content_end(text: str, boundary: int) -> int:
    return len(text[:boundary].rstrip())


def slugify(title: str) -> str:
    """ASCII anchor from a Vietnamese title: "Mục tiêu chung" -> "muc-tieu-chung"."""
    folded = unicodedata.normalize("NFD", title.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:60].rstrip("-")


def _unique(anchor: str, seen: Counter[str]) -> str:
    seen[anchor] += 1
    return anchor if seen[anchor] == 1 else f"{anchor}-{seen[anchor]}"


def chapters(raw: str) -> DocumentChapters:
    """Reading chapters: per Điều when the text has articles, else per top section."""
    text = normalize_text(raw)
    tree = parse_regulation(text)
    if tree.articles():
        starts = _article_chapter_starts(tree)
    else:
        starts = _section_chapter_starts(outline(text))
    if not starts or text[: starts[0][2]].strip():
        starts.insert(0, _opening_chapter(text, starts))
    return DocumentChapters(
        text=text,
        chapters=tuple(
            Chapter(
                title=title,
                anchor=anchor,
                start=start,
                end=_content_end(text, starts[i + 1][2] if i + 1 < len(starts) else len(text)),
            )
            for i, (title, anchor, start) in enumerate(starts)
        ),
    )


def _opening_chapter(text: str, starts: list[tuple[str, str, int]]) -> tuple[str, str, int]:
    first_char = len(text) - len(text.lstrip())
    if starts:
        return LABELS_VI[NodeKind.PREAMBLE], "preamble", first_char
    return WHOLE_TEXT_TITLE, WHOLE_TEXT_ANCHOR, first_char


def _article_chapter_starts(tree: RegulationTree) -> list[tuple[str, str, int]]:
    """Each Điều starts a chapter; the first Điều of a Chương also takes the Chương heading."""
    starts: list[tuple[str, str, int]] = []
    pending_start: int | None = None
    for node in tree.walk():
        if node.kind in (NodeKind.CHUONG, NodeKind.MUC) and pending_start is None:
            pending_start = node.start
        elif node.kind is NodeKind.DIEU:
            start = node.start if pending_start is None else pending_start
            starts.append((node.heading, node.anchor, start))
            pending_start = None
    return starts


def _section_chapter_starts(document: Outline) -> list[tuple[str, str, int]]:
    """Sections of the shallowest level that splits the document in at least two."""
    for level in sorted({section.level for section in document.sections}):
        chosen = [s for s in document.sections if s.level <= level]
        if len(chosen) >= 2:
            return [(s.title, s.anchor, s.start) for s in chosen]
    return [(s.title, s.anchor, s.start) for s in document.sections]
