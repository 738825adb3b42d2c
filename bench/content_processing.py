"""Content service: how fast regulations are parsed and uploads are turned into text.

    .venv/bin/python bench/content_processing.py [--files PATH ...] [--repeat N]

Prints figures for the demo charter, a synthetic regulation of 1,000 articles, Markdown
rendering, and DOCX / PDF extraction of the demo charter (written here with python-docx and
fpdf2). `--files` adds your own DOCX / PDF / text files (none are needed).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import docx
from fpdf import FPDF

from sotay_content.demo import load_demo_documents
from sotay_content.extract import extract_document
from sotay_content.markup import markdown_to_text, render_markdown
from sotay_content.outline import chapters
from sotay_content.regulations import parse_regulation, rebuild_tree

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SENTENCE = (
    "Đảng viên có trách nhiệm thực hiện nội dung này trong thời hạn 30 ngày làm việc "
    "kể từ ngày nhận được thông báo của chi bộ"
)


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` runs."""
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def synthetic_regulation(chapters_count: int = 37, articles_per_chapter: int = 27) -> str:
    lines: list[str] = []
    article = 0
    for chapter in range(1, chapters_count + 1):
        lines += [f"Chương {chapter}", f"QUY ĐỊNH THỨ {chapter}"]
        for _ in range(articles_per_chapter):
            article += 1
            lines.append(f"Điều {article}. Nội dung của điều {article}")
            for khoan in range(1, 5):
                lines.append(f"{khoan}. {SENTENCE}:")
                lines += [f"{letter}) {SENTENCE};" for letter in "abc"]
    return "\n".join(lines)


def charter_docx(body: str) -> bytes:
    document = docx.Document()
    for line in body.splitlines():
        if line.strip():
            document.add_paragraph(line)
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def charter_pdf(body: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", "", 11)
    pdf.add_page()
    for line in body.splitlines():
        if line.strip():
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def report(name: str, seconds: float, size: str) -> None:
    print(f"{name:<44} {seconds * 1000:>9.1f} ms   {size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", type=Path, default=[])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repeat: int = args.repeat

    documents = {d.slug: d for d in load_demo_documents()}
    charter = documents["dieu-le-mau"].body
    tree = parse_regulation(charter)
    nodes = len(tree.flat_nodes())
    seconds = timed(lambda: parse_regulation(charter), repeat)
    report("parse demo charter", seconds, f"{len(charter):,} chars, {nodes} nodes")
    report(
        "rebuild_tree demo charter",
        timed(lambda: rebuild_tree(tree.text, tree.flat_nodes()), repeat),
        "",
    )
    report("chapters demo charter", timed(lambda: chapters(charter), repeat), "")

    big = synthetic_regulation()
    big_tree = parse_regulation(big)
    seconds = timed(lambda: parse_regulation(big), max(1, repeat // 2))
    report(
        "parse synthetic regulation",
        seconds,
        f"{len(big):,} chars, {len(big_tree.articles())} articles, "
        f"{len(big.encode()) / seconds / 1e6:.1f} MB/s",
    )

    markdown = documents["quy-dinh-sinh-hoat-chi-bo"].body
    report(
        "render_markdown (quy định, Markdown)",
        timed(lambda: render_markdown(markdown), repeat),
        f"{len(markdown):,} chars",
    )
    report(
        "markdown_to_text (quy định, Markdown)",
        timed(lambda: markdown_to_text(markdown), repeat),
        "",
    )

    docx_bytes, pdf_bytes = charter_docx(charter), charter_pdf(charter)
    report(
        "extract DOCX of demo charter",
        timed(lambda: extract_document(docx_bytes), repeat),
        f"{len(docx_bytes):,} bytes",
    )
    pages = extract_document(pdf_bytes).pages
    seconds = timed(lambda: extract_document(pdf_bytes), repeat)
    report(
        "extract PDF of demo charter",
        seconds,
        f"{pages} pages, {seconds / (pages or 1) * 1000:.0f} ms/page",
    )

    for path in args.files:
        report_file(path, repeat)


def report_file(path: Path, repeat: int) -> None:
    data = path.read_bytes()
    extracted = extract_document(data)
    seconds = timed(lambda: extract_document(data), repeat)
    report(f"extract {path.name}", seconds, f"{len(extracted.markdown):,} chars")


if __name__ == "__main__":
    main()
