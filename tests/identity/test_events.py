"""The read model of members and organisations built from the members service's events, in
memory (FastStream's TestKafkaBroker) and through the real broker: idempotent, stale versions
ignored, moves and transfers followed, a member who leaves loses their sessions."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from faststream.kafka import KafkaBroker

from sotay_common.consumer import EventConsumer, Outcome, Record
from sotay_common.db import Database
from sotay_common.events import Event, EventEnvelope, topics
from sotay_common.events.members import (
    MemberCreatedV1,
    MemberStatus,
    MemberTransferredV1,
    MemberUpdatedV1,
    OrganizationCreatedV1,
    OrganizationStatus,
    OrganizationType,
    Position,
)
from sotay_common.kafka import BrokerSender
from sotay_common.metrics import Metrics
from sotay_devstack.pytest_plugin import FreshSchema
from sotay_devstack.testenv import ServersForTests
from sotay_identity import events, passwords, repository
from sotay_identity.tokens import new_refresh_token
from tests.brokers import handled_events, running, service_consumer


def organization(
    org_id: uuid.UUID, name: str, kind: OrganizationType, parent: Any = None
) -> OrganizationCreatedV1:
    return OrganizationCreatedV1(
        organization_id=org_id,
        version=1,
        code=org_id.hex[:8],
        name=name,
        type=kind,
        parent_id=parent.organization_id if parent else None,
        ancestor_ids=[*parent.ancestor_ids, parent.organization_id] if parent else [],
        status=OrganizationStatus.ACTIVE,
        occurred_at=datetime.now(UTC),
    )


def member_fields(member_id: uuid.UUID, org_id: uuid.UUID, version: int, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "member_id": member_id,
        "version": version,
        "organization_id": org_id,
        "full_name": "Lò Thị Hoà",
        "date_of_birth": date(1988, 1, 30),
        "party_card_number": "201234567890",
        "status": MemberStatus.OFFICIAL,
        "admission_date": date(2012, 5, 1),
        "official_date": date(2013, 5, 1),
        "positions": [],
        "occurred_at": datetime.now(UTC),
    }
    return values | changes


def test_the_read_model_group_subscribes_to_both_member_topics() -> None:
    [definition] = events.consumers("identity.test")
    assert definition.group == "identity.test"
    subscribed = {s.event.event_type: s.event.topic for s in definition.subscriptions}
    assert subscribed == {
        "organization.created.v1": topics.MEMBERS_ORGANIZATION,
        "organization.updated.v1": topics.MEMBERS_ORGANIZATION,
        "member.created.v1": topics.MEMBERS_MEMBER,
        "member.updated.v1": topics.MEMBERS_MEMBER,
        "member.transferred.v1": topics.MEMBERS_MEMBER,
    }
    assert {e.event_type for e in events.PUBLISHES} == {
        "member.verified.v1",
        "consent.withdrawn.v1",
    }


@pytest.mark.parametrize("in_memory", [True, False], ids=["in-memory", "real-broker"])
async def test_member_events_build_the_read_model(
    in_memory: bool, fresh_database: FreshSchema, test_servers: ServersForTests
) -> None:
    [definition] = events.consumers()
    broker, consumer = await service_consumer(
        definition,
        fresh_database.database,
        test_servers.kafka_bootstrap,
        in_memory=in_memory,
        topics=[topics.MEMBERS_ORGANIZATION, topics.MEMBERS_MEMBER],
    )
    province = organization(
        uuid.uuid4(), "Đảng bộ tỉnh Hòa Bình", OrganizationType.PROVINCE_COMMITTEE
    )
    cell = organization(uuid.uuid4(), "Chi bộ bản Lác", OrganizationType.CELL, province)
    other_cell = organization(uuid.uuid4(), "Chi bộ bản Vó", OrganizationType.CELL, province)
    member_id = uuid.uuid4()
    renamed = MemberUpdatedV1(
        **member_fields(member_id, cell.organization_id, 2, full_name="Lò Thị Hòa"),
        changed_fields=["full_name"],
    )
    stale = MemberUpdatedV1(  # version 1 arriving after version 2
        **member_fields(member_id, cell.organization_id, 1, full_name="Cũ"),
        changed_fields=["full_name"],
    )
    transferred = MemberTransferredV1(
        member_id=member_id,
        version=3,
        from_organization_id=cell.organization_id,
        to_organization_id=other_cell.organization_id,
        effective_date=date(2025, 1, 1),
        positions=[Position.DEPUTY_SECRETARY],
        occurred_at=datetime.now(UTC),
    )
    sequence: list[Event] = [
        province,
        cell,
        other_cell,
        MemberCreatedV1(**member_fields(member_id, cell.organization_id, 1)),
        renamed,
        renamed,  # delivered twice
        stale,
        transferred,
    ]
    async with running(broker, in_memory) as live:
        envelopes: dict[int, dict[str, str]] = {}
        for event in sequence:
            headers = envelopes.setdefault(
                id(event), EventEnvelope.for_event(event, source="/services/members").headers()
            )
            await live.publish(
                event.to_json_bytes(),
                event.topic,
                key=event.aggregate_id.encode(),
                headers=headers,
            )
        sent_ids = [uuid.UUID(headers["ce_id"]) for headers in envelopes.values()]
        handled = await handled_events(fresh_database.database, consumer.group, sent_ids, 7)
        async with fresh_database.database.connection() as conn:
            member = await repository.get_member(conn, member_id)
            facts = await repository.member_facts(conn, member_id)

    assert handled == 7  # the duplicate was recognised by its event id
    assert member is not None
    assert (member.version, member.full_name, member.organization_id) == (
        3,
        "Lò Thị Hòa",
        other_cell.organization_id,
    )
    assert facts is not None
    assert (facts.organization_type, facts.positions) == (
        OrganizationType.CELL,
        (Position.DEPUTY_SECRETARY,),
    )


def record(event: Event) -> Record:
    headers = EventEnvelope.for_event(event, source="/services/members").headers()
    return Record(
        topic=event.topic,
        partition=0,
        offset=0,
        key=event.aggregate_id.encode(),
        value=event.to_json_bytes(),
        headers=[(name, value.encode()) for name, value in headers.items()],
    )


async def test_a_member_who_leaves_loses_their_refresh_tokens(
    database: Database, conn: asyncpg.Connection
) -> None:
    consumer = EventConsumer(
        group="identity.test",
        database=database,
        subscriptions=events.consumers()[0].subscriptions,
        dead_letters=BrokerSender(KafkaBroker()),
        metrics=Metrics("test"),
    )
    member_id, org_id = uuid.uuid4(), uuid.uuid4()
    created = MemberCreatedV1(**member_fields(member_id, org_id, 1))
    assert await consumer.process(record(created)) is Outcome.PROCESSED
    account = await repository.insert_account(
        conn,
        account_id=uuid.uuid4(),
        member_id=member_id,
        phone=None,
        password_hash=passwords.hash_password("Mật khẩu dài"),
    )
    _, token_hash = new_refresh_token()
    await repository.insert_refresh_token(
        conn,
        token_hash,
        family_id=uuid.uuid4(),
        account_id=account.id,
        expires_at=datetime(2100, 1, 1, tzinfo=UTC),
    )
    expelled = MemberUpdatedV1(
        **member_fields(member_id, org_id, 2, status=MemberStatus.EXPELLED),
        changed_fields=["status"],
    )

    assert await consumer.process(record(expelled)) is Outcome.PROCESSED

    revoked = await conn.fetchval(
        "SELECT revoked_at IS NOT NULL FROM refresh_tokens WHERE token_hash = $1", token_hash
    )
    assert revoked is True
