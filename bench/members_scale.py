"""National scale: import time of 5.6 million members and name search latency over them.

    .venv/bin/python bench/members_scale.py [--members 5600000] [--provinces 63] [--workers 2]
        [--queries 2000] [--keep DIR]

1. A private PostgreSQL cluster (durable: fsync on), the members schema, 63 province trees
   (province → 10 districts → 12 communes → 6 cells each).
2. One provincial export (CSV) per province, generated with realistic Vietnamese names.
3. Import: every file through the same import job code the service runs (parse, check every row,
   check against the database, insert members and one member.created.v1 outbox row each), in
   --workers processes taking one job at a time, as that many service processes would. Prints
   the wall time.
4. Search: --queries name searches through the service layer (MembersService.search_members,
   first page of 20), a mix of full names, partial names, given names, with and without
   diacritics, card numbers, for a system admin (whole country) and a province committee admin
   (a province subtree); prints p50/p95/p99 per kind and overall.
"""

import argparse
import asyncio
import csv
import multiprocessing
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import date
from importlib.resources import files
from pathlib import Path

import asyncpg

from sotay_common.auth import Principal, Role
from sotay_common.db import (
    Database,
    apply_migrations,
    common_migrations,
    connect,
    create_pool,
    load_migrations,
)
from sotay_common.text import fold
from sotay_devstack.demo_data import EXPORT_HEADER, DemoData, export_row
from sotay_devstack.postgres import PostgresCluster
from sotay_members.service import ImportService, MembersService, SearchQuery

SCHEMA = "members"
TODAY = date(2026, 11, 24)
PG_SETTINGS = {
    "shared_buffers": "3GB",
    "effective_cache_size": "12GB",
    "maintenance_work_mem": "1GB",
    "work_mem": "32MB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "wal_compression": "lz4",
    "random_page_cost": "1.1",
}


def admin() -> Principal:
    return Principal(subject="bench", roles=frozenset({Role.SYSTEM_ADMIN}))


async def create_trees(conn: asyncpg.Connection, provinces: int) -> dict[str, list[str]]:
    """Province code -> its cell codes; all organisations inserted in one COPY."""
    rows = []
    cells: dict[str, list[str]] = defaultdict(list)
    demo = DemoData(seed=1)
    for p in range(1, provinces + 1):
        code = f"P{p:02d}"
        tree = demo.province_tree(code, f"Đảng bộ tỉnh số {p}", districts=10, communes=12, cells=6)
        ids: dict[str, uuid.UUID] = {}
        paths: dict[str, str] = {}
        for org in tree:
            org_id = uuid.uuid4()
            ids[org.code] = org_id
            parent = org.parent_code
            paths[org.code] = (paths[parent] + "." if parent else "") + org_id.hex
            rows.append(
                (
                    org_id,
                    org.code,
                    org.name,
                    org.type,
                    ids[parent] if parent else None,
                    paths[org.code],
                )
            )
            if org.type == "cell":
                cells[code].append(org.code)
    await conn.execute(
        "CREATE TEMP TABLE staging_orgs (id uuid, code text, name text, type text,"
        " parent_id uuid, path text)"
    )
    await conn.copy_records_to_table("staging_orgs", records=rows)
    await conn.execute(
        "INSERT INTO organizations (id, code, name, type, parent_id, path)"
        " SELECT id, code, name, type, parent_id, path::ltree FROM staging_orgs"
    )
    return cells


def write_exports(folder: Path, cells: dict[str, list[str]], total: int) -> list[Path]:
    demo = DemoData(seed=2026)
    per_province = total // len(cells)
    paths = []
    index = 1
    for number, (province, province_cells) in enumerate(sorted(cells.items())):
        count = per_province + (
            total - per_province * len(cells) if number == len(cells) - 1 else 0
        )
        path = folder / f"{province}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_HEADER)
            for member in demo.members(province_cells, count, start=index):
                writer.writerow(export_row(index, member))
                index += 1
        paths.append(path)
    return paths


def _service(database: Database) -> ImportService:
    return ImportService(database, max_bytes=1_000_000_000, max_rows=1_000_000, today=lambda: TODAY)


async def import_all(database: Database, dsn: str, exports: list[Path], workers: int) -> float:
    """Submits every export, then runs the import jobs in `workers` processes, one job at a time
    each, as that many members service processes (replicas or HTTP workers) would."""
    service = _service(database)
    for path in exports:
        await service.submit(
            admin(),
            file_name=path.name,
            content=path.read_bytes(),
            mode="all_or_nothing",
            dry_run=False,
        )
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_import_worker, args=(dsn,)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"an import worker exited with {process.exitcode}")
    return time.perf_counter() - started


def _import_worker(dsn: str) -> None:
    async def work() -> None:
        pool = await create_pool(dsn, SCHEMA, min_size=1, max_size=3)
        try:
            service = _service(Database(pool=pool, source="/bench"))
            while await service.run_next():
                pass
        finally:
            await pool.close()

    asyncio.run(work())


def query_mix(
    names: list[str], cards: list[str], count: int, rng: random.Random
) -> list[tuple[str, str]]:
    kinds = []
    for _ in range(count):
        name = rng.choice(names)
        parts = name.split()
        kind = rng.choice(
            ["full", "full_folded", "surname_given", "given_folded", "middle_given", "card"]
        )
        query = {
            "full": name,
            "full_folded": fold(name),
            "surname_given": f"{parts[0]} {parts[-1]}",
            "given_folded": fold(parts[-1]),
            "middle_given": f"{parts[-2]} {parts[-1]}",
            "card": rng.choice(cards),
        }[kind]
        kinds.append((kind, query))
    return kinds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def search_latency(database: Database, conn: asyncpg.Connection, queries: int) -> None:
    rng = random.Random(5)
    sample = await conn.fetch(
        "SELECT full_name, party_card_number FROM members TABLESAMPLE SYSTEM (0.05)"
    )
    names = [r["full_name"] for r in sample]
    cards = [r["party_card_number"] for r in sample]
    provinces = await conn.fetch("SELECT id FROM organizations WHERE parent_id IS NULL")
    service = MembersService(database, today=lambda: TODAY)
    by_kind: dict[str, list[float]] = defaultdict(list)
    results: list[int] = []
    orderings: dict[str, int] = defaultdict(int)
    for scope in ("country", "province"):
        for kind, query in query_mix(names, cards, queries // 2, rng):
            principal = (
                admin()
                if scope == "country"
                else Principal(
                    subject="p",
                    roles=frozenset({Role.COMMITTEE_ADMIN}),
                    organization_id=rng.choice(provinces)["id"],
                )
            )
            started = time.perf_counter()
            page = await service.search_members(principal, SearchQuery(q=query, limit=20))
            elapsed = (time.perf_counter() - started) * 1000
            by_kind[f"{scope}/{kind}"].append(elapsed)
            by_kind["all"].append(elapsed)
            results.append(len(page.items))
            for item in page.items[:1]:
                orderings[item.match.value] += 1
    print(f"{'query kind':<28}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for kind in sorted(by_kind):
        values = by_kind[kind]
        print(
            f"{kind:<28}{len(values):>6}{statistics.median(values):>10.1f}"
            f"{percentile(values, 0.95):>10.1f}{percentile(values, 0.99):>10.1f}"
        )
    print(
        f"queries with at least one result: {sum(1 for r in results if r) / len(results):.1%};"
        f" how the first result matched: {dict(sorted(orderings.items()))}"
    )


async def run(args: argparse.Namespace, dsn: str, folder: Path) -> None:
    setup = await connect(dsn, SCHEMA)
    if args.reuse:
        await apply_migrations(
            setup,
            SCHEMA,
            common_migrations() + load_migrations("members", files("sotay_members") / "migrations"),
        )
        pool = await create_pool(dsn, SCHEMA, min_size=2, max_size=10)
        members = await setup.fetchval("SELECT count(*) FROM members")
        print(f"reusing {args.data}: {members:,} members")
        await search_latency(Database(pool=pool, source="/bench"), setup, args.queries)
        await setup.close()
        await pool.close()
        return
    migrations = common_migrations() + load_migrations(
        "members", files("sotay_members") / "migrations"
    )
    await apply_migrations(setup, SCHEMA, migrations)
    cells = await create_trees(setup, args.provinces)
    print(f"organisations: {await setup.fetchval('SELECT count(*) FROM organizations'):,}")
    started = time.perf_counter()
    exports = write_exports(folder, cells, args.members)
    size = sum(p.stat().st_size for p in exports) / 1e9
    print(
        f"generated {len(exports)} provincial exports, {args.members:,} members, {size:.2f} GB"
        f" in {time.perf_counter() - started:.0f} s"
    )
    pool = await create_pool(dsn, SCHEMA, min_size=2, max_size=10)
    database = Database(pool=pool, source="/bench")
    elapsed = await import_all(database, dsn, exports, args.workers)
    jobs = await setup.fetch(
        "SELECT status, count(*), sum(created_count) AS created FROM import_jobs GROUP BY status"
    )
    rate = args.members / elapsed
    print(
        f"import: {args.members:,} members in {elapsed:.0f} s ({rate:,.0f} rows/s,"
        f" {args.workers} workers); jobs: {[dict(j) for j in jobs]}"
    )
    print(
        f"members: {await setup.fetchval('SELECT count(*) FROM members'):,};"
        f" outbox rows: {await setup.fetchval('SELECT count(*) FROM outbox'):,}"
    )
    # what autovacuum does within minutes of a bulk load: statistics, visibility map, and the
    # GIN pending list merged into the index (searches scan that list until then)
    await setup.execute("VACUUM ANALYZE members")
    size_row = await setup.fetchrow(
        "SELECT pg_size_pretty(pg_total_relation_size('members')) AS m,"
        " pg_size_pretty(pg_total_relation_size('outbox')) AS o"
    )
    print(f"table sizes with indexes: members {size_row['m']}, outbox {size_row['o']}")
    await search_latency(database, setup, args.queries)
    await setup.close()
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5_600_000)
    parser.add_argument("--provinces", type=int, default=63)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument(
        "--data", type=Path, help="keep the cluster here (default: a temporary folder)"
    )
    parser.add_argument("--reuse", action="store_true", help="search the members already in --data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        folder = Path(tmp)
        cluster = PostgresCluster(args.data or folder / "pg", durable=True, settings=PG_SETTINGS)
        cluster.ensure_initialized()
        cluster.start()
        try:
            asyncio.run(run(args, cluster.dsn(), folder))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
