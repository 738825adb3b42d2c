"""Use cases of accounts: sign-in with lockout, token refresh and logout, the caller's own
account and consents, and what administrators do (find a member's account, reset a password,
grant staff roles). Every read of personal data by someone else is written to the audit log."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import asyncpg

from sotay_common.auth import Principal, Role
from sotay_common.context import current_correlation_id
from sotay_common.db import Database, Tx
from sotay_common.errors import (
    FieldError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)
from sotay_common.storage import BlobStore
from sotay_identity import events, passwords, repository
from sotay_identity.components import Components
from sotay_identity.consent import EKYC_BIOMETRIC
from sotay_identity.limits import Rule, retry_after_s
from sotay_identity.logins import Login, normalise_phone, parse_login
from sotay_identity.repository import Account, Consent
from sotay_identity.roles import AccessClaims, Grant, access_claims
from sotay_identity.tokens import TokenPair, access_token, new_refresh_token, refresh_token_hash

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- errors -------------------------------------------------------------------------------------


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    detail_vi = "Số thẻ đảng viên, số điện thoại hoặc mật khẩu không đúng."


class TooManyAttempts(RateLimited):
    """429 with Retry-After."""

    code = "too_many_attempts"
    detail_vi = "Bạn đã thử quá nhiều lần. Vui lòng thử lại sau {minutes} phút."

    def __init__(self, retry_after: int, *, code: str | None = None) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            self.detail_vi.format(minutes=minutes),
            code=code,
            extra={"retry_after_s": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class AccountDisabled(Forbidden):
    code = "account_disabled"
    detail_vi = (
        "Tài khoản không còn được sử dụng (hồ sơ đảng viên không ở trạng thái đang sinh hoạt). "
        "Vui lòng liên hệ cấp ủy nơi sinh hoạt."
    )


class TemporaryPasswordExpired(Unauthenticated):
    code = "temporary_password_expired"
    detail_vi = "Mật khẩu tạm đã hết hạn. Vui lòng đề nghị cấp ủy cấp lại mật khẩu."


class RefreshTokenInvalid(Unauthenticated):
    code = "refresh_token_invalid"
    detail_vi = "Phiên đăng nhập không còn hiệu lực. Vui lòng đăng nhập lại."


class RefreshTokenReused(Unauthenticated):
    code = "refresh_token_reused"
    detail_vi = (
        "Phiên đăng nhập đã bị dùng lại nên đã bị thu hồi để bảo vệ tài khoản. "
        "Vui lòng đăng nhập lại."
    )


class AccountOutOfScope(Forbidden):
    code = "account_out_of_scope"
    detail_vi = "Tài khoản này thuộc đảng viên ngoài phạm vi bạn quản lý."


def password_rejected(error: passwords.PasswordRejected, field: str) -> ValidationFailed:
    return ValidationFailed(
        error.message_vi,
        code=error.code,
        errors=[FieldError(field, error.code, error.message_vi)],
    )


def member_not_found() -> NotFound:
    return NotFound("Hệ thống xác thực chưa có hồ sơ đảng viên này.", code="member_not_found")


def account_not_found() -> NotFound:
    return NotFound("Không tìm thấy tài khoản.", code="account_not_found")


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    tokens: TokenPair
    password_change_required: bool


@dataclass(frozen=True)
class AccountView:
    account: Account
    claims: AccessClaims | None
    grants: list[Grant]
    face_template_stored: bool


@dataclass(frozen=True)
class TemporaryPassword:
    password: str
    expires_at: datetime


@dataclass(frozen=True)
class LoginRules:
    per_login: Rule
    per_account: Rule
    per_address: Rule

    @classmethod
    def from_settings(cls, components: Components) -> LoginRules:
        s = components.settings
        window, block = timedelta(seconds=s.login_window_s), timedelta(seconds=s.login_lockout_s)
        return cls(
            per_login=Rule("login", s.login_failures_per_login, window, block),
            per_account=Rule("login-account", s.login_failures_per_account, window, block),
            per_address=Rule("login-address", s.login_failures_per_address, window, block),
        )


async def audit_read(
    conn: asyncpg.Connection,
    caller: Principal,
    *,
    action: str,
    subject_type: str,
    subject_ids: Sequence[object],
    purpose: str,
) -> None:
    await repository.audit(
        conn,
        actor=caller.subject,
        action=action,
        subject_type=subject_type,
        subject_ids=[str(s) for s in subject_ids],
        purpose=purpose,
        correlation_id=current_correlation_id(),
    )


class AccountsService:
    def __init__(
        self,
        database: Database,
        components: Components,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.database = database
        self.components = components
        self.settings = components.settings
        self.rules = LoginRules.from_settings(components)
        self.now = now

    # -- sign-in ------------------------------------------------------------------------------

    async def login(self, login: str, password: str, *, client: str) -> SignIn:
        parsed = parse_login(login)
        login_key = self.rules.per_login.key(parsed.value if parsed else login.strip().lower())
        address_key = self.rules.per_address.key(client)
        async with self.database.connection() as conn:
            account = await self._account_for_login(conn, parsed)
            account_key = self.rules.per_account.key(str(account.id)) if account else None
            keys = [login_key, address_key, *([account_key] if account_key else [])]
            await self._refuse_if_blocked(conn, keys)
        if account is None:
            await asyncio.to_thread(passwords.waste_verification, password)
            await self._count_failure(login_key, address_key, None)
        correct = await asyncio.to_thread(
            passwords.verify_password, account.password_hash, password
        )
        if not correct or account.status != "active":
            await self._count_failure(login_key, address_key, account_key)
        if account.password_temporary_until and account.password_temporary_until < self.now():
            raise TemporaryPasswordExpired()
        async with self.database.transaction() as tx:
            await repository.clear_limits(
                tx.conn, [login_key, *([account_key] if account_key else [])]
            )
            if passwords.needs_rehash(account.password_hash):
                rehashed = await asyncio.to_thread(passwords.hash_password, password)
                await repository.set_password(
                    tx.conn, account.id, rehashed, temporary_until=account.password_temporary_until
                )
            tokens = await self.issue_tokens(tx, account)
        return SignIn(tokens, password_change_required=account.password_temporary_until is not None)

    async def _account_for_login(
        self, conn: asyncpg.Connection, login: Login | None
    ) -> Account | None:
        if login is None:
            return None
        if login.kind == "phone":
            return await repository.account_by_phone(conn, login.value)
        member = await repository.member_by_card_number(conn, login.value)
        return await repository.account_by_member(conn, member.member_id) if member else None

    async def _refuse_if_blocked(self, conn: asyncpg.Connection, keys: Sequence[str]) -> None:
        blocked_until = await repository.blocked_until_of(conn, keys)
        if blocked_until is not None:
            now = await repository.database_now(conn)
            raise TooManyAttempts(retry_after_s(blocked_until, now), code="login_locked")

    async def _count_failure(
        self, login_key: str, address_key: str, account_key: str | None
    ) -> NoReturn:
        """Counts a failed sign-in (in a transaction of its own, so that it stays counted), then
        answers it: locked once a counter is over its limit, else wrong credentials."""
        pairs = [(login_key, self.rules.per_login), (address_key, self.rules.per_address)]
        if account_key:
            pairs.append((account_key, self.rules.per_account))
        async with self.database.transaction() as tx:
            blocked = [await repository.hit_limit(tx.conn, key, rule) for key, rule in pairs]
            now = await repository.database_now(tx.conn)
        until = max((b for b in blocked if b is not None), default=None)
        if until is not None:
            raise TooManyAttempts(retry_after_s(until, now), code="login_locked")
        raise InvalidCredentials()

    async def claims_of(self, conn: asyncpg.Connection, account: Account) -> AccessClaims | None:
        facts = (
            await repository.member_facts(conn, account.member_id)
            if account.member_id is not None
            else None
        )
        return access_claims(facts, await repository.grants(conn, account.id))

    async def issue_tokens(
        self, tx: Tx, account: Account, *, family_id: uuid.UUID | None = None
    ) -> TokenPair:
        claims = await self.claims_of(tx.conn, account)
        if claims is None:
            raise AccountDisabled()
        refresh, refresh_hash = new_refresh_token()
        refresh_ttl = timedelta(days=self.settings.refresh_token_ttl_days)
        await repository.insert_refresh_token(
            tx.conn,
            refresh_hash,
            family_id=family_id or uuid.uuid4(),
            account_id=account.id,
            expires_at=self.now() + refresh_ttl,
        )
        ttl = timedelta(seconds=self.settings.access_token_ttl_s)
        return TokenPair(
            access_token=access_token(self.components.keys, account.id, claims, ttl),
            expires_in=int(ttl.total_seconds()),
            refresh_token=refresh,
            refresh_expires_in=int(refresh_ttl.total_seconds()),
        )

    async def refresh(self, token: str) -> TokenPair:
        reused = False
        async with self.database.transaction() as tx:
            stored = await repository.get_refresh_token(tx.conn, refresh_token_hash(token))
            if stored is None or stored.revoked_at is not None or stored.expires_at < self.now():
                raise RefreshTokenInvalid()
            if stored.used_at is not None:
                await repository.revoke_family(tx.conn, stored.family_id)
                reused = True
            else:
                account = await repository.get_account(tx.conn, stored.account_id)
                await repository.mark_refresh_token_used(tx.conn, stored.token_hash)
                if account is None or account.status != "active":
                    raise RefreshTokenInvalid()
                tokens = await self.issue_tokens(tx, account, family_id=stored.family_id)
        if reused:  # raised after the commit: the revocation must stay
            logger.warning(
                "refresh token reused: family revoked", extra={"family": str(stored.family_id)}
            )
            raise RefreshTokenReused()
        return tokens

    async def logout(self, token: str) -> None:
        async with self.database.transaction() as tx:
            stored = await repository.get_refresh_token(tx.conn, refresh_token_hash(token))
            if stored is not None:
                await repository.revoke_family(tx.conn, stored.family_id)

    # -- own account --------------------------------------------------------------------------

    async def _own_account(self, conn: asyncpg.Connection, caller: Principal) -> Account:
        try:
            account_id = uuid.UUID(caller.subject)
        except ValueError as exc:
            raise account_not_found() from exc
        account = await repository.get_account(conn, account_id)
        if account is None:
            raise account_not_found()
        return account

    async def _view(self, conn: asyncpg.Connection, account: Account) -> AccountView:
        return AccountView(
            account=account,
            claims=await self.claims_of(conn, account),
            grants=await repository.grants(conn, account.id),
            face_template_stored=await repository.get_template(conn, account.id) is not None,
        )

    async def me(self, caller: Principal) -> AccountView:
        async with self.database.transaction() as tx:
            account = await self._own_account(tx.conn, caller)
            await audit_read(
                tx.conn,
                caller,
                action="account.read",
                subject_type="account",
                subject_ids=[account.id],
                purpose="own_account",
            )
            return await self._view(tx.conn, account)

    async def change_password(self, caller: Principal, current: str, new: str) -> None:
        async with self.database.connection() as conn:
            account = await self._own_account(conn, caller)
        if not await asyncio.to_thread(passwords.verify_password, account.password_hash, current):
            raise InvalidCredentials("Mật khẩu hiện tại không đúng.", code="wrong_password")
        try:
            passwords.check_policy(new, personal=tuple(filter(None, [account.phone])))
        except passwords.PasswordRejected as error:
            raise password_rejected(error, "new_password") from error
        new_hash = await asyncio.to_thread(passwords.hash_password, new)
        async with self.database.transaction() as tx:
            await repository.set_password(tx.conn, account.id, new_hash)
            await repository.revoke_account_tokens(tx.conn, account.id)

    async def consents(self, caller: Principal) -> list[Consent]:
        async with self.database.connection() as conn:
            account = await self._own_account(conn, caller)
            return await repository.consents_of(conn, account.id)

    async def withdraw_consent(self, caller: Principal, purpose: str) -> None:
        """Withdraws the caller's consent: their face template is deleted, an unfinished
        registration of theirs is closed and its images deleted; consent.withdrawn.v1 tells
        the other systems."""
        if purpose != EKYC_BIOMETRIC:
            raise NotFound("Không có sự đồng ý nào cho mục đích này.", code="consent_not_found")
        async with self.database.transaction() as tx:
            account = await self._own_account(tx.conn, caller)
            withdrawn = await repository.withdraw_consents(
                tx.conn, purpose=purpose, account_id=account.id
            )
            deleted = await repository.delete_template(tx.conn, account.id)
            closed = []
            if account.member_id is not None:
                for session in await repository.open_sessions_of_member(tx.conn, account.member_id):
                    closed.append(session)
                    await repository.update_session(tx.conn, session.id, withdrawn_session())
            if not (withdrawn or deleted or closed):
                raise NotFound("Không có sự đồng ý nào đang có hiệu lực.", code="consent_not_found")
            await tx.outbox.add(
                events.consent_withdrawn(
                    account_id=account.id,
                    member_id=account.member_id,
                    purpose=purpose,
                    withdrawn_at=self.now(),
                )
            )
        for session in closed:
            await delete_images(
                self.database, self.components.store, session.id, session.image_keys
            )

    # -- administration -----------------------------------------------------------------------

    async def _require_scope(
        self, conn: asyncpg.Connection, caller: Principal, member_id: uuid.UUID | None
    ) -> None:
        if caller.is_system_admin:
            return
        if Role.COMMITTEE_ADMIN not in caller.roles or caller.organization_id is None:
            raise Forbidden()
        member = await repository.get_member(conn, member_id) if member_id else None
        if member is None or not await repository.organization_within(
            conn, member.organization_id, caller.organization_id
        ):
            raise AccountOutOfScope()

    async def account_of_member(
        self, caller: Principal, member_id: uuid.UUID
    ) -> AccountView | None:
        async with self.database.transaction() as tx:
            if await repository.get_member(tx.conn, member_id) is None:
                raise member_not_found()
            await self._require_scope(tx.conn, caller, member_id)
            account = await repository.account_by_member(tx.conn, member_id)
            await audit_read(
                tx.conn,
                caller,
                action="account.read",
                subject_type="member",
                subject_ids=[member_id],
                purpose="account_administration",
            )
            return await self._view(tx.conn, account) if account else None

    async def reset_password(self, caller: Principal, account_id: uuid.UUID) -> TemporaryPassword:
        """A committee admin's reset: a temporary password, valid a few days, to be changed at
        the next sign-in; every session of the account ends."""
        temporary = passwords.temporary_password()
        temporary_hash = await asyncio.to_thread(passwords.hash_password, temporary)
        expires_at = self.now() + timedelta(hours=self.settings.temporary_password_ttl_h)
        async with self.database.transaction() as tx:
            account = await repository.get_account(tx.conn, account_id, for_update=True)
            if account is None:
                raise account_not_found()
            await self._require_scope(tx.conn, caller, account.member_id)
            await repository.set_password(
                tx.conn, account.id, temporary_hash, temporary_until=expires_at
            )
            await repository.revoke_account_tokens(tx.conn, account.id)
            await repository.clear_limits(tx.conn, [self.rules.per_account.key(str(account.id))])
        return TemporaryPassword(temporary, expires_at)

    async def grant(self, caller: Principal, account_id: uuid.UUID, grant: Grant) -> AccountView:
        if not caller.is_system_admin:
            raise Forbidden("Chỉ quản trị hệ thống mới cấp được quyền.", code="system_admin_only")
        async with self.database.transaction() as tx:
            account = await repository.get_account(tx.conn, account_id)
            if account is None:
                raise account_not_found()
            if grant.organization_id is not None and (
                await repository.get_organization(tx.conn, grant.organization_id) is None
            ):
                raise NotFound("Không tìm thấy tổ chức đảng.", code="organization_not_found")
            await repository.put_grant(tx.conn, account.id, grant, granted_by=caller.subject)
            return await self._view(tx.conn, account)

    async def revoke_grant(self, caller: Principal, account_id: uuid.UUID, role: Role) -> None:
        if not caller.is_system_admin:
            raise Forbidden(
                "Chỉ quản trị hệ thống mới thu hồi được quyền.", code="system_admin_only"
            )
        async with self.database.transaction() as tx:
            if not await repository.delete_grant(tx.conn, account_id, role):
                raise NotFound("Tài khoản không có quyền này.", code="grant_not_found")
            await repository.revoke_account_tokens(tx.conn, account_id)

    async def bootstrap_admin(self, phone: str, password: str) -> bool:
        """Creates the first system administrator (a staff account signing in by phone) when
        there is none yet. True when it did."""
        normalised = normalise_phone(phone)
        if normalised is None:
            raise ValueError("IDENTITY_BOOTSTRAP_ADMIN_PHONE is not a phone number")
        passwords.check_policy(password)
        password_hash = await asyncio.to_thread(passwords.hash_password, password)
        async with self.database.transaction() as tx:
            await tx.conn.execute("LOCK TABLE role_grants IN SHARE ROW EXCLUSIVE MODE")
            if await repository.any_system_admin(tx.conn):
                return False
            account = await repository.account_by_phone(tx.conn, normalised)
            if account is None:
                account = await repository.insert_account(
                    tx.conn,
                    account_id=uuid.uuid4(),
                    member_id=None,
                    phone=normalised,
                    password_hash=password_hash,
                )
            await repository.put_grant(
                tx.conn, account.id, Grant(Role.SYSTEM_ADMIN), granted_by="bootstrap"
            )
        return True


async def delete_images(
    database: Database, store: BlobStore, session_id: uuid.UUID, keys: Sequence[str]
) -> bool:
    """Deletes a session's images, then forgets their keys; False if that failed. Called after
    the decision is committed; what fails is deleted by the retention task (keys stay listed)."""
    if not keys:
        return True
    try:
        for key in keys:
            await store.delete(key)
    except Exception as exc:
        logger.warning("image deletion failed, retried later", extra={"error": repr(exc)})
        return False
    async with database.transaction() as tx:
        await repository.update_session(tx.conn, session_id, {"image_keys": []})
    return True


def withdrawn_session() -> dict[str, object]:
    """The changes that close a session whose consent was withdrawn: nothing personal stays."""
    return {
        "state": "decided",
        "outcome": "withdrawn",
        "password_hash": None,
        "card_reading": None,
        "portrait_template": None,
        "selfie_template": None,
        "decided_at": utc_now(),
        "decided_by": "consent_withdrawn",
    }
