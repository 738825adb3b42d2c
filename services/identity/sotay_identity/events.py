"""The events the identity service publishes, and its consumer: the read model of members and
organisations built from the members service's events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sotay_common.consumer import HandlerContext, Subscription
from sotay_common.events import Event
from sotay_common.events.identity import ConsentWithdrawnV1, MemberVerifiedV1, VerificationScores
from sotay_common.events.members import (
    MemberCreatedV1,
    MemberTransferredV1,
    MemberUpdatedV1,
    OrganizationCreatedV1,
    OrganizationUpdatedV1,
)
from sotay_common.org_tree import apply_snapshot
from sotay_common.runtime import ConsumerDefinition
from sotay_identity import repository
from sotay_identity.matching import MemberRecord
from sotay_identity.roles import ACTIVE_STATUSES

PUBLISHES: Sequence[type[Event]] = (MemberVerifiedV1, ConsentWithdrawnV1)

READ_MODEL_GROUP = "identity.member-read-model"


def member_verified(
    *,
    account_id: uuid.UUID,
    member_id: uuid.UUID,
    method: str,
    scores: VerificationScores,
    verified_at: datetime,
) -> MemberVerifiedV1:
    return MemberVerifiedV1(
        account_id=account_id,
        member_id=member_id,
        method=method,
        scores=scores,
        verified_at=verified_at,
    )


def consent_withdrawn(
    *, account_id: uuid.UUID, member_id: uuid.UUID | None, purpose: str, withdrawn_at: datetime
) -> ConsentWithdrawnV1:
    return ConsentWithdrawnV1(
        account_id=account_id, member_id=member_id, purpose=purpose, withdrawn_at=withdrawn_at
    )


async def on_organization(
    ctx: HandlerContext, event: OrganizationCreatedV1 | OrganizationUpdatedV1
) -> None:
    """The newest snapshot of each organisation wins; a move re-derives the ancestry below."""
    await apply_snapshot(ctx.tx.conn, event, extra={"type": event.type.value})


async def on_member(ctx: HandlerContext, event: MemberCreatedV1 | MemberUpdatedV1) -> None:
    """The newest snapshot of each member wins. A member who no longer takes part (expelled,
    deceased, transferred out) loses their sessions: refresh tokens are revoked."""
    applied = await repository.upsert_member(
        ctx.tx.conn,
        MemberRecord(
            member_id=event.member_id,
            version=event.version,
            organization_id=event.organization_id,
            full_name=event.full_name,
            date_of_birth=event.date_of_birth,
            party_card_number=event.party_card_number,
            status=event.status,
            admission_date=event.admission_date,
            official_date=event.official_date,
            positions=tuple(event.positions),
            photo_ref=event.photo_ref,
        ),
    )
    if applied and event.status not in ACTIVE_STATUSES:
        account = await repository.account_by_member(ctx.tx.conn, event.member_id)
        if account is not None:
            await repository.revoke_account_tokens(ctx.tx.conn, account.id)


async def on_member_transferred(ctx: HandlerContext, event: MemberTransferredV1) -> None:
    await repository.apply_transfer(
        ctx.tx.conn,
        event.member_id,
        version=event.version,
        organization_id=event.to_organization_id,
        positions=event.positions,
    )


def consumers(group: str = READ_MODEL_GROUP) -> list[ConsumerDefinition]:
    """One group for both topics (the group name is a setting so that deployments, or tests,
    sharing one Kafka keep their offsets apart)."""
    return [
        ConsumerDefinition(
            group,
            [
                Subscription(OrganizationCreatedV1, on_organization),
                Subscription(OrganizationUpdatedV1, on_organization),
                Subscription(MemberCreatedV1, on_member),
                Subscription(MemberUpdatedV1, on_member),
                Subscription(MemberTransferredV1, on_member_transferred),
            ],
        )
    ]
