"""The HTTP API in process, on the test's rolled-back transaction."""

import uuid
from typing import Any

import httpx

from sotay_content.regulations import parse_regulation
from sotay_devstack.tokens import DevTokens
from tests.content.support import CHARTER, NEWS_BODY, Tree
from tests.content.support_files import charter_docx, minimal_docx_parts, scanned_pdf, zip_with

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def charter_body(scope: uuid.UUID | None) -> dict[str, Any]:
    return {
        "kind": "regulation",
        "title": CHARTER.title,
        "issuing_body": CHARTER.issuer,
        "issued_on": CHARTER.issued_on.isoformat(),
        "tags": list(CHARTER.tags),
        "scope_organization_id": str(scope) if scope else None,
        "body_format": "text",
        "body": CHARTER.body,
    }


async def test_a_regulation_is_drafted_published_read_and_marked_read(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.committee_admin(tree.province.id))
    member_id = uuid.uuid4()
    member = bearer(dev_tokens.member(member_id, tree.cell_a.id))
    created = await client.post("/documents", json=charter_body(tree.province.id), headers=admin)
    assert created.status_code == 201, created.text
    draft = created.json()
    document = f"/documents/{draft['id']}"
    assert created.headers["location"] == document
    assert created.headers["etag"] == '"1"'
    assert (draft["status"], draft["view"], draft["version"]) == ("draft", "draft", None)
    assert draft["manager"]["has_unpublished_changes"] is True
    assert (await client.get(document, headers=member)).status_code == 404

    published = await client.post(f"{document}/publish", headers=admin)
    assert published.status_code == 201, published.text
    assert published.headers["location"] == f"{document}/versions/1"
    assert published.json()["unchanged"] is False
    again = await client.post(f"{document}/publish", headers=admin)
    assert (again.status_code, again.json()["unchanged"], again.json()["version"]) == (
        200,
        True,
        1,
    )

    seen = (await client.get(document, headers=member)).json()
    assert (seen["status_label"], seen["kind_label"], seen["manager"]) == (
        "Đã công bố",
        "Quy định",
        None,
    )
    assert '<section id="dieu-1" class="dieu">' in seen["html"]
    toc = (await client.get(f"{document}/toc", headers=member)).json()
    articles = [e for e in toc["entries"] if e["kind"] == "dieu"]
    assert len(articles) == len(parse_regulation(CHARTER.body).articles())
    assert articles[0]["anchor"] == "dieu-1"
    text = await client.get(f"{document}/versions/1/text", headers=member)
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == parse_regulation(CHARTER.body).text
    versions = (await client.get(f"{document}/versions", headers=member)).json()
    assert [v["version"] for v in versions] == [1]

    feed = (await client.get("/me/feed", headers=member)).json()
    assert [item["id"] for item in feed["items"]] == [draft["id"]]
    read = await client.post(f"{document}/read", headers=member)
    assert read.json()["version"] == 1
    other_device = bearer(dev_tokens.member(member_id, tree.cell_a.id))
    assert (await client.get("/me/feed", headers=other_device)).json()["items"] == []


async def test_bad_requests_give_problem_details_in_vietnamese(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.system_admin())
    assert (await client.get("/documents")).status_code == 401
    wrong = await client.post(
        "/documents",
        headers=admin,
        json={"kind": "poem", "title": "", "body": "x", "extra": 1, "issued_on": "2025-02-30"},
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in wrong.json()["errors"]} == {"kind", "title", "extra", "issued_on"}
    huge = await client.post(
        "/documents", headers=admin, json=charter_body(None) | {"body": "Đảng viên. " * 150_000}
    )
    assert (huge.status_code, huge.json()["code"]) == (413, "body_too_large")
    cell_admin = bearer(dev_tokens.committee_admin(tree.cell_a.id))
    outside = await client.post("/documents", headers=cell_admin, json=charter_body(tree.cell_b.id))
    assert (outside.status_code, outside.json()["code"]) == (403, "document_out_of_scope")
    assert "phạm vi" in outside.json()["detail"]
    listed = (await client.get("/documents", params={"status": "draft"}, headers=admin)).json()
    assert listed["items"] == []
    created = (await client.post("/documents", headers=admin, json=charter_body(None))).json()
    stale = await client.patch(
        f"/documents/{created['id']}", json={"title": "Mới"}, headers=admin | {"If-Match": '"7"'}
    )
    assert (stale.status_code, stale.json()["current_revision"]) == (412, 1)
    bad_cursor = await client.get("/documents", params={"cursor": "!!"}, headers=admin)
    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (400, "invalid_cursor")


async def test_markdown_is_served_sanitised(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.system_admin())
    created = await client.post(
        "/documents",
        headers=admin,
        json={
            "kind": "news",
            "title": "Tin",
            "body": NEWS_BODY + '\n<script>fetch("/x")</script>\n\n<a href="javascript:x">a</a>',
        },
    )
    html = created.json()["html"]
    assert "<strong>nghị quyết</strong>" in html
    assert "<script" not in html
    assert "<a " not in html


async def test_uploads_are_extracted_or_refused_clearly(
    client: httpx.AsyncClient, tree: Tree, dev_tokens: DevTokens
) -> None:
    admin = bearer(dev_tokens.committee_admin(tree.district.id))
    form = {"kind": "regulation", "title": CHARTER.title, "tags": ["điều lệ", "Kết nạp"]}
    scan = await client.post(
        "/documents/upload",
        headers=admin,
        data=form,
        files={"file": ("quet.pdf", scanned_pdf(), "application/pdf")},
    )
    assert (scan.status_code, scan.json()["code"]) == (422, "pdf_image_only")
    assert scan.json()["errors"][0]["field"] == "file"
    bomb = zip_with({**minimal_docx_parts(), "word/document.xml": b"<w:document>" + b" " * 10**7})
    bombed = await client.post(
        "/documents/upload", headers=admin, data=form, files={"file": ("bom.docx", bomb)}
    )
    assert (bombed.status_code, bombed.json()["code"]) == (422, "file_zip_bomb")
    missing = await client.post(
        "/documents/upload",
        headers=admin,
        data={"kind": "regulation"},
        files={"file": ("a.txt", "Điều 1. A".encode())},
    )
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (422, "title")

    uploaded = await client.post(
        "/documents/upload",
        headers=admin,
        data=form,
        files={"file": ("Điều lệ mẫu.docx", charter_docx())},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert document["tags"] == ["điều lệ", "kết nạp"]
    assert document["scope_organization_id"] == str(tree.district.id)
    [source] = document["attachments"]
    assert (source["file_name"], source["is_source"]) == ("Điều lệ mẫu.docx", True)

    attached = await client.post(
        f"/documents/{document['id']}/attachments",
        headers=admin,
        files={"file": ("ảnh hội nghị.png", PNG, "image/png")},
    )
    assert attached.status_code == 201, attached.text
    download = await client.get(attached.headers["location"], headers=admin)
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"_nh h_i ngh_.png\"; filename*=UTF-8''"
        "%E1%BA%A3nh%20h%E1%BB%99i%20ngh%E1%BB%8B.png"
    )
    program = await client.post(
        f"/documents/{document['id']}/attachments",
        headers=admin,
        files={"file": ("setup.exe", b"MZ\x90\x00\x03" * 100)},
    )
    assert (program.status_code, program.json()["code"]) == (415, "file_type_not_allowed")
    listed = (await client.get(f"/documents/{document['id']}/attachments", headers=admin)).json()
    assert [a["file_name"] for a in listed] == ["Điều lệ mẫu.docx", "ảnh hội nghị.png"]


async def test_the_api_and_event_contracts_are_documented(client: httpx.AsyncClient) -> None:
    openapi = (await client.get("/openapi.json")).json()
    assert {"/documents", "/documents/upload", "/me/feed"} <= set(openapi["paths"])
    asyncapi = (await client.get("/asyncapi.json")).json()
    described = str(asyncapi)
    assert "document.published.v1" in described
    assert "document.archived.v1" in described
