"""Access tokens (RS256 JWTs, short-lived) and refresh tokens (opaque, stored hashed, rotating).

A refresh token is 256 random bits; only its SHA-256 is stored, so a copy of the database
does not let anyone sign in. Each use returns a new one of the same family and marks the old
one used; presenting a used one again means it was copied: the whole family is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sotay_identity.keys import SigningKeys
from sotay_identity.roles import AccessClaims

__all__ = ["TokenPair", "access_token", "new_refresh_token", "refresh_token_hash"]


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


def new_refresh_token() -> tuple[str, bytes]:
    """(the token to hand out, the hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, refresh_token_hash(token)


def refresh_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def access_token(
    keys: SigningKeys, account_id: uuid.UUID, claims: AccessClaims, ttl: timedelta
) -> str:
    return keys.issuer.issue(
        subject=str(account_id),
        roles=sorted(claims.roles),
        organization_id=claims.organization_id,
        member_id=claims.member_id,
        ttl=ttl,
    )
