"""Content service at province scale: publishing, search, the feed and reading one document.

    .venv/bin/python bench/content_service.py [--documents 3000] [--repeat 20]

Starts a private PostgreSQL, publishes --documents generated documents through the service
layer (news, resolutions and study topics of 2-12 kB, plus the demo charter every 500), then
prints the median time of searches as a member and an admin would make them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

from sotay_common.auth import Principal, Role
from sotay_common.db import (
    Database,
    apply_migrations,
    common_migrations,
    connect,
    create_pool,
    load_migrations,
)
from sotay_common.events.content import DocumentKind
from sotay_common.storage import FileBlobStore
from sotay_content import repository
from sotay_content.demo import load_demo_documents
from sotay_content.domain import OrganizationNode
from sotay_content.schemas import DocumentCreate
from sotay_content.service import ContentService, DocumentSearch
from sotay_devstack.postgres import PostgresCluster

SCHEMA = "content"
RUN = Path(__file__).resolve().parents[1] / ".run"  # reachable by the postgres user
VOCABULARY = (
    "đảng viên chi bộ nghị quyết chỉ thị chuyển đổi số sinh hoạt kiểm tra giám sát kỷ luật "
    "khen thưởng học tập làm theo tư tưởng đạo đức phong cách quần chúng cơ sở đảng phí "
    "kết nạp hồ sơ báo cáo tổng kết phương hướng nhiệm vụ giải pháp tuyên truyền đoàn kết"
)
WORDS = VOCABULARY.split()
KINDS = [DocumentKind.NEWS, DocumentKind.STUDY_TOPIC, DocumentKind.ANNOUNCEMENT]


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 20))
    return " ".join(words).capitalize() + "."


def body(rng: random.Random) -> str:
    paragraphs: list[str] = []
    size = rng.randint(2000, 12000)
    while sum(len(p) for p in paragraphs) < size:
        paragraphs.append(" ".join(sentence(rng) for _ in range(rng.randint(2, 6))))
    return "\n\n".join(paragraphs)


async def build_tree(
    database: Database, districts: int = 10, cells: int = 20
) -> list[OrganizationNode]:
    province = OrganizationNode(uuid.uuid4(), None, [], "Tỉnh", "active", 1)
    nodes = [province]
    for d in range(districts):
        district = OrganizationNode(
            uuid.uuid4(), province.id, [province.id], f"Huyện {d}", "active", 1
        )
        nodes.append(district)
        for c in range(cells):
            nodes.append(
                OrganizationNode(
                    uuid.uuid4(), district.id, district.path_ids, f"Chi bộ {c}", "active", 1
                )
            )
    async with database.transaction() as tx:
        for node in nodes:
            await repository.upsert_organization(tx.conn, node)
    return nodes


async def median_ms(action: Callable[[], Awaitable[object]], repeat: int) -> float:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


async def run(documents: int, repeat: int, dsn: str, store: Path) -> None:
    conn = await connect(dsn, SCHEMA)
    await apply_migrations(
        conn,
        SCHEMA,
        [*common_migrations(), *load_migrations(SCHEMA, files("sotay_content") / "migrations")],
    )
    await conn.close()
    pool = await create_pool(dsn, SCHEMA, min_size=2, max_size=4)
    database = Database(pool=pool, source="/bench")
    service = ContentService(database, FileBlobStore(store))
    nodes = await build_tree(database)
    admin = Principal("root", frozenset({Role.SYSTEM_ADMIN}))
    charter = next(d for d in load_demo_documents() if d.slug == "dieu-le-mau")
    rng = random.Random(7)
    started = time.perf_counter()
    document_ids = []
    for index in range(documents):
        if index % 500 == 0:
            command = DocumentCreate(
                kind=charter.kind,
                title=f"{charter.title} ({index})",
                body_format="text",
                body=charter.body,
            )
        else:
            command = DocumentCreate(
                kind=(kind := rng.choice(KINDS)),
                number=f"{index}-TB/TU" if kind is DocumentKind.ANNOUNCEMENT else None,
                title=sentence(rng),
                tags=rng.sample(WORDS, 2),
                body_format="markdown",
                body=body(rng),
                scope_organization_id=rng.choice([None, *(n.id for n in nodes)]),
            )
        draft = await service.create_document(
            admin,
            command,
            body_format=command.body_format,
            body=command.body,
            scope_given=True,
        )
        await service.publish(admin, draft.document.id)
        document_ids.append(draft.document.id)
    elapsed = time.perf_counter() - started
    print(
        f"create+publish {documents} documents   {elapsed:8.1f} s"
        f"   {documents / elapsed:6.1f} docs/s"
    )

    cell = nodes[-1]
    member = Principal(
        "member", frozenset({Role.MEMBER}), organization_id=cell.id, member_id=uuid.uuid4()
    )
    cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("list newest 20 (member)", lambda: service.search(member, DocumentSearch())),
        (
            "search 'chuyen doi so' (member)",
            lambda: service.search(member, DocumentSearch(q="chuyen doi so")),
        ),
        (
            "search 'chuyển đổi số' (admin)",
            lambda: service.search(admin, DocumentSearch(q="chuyển đổi số")),
        ),
        (
            "search rare 'điều lệ đảng phí' (admin)",
            lambda: service.search(admin, DocumentSearch(q="điều lệ đảng phí")),
        ),
        (
            "kind + tag (admin)",
            lambda: service.search(admin, DocumentSearch(kinds=[DocumentKind.NEWS], tag="kỷ luật")),
        ),
        ("feed 20 (member)", lambda: service.feed(member, cursor=None, limit=20)),
        ("get a news post (admin)", lambda: service.get_document(admin, document_ids[1])),
        ("get the charter (published)", lambda: service.get_document(admin, document_ids[0])),
    ]
    for label, action in cases:
        print(f"{label:42} {await median_ms(action, repeat):8.2f} ms")
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    RUN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=RUN, prefix="bench-content-") as folder:
        cluster = PostgresCluster(Path(folder) / "postgres")
        cluster.ensure_initialized()
        cluster.start()
        try:
            asyncio.run(run(args.documents, args.repeat, cluster.dsn(), Path(folder) / "store"))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
