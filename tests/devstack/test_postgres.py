import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from sotay_devstack.net import free_port
from sotay_devstack.postgres import FALLBACK_ROOT, PostgresCluster, PostgresError

pytestmark = [pytest.mark.xdist_group("postgres"), pytest.mark.timeout(120)]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the server user switch needs root")


@pytest.fixture(scope="module")
def reachable_dir() -> Iterator[Path]:
    """A folder every user can enter, so the cluster's files stay where they were asked to be."""
    folder = Path(tempfile.mkdtemp(prefix="sotay-pg-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(reachable_dir: Path) -> Iterator[PostgresCluster]:
    with PostgresCluster(reachable_dir / "shared") as started:
        yield started


async def fetchval(dsn: str, query: str) -> object:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def test_started_cluster_listens_on_loopback_in_utf8(cluster: PostgresCluster) -> None:
    assert cluster.running
    assert cluster.files_dir == cluster.data_dir
    assert await fetchval(cluster.dsn(), "SHOW listen_addresses") == "127.0.0.1"
    assert await fetchval(cluster.dsn(), "SHOW server_encoding") == "UTF8"
    assert await fetchval(cluster.dsn(), "SHOW max_connections") == "200"
    assert await fetchval(cluster.dsn(), "SHOW fsync") == "off"
    socket_dir = Path(str(await fetchval(cluster.dsn(), "SHOW unix_socket_directories")))
    mode = await asyncio.to_thread(lambda: socket_dir.stat().st_mode)
    assert mode & 0o077 == 0


async def test_contrib_extensions_are_available(cluster: PostgresCluster) -> None:
    cluster.create_database("extensions")
    connection = await asyncpg.connect(cluster.dsn("extensions"))
    try:
        for extension in ("pg_trgm", "unaccent", "ltree", "btree_gin"):
            await connection.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        assert (
            await connection.fetchval("SELECT unaccent('Sổ tay Đảng viên')") == "So tay Dang vien"
        )
        assert await connection.fetchval("SELECT similarity('Đảng viên', 'Đảng vien')") > 0.3
        assert await connection.fetchval("SELECT 'tinh.huyen.xa'::ltree <@ 'tinh'::ltree") is True
    finally:
        await connection.close()


async def test_database_names_are_quoted(cluster: PostgresCluster) -> None:
    name = 'Sổ tay "đảng viên"/1'
    cluster.create_database(name)
    assert await fetchval(cluster.dsn(name), "SELECT current_database()") == name


def test_create_database_exist_ok(cluster: PostgresCluster) -> None:
    cluster.create_database("twice")
    cluster.create_database("twice")
    with pytest.raises(PostgresError, match="already exists"):
        cluster.create_database("twice", exist_ok=False)


async def test_create_database_from_template_copies_its_tables(cluster: PostgresCluster) -> None:
    cluster.create_database("template_source")
    connection = await asyncpg.connect(cluster.dsn("template_source"))
    await connection.execute("CREATE TABLE member (name text); INSERT INTO member VALUES ('An')")
    await connection.close()
    cluster.create_database("copy", template="template_source")
    assert await fetchval(cluster.dsn("copy"), "SELECT name FROM member") == "An"


async def test_drop_database_disconnects_its_sessions(cluster: PostgresCluster) -> None:
    cluster.create_database("doomed")
    session = await asyncpg.connect(cluster.dsn("doomed"))
    cluster.drop_database("doomed")
    cluster.drop_database("doomed")
    assert session.is_closed() or not await _still_usable(session)
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(cluster.dsn("doomed"))


async def _still_usable(session: asyncpg.Connection) -> bool:
    try:
        await session.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError):
        return False
    return True


async def test_restart_reuses_the_data_dir(reachable_dir: Path) -> None:
    data_dir = reachable_dir / "reused"
    with PostgresCluster(data_dir) as first:
        first.create_database("kept")
        connection = await asyncpg.connect(first.dsn("kept"))
        await connection.execute("CREATE TABLE note (body text); INSERT INTO note VALUES ('còn')")
        await connection.close()
    assert not first.running
    first.stop()

    with PostgresCluster(data_dir) as second:  # a new object, as a second `make run` makes
        assert await fetchval(second.dsn("kept"), "SELECT body FROM note") == "còn"


def test_start_failure_reports_the_servers_log(
    cluster: PostgresCluster, reachable_dir: Path
) -> None:
    clash = PostgresCluster(reachable_dir / "clash", port=cluster.port)
    with pytest.raises(PostgresError, match=r"could not (create|bind)"):
        clash.start()
    assert not clash.running


def test_server_dies_with_the_process_that_started_it(
    reachable_dir: Path, dies_with_its_parent: Callable[[str], bool]
) -> None:
    data_dir = reachable_dir / "orphan"
    assert dies_with_its_parent(
        "import time\n"
        "from pathlib import Path\n"
        "from sotay_devstack.postgres import PostgresCluster\n"
        f"cluster = PostgresCluster(Path({str(data_dir)!r}))\n"
        "cluster.start()\n"
        "print(cluster.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    with PostgresCluster(data_dir) as again:  # the fast shutdown left a clean cluster
        assert again.running


@needs_root
def test_unreachable_data_dir_falls_back_to_a_linked_folder(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    data_dir = private / "run" / "postgres"
    cluster = PostgresCluster(data_dir, port=free_port())
    try:
        cluster.start()
        fallback = cluster.files_dir
        assert data_dir.is_symlink()
        assert fallback.parent == FALLBACK_ROOT
        cluster.stop()
        cluster.start()  # re-using the linked folder
        assert cluster.files_dir == fallback
        cluster.stop()

        data_dir.unlink()  # `make clean`: the next cluster starts from scratch
        stale_marker = fallback / "stale"
        stale_marker.touch()
        cluster.ensure_initialized()
        assert cluster.files_dir == fallback
        assert not stale_marker.exists()
    finally:
        cluster.stop()
        shutil.rmtree(cluster.files_dir, ignore_errors=True)
