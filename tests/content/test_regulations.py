import json
import unicodedata

import pytest

from sotay_common.events.content import NodeKind, StructureNode
from sotay_content.demo import load_demo_documents
from sotay_content.errors import ContentRejected
from sotay_content.markup import markdown_to_text
from sotay_content.regulations import RegulationNode, RegulationTree, parse_regulation, rebuild_tree


def first(tree: RegulationTree, kind: NodeKind) -> RegulationNode:
    return next(node for node in tree.walk() if node.kind is kind)


def kinds_and_anchors(tree: RegulationTree) -> list[tuple[str, str]]:
    return [(node.kind.value, node.anchor) for node in tree.walk()]


def assert_offsets_exact(tree: RegulationTree) -> None:
    """Every span is trimmed, starts with its own heading, nests and follows in order."""
    for node in tree.walk():
        span = tree.text[node.start : node.end]
        assert span == span.strip()
        assert span
        for earlier, later in zip(node.children, node.children[1:], strict=False):
            assert earlier.end < later.start
        for child in node.children:
            assert node.start <= child.start
            assert child.end <= node.end
    assert rebuild_tree(tree.text, tree.flat_nodes()) == tree


def demo_body(slug: str) -> str:
    document = next(d for d in load_demo_documents() if d.slug == slug)
    return markdown_to_text(document.body) if document.body_format == "markdown" else document.body


@pytest.mark.parametrize(
    "line",
    [
        "Điều 5. Quyền của đảng viên",
        "Điều 5: Quyền của đảng viên",
        "Điều 5 - Quyền của đảng viên",
        "Điều 5 – Quyền của đảng viên",
        "Điều 5 Quyền của đảng viên",
        "Điều 5.Quyền của đảng viên",
        "Điều  5 .  Quyền   của đảng viên",
        "Điều\u00a05.\tQuyền\u00a0của đảng viên",
        "\tĐiều 5. Quyền của đảng viên",
        "Ðiều 5. Quyền của đảng viên",  # U+00D0, the Icelandic Eth
        unicodedata.normalize("NFD", "Điều 5. Quyền của đảng viên"),
        "**Điều 5.** Quyền của đảng viên",
        "### Điều 5. Quyền của đảng viên",
        "Điều 5.\nQuyền của đảng viên",
        "Điều 5\n\nQuyền của đảng viên",
    ],
)
def test_article_heading_variants(line: str) -> None:
    tree = parse_regulation(f"{line}\n1. Đảng viên được thông tin.\n2. Đảng viên được ứng cử.")

    article = first(tree, NodeKind.DIEU)
    assert (article.number, article.title, article.anchor) == ("5", "Quyền của đảng viên", "dieu-5")
    assert [k.anchor for k in article.children] == ["dieu-5-khoan-1", "dieu-5-khoan-2"]
    assert tree.text[article.start :].startswith(("Điều", "**Điều", "### Điều"))
    assert_offsets_exact(tree)


def test_capital_headings_and_unaccented_typing() -> None:
    tree = parse_regulation(
        "ĐIỀU 5. QUYỀN CỦA ĐẢNG VIÊN\n1. Nội dung.\nDieu 6. Nghia vu\n1. Noi dung."
    )

    assert [(a.number, a.title) for a in tree.articles()] == [
        ("5", "QUYỀN CỦA ĐẢNG VIÊN"),
        ("6", "Nghia vu"),
    ]


@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("Chương II", "II"),
        ("CHƯƠNG II", "II"),
        ("Chương Il", "II"),  # small L for I
        ("Chương 1I", "II"),  # digit one for I
        ("Chương ІІ", "II"),  # Cyrillic І
        ("Chương Ⅱ", "II"),  # the Roman numeral sign
        ("Chương ii", "II"),
        ("Chương  II .", "II"),
        ("Chương 2", "2"),
    ],
)
def test_chapter_numbers_are_repaired(line: str, number: str) -> None:
    tree = parse_regulation(f"Chương I\nCHUNG\nĐiều 1. A\n{line}\nĐẢNG VIÊN\nĐiều 2. B")

    chapters = [n for n in tree.nodes if n.kind is NodeKind.CHUONG]
    assert [(c.number, c.anchor, c.title) for c in chapters] == [
        ("I", "chuong-1", "CHUNG"),
        (number, "chuong-2", "ĐẢNG VIÊN"),
    ]


@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ("Chương III. KHEN THƯỞNG", "KHEN THƯỞNG"),
        ("Chương III - KHEN THƯỞNG", "KHEN THƯỞNG"),
        ("Chương III: Khen thưởng", "Khen thưởng"),
        ("Chương III KHEN THƯỞNG", "KHEN THƯỞNG"),
        ("Chương III\nKHEN THƯỞNG\nVÀ KỶ LUẬT", "KHEN THƯỞNG VÀ KỶ LUẬT"),
        ("Chương III\nKhen thưởng", "Khen thưởng"),
        ("## Chương III\n\n### KHEN THƯỞNG", "KHEN THƯỞNG"),
    ],
)
def test_chapter_titles_on_the_same_or_next_lines(heading: str, title: str) -> None:
    tree = parse_regulation(f"{heading}\nĐiều 1. Hình thức\n1. Giấy khen.")

    chapter = first(tree, NodeKind.CHUONG)
    assert (chapter.title, chapter.number) == (title, "III")
    assert first(tree, NodeKind.DIEU).title == "Hình thức"


def test_numbered_lines_that_are_not_structure() -> None:
    text = "\n".join(
        [
            "QUY ĐỊNH MẪU",
            "1. Căn cứ Điều lệ mẫu;",  # numbered line before any Điều: preamble text
            "Chương trình hành động của Tỉnh ủy.",
            "Mục lục",
            "Điều 1. Mức đóng",
            "1. Mức đóng được quy định như sau:",
            "1.000 đồng là mức thấp nhất;",
            "15/3/2020 là ngày bắt đầu áp dụng.",
            "12 tháng là thời gian dự bị.",
            "Điều 2 của Quy định này không áp dụng cho học sinh.",
            "“Điều 9. Đoạn trích dẫn”",
            "7. Số thứ tự nhảy quá xa.",
            "2) Khoản thứ hai.",
            "3 Khoản thứ ba viết thiếu dấu chấm.",
            "Điều 2. Điều tiếp theo",
        ]
    )
    tree = parse_regulation(text)

    assert kinds_and_anchors(tree) == [
        ("preamble", "preamble"),
        ("dieu", "dieu-1"),
        ("khoan", "dieu-1-khoan-1"),
        ("khoan", "dieu-1-khoan-2"),
        ("khoan", "dieu-1-khoan-3"),
        ("dieu", "dieu-2"),
    ]
    khoan_1 = tree.node_text(tree.find("dieu-1-khoan-1"))
    assert "1.000 đồng" in khoan_1
    assert "Điều 2 của Quy định" in khoan_1
    assert "Đoạn trích dẫn" in khoan_1
    assert "nhảy quá xa" in khoan_1
    assert tree.node_text(tree.find("preamble")).endswith("Mục lục")
    assert_offsets_exact(tree)


def test_khoan_numbering_restarts_per_article_and_diem_letters() -> None:
    text = (
        "Điều 1. Một\n1. Khoản.\na) Điểm;\nb. Điểm;\nc) Điểm;\nd) Điểm;\nđ) Điểm;\ne) Điểm.\n"
        "2. Khoản.\nĐiều 2. Hai\n1. Khoản.\nĐiều 3. Ba\nGồm:\na) Điểm thẳng dưới Điều;\nb) Điểm."
    )
    tree = parse_regulation(text)

    assert [n.anchor for n in tree.walk()] == [
        "dieu-1",
        "dieu-1-khoan-1",
        *(f"dieu-1-khoan-1-diem-{x}" for x in ["a", "b", "c", "d", "dd", "e"]),
        "dieu-1-khoan-2",
        "dieu-2",
        "dieu-2-khoan-1",
        "dieu-3",
        "dieu-3-diem-a",
        "dieu-3-diem-b",
    ]
    assert tree.find("dieu-1-khoan-1-diem-dd").number == "đ"
    assert tree.citation("dieu-1-khoan-1-diem-dd") == "Điểm đ Khoản 1 Điều 1"
    assert tree.citation("dieu-3-diem-b") == "Điểm b Điều 3"
    assert_offsets_exact(tree)


def test_sections_inserted_articles_and_signature_block() -> None:
    text = (
        "Chương I\nCHUNG\nMục 1\nPHẠM VI\nĐiều 1. A\n1. Nội dung.\nĐiều 1a. Bổ sung\n"
        "Mục 2. Đối tượng\nĐiều 2. B\nChương II. KHÁC\nMục 1. Lại từ một\nĐiều 3. C\n"
        "Nội dung cuối.\n\nT/M BAN CHẤP HÀNH\nBÍ THƯ\n(đã ký)"
    )
    tree = parse_regulation(text)

    assert [(n.anchor, n.title) for n in tree.walk() if n.kind is not NodeKind.KHOAN] == [
        ("chuong-1", "CHUNG"),
        ("chuong-1-muc-1", "PHẠM VI"),
        ("dieu-1", "A"),
        ("dieu-1a", "Bổ sung"),
        ("chuong-1-muc-2", "Đối tượng"),
        ("dieu-2", "B"),
        ("chuong-2", "KHÁC"),
        ("chuong-2-muc-1", "Lại từ một"),
        ("dieu-3", "C"),
    ]
    assert tree.node_text(tree.find("dieu-3")).endswith("Nội dung cuối.")
    assert tree.citation("chuong-2-muc-1") == "Mục 1 Chương II"
    assert [(e.level, e.label) for e in tree.table_of_contents()][:3] == [
        (1, "Chương I. CHUNG"),
        (2, "Mục 1. PHẠM VI"),
        (3, "Điều 1. A"),
    ]
    assert_offsets_exact(tree)


def test_text_without_structure_is_one_preamble() -> None:
    tree = parse_regulation("  Tin tức ngắn.\n\n\n\nĐoạn thứ hai.  ")

    assert tree.text == "  Tin tức ngắn.\n\nĐoạn thứ hai."
    assert [(n.kind, n.start, n.end) for n in tree.nodes] == [
        (NodeKind.PREAMBLE, 2, len(tree.text))
    ]
    assert tree.articles() == []


def test_flat_nodes_survive_json_and_are_checked() -> None:
    tree = parse_regulation("Lời mở đầu.\nĐiều 1. A\n1. Một.\n2. Hai.\nĐiều 2. B\nNội dung.")
    payload = json.dumps([node.model_dump(mode="json") for node in tree.flat_nodes()])

    nodes = [StructureNode.model_validate(item) for item in json.loads(payload)]
    assert rebuild_tree(tree.text, nodes) == tree

    def rejected(changed: list[StructureNode], text: str = tree.text) -> str:
        with pytest.raises(ContentRejected) as error:
            rebuild_tree(text, changed)
        return error.value.code

    second = nodes[4]  # dieu-2
    assert rejected([*nodes[:4], second.model_copy(update={"start": second.start + 1})]) == (
        "structure_heading_mismatch"
    )
    assert rejected([*nodes[:4], second.model_copy(update={"end": len(tree.text) + 1})]) == (
        "structure_offsets_invalid"
    )
    assert rejected([*nodes[:2], nodes[2].model_copy(update={"end": nodes[2].end + 1})]) == (
        "structure_offsets_invalid"
    )
    assert rejected([*nodes[:4], second.model_copy(update={"anchor": "dieu-7"})]) == (
        "structure_anchor_invalid"
    )
    assert rejected([*nodes[:4], second.model_copy(update={"number": "3"})]) == (
        "structure_heading_mismatch"
    )
    assert rejected([*nodes, nodes[2]]) == "structure_nesting_invalid"
    assert rejected(nodes, tree.text + "  ") == "structure_text_not_normalised"
    khoan = nodes[2].model_copy(update={"end": nodes[3].start + 2})  # runs into "2."
    assert tree.text[khoan.start : khoan.end].endswith("Một.\n2.")
    assert rejected([*nodes[:2], khoan, *nodes[3:]]) == "structure_overlap"


def test_demo_charter_structure() -> None:
    tree = parse_regulation(demo_body("dieu-le-mau"))

    articles = tree.articles()
    assert [a.number for a in articles] == [str(n) for n in range(1, 56)]
    assert all(a.title for a in articles)
    assert all(any(c.kind is NodeKind.KHOAN for c in a.children) for a in articles)
    chapters = [n for n in tree.nodes if n.kind is NodeKind.CHUONG]
    assert [c.number for c in chapters] == [
        "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI"
    ]  # fmt: skip
    assert all(c.title and c.title.isupper() for c in chapters)
    anchors = [n.anchor for n in tree.walk()]
    assert len(anchors) == len(set(anchors))
    assert tree.citation("dieu-7-khoan-2-diem-c") == "Điểm c Khoản 2 Điều 7"
    assert tree.node_text(tree.find("dieu-14-khoan-1")).startswith(
        "1. Người được kết nạp phải trải qua thời gian dự bị 12 tháng"
    )
    assert not tree.node_text(articles[-1]).endswith("(đã ký)")
    assert len(tree.table_of_contents()) == 11 + 2 + 55
    assert_offsets_exact(tree)


def test_anchors_and_other_spans_are_stable_across_an_edit() -> None:
    original = demo_body("dieu-le-mau")
    edited = original.replace(
        "2. Dự đầy đủ các kỳ sinh hoạt chi bộ;",
        "2. Dự đầy đủ và đúng giờ các kỳ sinh hoạt chi bộ;",
    )
    assert edited != original
    before, after = parse_regulation(original), parse_regulation(edited)

    assert [n.anchor for n in before.walk()] == [n.anchor for n in after.walk()]
    changed = {
        n.anchor
        for n, m in zip(before.walk(), after.walk(), strict=True)
        if before.node_text(n) != after.node_text(m)
    }
    assert changed == {"chuong-2", "dieu-5", "dieu-5-khoan-2"}


def test_demo_markdown_regulation_parses_from_markdown_and_from_its_text() -> None:
    document = next(d for d in load_demo_documents() if d.slug == "quy-dinh-sinh-hoat-chi-bo")

    from_markdown = parse_regulation(document.body)
    from_text = parse_regulation(markdown_to_text(document.body))

    for tree in (from_markdown, from_text):
        assert [a.anchor for a in tree.articles()] == [f"dieu-{n}" for n in range(1, 13)]
        assert len([n for n in tree.walk() if n.kind is NodeKind.DIEM]) == 7
        assert_offsets_exact(tree)
    assert [n.title for n in from_markdown.walk()] == [n.title for n in from_text.walk()]
