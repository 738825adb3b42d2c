"""The keys that sign access tokens, and the JWKS document every other service verifies with.

One current RSA key signs; the public halves of earlier keys stay in the JWKS after a rotation
until the tokens they signed have expired (IDENTITY_PREVIOUS_PUBLIC_KEYS_PEM).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sotay_common.auth import ALGORITHM, TokenIssuer, TokenVerifier

__all__ = ["SigningKeys", "key_thumbprint", "split_pem_blocks"]

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


def split_pem_blocks(text: str) -> list[str]:
    """The PEM blocks of `text`, in order (several keys may be given in one variable)."""
    return [match.group(0) for match in _PEM_BLOCK.finditer(text)]


def _public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return jwk


def key_thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638 thumbprint: base64url SHA-256 of the required members in lexical order."""
    jwk = _public_jwk(public_key)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("previous signing keys must be RSA public keys")
    return key


@dataclass(frozen=True)
class SigningKeys:
    issuer: TokenIssuer
    previous: tuple[dict[str, Any], ...] = ()

    @classmethod
    def load(
        cls,
        private_key_pem: str,
        *,
        issuer: str,
        audience: str,
        key_id: str | None = None,
        previous_public_keys_pem: str | None = None,
    ) -> SigningKeys:
        private = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("the signing key must be an RSA private key")
        kid = key_id or key_thumbprint(private.public_key())
        token_issuer = TokenIssuer(private_key_pem, issuer=issuer, audience=audience, kid=kid)
        previous: list[dict[str, Any]] = []
        for pem in split_pem_blocks(previous_public_keys_pem or ""):
            public = _load_public_key(pem)
            jwk = _public_jwk(public)
            jwk.update({"kid": key_thumbprint(public), "use": "sig", "alg": ALGORITHM})
            if jwk["kid"] != kid and all(jwk["kid"] != seen["kid"] for seen in previous):
                previous.append(jwk)
        return cls(token_issuer, tuple(previous))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.issuer.public_jwk(), *self.previous]}

    def verifier(self, *, leeway_s: int = 30) -> TokenVerifier:
        """Verifies tokens of the current key, in process (no call to the JWKS endpoint)."""
        return TokenVerifier(
            issuer=self.issuer.issuer,
            audience=self.issuer.audience,
            public_key_pem=self.issuer.public_key_pem(),
            leeway_s=leeway_s,
        )
