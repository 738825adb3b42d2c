from collections.abc import AsyncIterator, Sequence
from importlib.resources import files
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from sotay_common.auth import TokenVerifier
from sotay_common.db import Database, Migration, common_migrations, load_migrations
from sotay_common.metrics import Metrics
from sotay_common.runtime import Runtime
from sotay_common.storage import FileBlobStore
from sotay_content.app import create_app
from sotay_content.service import ContentService
from sotay_content.settings import ContentSettings
from sotay_devstack.tokens import AUDIENCE, ISSUER, DevTokens
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


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    database: Database, dev_tokens: DevTokens, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = ContentSettings(storage_url=(tmp_path / "store").as_uri())
    app = create_app(settings)
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, public_key_pem=dev_tokens.public_key_pem
    )
    app.state.runtime = Runtime(
        settings=settings, database=database, metrics=Metrics("content"), token_verifier=verifier
    )
    app.state.token_verifier = verifier
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://content"
    ) as c:
        yield c
