"""Bodies: Markdown to safe HTML, Markdown or HTML to plain text, and size checks.

Plain text keeps what the structure parser and the voice need: one line per paragraph, list
item or table row, with the numbering as written ("1.", "2)", "a)", "- ").
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from sotay_content.errors import ContentRejected
from sotay_content.regulations import RegulationNode, RegulationTree
from sotay_content.text import normalize_text

# The whole body rides in `document.published.v1`. Kafka's default message limit is 1 MiB;
# 700 kB of body leaves room for the structure (about 100 bytes per node) and the metadata.
# That is about 500,000 Vietnamese characters (1.36 bytes each in UTF-8), some 250 A4 pages,
# above the longest Party documents (a congress political report runs to about 150 pages).
MAX_BODY_BYTES = 700_000
# Raw input is refused before any parsing when it cannot fit even after normalisation.
MAX_RAW_BODY_CHARS = 2 * MAX_BODY_BYTES

ALLOWED_TAGS = frozenset(
    {
        *("p", "br", "hr", "blockquote", "pre", "code"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
        *("strong", "em", "b", "i", "u", "s", "del", "sub", "sup", "mark"),
        *("ul", "ol", "li", "a", "img"),
        *("table", "thead", "tbody", "tr", "th", "td"),
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "style"},
    "td": {"colspan", "rowspan", "style"},
}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# markdown-it writes table cell alignment as inline style; nothing else may be styled.
_ALLOWED_STYLE = {"text-align"}

_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)


def validate_body(body: str) -> str:
    """The normalised body, or ContentRejected when it is empty or too large."""
    if len(body) > MAX_RAW_BODY_CHARS:
        raise _too_large()
    normalised = normalize_text(body)
    if not normalised:
        raise ContentRejected("body_empty", "Nội dung văn bản đang trống.")
    if len(normalised.encode("utf-8")) > MAX_BODY_BYTES:
        raise _too_large()
    return normalised


def _too_large() -> ContentRejected:
    return ContentRejected(
        "body_too_large",
        f"Nội dung quá dài (tối đa {MAX_BODY_BYTES // 1000} kB); hãy tách thành nhiều văn bản.",
    )


def sanitize_html(untrusted: str) -> str:
    """HTML reduced to the allowed tags and attributes: no scripts, handlers or bad URLs."""
    return nh3.clean(
        untrusted,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        filter_style_properties=set(_ALLOWED_STYLE),
    )


def render_markdown(markdown: str) -> str:
    """Safe HTML of a Markdown body (raw HTML in the Markdown is shown as text)."""
    return sanitize_html(_MARKDOWN.render(normalize_text(markdown)))


def markdown_to_text(markdown: str) -> str:
    """Plain, normalised text of a Markdown body, keeping list numbering and line breaks."""
    lines: list[str] = []
    _TextWriter(lines).write(_MARKDOWN.parse(normalize_text(markdown)))
    return normalize_text("\n".join(lines))


_BLOCK_ENDS = frozenset(
    {
        *("paragraph_close", "heading_close", "blockquote_close", "table_close"),
        *("bullet_list_close", "ordered_list_close"),
    }
)


class _TextWriter:
    """Walks markdown-it block tokens and writes one line per paragraph, item or row."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.item_prefix = ""
        self.row: list[str] | None = None

    def write(self, tokens: Sequence[Token]) -> None:
        for token in tokens:
            self._block(token)

    def _block(self, token: Token) -> None:
        kind = token.type
        if kind == "list_item_open":
            bullet = token.markup if token.info else "-"
            self.item_prefix = f"{token.info}{bullet} " if token.info else f"{bullet} "
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close" and self.row is not None:
            self.lines.append(" | ".join(self.row))
            self.row = None
        elif kind == "inline":
            self._inline(token)
        elif kind in ("fence", "code_block"):
            self.lines.extend([token.content.rstrip("\n"), ""])
        elif kind in _BLOCK_ENDS and not token.hidden:
            self.lines.append("")

    def _inline(self, token: Token) -> None:
        text = "".join(_inline_text(child) for child in token.children or ())
        if self.row is not None:
            self.row.append(text.replace("\n", " "))
            return
        self.lines.append(self.item_prefix + text)
        self.item_prefix = ""


def _inline_text(token: Token) -> str:
    if token.type in ("softbreak", "hardbreak"):
        return "\n"
    if token.type == "image":
        return "".join(_inline_text(child) for child in token.children or ())
    if token.type in ("text", "code_inline"):
        return token.content
    return ""


def html_to_text(untrusted: str) -> str:
    """Plain, normalised text of an HTML body (script and style content dropped)."""
    reader = _HtmlText()
    reader.feed(untrusted)
    reader.close()
    return normalize_text("".join(reader.parts))


_BLOCK_TAGS = frozenset(
    {
        *("p", "div", "section", "article", "header", "footer", "main", "aside", "nav"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "hr"),
        *("ul", "ol", "li", "dl", "dt", "dd", "figure", "figcaption", "address"),
    }
)
# Items of a list, table or definition list end where the next begins: no blank line between.
_ITEM_TAGS = frozenset({"li", "tr", "dt", "dd"})
_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript", "head", "svg", "math"})


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.in_pre = 0
        self.lists: list[list[int]] = []  # per open list: [next number] or [] for bullets
        self.cells_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "ol":
            start = dict(attrs).get("start") or "1"
            self.lists.append([int(start) if start.isdigit() else 1])
        elif tag == "ul":
            self.lists.append([])
        elif tag in ("td", "th"):
            self.parts.append(" | " if self.cells_in_row else "")
            self.cells_in_row += 1
        if tag == "pre":
            self.in_pre += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "tr":
            self.cells_in_row = 0
        if tag == "li":
            self.parts.append(self._item_marker())

    def _item_marker(self) -> str:
        if not self.lists or not self.lists[-1]:
            return "- "
        number = self.lists[-1][0]
        self.lists[-1][0] += 1
        return f"{number}. "

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in ("ol", "ul") and self.lists:
            self.lists.pop()
        if tag == "pre":
            self.in_pre = max(0, self.in_pre - 1)
        if tag in _BLOCK_TAGS and tag not in _ITEM_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.parts.append(data if self.in_pre else _spaced(data))


def _spaced(data: str) -> str:
    """HTML whitespace: runs collapse to one space, kept at the edges where they were."""
    inner = " ".join(data.split())
    return f"{' ' if data[:1].isspace() else ''}{inner}{' ' if data[-1:].isspace() else ''}"


def render_regulation_html(tree: RegulationTree) -> str:
    """Reader view of a parsed regulation: nested <section id="dieu-5"> with escaped text.

    Anchors come from the parser (ASCII letters, digits and hyphens), so the ids are safe and
    match the table of contents.
    """
    return "".join(_section_html(tree, node) for node in tree.nodes)


def _section_html(tree: RegulationTree, node: RegulationNode) -> str:
    own_end = node.children[0].start if node.children else node.end
    lines = [line for line in tree.text[node.start : own_end].split("\n") if line.strip()]
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    children = "".join(_section_html(tree, child) for child in node.children)
    return f'<section id="{node.anchor}" class="{node.kind.value}">{paragraphs}{children}</section>'
