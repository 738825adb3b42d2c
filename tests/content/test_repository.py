"""The SQL on its own: the organisation read model, versions round-trip, receipts."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg

from sotay_content import repository
from sotay_content.domain import DocumentContent, OrganizationNode, PublishedVersion, ScopeFilter
from sotay_content.publication import document_search_forms, render
from sotay_content.repository import DocumentQuery
from tests.content.support import CHARTER, Tree, add_organization


async def ancestry(conn: asyncpg.Connection, node: OrganizationNode) -> list[uuid.UUID]:
    found = await repository.get_organization(conn, node.id)
    assert found is not None
    return found.ancestor_ids


async def test_an_older_snapshot_never_overwrites_a_newer_one(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    renamed = replace(tree.cell_a, name="Chi bộ thôn Đông Mới", version=3)
    assert await repository.upsert_organization(conn, renamed)
    stale = replace(tree.cell_a, name="Tên cũ", version=2)
    assert not await repository.upsert_organization(conn, stale)
    found = await repository.get_organization(conn, tree.cell_a.id)
    assert found is not None
    assert (found.name, found.version) == ("Chi bộ thôn Đông Mới", 3)


async def test_a_move_rederives_the_ancestry_of_the_whole_subtree(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    moved = replace(
        tree.commune,
        parent_id=tree.other_district.id,
        ancestor_ids=tree.other_district.path_ids,
        version=2,
    )
    await repository.upsert_organization(conn, moved)
    changed = await repository.recompute_descendant_ancestry(conn, moved.id)

    assert changed == 2
    assert await ancestry(conn, tree.cell_a) == [*tree.other_district.path_ids, tree.commune.id]
    assert await ancestry(conn, tree.cell_b) == [*tree.other_district.path_ids, tree.commune.id]
    assert await ancestry(conn, tree.other_cell) == tree.other_district.path_ids


async def test_a_late_child_snapshot_takes_its_parents_current_place(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    # The district moved under another root before the event creating a new cell arrived.
    new_root = await add_organization(conn, "Đảng bộ khối", None)
    moved = replace(tree.district, parent_id=new_root.id, ancestor_ids=[new_root.id], version=2)
    await repository.upsert_organization(conn, moved)
    await repository.recompute_descendant_ancestry(conn, moved.id)
    late = OrganizationNode(
        id=uuid.uuid4(),
        parent_id=tree.commune.id,
        ancestor_ids=tree.commune.path_ids,  # as it was when the cell was created
        name="Chi bộ thôn Nam",
        status="active",
        version=1,
    )
    await repository.upsert_organization(conn, late)
    await repository.adopt_parent_ancestry(conn, late.id)

    assert await ancestry(conn, late) == [new_root.id, tree.district.id, tree.commune.id]


async def test_a_transient_cycle_from_events_out_of_order_is_not_followed(
    conn: asyncpg.Connection, tree: Tree
) -> None:
    # The commune's move under cell_a is seen before cell_a's own move out of the commune.
    cycle = replace(tree.commune, parent_id=tree.cell_a.id, version=2)
    await repository.upsert_organization(conn, cycle)
    await repository.adopt_parent_ancestry(conn, cycle.id)
    await repository.recompute_descendant_ancestry(conn, cycle.id)
    cell = replace(
        tree.cell_a, parent_id=tree.district.id, ancestor_ids=tree.district.path_ids, version=2
    )
    await repository.upsert_organization(conn, cell)
    await repository.adopt_parent_ancestry(conn, cell.id)
    await repository.recompute_descendant_ancestry(conn, cell.id)

    assert await ancestry(conn, tree.cell_a) == tree.district.path_ids
    assert await ancestry(conn, tree.commune) == [*tree.district.path_ids, tree.cell_a.id]
    assert await ancestry(conn, tree.cell_b) == [
        *tree.district.path_ids,
        tree.cell_a.id,
        tree.commune.id,
    ]


def charter_content(scope: uuid.UUID | None) -> DocumentContent:
    return DocumentContent(
        kind=CHARTER.kind,
        title=CHARTER.title,
        summary=None,
        number=None,
        issuing_body=CHARTER.issuer,
        issued_on=CHARTER.issued_on,
        language="vi",
        tags=CHARTER.tags,
        scope_org_id=scope,
        body_format=CHARTER.body_format,
        body=CHARTER.body,
    )


async def test_a_version_reads_back_as_it_was_written(conn: asyncpg.Connection, tree: Tree) -> None:
    content = charter_content(tree.district.id)
    rendition = render(content)
    forms = document_search_forms(content, rendition.plain_text)
    document = await repository.insert_document(
        conn, document_id=uuid.uuid4(), content=content, search=forms, actor="root"
    )
    version = PublishedVersion(
        document_id=document.id,
        version=1,
        content=content,
        scope_ancestor_ids=tree.district.ancestor_ids,
        rendition=rendition,
        text_ref=None,
        published_by="root",
        published_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    await repository.insert_version(conn, version, forms)
    await repository.record_publication(conn, document.id, version=1, revision=1)

    assert await repository.get_version(conn, document.id, 1) == version
    assert await repository.get_version(conn, document.id, 2) is None
    in_scope = ScopeFilter(organization_ids=tree.cell_a.path_ids)
    listed = await repository.list_documents(conn, DocumentQuery(published=True, scope=in_scope))
    assert [item.id for item in listed] == [document.id]
    elsewhere = ScopeFilter(unscoped=True, organization_ids=tree.other_cell.path_ids)
    assert (
        await repository.list_documents(conn, DocumentQuery(published=True, scope=elsewhere)) == []
    )
    managed = ScopeFilter(subtree_of=tree.province.id)
    assert (
        len(await repository.list_documents(conn, DocumentQuery(published=True, scope=managed)))
        == 1
    )

    first = await repository.record_read(
        conn, document_id=document.id, reader="member:x", version=1, content_hash="a"
    )
    again = await repository.record_read(
        conn, document_id=document.id, reader="member:x", version=2, content_hash="a"
    )
    assert first == again
    version_read = await conn.fetchval("SELECT version FROM read_receipts")
    assert version_read == 2
