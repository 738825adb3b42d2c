"""The audio use cases: who may hear what, files and their states, a stream that follows a
render in progress, and re-renders with another voice."""

import asyncio
import uuid
from dataclasses import dataclass

import pytest

from sotay_common.auth import Principal, Role
from sotay_common.consumer import Outcome
from sotay_common.db import Database
from sotay_common.errors import ValidationFailed
from sotay_common.events.content import DocumentKind
from sotay_devstack.pytest_plugin import FreshSchema
from sotay_voice import repository
from sotay_voice.encode import AudioFormat
from sotay_voice.profiles import VoiceProfile
from sotay_voice.service import (
    AudioFailed,
    AudioNotFound,
    AudioNotReady,
    AudioOutOfScope,
    AudioService,
    RenderManagersOnly,
)
from sotay_voice.studio import Studio
from sotay_voice.worker import RenderWorker
from tests.voice.support import NEWS, REGULATION, Consumers, archived, organization, published


@dataclass
class Tree:
    province: uuid.UUID
    district: uuid.UUID
    cell_a: uuid.UUID
    cell_b: uuid.UUID


@pytest.fixture
async def tree(consumers: Consumers) -> Tree:
    tree = Tree(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    await consumers.deliver(organization(tree.province, None))
    await consumers.deliver(organization(tree.district, tree.province))
    await consumers.deliver(organization(tree.cell_a, tree.district))
    await consumers.deliver(organization(tree.cell_b, tree.province))
    return tree


def member(org: uuid.UUID) -> Principal:
    return Principal(subject=f"m-{org}", roles=frozenset({Role.MEMBER}), organization_id=org)


def committee_admin(org: uuid.UUID) -> Principal:
    return Principal(
        subject=f"a-{org}",
        roles=frozenset({Role.COMMITTEE_ADMIN, Role.MEMBER}),
        organization_id=org,
    )


ROOT = Principal(subject="root", roles=frozenset({Role.SYSTEM_ADMIN}))


async def test_a_scoped_document_is_heard_in_its_subtree_and_by_managers_above(
    database: Database, studio: Studio, consumers: Consumers, tree: Tree
) -> None:
    event = published(scope_org=tree.district, ancestors=[tree.province])
    await consumers.deliver(event)
    service = AudioService(database, studio)
    for caller in (
        member(tree.cell_a),
        member(tree.district),
        committee_admin(tree.province),
        ROOT,
    ):
        state = await service.state(caller, event.document_id)
        assert state.render.status == "pending"
    for outsider in (member(tree.cell_b), member(tree.province), member(uuid.uuid4())):
        with pytest.raises(AudioOutOfScope):
            await service.state(outsider, event.document_id)
    everyone = published(NEWS, kind=DocumentKind.ANNOUNCEMENT)
    await consumers.deliver(everyone)
    assert await service.state(member(uuid.uuid4()), everyone.document_id)
    with pytest.raises(AudioNotFound):
        await service.state(ROOT, uuid.uuid4())


async def test_files_are_served_only_once_rendered_and_not_after_archiving(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    good, broken = published(REGULATION), published(NEWS, kind=DocumentKind.NEWS)
    await consumers.deliver(good)
    await consumers.deliver(broken)
    service = AudioService(database, studio)
    with pytest.raises(AudioNotReady):
        await service.stored_audio(ROOT, good.document_id, AudioFormat.OPUS)
    worker = RenderWorker(database, studio)
    while await worker.run_next():
        pass
    stored = await service.stored_audio(ROOT, good.document_id, AudioFormat.MP3)
    assert stored.content_type == "audio/mpeg"
    whole = b"".join([block async for block in service.read(stored.key, 0, stored.size - 1)])
    assert whole == await studio.audio_store.get(stored.key)
    assert b"".join([b async for b in service.read(stored.key, 10, 19)]) == whole[10:20]
    with pytest.raises(AudioFailed):
        await service.stored_audio(ROOT, broken.document_id, AudioFormat.OPUS)
    await consumers.deliver(archived(good.document_id))
    with pytest.raises(AudioNotFound):
        await service.stored_audio(ROOT, good.document_id, AudioFormat.OPUS)


async def test_the_stream_plays_a_render_in_progress_and_ends_with_the_whole_file(
    fresh_database: FreshSchema, studio: Studio
) -> None:
    database = fresh_database.database
    consumers = Consumers(database, studio)
    long_text = "\n".join([REGULATION] * 4)
    event = published(long_text)
    assert await consumers.deliver(event) is Outcome.PROCESSED
    service = AudioService(database, studio)
    stream = await service.stream(ROOT, event.document_id, AudioFormat.OPUS)
    assert stream.status == "pending"
    worker = asyncio.create_task(RenderWorker(database, studio).run_next())
    received = bytearray()
    statuses_at_arrival = []
    async for block in stream.body:
        if not received:
            state = await service.state(ROOT, event.document_id)
            statuses_at_arrival.append(state.render.status)
        received += block
    assert await worker
    stored = await service.stored_audio(ROOT, event.document_id, AudioFormat.OPUS)
    assert bytes(received) == await studio.audio_store.get(stored.key)
    assert statuses_at_arrival == ["running"]  # playback started before the render ended


async def test_an_administrator_re_renders_with_another_voice_once(
    database: Database, studio: Studio, consumers: Consumers, tree: Tree
) -> None:
    event = published(scope_org=tree.district, ancestors=[tree.province])
    await consumers.deliver(event)
    worker = RenderWorker(database, studio)
    await worker.run_next()
    service = AudioService(database, studio)
    before = await service.state(ROOT, event.document_id)
    faster = VoiceProfile(rate=1.4)
    state = await service.request_render(committee_admin(tree.province), event.document_id, faster)
    assert state.render.id != before.render.id
    assert (state.render.status, state.render.spec["rate"]) == ("pending", 1.4)
    again = await service.request_render(ROOT, event.document_id, faster)
    assert again.render.id == state.render.id
    back = await service.request_render(ROOT, event.document_id, VoiceProfile(rate=1.0))
    assert (back.render.id, back.render.status) == (before.render.id, "succeeded")
    with pytest.raises(RenderManagersOnly):
        await service.request_render(member(tree.cell_a), event.document_id, faster)
    with pytest.raises(RenderManagersOnly):
        await service.request_render(committee_admin(tree.cell_b), event.document_id, faster)
    with pytest.raises(ValidationFailed) as missing:
        await service.request_render(
            ROOT, event.document_id, VoiceProfile(engine="piper", voice="vi_VN-none")
        )
    assert missing.value.errors[0].code == "voice_not_found"
    async with database.connection() as conn:
        document = await repository.get_document(conn, event.document_id)
    assert document is not None
    assert document.render_id == before.render.id
