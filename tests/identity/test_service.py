"""Accounts on the service layer: sign-in with lockout, claims from the read model, password
reset by a committee admin, staff grants, consent withdrawal, the first system admin."""

import json
import uuid
from typing import Any

import asyncpg
import pytest

from sotay_common.auth import Principal, Role
from sotay_common.errors import AppError
from sotay_common.events.members import MemberStatus, Position
from sotay_identity import passwords, repository
from sotay_identity.components import Components
from sotay_identity.consent import EKYC_BIOMETRIC
from sotay_identity.matching import MemberRecord
from sotay_identity.repository import Account
from sotay_identity.roles import Grant
from sotay_identity.service import AccountsService
from tests.identity.conftest import Clock, with_settings
from tests.identity.support.registration import Tree, add_member

PASSWORD = "Trăng rằm tháng Tám"
CLIENT = "192.0.2.10"


async def member_account(
    conn: asyncpg.Connection, org: Any, *, phone: str | None = None, **member: Any
) -> tuple[MemberRecord, Account]:
    record = await add_member(conn, org, **member)
    account = await repository.insert_account(
        conn,
        account_id=uuid.uuid4(),
        member_id=record.member_id,
        phone=phone,
        password_hash=passwords.hash_password(PASSWORD),
    )
    return record, account


def caller_of(account: Account, *roles: Role, org: uuid.UUID | None = None) -> Principal:
    return Principal(
        subject=str(account.id),
        roles=frozenset(roles or {Role.MEMBER}),
        organization_id=org,
        member_id=account.member_id,
    )


def committee_admin(org_id: uuid.UUID) -> Principal:
    return Principal(
        subject="admin", roles=frozenset({Role.COMMITTEE_ADMIN}), organization_id=org_id
    )


async def code_of(call: Any) -> str:
    with pytest.raises(AppError) as refused:
        await call
    return refused.value.code


async def test_a_member_signs_in_by_card_number_or_phone_with_claims_from_the_record(
    accounts: AccountsService, components: Components, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, account = await member_account(conn, tree.cell, phone="0912345678")
    verifier = components.keys.verifier()

    by_card = await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)
    by_phone = await accounts.login("+84 912 345 678", PASSWORD, client=CLIENT)

    for signed_in in (by_card, by_phone):
        principal = await verifier.verify(signed_in.tokens.access_token)
        assert (principal.subject, principal.roles) == (str(account.id), frozenset({Role.MEMBER}))
        assert (principal.organization_id, principal.member_id) == (
            tree.cell.id,
            member.member_id,
        )
        assert signed_in.tokens.expires_in == components.settings.access_token_ttl_s
        assert not signed_in.password_change_required


async def test_wrong_password_and_unknown_login_get_the_same_answer(
    accounts: AccountsService, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, _ = await member_account(conn, tree.cell)

    wrong = await code_of(accounts.login(member.party_card_number, "sai mật khẩu", client=CLIENT))
    unknown = await code_of(accounts.login("999999999999", PASSWORD, client=CLIENT))
    nonsense = await code_of(accounts.login("không phải số", PASSWORD, client=CLIENT))

    assert wrong == unknown == nonsense == "invalid_credentials"


async def test_repeated_failures_lock_the_login_even_for_the_right_password(
    database: Any, components: Components, clock: Clock, tree: Tree, conn: asyncpg.Connection
) -> None:
    accounts = AccountsService(
        database, with_settings(components, login_failures_per_login=3), now=clock
    )
    member, _ = await member_account(conn, tree.cell)
    card = member.party_card_number
    for _ in range(3):
        assert await code_of(accounts.login(card, "sai", client=CLIENT)) == "invalid_credentials"

    with pytest.raises(AppError) as locked:
        await accounts.login(card, "sai", client=CLIENT)
    assert (locked.value.status, locked.value.code) == (429, "login_locked")
    assert 0 < locked.value.extra["retry_after_s"] <= components.settings.login_lockout_s
    assert await code_of(accounts.login(card, PASSWORD, client=CLIENT)) == "login_locked"
    # the lock is on the login, not on other members signing in from the same address
    other, _ = await member_account(conn, tree.cell)
    assert await accounts.login(other.party_card_number, PASSWORD, client=CLIENT)


async def test_a_success_clears_the_failures_of_the_login(
    database: Any, components: Components, clock: Clock, tree: Tree, conn: asyncpg.Connection
) -> None:
    accounts = AccountsService(
        database, with_settings(components, login_failures_per_login=2), now=clock
    )
    member, _ = await member_account(conn, tree.cell)
    card = member.party_card_number
    for _ in range(2):
        await code_of(accounts.login(card, "sai", client=CLIENT))
        await accounts.login(card, PASSWORD, client=CLIENT)

    assert await code_of(accounts.login(card, "sai", client=CLIENT)) == "invalid_credentials"


async def test_roles_come_from_positions_and_grants(
    accounts: AccountsService, components: Components, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, account = await member_account(conn, tree.cell, positions=(Position.SECRETARY,))
    verifier = components.keys.verifier()

    secretary = await verifier.verify(
        (
            await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)
        ).tokens.access_token
    )
    assert (secretary.roles, secretary.organization_id) == (
        frozenset({Role.MEMBER, Role.CELL_SECRETARY}),
        tree.cell.id,
    )

    root = Principal(subject="root", roles=frozenset({Role.SYSTEM_ADMIN}))
    await accounts.grant(root, account.id, Grant(Role.COMMITTEE_ADMIN, tree.district.id))
    admin = await verifier.verify(
        (
            await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)
        ).tokens.access_token
    )
    assert admin.roles == {Role.MEMBER, Role.CELL_SECRETARY, Role.COMMITTEE_ADMIN}
    assert admin.organization_id == tree.district.id


async def test_only_a_system_admin_grants_roles(
    accounts: AccountsService, tree: Tree, conn: asyncpg.Connection
) -> None:
    _, account = await member_account(conn, tree.cell)

    code = await code_of(
        accounts.grant(
            committee_admin(tree.province.id), account.id, Grant(Role.SYSTEM_ADMIN, None)
        )
    )

    assert code == "system_admin_only"


async def test_a_member_who_left_can_no_longer_sign_in(
    accounts: AccountsService, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, _ = await member_account(conn, tree.cell, status=MemberStatus.TRANSFERRED_OUT)

    assert (
        await code_of(accounts.login(member.party_card_number, PASSWORD, client=CLIENT))
        == "account_disabled"
    )


async def test_a_committee_admin_resets_a_password_in_their_subtree_only(
    accounts: AccountsService, clock: Clock, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, account = await member_account(conn, tree.cell)
    old = await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)

    assert (
        await code_of(accounts.reset_password(committee_admin(tree.other_district.id), account.id))
        == "account_out_of_scope"
    )
    temporary = await accounts.reset_password(committee_admin(tree.district.id), account.id)

    assert await code_of(accounts.refresh(old.tokens.refresh_token)) == "refresh_token_invalid"
    signed_in = await accounts.login(member.party_card_number, temporary.password, client=CLIENT)
    assert signed_in.password_change_required
    await accounts.change_password(caller_of(account), temporary.password, "Mật khẩu mới 2025")
    renewed = await accounts.login(member.party_card_number, "Mật khẩu mới 2025", client=CLIENT)
    assert not renewed.password_change_required
    clock.advance(hours=1000)  # the temporary password is long gone, the new one stays
    assert await accounts.login(member.party_card_number, "Mật khẩu mới 2025", client=CLIENT)


async def test_an_unused_temporary_password_expires(
    accounts: AccountsService, clock: Clock, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, account = await member_account(conn, tree.cell)
    temporary = await accounts.reset_password(committee_admin(tree.province.id), account.id)
    clock.advance(hours=accounts.settings.temporary_password_ttl_h + 1)

    code = await code_of(
        accounts.login(member.party_card_number, temporary.password, client=CLIENT)
    )

    assert code == "temporary_password_expired"


async def test_reading_a_members_account_is_audited(
    accounts: AccountsService, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, account = await member_account(conn, tree.cell)
    admin = committee_admin(tree.commune.id)

    view = await accounts.account_of_member(admin, member.member_id)

    assert view is not None
    assert view.account.id == account.id
    [entry] = await repository.audit_entries(conn, "member", str(member.member_id))
    assert (entry.actor, entry.action, entry.purpose) == (
        "admin",
        "account.read",
        "account_administration",
    )
    assert await code_of(accounts.account_of_member(admin, uuid.uuid4())) == "member_not_found"


async def test_withdrawing_consent_deletes_the_template_and_tells_the_other_systems(
    accounts: AccountsService, components: Components, tree: Tree, conn: asyncpg.Connection
) -> None:
    member, account = await member_account(conn, tree.cell)
    await repository.put_template(conn, account.id, components.sealer.seal(b"x" * 512, "t"))
    consent = await repository.insert_consent(
        conn, purpose=EKYC_BIOMETRIC, text_version="2025-07-01", session_id=uuid.uuid4()
    )
    assert consent.session_id is not None
    await repository.attach_consents(conn, consent.session_id, account.id)

    await accounts.withdraw_consent(caller_of(account), EKYC_BIOMETRIC)

    assert await repository.get_template(conn, account.id) is None
    [stored] = await repository.consents_of(conn, account.id)
    assert stored.withdrawn_at is not None
    rows = await conn.fetch("SELECT payload FROM outbox WHERE event_type = 'consent.withdrawn.v1'")
    payload = json.loads(bytes(rows[0]["payload"]))
    assert (payload["account_id"], payload["member_id"], payload["purpose"]) == (
        str(account.id),
        str(member.member_id),
        EKYC_BIOMETRIC,
    )
    assert (
        await code_of(accounts.withdraw_consent(caller_of(account), EKYC_BIOMETRIC))
        == "consent_not_found"
    )


async def test_the_first_system_admin_is_created_once(
    accounts: AccountsService, components: Components, conn: asyncpg.Connection
) -> None:
    await conn.execute("DELETE FROM role_grants WHERE role = 'system_admin'")

    assert await accounts.bootstrap_admin("0987654321", "Quản trị viên 01")
    assert not await accounts.bootstrap_admin("0987654321", "Quản trị viên 01")

    signed_in = await accounts.login("0987654321", "Quản trị viên 01", client=CLIENT)
    principal = await components.keys.verifier().verify(signed_in.tokens.access_token)
    assert (principal.roles, principal.member_id) == (frozenset({Role.SYSTEM_ADMIN}), None)
