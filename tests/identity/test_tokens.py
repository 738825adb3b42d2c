"""Refresh token rotation and reuse detection, logout, and the JWKS endpoint served over real
HTTP and used by sotay_common.auth.TokenVerifier as every other service uses it."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace

import asyncpg
import pytest
import pytest_asyncio
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sotay_common.auth import Role, TokenIssuer, TokenVerifier, generate_rsa_private_key_pem
from sotay_common.db import Database
from sotay_common.errors import AppError
from sotay_common.metrics import Metrics
from sotay_common.runtime import Runtime
from sotay_devstack.net import free_port
from sotay_devstack.tokens import AUDIENCE, ISSUER, DevTokens
from sotay_identity.app import create_app
from sotay_identity.components import Components
from sotay_identity.keys import SigningKeys, key_thumbprint
from sotay_identity.service import AccountsService
from tests.identity.conftest import Clock
from tests.identity.support.registration import Tree, make_secretary
from tests.identity.test_service import CLIENT, PASSWORD, member_account


async def refused(call: Awaitable[object]) -> str:
    with pytest.raises(AppError) as error:
        await call
    return error.value.code


def thumbprint_of(private_pem: str) -> str:
    public = serialization.load_pem_private_key(private_pem.encode(), password=None).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return key_thumbprint(public)


async def test_each_refresh_rotates_and_a_reused_token_revokes_the_family(
    accounts: AccountsService, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, _ = await member_account(conn, tree.cell)
    first = (await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)).tokens

    second = await accounts.refresh(first.refresh_token)
    third = await accounts.refresh(second.refresh_token)

    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    # the first token shows up again: it was copied; every token of its family stops working
    assert await refused(accounts.refresh(first.refresh_token)) == "refresh_token_reused"
    assert await refused(accounts.refresh(third.refresh_token)) == "refresh_token_invalid"
    # a sign-in elsewhere is another family and goes on
    other = (await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)).tokens
    assert await accounts.refresh(other.refresh_token)


async def test_logout_ends_the_family(
    accounts: AccountsService, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, _ = await member_account(conn, tree.cell)
    tokens = (await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)).tokens
    rotated = await accounts.refresh(tokens.refresh_token)

    await accounts.logout(rotated.refresh_token)

    assert await refused(accounts.refresh(rotated.refresh_token)) == "refresh_token_invalid"
    await accounts.logout("a token that never existed")  # no error: nothing to tell


async def test_a_refresh_takes_the_roles_of_the_record_as_it_is_now(
    accounts: AccountsService, components: Components, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, _ = await member_account(conn, tree.cell)
    tokens = (await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)).tokens
    await make_secretary(conn, member)

    refreshed = await accounts.refresh(tokens.refresh_token)

    principal = await components.keys.verifier().verify(refreshed.access_token)
    assert principal.roles == {Role.MEMBER, Role.CELL_SECRETARY}


async def test_an_expired_refresh_token_is_refused(
    accounts: AccountsService, clock: Clock, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, _ = await member_account(conn, tree.cell)
    tokens = (await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)).tokens
    clock.advance(days=accounts.settings.refresh_token_ttl_days + 1)

    assert await refused(accounts.refresh(tokens.refresh_token)) == "refresh_token_invalid"


def test_the_key_id_defaults_to_the_rfc_7638_thumbprint() -> None:
    pem = generate_rsa_private_key_pem()
    keys = SigningKeys.load(pem, issuer=ISSUER, audience=AUDIENCE)
    jwk = keys.jwks()["keys"][0]

    assert jwk["kid"] == keys.issuer.kid
    assert len(jwk["kid"]) == 43  # base64url of SHA-256, unpadded
    assert set(jwk) >= {"kty", "n", "e", "kid", "use", "alg"}
    assert "d" not in jwk  # never the private part


@pytest_asyncio.fixture(loop_scope="session")
async def identity_url(
    database: Database, components: Components, dev_tokens: DevTokens
) -> AsyncIterator[tuple[str, TokenIssuer]]:
    """The identity app served by uvicorn on a real port, its JWKS listing a previous key.
    Yields the URL and an issuer of that previous key."""
    previous_pem = generate_rsa_private_key_pem()
    previous = TokenIssuer(
        previous_pem, issuer=ISSUER, audience=AUDIENCE, kid=thumbprint_of(previous_pem)
    )
    keys = SigningKeys.load(
        dev_tokens.private_key_pem,
        issuer=ISSUER,
        audience=AUDIENCE,
        key_id="dev",
        previous_public_keys_pem=previous.public_key_pem(),
    )
    app = create_app(components.settings)
    app.state.identity = replace(components, keys=keys)
    app.state.runtime = Runtime(
        settings=components.settings,
        database=database,
        metrics=Metrics("identity"),
        token_verifier=None,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", previous
    finally:
        server.should_exit = True
        await serving


async def test_other_services_verify_identity_tokens_through_the_jwks(
    identity_url: tuple[str, TokenIssuer],
    accounts: AccountsService,
    dev_tokens: DevTokens,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    url, previous = identity_url
    member, account = await member_account(conn, tree.cell)
    tokens = (await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)).tokens
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks_url=f"{url}/.well-known/jwks.json"
    )

    principal = await verifier.verify(tokens.access_token)
    assert (principal.subject, principal.member_id) == (str(account.id), member.member_id)
    # a token of the key used before the rotation still verifies until it expires
    old = previous.issue(subject=str(account.id), roles=[Role.MEMBER])
    assert (await verifier.verify(old)).subject == str(account.id)
    # dev tokens (kid "dev") verify too: make run signs both with one key
    assert (await verifier.verify(dev_tokens.system_admin())).is_system_admin
    stranger = TokenIssuer(
        generate_rsa_private_key_pem(), issuer=ISSUER, audience=AUDIENCE, kid="x"
    )
    with pytest.raises(AppError) as rejected:
        await verifier.verify(stranger.issue(subject=str(uuid.uuid4()), roles=[Role.SYSTEM_ADMIN]))
    assert rejected.value.code == "token_invalid"


def test_previous_keys_are_listed_once_by_thumbprint() -> None:
    current, earlier = generate_rsa_private_key_pem(), generate_rsa_private_key_pem()
    earlier_public = TokenIssuer(earlier, issuer=ISSUER, audience=AUDIENCE, kid="").public_key_pem()
    keys = SigningKeys.load(
        current,
        issuer=ISSUER,
        audience=AUDIENCE,
        previous_public_keys_pem=earlier_public + "\n" + earlier_public,
    )

    kids = [jwk["kid"] for jwk in keys.jwks()["keys"]]
    assert kids == [thumbprint_of(current), thumbprint_of(earlier)]
