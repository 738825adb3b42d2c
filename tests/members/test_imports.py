"""Bulk imports run as the worker runs them: committed for real, in a schema of their own."""

import asyncpg
import pytest_asyncio

from sotay_common.auth import Principal
from sotay_common.events.members import MemberTransferredV1, MemberUpdatedV1, Position
from sotay_devstack.pytest_plugin import FreshSchema
from sotay_members.repository import ImportJob
from sotay_members.service import ImportService, MembersService
from tests.members.support import TODAY, Callers, Tree, build_tree
from tests.members.support_files import csv_bytes, row, xlsx_bytes


@pytest_asyncio.fixture(loop_scope="session")
async def org_tree(fresh_database: FreshSchema) -> Tree:
    return await build_tree(MembersService(fresh_database.database, today=lambda: TODAY))


def imports(schema: FreshSchema) -> ImportService:
    return ImportService(schema.database, max_bytes=5_000_000, today=lambda: TODAY)


async def run_import(
    schema: FreshSchema,
    content: bytes,
    *,
    file_name: str = "dv.csv",
    mode: str = "all_or_nothing",
    dry_run: bool = False,
    caller: Principal | None = None,
) -> ImportJob:
    service = imports(schema)
    principal = caller or Callers.system_admin()
    job = await service.submit(
        principal,
        file_name=file_name,
        content=content,
        mode=mode,
        dry_run=dry_run,
    )
    assert job.status == "pending"
    assert await service.run_next()
    return await service.get(principal, job.id)


async def count(conn: asyncpg.Pool, query: str) -> int:
    value: int = await conn.fetchval(query)
    return value


async def test_a_file_with_bad_rows_changes_nothing_and_reports_each_row(
    fresh_database: FreshSchema, org_tree: Tree
) -> None:
    cell = org_tree.cell_a.code
    content = csv_bytes(
        [
            row(1, "000000000001", cell),
            row(2, "000000000002", "NO-SUCH-ORG"),
            row(3, "000000000003", org_tree.district.code),
            row(4, "0000000004", cell),
            row(5, "000000000005", cell),
        ]
    )
    job = await run_import(fresh_database, content)
    assert job.status == "rejected"
    assert (job.total_rows, job.error_count, job.created_count) == (5, 3, 0)
    errors = await imports(fresh_database).errors(
        Callers.system_admin(), job.id, limit=50, offset=0
    )
    assert [(e.row_number, e.code) for e in errors] == [
        (3, "organization_not_found"),
        (4, "organization_cannot_hold_members"),
        (5, "invalid_party_card_number"),
    ]
    assert await count(fresh_database.pool, "SELECT count(*) FROM members") == 0
    assert (
        await count(
            fresh_database.pool, "SELECT count(*) FROM outbox WHERE event_type LIKE 'member.%'"
        )
        == 0
    )


async def test_a_clean_file_creates_members_with_one_event_each(
    fresh_database: FreshSchema, org_tree: Tree
) -> None:
    rows = [
        row(i, f"{i:012d}", org_tree.cell_a.code, name=f"Đinh Văn Số {i}") for i in range(1, 301)
    ]
    job = await run_import(fresh_database, xlsx_bytes(rows), file_name="dv.xlsx")
    assert (job.status, job.created_count, job.processed_rows, job.phase) == (
        "succeeded",
        300,
        300,
        "done",
    )
    assert await count(fresh_database.pool, "SELECT count(*) FROM members") == 300
    assert (
        await count(
            fresh_database.pool,
            "SELECT count(*) FROM outbox WHERE event_type = 'member.created.v1'",
        )
        == 300
    )
    assert (
        await count(
            fresh_database.pool, "SELECT count(*) FROM import_jobs WHERE content IS NOT NULL"
        )
        == 0
    )


async def test_reimporting_updates_changed_rows_and_transfers_moved_members(
    fresh_database: FreshSchema, org_tree: Tree
) -> None:
    cell_a, cell_b = org_tree.cell_a.code, org_tree.cell_b.code
    await run_import(
        fresh_database,
        csv_bytes(
            [
                row(1, "000000000001", cell_a),
                row(2, "000000000002", cell_a),
                row(3, "000000000003", cell_a),
            ]
        ),
    )
    job = await run_import(
        fresh_database,
        csv_bytes(
            [
                row(1, "000000000001", cell_a),
                row(2, "000000000002", cell_a, positions="Bí thư"),
                row(3, "000000000003", cell_b),
            ]
        ),
    )
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 2, 1)
    pool = fresh_database.pool
    [updated] = await pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = 'member.updated.v1'"
    )
    assert MemberUpdatedV1.model_validate_json(bytes(updated["payload"])).positions == [
        Position.SECRETARY
    ]
    [moved] = await pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = 'member.transferred.v1'"
    )
    assert (
        MemberTransferredV1.model_validate_json(bytes(moved["payload"])).to_organization_id
        == org_tree.cell_b.id
    )
    assert await count(pool, "SELECT count(*) FROM member_history WHERE kind = 'transfer'") == 1


async def test_skip_invalid_imports_the_good_rows_and_dry_run_nothing(
    fresh_database: FreshSchema, org_tree: Tree
) -> None:
    content = csv_bytes(
        [row(1, "000000000001", org_tree.cell_a.code), row(2, "bad", org_tree.cell_a.code)]
    )
    dry = await run_import(fresh_database, content, mode="skip_invalid", dry_run=True)
    assert (dry.status, dry.created_count, dry.error_count) == ("succeeded", 1, 1)
    assert await count(fresh_database.pool, "SELECT count(*) FROM members") == 0
    real = await run_import(fresh_database, content, mode="skip_invalid")
    assert (real.status, real.created_count, real.error_count) == ("succeeded", 1, 1)
    assert await count(fresh_database.pool, "SELECT count(*) FROM members") == 1


async def test_committee_admins_import_only_into_their_subtree(
    fresh_database: FreshSchema, org_tree: Tree
) -> None:
    content = csv_bytes(
        [
            row(1, "000000000001", org_tree.cell_a.code),
            row(2, "000000000002", org_tree.other_cell.code),
        ]
    )
    job = await run_import(
        fresh_database, content, caller=Callers.committee_admin(org_tree.district)
    )
    assert job.status == "rejected"
    errors = await imports(fresh_database).errors(
        Callers.committee_admin(org_tree.district), job.id, limit=10, offset=0
    )
    assert [(e.row_number, e.code) for e in errors] == [(3, "organization_out_of_scope")]


async def test_an_interrupted_job_is_picked_up_again(
    fresh_database: FreshSchema, org_tree: Tree
) -> None:
    service = imports(fresh_database)
    job = await service.submit(
        Callers.system_admin(),
        file_name="dv.csv",
        mode="all_or_nothing",
        dry_run=False,
        content=csv_bytes([row(1, "000000000001", org_tree.cell_a.code)]),
    )
    # a worker claimed it and died: running, with an old heartbeat
    await fresh_database.pool.execute(
        "UPDATE import_jobs SET status = 'running', heartbeat_at = now() - interval '10 minutes'"
    )
    assert await service.run_next()
    assert (await service.get(Callers.system_admin(), job.id)).status == "succeeded"
    assert not await service.run_next()
