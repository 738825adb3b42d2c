import re

import pytest

from sotay_content.errors import ContentRejected
from sotay_content.markup import (
    ALLOWED_TAGS,
    MAX_BODY_BYTES,
    html_to_text,
    markdown_to_text,
    render_markdown,
    render_regulation_html,
    sanitize_html,
    validate_body,
)
from sotay_content.regulations import parse_regulation

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=javascript:alert('XSS')>",
    '<a href="javascript:alert(1)">bấm</a>',
    '<a href="JaVaScRiPt:alert(1)">bấm</a>',
    '<a href="&#106;avascript:alert(1)">bấm</a>',
    '<a href=" javascript:alert(1)">bấm</a>',
    '<a href="vbscript:msgbox(1)">bấm</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">bấm</a>',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
    "<iframe src=https://evil.example srcdoc='<script>alert(1)</script>'></iframe>",
    "<object data=javascript:alert(1)></object><embed src=javascript:alert(1)>",
    "<body onload=alert(1)><div onmouseover=alert(1)>rê chuột</div>",
    '<p style="background:url(javascript:alert(1))">đoạn</p>',
    '<td style="text-align:center;position:fixed;top:0">ô</td>',
    '<form action="javascript:alert(1)"><input autofocus onfocus=alert(1)></form>',
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=javascript:alert(1)//>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<details open ontoggle=alert(1)>",
    '<a href="https://ok.example" target=_blank onclick=alert(1)>liên kết</a>',
]
DANGEROUS = re.compile(
    r"<\s*(script|iframe|object|embed|svg|math|form|input|meta|base|link|style|details|body)"
    r"|\son\w+\s*=|javascript:|vbscript:|data:|srcdoc|position|url\(",
    re.I,
)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_sanitizer_removes_script_vectors(payload: str) -> None:
    cleaned = sanitize_html(payload)

    assert not DANGEROUS.search(cleaned), cleaned
    assert sanitize_html(cleaned) == cleaned


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_renderer_never_emits_raw_html(payload: str) -> None:
    rendered = render_markdown(f"Đoạn văn.\n\n{payload}\n\n[liên kết]({payload[:20]})")

    for tag in re.findall(r"<(/?[a-zA-Z][^>]*)>", rendered):
        name = tag.lstrip("/").split()[0].lower()
        assert name in ALLOWED_TAGS, rendered
        assert not DANGEROUS.search(f"<{tag}>"), rendered


def test_markdown_links_and_formatting_that_are_allowed() -> None:
    rendered = render_markdown(
        "# Tiêu đề\n\n**Đậm** và *nghiêng*, [Cổng](https://thanhbinh.example/tin) "
        "[thư](mailto:vp@thanhbinh.example) [xấu](javascript:alert(1))\n\n"
        "| Mức | Tỷ lệ |\n|:---:|---|\n| Lương | 1% |"
    )

    assert "<h1>Tiêu đề</h1>" in rendered
    assert "<strong>Đậm</strong>" in rendered
    assert "<em>nghiêng</em>" in rendered
    assert '<a href="https://thanhbinh.example/tin" rel="noopener noreferrer nofollow">' in rendered
    assert 'href="mailto:vp@thanhbinh.example"' in rendered
    assert "javascript" not in rendered.split("xấu")[0].rsplit("<a", 1)[-1]
    assert '<th style="text-align:center">Mức</th>' in rendered


def test_markdown_to_text_keeps_numbering_lines_and_diacritics() -> None:
    markdown = (
        "## Điều 5. Quyền của đảng viên\n\n1. Được **thông tin**;\n2. Được ứng cử.\n\n"
        "a) Điểm một;\nb) Điểm hai.\n\n- Gạch đầu dòng\n\n7) Bắt đầu từ bảy\n\n"
        "| Mức | Tỷ lệ |\n|---|---|\n| Lương | 1% |\n\nKý tự \\*thoát\\* và `mã`."
    )

    assert markdown_to_text(markdown) == (
        "Điều 5. Quyền của đảng viên\n\n1. Được thông tin;\n2. Được ứng cử.\n\n"
        "a) Điểm một;\nb) Điểm hai.\n\n- Gạch đầu dòng\n\n7) Bắt đầu từ bảy\n\n"
        "Mức | Tỷ lệ\nLương | 1%\n\nKý tự *thoát* và mã."
    )


def test_html_to_text_drops_scripts_and_keeps_lists() -> None:
    html = (
        "<h2>Điều 1. Phạm vi</h2><p>Áp  dụng\n cho <b>đảng viên</b> <i>dự bị</i>.</p>"
        "<ol start=3><li>Ba</li><li>Bốn</li></ol><ul><li>Gạch</li></ul>"
        "<script>alert('x')</script><style>p{}</style>"
        "<table><tr><td>Mức</td><td>1%</td></tr></table>Hết<br>dòng"
    )

    assert html_to_text(html) == (
        "Điều 1. Phạm vi\n\nÁp dụng cho đảng viên dự bị.\n\n3. Ba\n4. Bốn\n\n- Gạch\n\n"
        "Mức | 1%\n\nHết\ndòng"
    )


def test_validate_body_limits() -> None:
    assert validate_body("  Nội dung\r\n") == "  Nội dung"
    for empty in ["", " \n\t\u00a0\u200b "]:
        with pytest.raises(ContentRejected) as error:
            validate_body(empty)
        assert error.value.code == "body_empty"
    too_big = "Đảng viên " * (MAX_BODY_BYTES // 12)
    assert len(too_big.encode()) > MAX_BODY_BYTES
    with pytest.raises(ContentRejected) as error:
        validate_body(too_big)
    assert error.value.code == "body_too_large"


def test_regulation_reader_view_has_anchor_ids_and_escapes_text() -> None:
    tree = parse_regulation("Chương I\nCHUNG\nĐiều 1. <b>A</b>\n1. Một & hai.\na) Điểm.")

    rendered = render_regulation_html(tree)
    assert rendered.startswith('<section id="chuong-1" class="chuong"><p>Chương I</p>')
    assert '<section id="dieu-1-khoan-1-diem-a" class="diem"><p>a) Điểm.</p></section>' in rendered
    assert "&lt;b&gt;A&lt;/b&gt;" in rendered
    assert "Một &amp; hai." in rendered
    assert rendered.count("<section") == rendered.count("</section>") == 4
