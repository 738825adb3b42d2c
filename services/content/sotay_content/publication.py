"""From a draft to what readers see and consumers receive: checked content, plain text, safe
HTML, structure, table of contents, reading chapters, content hash and search forms.

Everything downstream is computed on one plain text (`plain_text`): structure offsets and
chapters point into it, and `document.published.v1` carries it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

from sotay_common.events.content import DocumentKind
from sotay_common.text import fold, folded_words, search_words
from sotay_content.documents import content_hash, validate_document_number
from sotay_content.domain import DocumentContent, Rendition
from sotay_content.errors import ContentRejected
from sotay_content.markup import (
    markdown_to_text,
    render_markdown,
    render_regulation_html,
    validate_body,
)
from sotay_content.outline import chapters
from sotay_content.regulations import parse_regulation
from sotay_content.text import normalize_text

# Kinds whose body is structured into Chương / Mục / Điều / Khoản / Điểm.
STRUCTURED_KINDS = frozenset({DocumentKind.REGULATION, DocumentKind.RULES})
BODY_FORMATS = ("markdown", "text")


def plain_text(body_format: str, body: str) -> str:
    """The plain, normalised text of a body: Markdown loses its markup, text stays as is."""
    return markdown_to_text(body) if body_format == "markdown" else normalize_text(body)


def checked_content(content: DocumentContent) -> DocumentContent:
    """The content with its number in canonical form and its body normalised; ContentRejected
    for a number that does not fit the kind, an empty or an oversized body."""
    number = validate_document_number(content.kind, content.number)
    body = validate_body(content.body)
    if not plain_text(content.body_format, body):
        raise ContentRejected("body_empty", "Nội dung văn bản không có chữ nào để hiển thị.")
    return replace(content, number=number.canonical if number else None, body=body)


def render(content: DocumentContent) -> Rendition:
    """Everything derived from a (checked) body. CPU-bound: run it off the event loop."""
    plain = plain_text(content.body_format, content.body)
    structure = toc = None
    if content.kind in STRUCTURED_KINDS:
        tree = parse_regulation(plain)
        structure = tree.flat_nodes()
        toc = tree.table_of_contents()
        body_html = render_regulation_html(tree)
    elif content.body_format == "markdown":
        body_html = render_markdown(content.body)
    else:
        body_html = text_html(plain)
    return Rendition(
        plain_text=plain,
        html=body_html,
        content_hash=content_hash(
            kind=content.kind,
            title=content.title,
            body=plain,
            number=content.number,
            issuer=content.issuing_body,
            issued_on=content.issued_on,
        ),
        structure=structure,
        toc=toc,
        chapters=list(chapters(plain).chapters),
    )


def text_html(plain: str) -> str:
    """A plain-text body for readers: one escaped paragraph per line."""
    return "".join(f"<p>{html.escape(line)}</p>" for line in plain.split("\n") if line.strip())


@dataclass(frozen=True)
class SearchForms:
    """Distinct words of a document or a query: `tokens` folded (no diacritics), `words`
    lowercase with canonical diacritics."""

    tokens: list[str]
    words: list[str]


def document_search_forms(content: DocumentContent, plain: str) -> SearchForms:
    fields = (content.title, content.summary, content.number, content.issuing_body, plain)
    text = "\n".join(value for value in fields if value)
    return SearchForms(
        tokens=sorted(set(folded_words(text))), words=sorted(set(search_words(text)))
    )


def query_search_forms(query: str) -> SearchForms:
    """Every word must match; a word typed with diacritics matches only those diacritics,
    one typed without matches any ("quyet dinh" finds "quyết định", "quyết" does not find
    "quyệt")."""
    tokens = folded_words(query)
    if not tokens:
        raise ContentRejected("invalid_query", "Từ khóa tìm kiếm không hợp lệ.")
    accented = [word for word in search_words(query) if fold(word) != word]
    return SearchForms(tokens=list(dict.fromkeys(tokens)), words=list(dict.fromkeys(accented)))
