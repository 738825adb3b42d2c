from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from sotay_common.db import Database, Migration, common_migrations, load_migrations
from sotay_common.storage import FileBlobStore
from sotay_content.service import ContentService
from tests.content.support import Tree, build_tree


@pytest.fixture(scope="session")
def service_schema() -> str:
    return "content"


@pytest.fixture(scope="session")
def service_migrations() -> Sequence[Migration]:
    return [
        *common_migrations(),
        *load_migrations("content", files("sotay_content") / "migrations"),
    ]


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "content-store")


@pytest.fixture
def service(database: Database, store: FileBlobStore) -> ContentService:
    return ContentService(database, store)


@pytest_asyncio.fixture(loop_scope="session")
async def tree(conn: asyncpg.Connection) -> Tree:
    return await build_tree(conn)
