"""Passages the assistant retrieves and quotes, cut from a published document version.

Regulations (a `structure` in the event): one chunk per Khoản, with its Điểm inside; a Điều
without Khoản is one chunk; the preamble is one chunk. Other documents (resolutions, news,
study topics): their reading chapters (or the whole text) cut into paragraph groups of bounded
size. A chunk's `text` is exactly `text[start:end]` of the document: that is what gets quoted.
Its `embed_text` adds the context a reader would have (the Điều heading and its lead-in, or
the document and section titles), which is what the retrievers see.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence

from pydantic import BaseModel, ConfigDict

from sotay_assistant.errors import AssistantError
from sotay_common.events.content import (
    NODE_LABELS_VI,
    DocumentKind,
    DocumentPublishedV1,
    NodeKind,
    StructureNode,
)

TARGET_CHUNK_CHARS = 100
MAX_SECTION_CHUNK_CHARS = 900
MIN_CHUNK_CHARS = 40
_HEADING_CHARS = 80
_LINE = re.compile(r"[^\n]*\S[^\n]*")


class Chunk(BaseModel):
    """One retrievable passage. Offsets are code points into the document's text."""

    model_config = ConfigDict(frozen=True)

    document_id: uuid.UUID
    version: int
    content_hash: str
    kind: DocumentKind
    document_title: str
    source_name: str
    organization_id: uuid.UUID | None
    seq: int
    anchor: str
    dieu: str | None
    dieu_title: str | None
    khoan: str | None
    section: str | None
    start: int
    end: int
    text: str
    embed_text: str

    @property
    def citation(self) -> str:
        """Where the passage is: "Khoản 2 Điều 5", "Điều 5", or the section's title."""
        if self.dieu is None:
            return self.section or NODE_LABELS_VI[NodeKind.PREAMBLE]
        dieu = f"{NODE_LABELS_VI[NodeKind.DIEU]} {self.dieu}"
        if self.khoan is None:
            return dieu
        return f"{NODE_LABELS_VI[NodeKind.KHOAN]} {self.khoan} {dieu}"


def chunk_document(document: DocumentPublishedV1, text: str | None = None) -> list[Chunk]:
    """Chunks of a published version; `text` is given when the event carries it by reference."""
    body = document.text if text is None else text
    if body is None:
        raise AssistantError(
            "document_text_missing", "Văn bản không kèm nội dung nên chưa thể đưa vào tra cứu."
        )
    if len(body) != document.text_length:
        raise AssistantError(
            "document_text_length_mismatch",
            "Nội dung văn bản nhận được không khớp độ dài đã công bố.",
        )
    pieces = (
        list(_regulation_pieces(body, document.structure))
        if document.structure
        else list(_section_pieces(body, document))
    )
    return [_chunk(document, body, seq, piece) for seq, piece in enumerate(pieces)]


def source_name(title: str, number: str | None) -> str:
    """How answers name a document: "Điều lệ mẫu", "Nghị quyết 01-NQ/TU"."""
    short = title.split(" về ", 1)[0].strip() if " về " in title else title.strip()
    return f"{short} {number}" if number else short


class _Piece(BaseModel):
    model_config = ConfigDict(frozen=True)

    anchor: str
    start: int
    end: int
    context: str
    dieu: StructureNode | None = None
    khoan: StructureNode | None = None
    section: str | None = None


def _chunk(document: DocumentPublishedV1, body: str, seq: int, piece: _Piece) -> Chunk:
    text = body[piece.start : piece.end]
    return Chunk(
        document_id=document.document_id,
        version=document.version,
        content_hash=document.content_hash,
        kind=document.kind,
        document_title=document.title,
        source_name=source_name(document.title, document.number),
        organization_id=document.scope.organization_id,
        seq=seq,
        anchor=piece.anchor,
        dieu=piece.dieu.number if piece.dieu else None,
        dieu_title=piece.dieu.title if piece.dieu else None,
        khoan=piece.khoan.number if piece.khoan else None,
        section=piece.section,
        start=piece.start,
        end=piece.end,
        text=text,
        embed_text=f"{piece.context}\n{text}" if piece.context else text,
    )


# -- regulations --------------------------------------------------------------------------------


def _regulation_pieces(body: str, nodes: Sequence[StructureNode]) -> Iterator[_Piece]:
    ordered = sorted(nodes, key=lambda node: (node.start, -node.end))
    for node in ordered:
        if node.kind is NodeKind.PREAMBLE:
            yield from _paragraph_groups(body, node.start, node.end, node.anchor, "", None)
        elif node.kind is NodeKind.DIEU:
            yield from _article_pieces(body, node, _inside(ordered, node, NodeKind.KHOAN))
        elif node.kind is NodeKind.KHOAN and not any(
            _contains(outer, node) for outer in ordered if outer.kind is NodeKind.DIEU
        ):
            yield _Piece(anchor=node.anchor, start=node.start, end=node.end, context="", khoan=node)


def _article_pieces(
    body: str, dieu: StructureNode, clauses: list[StructureNode]
) -> Iterator[_Piece]:
    if not clauses:
        yield _Piece(anchor=dieu.anchor, start=dieu.start, end=dieu.end, context="", dieu=dieu)
        return
    # The heading line and any lead-in sentence before Khoản 1 ("Hồ sơ gồm:") give context.
    lead_in = " ".join(body[dieu.start : clauses[0].start].split())
    for khoan in clauses:
        yield _Piece(
            anchor=khoan.anchor,
            start=khoan.start,
            end=khoan.end,
            context=lead_in,
            dieu=dieu,
            khoan=khoan,
        )


def _inside(
    nodes: Sequence[StructureNode], outer: StructureNode, kind: NodeKind
) -> list[StructureNode]:
    return [node for node in nodes if node.kind is kind and _contains(outer, node)]


def _contains(outer: StructureNode, inner: StructureNode) -> bool:
    return outer is not inner and outer.start <= inner.start and inner.end <= outer.end


# -- other documents ----------------------------------------------------------------------------


def _section_pieces(body: str, document: DocumentPublishedV1) -> Iterator[_Piece]:
    sections = [(c.title, c.anchor, c.start, c.end) for c in document.chapters] or [
        (document.title, "toan-van", 0, len(body))
    ]
    for title, anchor, start, end in sections:
        context = title if title == document.title else f"{document.title}\n{title}"
        yield from _paragraph_groups(body, start, end, anchor, context, title)


def _paragraph_groups(
    body: str, start: int, end: int, anchor: str, context: str, section: str | None
) -> Iterator[_Piece]:
    """One piece per point: a paragraph with the short heading lines before it, lines joined
    until TARGET_CHUNK_CHARS (never beyond MAX_SECTION_CHUNK_CHARS). Tiny leftovers and runs of
    questions (review questions of a study topic answer nothing) are dropped."""
    groups: list[tuple[int, int]] = []
    open_group = False
    for line in _LINE.finditer(body, start, end):
        joins = open_group and line.end() - groups[-1][0] <= MAX_SECTION_CHUNK_CHARS
        if joins:
            groups[-1] = (groups[-1][0], line.end())
        else:
            groups.append((line.start(), line.end()))
        open_group = _is_heading_line(line.group(0)) or (
            groups[-1][1] - groups[-1][0] < TARGET_CHUNK_CHARS
        )
    kept = [
        (group_start, group_end)
        for group_start, group_end in groups
        if group_end - group_start >= MIN_CHUNK_CHARS
        and _states_something(body[group_start:group_end])
    ]
    for index, (piece_start, piece_end) in enumerate(kept, start=1):
        yield _Piece(
            anchor=anchor if len(kept) == 1 else f"{anchor}-{index}",
            start=piece_start,
            end=piece_end,
            context=context,
            section=section,
        )


def _states_something(passage: str) -> bool:
    lines = [line.strip() for line in passage.splitlines() if line.strip()]
    return any(not line.endswith("?") and not _is_heading_line(line) for line in lines)


def _is_heading_line(line: str) -> bool:
    """A short line without closing punctuation introduces what follows ("2. Hạn chế")."""
    stripped = line.strip()
    return len(stripped) <= _HEADING_CHARS and stripped[-1] not in ".;:!?)"
