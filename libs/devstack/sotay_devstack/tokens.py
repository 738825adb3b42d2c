"""Tokens for `make run` and the tests, signed with a key made here (until the identity service
issues real ones, and afterwards for tests that need a given role)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sotay_common.auth import Role, TokenIssuer, generate_rsa_private_key_pem

ISSUER = "sotay-identity"
AUDIENCE = "sotay"


class DevTokens:
    def __init__(self, private_key_pem: str, *, kid: str = "dev") -> None:
        self.private_key_pem = private_key_pem
        self.issuer = TokenIssuer(private_key_pem, issuer=ISSUER, audience=AUDIENCE, kid=kid)

    @classmethod
    def generate(cls) -> DevTokens:
        return cls(generate_rsa_private_key_pem())

    @classmethod
    def load_or_create(cls, folder: Path) -> DevTokens:
        key_file = folder / "dev-signing-key.pem"
        if not key_file.exists():
            folder.mkdir(parents=True, exist_ok=True)
            key_file.write_text(generate_rsa_private_key_pem())
            key_file.chmod(0o600)
        return cls(key_file.read_text())

    @property
    def public_key_pem(self) -> str:
        return self.issuer.public_key_pem()

    def token(
        self,
        *roles: Role,
        organization_id: uuid.UUID | None = None,
        member_id: uuid.UUID | None = None,
        subject: str | None = None,
        ttl: timedelta = timedelta(hours=1),
    ) -> str:
        return self.issuer.issue(
            subject=subject or f"dev-{uuid.uuid4().hex[:8]}",
            roles=roles,
            organization_id=organization_id,
            member_id=member_id,
            ttl=ttl,
        )

    def system_admin(self) -> str:
        return self.token(Role.SYSTEM_ADMIN, subject="system-admin")

    def committee_admin(self, organization_id: uuid.UUID) -> str:
        return self.token(Role.COMMITTEE_ADMIN, Role.MEMBER, organization_id=organization_id)

    def cell_secretary(self, organization_id: uuid.UUID, member_id: uuid.UUID | None = None) -> str:
        return self.token(
            Role.CELL_SECRETARY, Role.MEMBER, organization_id=organization_id, member_id=member_id
        )

    def member(self, member_id: uuid.UUID, organization_id: uuid.UUID | None = None) -> str:
        return self.token(Role.MEMBER, member_id=member_id, organization_id=organization_id)

    def service_env(self, prefix: str) -> dict[str, str]:
        """Environment that makes a service trust these tokens."""
        return {
            f"{prefix}AUTH_PUBLIC_KEY_PEM": self.public_key_pem,
            f"{prefix}AUTH_ISSUER": ISSUER,
            f"{prefix}AUTH_AUDIENCE": AUDIENCE,
        }
