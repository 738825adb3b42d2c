import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import jwt
import pytest
import pytest_asyncio
import uvicorn
from fastapi import Depends, FastAPI

from sotay_common.auth import (
    Principal,
    Role,
    TokenExpired,
    TokenInvalid,
    TokenIssuer,
    TokenVerifier,
    generate_rsa_private_key_pem,
    require_roles,
)
from sotay_common.errors import install_error_handlers
from sotay_devstack.net import free_port

KEY = generate_rsa_private_key_pem()
ISSUER = TokenIssuer(KEY, issuer="sotay-identity", audience="sotay", kid="k1")


def verifier(**overrides: object) -> TokenVerifier:
    options: dict[str, object] = {
        "issuer": "sotay-identity",
        "audience": "sotay",
        "public_key_pem": ISSUER.public_key_pem(),
    }
    options.update(overrides)
    return TokenVerifier(**options)  # type: ignore[arg-type]


async def test_a_valid_token_gives_the_principal() -> None:
    org, member = uuid.uuid4(), uuid.uuid4()
    token = ISSUER.issue(
        subject="acc-1",
        roles=[Role.CELL_SECRETARY, Role.MEMBER, "not-a-role"],
        organization_id=org,
        member_id=member,
    )
    principal = await verifier().verify(token)
    assert principal.subject == "acc-1"
    assert principal.roles == {Role.CELL_SECRETARY, Role.MEMBER}
    assert principal.organization_id == org
    assert principal.member_id == member


async def test_expired_token_is_rejected_with_its_own_code() -> None:
    token = ISSUER.issue(subject="a", roles=[Role.MEMBER], ttl=timedelta(seconds=-120))
    with pytest.raises(TokenExpired) as caught:
        await verifier().verify(token)
    assert caught.value.code == "token_expired"


@pytest.mark.parametrize("field", ["aud", "iss"])
async def test_wrong_audience_or_issuer_is_rejected(field: str) -> None:
    token = ISSUER.issue(subject="a", roles=[Role.MEMBER], extra={field: "someone-else"})
    with pytest.raises(TokenInvalid):
        await verifier().verify(token)


def hs256_signed_with_public_key(claims: dict[str, object]) -> str:
    """The algorithm-confusion attack: HMAC keyed with the (public) RSA key."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        + "."
        + b64(json.dumps(claims).encode())
    )
    signature = hmac.new(ISSUER.public_key_pem().encode(), signing_input.encode(), hashlib.sha256)
    return signing_input + "." + b64(signature.digest())


async def test_tokens_signed_otherwise_are_rejected() -> None:
    now = int(time.time())
    claims = {"sub": "a", "iss": "sotay-identity", "aud": "sotay", "iat": now, "exp": now + 60}
    forged_hs256 = hs256_signed_with_public_key(claims)
    other_key = TokenIssuer(
        generate_rsa_private_key_pem(), issuer="sotay-identity", audience="sotay", kid="k1"
    )
    unsigned = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    for token in (forged_hs256, other_key.issue(subject="a", roles=[]), unsigned, "garbage"):
        with pytest.raises(TokenInvalid):
            await verifier().verify(token)


@pytest_asyncio.fixture(loop_scope="session")
async def jwks_server() -> AsyncIterator[str]:
    """A real HTTP server publishing ISSUER's key set, as the identity service does."""
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, object]:
        return {"keys": [ISSUER.public_jwk()]}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}/.well-known/jwks.json"
    server.should_exit = True
    await task


async def test_keys_are_fetched_from_jwks(jwks_server: str) -> None:
    by_jwks = verifier(public_key_pem=None, jwks_url=jwks_server)
    principal = await by_jwks.verify(ISSUER.issue(subject="acc-9", roles=[Role.MEMBER]))
    assert principal.subject == "acc-9"
    rotated = TokenIssuer(
        generate_rsa_private_key_pem(), issuer="sotay-identity", audience="sotay", kid="k2"
    )
    with pytest.raises(TokenInvalid):
        await by_jwks.verify(rotated.issue(subject="x", roles=[]))


async def test_routes_require_the_role() -> None:
    import httpx

    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = verifier()

    @app.get("/admin")
    async def admin(p: Principal = Depends(require_roles(Role.SYSTEM_ADMIN))) -> dict[str, str]:
        return {"sub": p.subject}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        none = await client.get("/admin")
        member = await client.get(
            "/admin",
            headers={"Authorization": f"Bearer {ISSUER.issue(subject='m', roles=['member'])}"},
        )
        admin_token = ISSUER.issue(subject="s", roles=["system_admin"])
        ok = await client.get("/admin", headers={"Authorization": f"Bearer {admin_token}"})
    assert none.status_code == 401
    assert none.headers["content-type"] == "application/problem+json"
    assert none.json()["code"] == "unauthenticated"
    assert member.status_code == 403
    assert member.json()["code"] == "forbidden"
    assert ok.json() == {"sub": "s"}
