"""Passwords: argon2id hashes with OWASP's parameters, the policy, temporary passwords.

Hashing and verifying cost ~20-40 ms of one core each: the service calls them in a thread.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "PasswordRejected",
    "check_policy",
    "hash_password",
    "needs_rehash",
    "temporary_password",
    "verify_password",
    "waste_verification",
]

# OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
_HASHER = PasswordHasher(
    time_cost=2, memory_cost=19_456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)
# Verified when a login names no account, so that both answers take as long.
_DECOY_HASH = _HASHER.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 8
MAX_LENGTH = 128
_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing read two ways (l/1, o/0)


class PasswordRejected(Exception):
    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_vi = message_vi


def check_policy(password: str, *, personal: tuple[str, ...] = ()) -> None:
    """Length 8 to 128, not only one repeated character, not a card number or phone given."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(
            "password_too_short", f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự."
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("password_too_long", f"Mật khẩu dài tối đa {MAX_LENGTH} ký tự.")
    if len(set(password)) == 1:
        raise PasswordRejected(
            "password_too_weak", "Mật khẩu quá dễ đoán. Vui lòng chọn mật khẩu khác."
        )
    if any(value and value in password for value in personal):
        raise PasswordRejected(
            "password_contains_personal_data",
            "Mật khẩu không được chứa số thẻ đảng viên hoặc số điện thoại.",
        )


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def waste_verification(password: str) -> None:
    """Spend a verification's time for a login that names no account."""
    verify_password(_DECOY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with other parameters than today's: rehash at the next login."""
    return _HASHER.check_needs_rehash(password_hash)


def temporary_password() -> str:
    """A password a committee admin hands over (12 characters, ~59 bits): the member changes
    it at the next sign-in."""
    groups = ["".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "-".join(groups)
