"""`python -m sotay_identity` serves the API; `python -m sotay_identity grant ...` gives a staff
role to an account (the first system admin can also come from IDENTITY_BOOTSTRAP_ADMIN_*)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Sequence

from sotay_common.auth import Role
from sotay_common.db import connect
from sotay_common.serve import serve
from sotay_identity import repository
from sotay_identity.logins import parse_login
from sotay_identity.roles import Grant
from sotay_identity.settings import IdentitySettings


async def grant(login: str, role: Role, organization_id: uuid.UUID | None) -> str:
    settings = IdentitySettings()
    conn = await connect(settings.database_url.get_secret_value(), settings.db_schema)
    try:
        parsed = parse_login(login)
        account = None
        if parsed is not None and parsed.kind == "phone":
            account = await repository.account_by_phone(conn, parsed.value)
        elif parsed is not None:
            member = await repository.member_by_card_number(conn, parsed.value)
            account = await repository.account_by_member(conn, member.member_id) if member else None
        if account is None:
            return f"no account signs in with {login!r}"
        await repository.put_grant(
            conn, account.id, Grant(role, organization_id), granted_by="command-line"
        )
        return f"{role.value} granted to account {account.id}"
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        serve("sotay_identity.app:create_app", IdentitySettings())
        return
    parser = argparse.ArgumentParser(prog="python -m sotay_identity")
    commands = parser.add_subparsers(dest="command", required=True)
    grant_parser = commands.add_parser("grant", help="give a staff role to an account")
    grant_parser.add_argument("login", help="the account's card number or phone number")
    grant_parser.add_argument("role", choices=["committee_admin", "system_admin"])
    grant_parser.add_argument("--organization", type=uuid.UUID, help="committee_admin's scope")
    options = parser.parse_args(args)
    role = Role(options.role)
    if (role is Role.COMMITTEE_ADMIN) != (options.organization is not None):
        parser.error("committee_admin needs --organization; system_admin takes none")
    print(asyncio.run(grant(options.login, role, options.organization)))


if __name__ == "__main__":
    main()
