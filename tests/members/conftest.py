import uuid
from collections.abc import Awaitable, Callable, Sequence
from importlib.resources import files
from typing import Any

import pytest
import pytest_asyncio

from sotay_common.db import Database, Migration, common_migrations, load_migrations
from sotay_members.domain import Member, Organization
from sotay_members.service import MembersService
from tests.members.support import TODAY, Callers, Tree, build_tree, member_command


@pytest.fixture(scope="session")
def service_schema() -> str:
    return "members"


@pytest.fixture(scope="session")
def service_migrations() -> Sequence[Migration]:
    return [
        *common_migrations(),
        *load_migrations("members", files("sotay_members") / "migrations"),
    ]


@pytest.fixture
def service(database: Database) -> MembersService:
    return MembersService(database, today=lambda: TODAY)


@pytest_asyncio.fixture(loop_scope="session")
async def tree(service: MembersService) -> Tree:
    return await build_tree(service, prefix=uuid.uuid4().hex[:6] + ".")


MakeMember = Callable[..., Awaitable[Member]]


@pytest.fixture
def make_member(service: MembersService) -> MakeMember:
    async def make(org: Organization, **overrides: Any) -> Member:
        return await service.create_member(Callers.system_admin(), member_command(org, **overrides))

    return make
