"""Consumer handlers on a real (rolled back) transaction: what they record for the worker."""

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from sotay_assistant import repository
from sotay_assistant.events import on_document_archived, on_document_published, on_organization
from sotay_common.db import Database
from sotay_common.events.content import DocumentArchivedV1
from sotay_common.events.members import (
    OrganizationCreatedV1,
    OrganizationStatus,
    OrganizationType,
    OrganizationUpdatedV1,
)
from tests.assistant.support import SMALL_RULES, deliver, small_rules

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def row(conn: asyncpg.Connection, document_id: uuid.UUID) -> dict[str, Any]:
    found = await conn.fetchrow("SELECT * FROM documents WHERE document_id = $1", document_id)
    assert found is not None
    return dict(found)


async def test_a_publication_is_recorded_for_the_worker_with_its_event(
    database: Database, conn: asyncpg.Connection
) -> None:
    event = small_rules()
    await deliver(database, on_document_published, event)
    recorded = await row(conn, event.document_id)
    assert (recorded["version"], recorded["job_status"], recorded["generation"]) == (
        1,
        "pending",
        1,
    )
    assert recorded["content_hash"] == event.content_hash
    assert recorded["event"]["text"] == event.text
    job = await repository.claim_job(conn, stale_after_s=60)
    assert job is not None
    assert job.event == event
    assert (job.attempts, job.archived) == (1, False)
    assert await repository.claim_job(conn, stale_after_s=60) is None


async def test_republished_content_only_moves_the_version_and_late_events_change_nothing(
    database: Database, conn: asyncpg.Connection
) -> None:
    first = small_rules()
    await deliver(database, on_document_published, first)
    same = small_rules(version=2, document_id=first.document_id)
    await deliver(database, on_document_published, same)
    retagged = await row(conn, first.document_id)
    assert (retagged["version"], retagged["generation"]) == (2, 2)
    assert retagged["content_hash"] == first.content_hash
    late = small_rules(version=1, body=SMALL_RULES + "\n", document_id=first.document_id)
    await deliver(database, on_document_published, late)
    assert await row(conn, first.document_id) == retagged


async def test_an_archive_replaces_the_request_and_the_archived_version_is_not_revived(
    database: Database, conn: asyncpg.Connection
) -> None:
    event = small_rules(version=3)
    await deliver(database, on_document_published, event)
    archived = DocumentArchivedV1(document_id=event.document_id, version=3, archived_at=NOW)
    await deliver(database, on_document_archived, archived)
    removal = await row(conn, event.document_id)
    assert (removal["archived"], removal["event"], removal["job_status"]) == (True, None, "pending")
    await deliver(database, on_document_published, event)  # redelivered late
    assert await row(conn, event.document_id) == removal
    job = await repository.claim_job(conn, stale_after_s=60)
    assert job is not None
    assert (job.archived, job.event, job.version) == (True, None, 3)


def org_event(
    org_id: uuid.UUID,
    parent: uuid.UUID | None,
    ancestors: list[uuid.UUID],
    *,
    version: int = 1,
    updated: bool = False,
) -> OrganizationCreatedV1 | OrganizationUpdatedV1:
    fields: dict[str, Any] = {
        "organization_id": org_id,
        "version": version,
        "code": org_id.hex[:6],
        "name": "Chi bộ",
        "type": OrganizationType.CELL,
        "parent_id": parent,
        "ancestor_ids": ancestors,
        "status": OrganizationStatus.ACTIVE,
        "occurred_at": NOW,
    }
    if updated:
        return OrganizationUpdatedV1(**fields, changed_fields=["parent_id", "ancestor_ids"])
    return OrganizationCreatedV1(**fields)


async def test_the_organisation_read_model_follows_a_move_down_the_subtree(
    database: Database, conn: asyncpg.Connection
) -> None:
    province, commune, cell, other = (uuid.uuid4() for _ in range(4))
    for event in (
        org_event(province, None, []),
        org_event(commune, province, [province]),
        org_event(cell, commune, [province, commune]),
        org_event(other, province, [province]),
    ):
        await deliver(database, on_organization, event)
    moved = org_event(commune, other, [province, other], version=2, updated=True)
    await deliver(database, on_organization, moved)
    await deliver(database, on_organization, org_event(commune, province, [province]))  # stale
    node = await repository.get_organization(conn, cell)
    assert node is not None
    assert node.path_ids == [province, other, commune, cell]
