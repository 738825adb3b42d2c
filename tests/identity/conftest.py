import base64
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from sotay_common.db import Database, Migration, common_migrations, load_migrations
from sotay_devstack.tokens import DevTokens
from sotay_identity.components import Components
from sotay_identity.registration import RegistrationService
from sotay_identity.service import AccountsService
from sotay_identity.settings import IdentitySettings
from tests.identity.support.registration import Tree, seed_tree


@pytest.fixture(scope="session")
def service_schema() -> str:
    return "identity"


@pytest.fixture(scope="session")
def service_migrations() -> Sequence[Migration]:
    return [
        *common_migrations(),
        *load_migrations("identity", files("sotay_identity") / "migrations"),
    ]


def identity_settings(tokens: DevTokens, storage: str, **overrides: Any) -> IdentitySettings:
    """Settings of an identity service that signs with the dev key (kid "dev"), as make run
    does, so that dev tokens and identity's tokens verify alike."""
    values: dict[str, Any] = {
        "signing_key_pem": tokens.private_key_pem,
        "signing_key_id": "dev",
        "template_key": base64.b64encode(os.urandom(32)).decode(),
        "storage_url": storage,
        "worker_threads": 2,
    }
    return IdentitySettings(**(values | overrides))


@pytest.fixture(scope="session")
def loaded_components(
    dev_tokens: DevTokens, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Components]:
    """Components with the models loaded: once per test process (loading takes seconds)."""
    storage = tmp_path_factory.mktemp("identity-store").as_uri()
    components = Components.from_settings(identity_settings(dev_tokens, storage))
    components.load_engine()
    yield components
    components.executor.shutdown()


@pytest.fixture
def components(loaded_components: Components) -> Components:
    return loaded_components


def with_settings(components: Components, **overrides: Any) -> Components:
    """The same components (models, keys, stores) under other settings."""
    settings = components.settings.model_copy(update=overrides)
    return replace(components, settings=settings)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(database: Database, components: Components, clock: Clock) -> AccountsService:
    return AccountsService(database, components, now=clock)


@pytest.fixture
def registration(
    database: Database, components: Components, accounts: AccountsService, clock: Clock
) -> RegistrationService:
    return RegistrationService(database, components, accounts, now=clock)


RegistrationWith = Callable[[Components], RegistrationService]


@pytest.fixture
def registration_with(
    database: Database, accounts: AccountsService, clock: Clock
) -> RegistrationWith:
    """Registration on other components (see `with_settings`), same database, clock and
    accounts."""

    def build(components: Components) -> RegistrationService:
        return RegistrationService(database, components, accounts, now=clock)

    return build


@pytest_asyncio.fixture(loop_scope="session")
async def tree(conn: asyncpg.Connection) -> Tree:
    return await seed_tree(conn)
