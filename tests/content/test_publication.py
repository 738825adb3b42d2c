from dataclasses import replace

import pytest

from sotay_common.events.content import DocumentKind, NodeKind
from sotay_content.domain import DocumentContent
from sotay_content.errors import ContentRejected
from sotay_content.publication import (
    checked_content,
    document_search_forms,
    query_search_forms,
    render,
    text_html,
)
from tests.content.support import CHARTER

NEWS = DocumentContent(
    kind=DocumentKind.NEWS,
    title="Hội nghị",
    summary=None,
    number=None,
    issuing_body=None,
    issued_on=None,
    language="vi",
    tags=(),
    scope_org_id=None,
    body_format="markdown",
    body="## Nội dung\n\nĐảng bộ **tổ chức** hội nghị.\n\n1. Rà soát\n2. Báo cáo",
)


def test_a_regulation_gets_structure_toc_and_anchored_sections() -> None:
    charter = replace(NEWS, kind=CHARTER.kind, body_format="text", body=CHARTER.body)
    rendition = render(charter)
    assert rendition.structure is not None
    assert rendition.toc is not None
    dieu = [n for n in rendition.structure if n.kind is NodeKind.DIEU]
    assert [e.anchor for e in rendition.toc if e.kind is NodeKind.DIEU] == [n.anchor for n in dieu]
    assert rendition.html.count('class="dieu"') == len(dieu)
    assert rendition.chapters[-1].end <= len(rendition.plain_text)


def test_other_documents_keep_their_markdown_and_no_structure() -> None:
    rendition = render(NEWS)
    assert (rendition.structure, rendition.toc) == (None, None)
    assert "<strong>tổ chức</strong>" in rendition.html
    assert rendition.plain_text == "Nội dung\n\nĐảng bộ tổ chức hội nghị.\n\n1. Rà soát\n2. Báo cáo"
    plain = render(replace(NEWS, body_format="text", body="a < b\n\n**không** đậm"))
    assert plain.html == "<p>a &lt; b</p><p>**không** đậm</p>"
    assert text_html("") == ""


def test_the_hash_follows_the_text_not_its_formatting_or_tags() -> None:
    reformatted = replace(NEWS, body=NEWS.body.replace("**tổ chức**", "_tổ chức_"), tags=("x",))
    reworded = replace(NEWS, body=NEWS.body.replace("Báo cáo", "Tổng kết"))
    assert render(reformatted).content_hash == render(NEWS).content_hash
    assert render(reworded).content_hash != render(NEWS).content_hash


def test_checked_content_canonicalises_the_number_and_normalises_the_body() -> None:
    resolution = replace(
        NEWS,
        kind=DocumentKind.RESOLUTION,
        number="số 01 - nq/tu",
        body="Nghị  quyết\r\n\r\n\r\nvề\u00a0chuyển đổi số",
    )
    checked = checked_content(resolution)
    assert (checked.number, checked.body) == ("01-NQ/TU", "Nghị quyết\n\nvề chuyển đổi số")
    with pytest.raises(ContentRejected) as missing:
        checked_content(replace(resolution, number=None))
    assert missing.value.code == "document_number_missing"


def test_search_forms_of_a_document_and_a_query() -> None:
    forms = document_search_forms(replace(NEWS, number="01-NQ/TU"), render(NEWS).plain_text)
    assert {"hoi", "nghi", "to", "chuc", "01", "nq", "tu"} <= set(forms.tokens)
    assert {"hội", "nghị", "tổ", "chức"} <= set(forms.words)
    query = query_search_forms("Hội nghi hoi")
    assert (query.tokens, query.words) == (["hoi", "nghi"], ["hội"])
    with pytest.raises(ContentRejected):
        query_search_forms(" -- ")
