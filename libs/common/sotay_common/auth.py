"""RS256 JWT verification (every service) and issuing (the identity service, and dev tooling).

Claims: iss, aud, exp, iat, sub (account id), roles, org (organisation scope), member_id.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Request
from jwt.algorithms import RSAAlgorithm

from sotay_common.errors import Forbidden, Unauthenticated

ALGORITHM = "RS256"


class Role(StrEnum):
    MEMBER = "member"
    CELL_SECRETARY = "cell_secretary"
    COMMITTEE_ADMIN = "committee_admin"
    SYSTEM_ADMIN = "system_admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    organization_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_any(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_system_admin(self) -> bool:
        return Role.SYSTEM_ADMIN in self.roles


class TokenExpired(Unauthenticated):
    code = "token_expired"
    detail_vi = "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại."


class TokenInvalid(Unauthenticated):
    code = "token_invalid"
    detail_vi = "Mã xác thực không hợp lệ. Vui lòng đăng nhập lại."


def _optional_uuid(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise TokenInvalid() from exc


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    raw_roles = claims.get("roles") or []
    if not isinstance(raw_roles, list):
        raise TokenInvalid()
    roles = frozenset(Role(r) for r in raw_roles if r in Role._value2member_map_)
    return Principal(
        subject=str(claims["sub"]),
        roles=roles,
        organization_id=_optional_uuid(claims.get("org")),
        member_id=_optional_uuid(claims.get("member_id")),
        claims=dict(claims),
    )


KeyLookup = Callable[[str | None], Awaitable[Any]]


class TokenVerifier:
    """Verifies RS256 tokens with a static PEM key or keys from a JWKS endpoint."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        public_key_pem: str | None = None,
        jwks_url: str | None = None,
        leeway_s: int = 30,
        jwks_refresh_s: float = 300.0,
    ) -> None:
        if not public_key_pem and not jwks_url:
            raise ValueError("a public key or a JWKS URL is required")
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        self._static_key = (
            serialization.load_pem_public_key(public_key_pem.encode()) if public_key_pem else None
        )
        self._jwks_url = jwks_url
        self._jwks_refresh_s = jwks_refresh_s
        self._jwks: dict[str, Any] = {}
        self._jwks_fetched_at = 0.0
        self._jwks_lock = asyncio.Lock()
        # Verified tokens, until they expire: a client sends the same token many times.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._verified_max = 10_000

    def _jwks_stale(self) -> bool:
        return time.monotonic() - self._jwks_fetched_at > self._jwks_refresh_s

    def _may_refetch(self) -> bool:
        # An unknown kid (key rotation) triggers a refetch, at most every few seconds so that
        # tokens with made-up kids cannot hammer the identity service.
        return time.monotonic() - self._jwks_fetched_at > 5.0

    async def _key_for(self, kid: str | None) -> Any:
        if self._static_key is not None:
            return self._static_key
        if kid not in self._jwks or self._jwks_stale():
            async with self._jwks_lock:
                if self._jwks_stale() or (kid not in self._jwks and self._may_refetch()):
                    await self._refresh_jwks()
        if kid is None and len(self._jwks) == 1:
            return next(iter(self._jwks.values()))
        key = self._jwks.get(kid) if kid is not None else None
        if key is None:
            raise TokenInvalid()
        return key

    async def _refresh_jwks(self) -> None:
        assert self._jwks_url is not None
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(self._jwks_url)
            response.raise_for_status()
            document = response.json()
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA":
                keys[jwk.get("kid")] = RSAAlgorithm.from_jwk(jwk)
        self._jwks = keys
        self._jwks_fetched_at = time.monotonic()

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            self._verified.move_to_end(token)
            return cached[0]
        principal = await self._verify(token)
        self._verified[token] = (principal, float(principal.claims["exp"]) + self.leeway_s)
        if len(self._verified) > self._verified_max:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenInvalid() from exc
        if header.get("alg") != ALGORITHM:
            raise TokenInvalid()
        try:
            key = await self._key_for(header.get("kid"))
        except httpx.HTTPError as exc:
            raise TokenInvalid("Không kiểm tra được mã xác thực. Vui lòng thử lại sau.") from exc
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired() from exc
        except jwt.PyJWTError as exc:
            raise TokenInvalid() from exc
        return principal_from_claims(claims)


class TokenIssuer:
    """Signs access tokens. The identity service owns the real keys; dev tooling makes its own."""

    def __init__(self, private_key_pem: str, *, issuer: str, audience: str, kid: str) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("an RSA private key is required")
        self._key = key
        self.issuer = issuer
        self.audience = audience
        self.kid = kid

    def issue(
        self,
        *,
        subject: str,
        roles: Iterable[Role | str],
        organization_id: uuid.UUID | None = None,
        member_id: uuid.UUID | None = None,
        ttl: timedelta = timedelta(minutes=15),
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl.total_seconds()),
            "jti": uuid.uuid4().hex,
            "roles": [str(r) for r in roles],
        }
        if organization_id is not None:
            claims["org"] = str(organization_id)
        if member_id is not None:
            claims["member_id"] = str(member_id)
        if extra:
            claims.update(extra)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return jwk

    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def generate_rsa_private_key_pem(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated()
    return token.strip()


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller. The verifier lives on app.state."""
    verifier: TokenVerifier | None = request.app.state.token_verifier
    if verifier is None:
        raise Unauthenticated(
            "Hệ thống chưa được cấu hình khóa xác thực. Vui lòng liên hệ quản trị viên."
        )
    principal = await verifier.verify(bearer_token(request))
    request.state.principal = principal
    return principal


def require_roles(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if not principal.has_any(*roles):
            raise Forbidden()
        return principal

    return dependency
