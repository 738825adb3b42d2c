"""Events: what a published version puts on the wire, and the organisation events consumed into
the read model, in memory (FastStream's TestKafkaBroker) and through the real broker."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from sotay_common.events import EventEnvelope, topics
from sotay_common.events.content import INLINE_TEXT_LIMIT_BYTES, DocumentPublishedV1
from sotay_common.events.members import (
    OrganizationCreatedV1,
    OrganizationStatus,
    OrganizationType,
    OrganizationUpdatedV1,
)
from sotay_content import events, repository
from sotay_content.domain import DocumentContent, PublishedVersion
from sotay_content.publication import render
from sotay_content.regulations import rebuild_tree
from sotay_devstack.pytest_plugin import FreshSchema
from sotay_devstack.testenv import ServersForTests
from tests.brokers import handled_events, running, service_consumer
from tests.content.support import CHARTER, many_articles


def published_version(body: str, body_format: str = "text") -> PublishedVersion:
    content = DocumentContent(
        kind=CHARTER.kind,
        title=CHARTER.title,
        summary=None,
        number=None,
        issuing_body=CHARTER.issuer,
        issued_on=CHARTER.issued_on,
        language="vi",
        tags=CHARTER.tags,
        scope_org_id=None,
        body_format=body_format,
        body=body,
    )
    return PublishedVersion(
        document_id=uuid.uuid4(),
        version=4,
        content=content,
        scope_ancestor_ids=[],
        rendition=render(content),
        text_ref=None,
        published_by="root",
        published_at=datetime.now(UTC),
    )


def test_a_published_event_round_trips_with_its_structure() -> None:
    version = published_version(CHARTER.body)
    event = events.document_published(version)

    assert events.fits_inline(event)
    decoded = DocumentPublishedV1.model_validate_json(event.to_json_bytes())
    assert decoded == event
    assert decoded.text is not None
    assert decoded.structure is not None
    assert rebuild_tree(decoded.text, decoded.structure).flat_nodes() == decoded.structure
    assert (decoded.version, decoded.tags, decoded.scope.organization_id) == (
        4,
        list(CHARTER.tags),
        None,
    )


def test_a_text_goes_by_reference_when_the_event_would_be_too_large() -> None:
    # The text alone is under the inline limit; with its 6,000 nodes the event is not.
    version = published_version(
        many_articles(5, "Đảng viên thực hiện nghiêm quy định của chi bộ và nghị quyết.")
    )
    assert len(version.rendition.plain_text.encode()) < INLINE_TEXT_LIMIT_BYTES
    inline = events.document_published(version)
    assert not events.fits_inline(inline)

    key = events.text_object_key(version.document_id, version.version)
    by_reference = events.document_published(version, text_ref=key)
    assert (by_reference.text, by_reference.text_ref) == (None, key)
    assert by_reference.text_length == len(version.rendition.plain_text)
    assert events.fits(by_reference)


def snapshot(
    org_id: uuid.UUID,
    parent: tuple[uuid.UUID, list[uuid.UUID]] | None,
    *,
    version: int = 1,
    name: str = "Đảng bộ",
) -> dict[str, Any]:
    return {
        "organization_id": org_id,
        "version": version,
        "code": org_id.hex[:8],
        "name": name,
        "type": OrganizationType.GRASSROOTS_COMMITTEE,
        "parent_id": parent[0] if parent else None,
        "ancestor_ids": [*parent[1], parent[0]] if parent else [],
        "status": OrganizationStatus.ACTIVE,
        "occurred_at": datetime.now(UTC),
    }


@pytest.mark.parametrize("in_memory", [True, False], ids=["in-memory", "real-broker"])
async def test_organisation_events_build_the_tree_read_model(
    in_memory: bool, fresh_database: FreshSchema, test_servers: ServersForTests
) -> None:
    topic = topics.MEMBERS_ORGANIZATION
    [definition] = events.CONSUMERS
    broker, consumer = await service_consumer(
        definition,
        fresh_database.database,
        test_servers.kafka_bootstrap,
        in_memory=in_memory,
        topics=[topic],
    )
    province, district, commune, block = (uuid.uuid4() for _ in range(4))
    created: list[OrganizationCreatedV1 | OrganizationUpdatedV1] = [
        OrganizationCreatedV1(**snapshot(province, None)),
        OrganizationCreatedV1(**snapshot(block, None)),
        OrganizationCreatedV1(**snapshot(district, (province, []))),
        OrganizationCreatedV1(**snapshot(commune, (district, [province]))),
    ]
    moved = OrganizationUpdatedV1(
        **snapshot(district, (block, []), version=2),
        changed_fields=["ancestor_ids", "parent_id"],
    )
    sent_ids: set[uuid.UUID] = set()
    async with running(broker, in_memory) as live:

        async def publish(event: OrganizationCreatedV1 | OrganizationUpdatedV1) -> None:
            headers = EventEnvelope.for_event(event, source="/services/members").headers()
            sent_ids.add(uuid.UUID(headers["ce_id"]))
            await live.publish(
                event.to_json_bytes(), topic, key=event.aggregate_id.encode(), headers=headers
            )
            if event is moved:  # delivered twice
                await live.publish(
                    event.to_json_bytes(), topic, key=event.aggregate_id.encode(), headers=headers
                )

        for event in [*created, moved]:
            await publish(event)
        await publish(
            OrganizationUpdatedV1(  # a stale snapshot arriving late
                **snapshot(district, (province, []), version=1, name="Cũ"),
                changed_fields=["name"],
            )
        )
        handled = await handled_events(fresh_database.database, consumer.group, [*sent_ids], 6)
        async with fresh_database.database.connection() as conn:
            district_row = await repository.get_organization(conn, district)
            commune_row = await repository.get_organization(conn, commune)

    assert handled == 6  # four creations, the move once, the stale snapshot
    assert commune_row is not None
    assert commune_row.ancestor_ids == [block, district]
    assert district_row is not None
    assert (district_row.version, district_row.name, district_row.ancestor_ids) == (
        2,
        "Đảng bộ",
        [block],
    )
