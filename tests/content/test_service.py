"""Use cases on the test's rolled-back transaction, with the events they leave in the outbox."""

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import asyncpg
import pytest

from sotay_common.auth import Principal
from sotay_common.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)
from sotay_common.events.content import (
    INLINE_TEXT_LIMIT_BYTES,
    DocumentArchivedV1,
    DocumentKind,
    DocumentPublishedV1,
)
from sotay_common.storage import FileBlobStore
from sotay_content.domain import DocumentStatus
from sotay_content.markup import MAX_BODY_BYTES
from sotay_content.regulations import parse_regulation, rebuild_tree
from sotay_content.schemas import DocumentUpdate
from sotay_content.service import (
    ContentLimits,
    ContentService,
    DocumentArchived,
    DocumentOutOfScope,
    DocumentSearch,
)
from tests.content.support import NEWS_BODY as NEWS
from tests.content.support import (
    Callers,
    Tree,
    charter_command,
    document_command,
    many_articles,
)
from tests.content.support_files import charter_docx, minimal_docx_parts, scanned_pdf, zip_with


async def outbox(conn: asyncpg.Connection, event_type: str) -> list[bytes]:
    rows = await conn.fetch(
        "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", event_type
    )
    return [bytes(r["payload"]) for r in rows]


async def published_events(conn: asyncpg.Connection) -> list[DocumentPublishedV1]:
    return [
        DocumentPublishedV1.model_validate_json(p)
        for p in await outbox(conn, "document.published.v1")
    ]


async def count(conn: asyncpg.Connection, table: str) -> int:
    value: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
    return value


async def test_a_published_regulation_carries_its_full_structure(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    admin = Callers.committee_admin(tree.province)
    draft = await service.create_document(
        admin, charter_command(), body_format="text", body=charter_command().body, scope_given=False
    )
    assert (draft.document.status, draft.version) == (DocumentStatus.DRAFT, None)
    assert draft.content.scope_org_id == tree.province.id  # a committee admin's own by default
    assert await outbox(conn, "document.published.v1") == []
    member = Callers.member(tree.cell_a)
    with pytest.raises(NotFound):
        await service.get_document(member, draft.document.id)

    outcome = await service.publish(admin, draft.document.id)

    assert not outcome.unchanged
    [event] = await published_events(conn)
    assert (event.document_id, event.version, event.kind) == (
        draft.document.id,
        1,
        DocumentKind.REGULATION,
    )
    assert event.scope.organization_id == tree.province.id
    assert event.scope.ancestor_ids == []
    assert event.text is not None
    assert event.text_ref is None
    assert event.structure is not None
    assert event.text_length == len(event.text)
    rebuilt = rebuild_tree(event.text, event.structure)
    assert rebuilt == parse_regulation(charter_command().body)
    assert [c.anchor for c in event.chapters][:2] == ["preamble", "dieu-1"]
    seen = await service.get_document(member, draft.document.id)
    assert (seen.version and seen.version.version, seen.manager) == (1, False)
    assert seen.rendition.toc is not None
    assert seen.rendition.toc[0].anchor == "chuong-1"
    assert '<section id="dieu-1" class="dieu">' in seen.rendition.html


async def test_republishing_creates_work_only_when_something_changed(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    admin = Callers.system_admin()
    command = document_command(scope_organization_id=tree.district.id)
    draft = await service.create_document(
        admin, command, body_format="markdown", body=command.body, scope_given=True
    )
    document_id = draft.document.id
    first = await service.publish(admin, document_id)
    again = await service.publish(admin, document_id)
    assert (again.unchanged, again.view.version and again.view.version.version) == (True, 1)

    await service.update_document(admin, document_id, DocumentUpdate(tags=["hội nghị"]))
    retagged = await service.publish(admin, document_id)
    await service.update_document(
        admin, document_id, DocumentUpdate(body=command.body + "\n3. Báo cáo kết quả.")
    )
    reworded = await service.publish(admin, document_id)

    hashes = [e.content_hash for e in await published_events(conn)]
    assert [e.version for e in await published_events(conn)] == [1, 2, 3]
    assert hashes[0] == hashes[1] != hashes[2]
    assert first.view.rendition.content_hash == retagged.view.rendition.content_hash
    assert reworded.view.rendition.content_hash == hashes[2]
    old = await service.get_version(Callers.member(tree.cell_a), document_id, 1)
    assert old.content.tags == ("chuyển đổi số", "tin tức")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with conn.transaction():
            await conn.execute("UPDATE document_versions SET title = 'khác'")


async def test_an_edited_draft_leaves_the_published_version_readable(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    admin = Callers.committee_admin(tree.district)
    draft = await service.create_document(
        admin,
        document_command(),
        body_format="markdown",
        body=document_command().body,
        scope_given=False,
    )
    await service.publish(admin, draft.document.id)
    edited = await service.update_document(
        admin, draft.document.id, DocumentUpdate(title="Tiêu đề mới"), expected_revision=1
    )
    assert edited.document.has_unpublished_changes
    assert (edited.document.draft_revision, edited.version) == (2, None)
    with pytest.raises(PreconditionFailed):
        await service.update_document(
            admin, draft.document.id, DocumentUpdate(title="Khác"), expected_revision=1
        )
    seen = await service.get_document(Callers.member(tree.cell_b), draft.document.id)
    assert seen.content.title == "Hội nghị quán triệt nghị quyết về chuyển đổi số"
    pending = await service.get_draft(admin, draft.document.id)
    assert pending.content.title == "Tiêu đề mới"
    with pytest.raises(ValidationFailed) as cleared:
        await service.update_document(admin, draft.document.id, DocumentUpdate(title=None))
    assert cleared.value.errors[0].code == "required"


async def test_committee_admins_work_only_within_their_subtree(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    cell_admin = Callers.committee_admin(tree.cell_a)
    outside = document_command(scope_organization_id=tree.cell_b.id)
    with pytest.raises(DocumentOutOfScope):
        await service.create_document(
            cell_admin, outside, body_format="markdown", body=outside.body, scope_given=True
        )
    everyone = document_command(scope_organization_id=None)
    with pytest.raises(Forbidden) as for_everyone:
        await service.create_document(
            cell_admin, everyone, body_format="markdown", body=everyone.body, scope_given=True
        )
    assert for_everyone.value.code == "scope_everyone_requires_system_admin"
    with pytest.raises(Forbidden) as member_writes:
        await service.create_document(
            Callers.member(tree.cell_a),
            document_command(),
            body_format="markdown",
            body=NEWS,
            scope_given=False,
        )
    assert member_writes.value.code == "content_managers_only"
    assert await count(conn, "documents") == 0

    district_admin = Callers.committee_admin(tree.district)
    theirs = await service.create_document(
        district_admin, outside, body_format="markdown", body=outside.body, scope_given=True
    )
    with pytest.raises(DocumentOutOfScope):
        await service.publish(cell_admin, theirs.document.id)
    with pytest.raises(DocumentOutOfScope):
        await service.update_document(
            district_admin,
            theirs.document.id,
            DocumentUpdate(scope_organization_id=tree.other_cell.id),
        )
    assert await outbox(conn, "document.published.v1") == []


async def test_scopes_the_read_model_does_not_know_are_refused(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    unknown = document_command(scope_organization_id=uuid.uuid4())
    with pytest.raises(ValidationFailed) as caught:
        await service.create_document(
            Callers.system_admin(), unknown, body_format="markdown", body=NEWS, scope_given=True
        )
    assert caught.value.code == "organization_unknown"
    assert caught.value.errors[0].field == "scope_organization_id"
    assert await count(conn, "documents") == 0


async def test_bad_bodies_are_refused_and_nothing_is_stored(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    admin = Callers.system_admin()

    async def create(body: str, **overrides: object) -> None:
        await service.create_document(
            admin,
            document_command(**overrides),
            body_format="markdown",
            body=body,
            scope_given=False,
        )

    with pytest.raises(ValidationFailed) as empty:
        await create(" \n\t ")
    assert (empty.value.code, empty.value.errors[0].field) == ("body_empty", "body")
    with pytest.raises(ValidationFailed) as only_markup:
        await create("***\n\n---")
    assert only_markup.value.code == "body_empty"
    with pytest.raises(PayloadTooLarge) as huge:
        await create("Điều lệ Đảng. " * (MAX_BODY_BYTES // 10))
    assert huge.value.code == "body_too_large"
    with pytest.raises(ValidationFailed) as number:
        await create(NEWS, kind=DocumentKind.RESOLUTION, number="27-QĐ/TW")
    assert (number.value.code, number.value.errors[0].field) == (
        "document_number_kind_mismatch",
        "number",
    )
    assert await count(conn, "documents") == 0

    scripted = await service.create_document(
        admin,
        document_command(),
        body_format="markdown",
        body='Xin chào <script>alert("x")</script>\n\n[bấm](javascript:alert(1))'
        '\n\n<img src=x onerror="alert(1)">',
        scope_given=False,
    )
    html = scripted.rendition.html.lower()
    assert "<script" not in html
    assert "<img" not in html
    assert "href" not in html
    assert "&lt;script&gt;" in html  # shown as text, never run


async def test_uploads_become_drafts_and_bad_files_are_refused(
    conn: asyncpg.Connection, service: ContentService, tree: Tree, store: FileBlobStore
) -> None:
    admin = Callers.committee_admin(tree.province)
    metadata = charter_command()
    docx = charter_docx()
    view = await service.create_from_upload(
        admin,
        metadata,
        scope_given=False,
        file_name="C:\\Tài liệu\\điều lệ.docx",
        data=docx,
    )
    assert view.content.body_format == "markdown"
    assert view.rendition.structure is not None
    assert len([n for n in view.rendition.structure if n.kind == "dieu"]) == len(
        parse_regulation(metadata.body).articles()
    )
    [source] = view.attachments
    assert (source.file_name, source.is_source) == ("điều lệ.docx", True)
    assert await store.get(source.storage_key) == docx

    with pytest.raises(ValidationFailed) as scan:
        await service.create_from_upload(
            admin, metadata, scope_given=False, file_name="scan.pdf", data=scanned_pdf()
        )
    assert scan.value.code == "pdf_image_only"
    bomb = zip_with({**minimal_docx_parts(), "word/document.xml": b" " * 20_000_000})
    with pytest.raises(ValidationFailed) as bombed:
        await service.create_from_upload(
            admin, metadata, scope_given=False, file_name="bom.docx", data=bomb
        )
    assert bombed.value.code == "file_zip_bomb"
    with pytest.raises(UnsupportedMediaType):
        await service.create_from_upload(
            admin,
            metadata,
            scope_given=False,
            file_name="x.doc",
            data=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
        )
    small = ContentService(service.database, store, limits=ContentLimits(upload_max_bytes=1000))
    with pytest.raises(PayloadTooLarge):
        await small.create_from_upload(
            admin, metadata, scope_given=False, file_name="a.docx", data=charter_docx()
        )
    slow = ContentService(service.database, store, limits=ContentLimits(extraction_timeout_s=0.001))
    with pytest.raises(ValidationFailed) as late:
        await slow.create_from_upload(
            admin, metadata, scope_given=False, file_name="a.docx", data=docx
        )
    assert late.value.code == "extraction_timeout"
    with pytest.raises(DocumentOutOfScope):  # refused before any extraction
        await service.create_from_upload(
            Callers.committee_admin(tree.cell_a),
            metadata.model_copy(update={"scope_organization_id": tree.cell_b.id}),
            scope_given=True,
            file_name="x.pdf",
            data=b"%PDF-1.4 not really",
        )
    assert await count(conn, "documents") == 1


async def test_archiving_withdraws_the_document_once(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    admin = Callers.system_admin()
    draft = await service.create_document(
        admin, document_command(), body_format="markdown", body=NEWS, scope_given=False
    )
    await service.publish(admin, draft.document.id)
    archived = await service.archive(admin, draft.document.id)
    await service.archive(admin, draft.document.id)

    [payload] = await outbox(conn, "document.archived.v1")
    event = DocumentArchivedV1.model_validate_json(payload)
    assert (event.document_id, event.version, event.archived_by) == (draft.document.id, 1, "root")
    assert archived.document.status is DocumentStatus.ARCHIVED
    with pytest.raises(NotFound):
        await service.get_document(Callers.member(tree.cell_a), draft.document.id)
    with pytest.raises(DocumentArchived):
        await service.update_document(admin, draft.document.id, DocumentUpdate(title="Mới"))
    with pytest.raises(DocumentArchived):
        await service.publish(admin, draft.document.id)
    never_published = await service.create_document(
        admin, document_command(), body_format="markdown", body=NEWS, scope_given=False
    )
    await service.archive(admin, never_published.document.id)
    assert len(await outbox(conn, "document.archived.v1")) == 1


async def test_a_text_over_the_inline_limit_travels_by_claim_check(
    conn: asyncpg.Connection, service: ContentService, tree: Tree, store: FileBlobStore
) -> None:
    paragraph = "Đảng viên thực hiện nghiêm Điều lệ Đảng và các nghị quyết của chi bộ. " * 12
    body = "\n\n".join(f"Mục {i}: {paragraph}" for i in range(500))
    assert INLINE_TEXT_LIMIT_BYTES < len(body.encode()) < MAX_BODY_BYTES
    admin = Callers.system_admin()
    draft = await service.create_document(
        admin, document_command(), body_format="text", body=body, scope_given=False
    )
    await service.publish(admin, draft.document.id)

    [payload] = await outbox(conn, "document.published.v1")
    event = DocumentPublishedV1.model_validate_json(payload)
    assert event.text is None
    assert event.text_ref == f"documents/{draft.document.id}/versions/1/text.txt"
    assert len(payload) < 200_000
    stored = (await store.get(event.text_ref)).decode()
    assert stored == await service.version_text(admin, draft.document.id, 1)
    assert len(stored) == event.text_length
    assert stored.startswith("Mục 0: Đảng viên")


async def test_a_structure_too_large_for_an_event_is_not_published(
    conn: asyncpg.Connection, service: ContentService, tree: Tree
) -> None:
    admin = Callers.system_admin()
    dense = charter_command(body=many_articles(9, "Có."))
    draft = await service.create_document(
        admin, dense, body_format="text", body=dense.body, scope_given=False
    )
    with pytest.raises(PayloadTooLarge) as refused:
        await service.publish(admin, draft.document.id)
    assert refused.value.code == "document_too_complex"
    assert await count(conn, "document_versions") == 0
    assert await outbox(conn, "document.published.v1") == []


async def publish_news(
    service: ContentService, scope: uuid.UUID | None, title: str, **overrides: object
) -> uuid.UUID:
    admin = Callers.system_admin()
    command = document_command(title=title, scope_organization_id=scope, **overrides)
    draft = await service.create_document(
        admin, command, body_format=command.body_format, body=command.body, scope_given=True
    )
    await service.publish(admin, draft.document.id)
    return draft.document.id


async def test_search_by_words_with_or_without_accents_kind_tag_date_and_scope(
    service: ContentService, tree: Tree
) -> None:
    everyone = await publish_news(service, None, "Quyết định về công tác kiểm tra")
    district = await publish_news(
        service, tree.district.id, "Kế hoạch học tập chuyên đề", tags=["học tập"]
    )
    other = await publish_news(
        service,
        tree.other_district.id,
        "Quyết định khen thưởng",
        kind=DocumentKind.DECISION,
        number="15-QĐ/HU",
        issued_on=date(2025, 1, 5),
    )
    member = Callers.member(tree.cell_a)

    async def ids(caller: Principal = member, **query: Any) -> set[uuid.UUID]:
        page = await service.search(caller, DocumentSearch(**query))
        return {item.id for item in page.items}

    assert await ids() == {everyone, district}
    assert await ids(Callers.system_admin()) == {everyone, district, other}
    assert await ids(q="quyet dinh") == {everyone}
    assert await ids(Callers.system_admin(), q="quyết định") == {everyone, other}
    assert await ids(Callers.system_admin(), q="quyết đính") == set()
    assert await ids(q="SỔ TAY điện tử") == {everyone, district}  # words of the body
    assert await ids(Callers.system_admin(), kinds=[DocumentKind.DECISION]) == {other}
    assert await ids(tag="Học tập") == {district}
    assert await ids(Callers.system_admin(), date_to=date(2025, 12, 31)) == {other}
    assert await ids(Callers.system_admin(), organization_id=tree.district.id) == {district}
    assert await ids(Callers.committee_admin(tree.other_district)) == {everyone, other}
    with pytest.raises(BadRequest):
        await ids(q="?!")
    with pytest.raises(Forbidden):
        await ids(statuses=[DocumentStatus.DRAFT])

    first = await service.search(member, DocumentSearch(limit=1))
    second = await service.search(member, DocumentSearch(limit=1, cursor=first.next_cursor))
    assert [first.items[0].id, second.items[0].id] == [district, everyone]
    assert second.next_cursor is None


async def test_managers_list_their_drafts(service: ContentService, tree: Tree) -> None:
    district_admin = Callers.committee_admin(tree.district)
    mine = await service.create_document(
        district_admin, document_command(), body_format="markdown", body=NEWS, scope_given=False
    )
    await service.create_document(
        Callers.system_admin(),
        document_command(),
        body_format="markdown",
        body=NEWS,
        scope_given=False,
    )
    page = await service.search(district_admin, DocumentSearch(statuses=[DocumentStatus.DRAFT]))
    assert [item.id for item in page.items] == [mine.document.id]
    everything = await service.search(
        Callers.system_admin(), DocumentSearch(statuses=[DocumentStatus.DRAFT])
    )
    assert len(everything.items) == 2


async def test_the_feed_shows_what_i_have_not_read(service: ContentService, tree: Tree) -> None:
    first = await publish_news(service, tree.province.id, "Tin thứ nhất")
    second = await publish_news(service, tree.cell_a.id, "Tin thứ hai")
    await publish_news(service, tree.cell_b.id, "Tin của chi bộ khác")
    member = Callers.member(tree.cell_a)

    async def feed() -> list[tuple[uuid.UUID, bool]]:
        page = await service.feed(member, cursor=None, limit=20)
        return [(item.id, item.read_before) for item in page.items]

    assert await feed() == [(second, False), (first, False)]
    receipt = await service.mark_read(member, first)
    again = await service.mark_read(member, first)
    assert receipt == again
    assert await feed() == [(second, False)]

    admin = Callers.system_admin()
    await service.update_document(admin, first, DocumentUpdate(tags=["mới"]))
    await service.publish(admin, first)
    assert await feed() == [(second, False)]  # only the tags changed
    await service.update_document(admin, first, DocumentUpdate(body=NEWS + "\nBổ sung."))
    await service.publish(admin, first)
    assert await feed() == [(first, True), (second, False)]
    with pytest.raises(NotFound):
        await service.mark_read(Callers.member(tree.other_cell), second)


async def test_attachments_are_stored_and_served_to_readers(
    service: ContentService, tree: Tree, store: FileBlobStore
) -> None:
    document_id = await publish_news(service, tree.commune.id, "Tin có đính kèm")
    admin = Callers.committee_admin(tree.commune)
    pdf = b"%PDF-1.7\n" + b"0" * 1000
    attachment = await service.add_attachment(
        admin, document_id, file_name="../../Kế hoạch.pdf", data=pdf
    )
    assert (attachment.file_name, attachment.media_type) == ("Kế hoạch.pdf", "application/pdf")
    found, data = await service.get_attachment(
        Callers.member(tree.cell_b), document_id, attachment.id
    )
    assert (found, data) == (attachment, pdf)
    with pytest.raises(NotFound):
        await service.get_attachment(Callers.member(tree.other_cell), document_id, attachment.id)
    with pytest.raises(UnsupportedMediaType) as exe:
        await service.add_attachment(admin, document_id, file_name="a.pdf", data=b"MZ\x90\x00" * 9)
    assert exe.value.code == "file_type_not_allowed"
    small = ContentService(service.database, store, limits=ContentLimits(attachment_max_bytes=100))
    with pytest.raises(PayloadTooLarge):
        await small.add_attachment(admin, document_id, file_name="a.pdf", data=pdf)
    with pytest.raises(Forbidden):
        await service.add_attachment(
            Callers.member(tree.commune), document_id, file_name="a.pdf", data=pdf
        )
    listed = await service.list_attachments(Callers.member(tree.cell_a), document_id)
    assert [a.id for a in listed] == [attachment.id]


async def test_a_member_of_an_unknown_organisation_reads_what_is_for_everyone(
    service: ContentService, tree: Tree
) -> None:
    everyone = await publish_news(service, None, "Tin toàn tỉnh")
    await publish_news(service, tree.province.id, "Tin của tỉnh")
    stranger = replace(Callers.member(tree.cell_a), organization_id=uuid.uuid4())
    page = await service.search(stranger, DocumentSearch())
    assert [item.id for item in page.items] == [everyone]
