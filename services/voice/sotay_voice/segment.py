"""Spoken blocks to synthesis chunks: sentences packed up to a bounded length, a short first
chunk for fast first audio, a pause after every chunk, and chapter marks where headings (or
the sections the content service sends) begin.

A chunk never spans two blocks, so every heading, list item and paragraph boundary gets its
own pause and a chapter always starts at a chunk, whose start time the encoder knows exactly.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sotay_voice.encode import ChapterMark
from sotay_voice.normalize import BlockKind, Normalizer, SpokenBlock

_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+")
_CLAUSE_END = re.compile(r"(?<=[,:])\s+")


@dataclass(frozen=True)
class Section:
    """One entry of the document's structure: where (character offset in the source text) a
    heading, chapter or article starts, and what to call it."""

    title: str
    start: int
    kind: str = "section"
    number: str | None = None
    anchor: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Section":
        """From an event's JSON object with these field names (others are ignored)."""
        number = data.get("number")
        return cls(
            title=str(data["title"]),
            start=int(data["start"]),
            kind=str(data.get("kind", "section")),
            number=None if number is None else str(number),
            anchor=data.get("anchor"),
        )


@dataclass(frozen=True)
class PauseProfile:
    """Silence (seconds) after each kind of boundary."""

    clause_s: float = 0.2  # a long sentence cut at a comma
    sentence_s: float = 0.35  # between chunks of one block
    list_item_s: float = 0.5
    paragraph_s: float = 0.7
    heading_s: float = 0.8
    before_chapter_s: float = 1.0  # at least this before a chapter starts


@dataclass(frozen=True)
class SpeechChunk:
    """Text for one synthesis call, the pause after it, and the chapter it opens if any.
    `source_start`/`source_end` are the offsets of its block in the source text."""

    text: str
    pause_after_s: float
    chapter: ChapterMark | None
    source_start: int
    source_end: int


@dataclass(frozen=True)
class ChunkLimits:
    first_chunk_chars: int = 80
    max_chunk_chars: int = 300


def plan_document(
    text: str,
    normalizer: Normalizer,
    sections: list[Section] | None = None,
    pauses: PauseProfile = PauseProfile(),
    limits: ChunkLimits = ChunkLimits(),
) -> list[SpeechChunk]:
    """Normalise a document's plain text and plan its chunks."""
    return plan_chunks(normalizer.normalize_document(text), sections, pauses, limits)


def plan_chunks(
    blocks: list[SpokenBlock],
    sections: list[Section] | None = None,
    pauses: PauseProfile = PauseProfile(),
    limits: ChunkLimits = ChunkLimits(),
) -> list[SpeechChunk]:
    """Chunks for `blocks`; chapters from `sections` when given, else from heading blocks."""
    marks = _chapter_marks(blocks, sections)
    chunks: list[SpeechChunk] = []
    for index, block in enumerate(blocks):
        pieces = _pack(block.text, limits.max_chunk_chars)
        if not chunks and pieces:
            pieces = _short_first(pieces, limits.first_chunk_chars)
        block_pause = _block_pause(block.kind, pauses)
        if index + 1 in marks:
            block_pause = max(block_pause, pauses.before_chapter_s)
        for number, (piece, cut_mid_sentence) in enumerate(pieces):
            last = number == len(pieces) - 1
            within_pause = pauses.clause_s if cut_mid_sentence else pauses.sentence_s
            chunks.append(
                SpeechChunk(
                    text=piece,
                    pause_after_s=block_pause if last else within_pause,
                    chapter=marks.get(index) if number == 0 else None,
                    source_start=block.start,
                    source_end=block.end,
                )
            )
    return chunks


def _block_pause(kind: BlockKind, pauses: PauseProfile) -> float:
    return {
        BlockKind.HEADING: pauses.heading_s,
        BlockKind.LIST_ITEM: pauses.list_item_s,
        BlockKind.PARAGRAPH: pauses.paragraph_s,
    }[kind]


def _chapter_marks(
    blocks: list[SpokenBlock], sections: list[Section] | None
) -> dict[int, ChapterMark]:
    """Block index -> the chapter it opens."""
    if sections is None:
        return {
            index: ChapterMark(block.title)
            for index, block in enumerate(blocks)
            if block.kind is BlockKind.HEADING
        }
    marks: dict[int, ChapterMark] = {}
    for section in sorted(sections, key=lambda section: section.start):
        # The block holding the section's start, or the first one after it.
        index = next((i for i, block in enumerate(blocks) if block.end > section.start), None)
        if index is not None and index not in marks:
            marks[index] = ChapterMark(section.title, section.anchor)
    return marks


def _pack(text: str, max_chars: int) -> list[tuple[str, bool]]:
    """Sentences joined into pieces of at most `max_chars` (a longer sentence is cut at
    commas, then between words); each piece says whether it ends mid-sentence."""
    pieces: list[tuple[str, bool]] = []
    current = ""
    for sentence in _SENTENCE_END.split(text.strip()):
        if not sentence:
            continue
        if current and len(current) + 1 + len(sentence) <= max_chars:
            current = f"{current} {sentence}"
            continue
        if current:
            pieces.append((current, False))
        parts = _cut(sentence, max_chars)
        pieces += [(part, True) for part in parts[:-1]]
        current = parts[-1]
    if current:
        pieces.append((current, False))
    return pieces


def _cut(sentence: str, max_chars: int) -> list[str]:
    """A sentence in parts of at most `max_chars`, at clause ends where possible."""
    if len(sentence) <= max_chars:
        return [sentence]
    parts: list[str] = []
    current = ""
    for clause in _CLAUSE_END.split(sentence):
        for word_run in _cut_words(clause, max_chars):
            if current and len(current) + 1 + len(word_run) > max_chars:
                parts.append(current)
                current = word_run
            else:
                current = f"{current} {word_run}" if current else word_run
    return [*parts, current] if current else parts


def _cut_words(text: str, max_chars: int) -> list[str]:
    runs: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > max_chars:
            runs.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*runs, current] if current else runs


def _short_first(pieces: list[tuple[str, bool]], first_chars: int) -> list[tuple[str, bool]]:
    """Split the first piece so the first chunk is short: its first sentence, or its first
    clause, or its first words."""
    first, cut_mid_sentence = pieces[0]
    if len(first) <= first_chars:
        return pieces
    sentences = _SENTENCE_END.split(first, maxsplit=1)
    if len(sentences) == 2 and len(sentences[0]) <= first_chars:
        return [(sentences[0], False), (sentences[1], cut_mid_sentence), *pieces[1:]]
    head = _cut(first, first_chars)[0]
    rest = first[len(head) :].strip()
    return [(head, True), (rest, cut_mid_sentence), *pieces[1:]]
