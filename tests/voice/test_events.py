"""The consumers of the voice service, through the backbone's real EventConsumer: render jobs
deduplicated by content hash and voice, archive withdrawing audio, the organisation tree."""

import uuid
from pathlib import Path

from sotay_common.consumer import Outcome
from sotay_common.db import Database
from sotay_common.events.content import DocumentKind
from sotay_common.events.voice import AudioRenderedV1, AudioWithdrawnV1
from sotay_voice import repository
from sotay_voice.encode import AudioFormat
from sotay_voice.events import audio_url
from sotay_voice.profiles import VoiceProfile
from sotay_voice.settings import VoiceSettings
from sotay_voice.studio import Studio
from sotay_voice.worker import RenderWorker
from tests.voice.support import NEWS, REGULATION, Consumers, archived, organization, published


async def renders(database: Database) -> list[repository.Render]:
    async with database.connection() as conn:
        ids = await conn.fetch("SELECT id FROM renders ORDER BY created_at, id")
        found = [await repository.get_render(conn, r["id"]) for r in ids]
    return [r for r in found if r is not None]


async def events_of(database: Database, event_type: str) -> list[bytes]:
    async with database.connection() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", event_type
        )
    return [bytes(r["payload"]) for r in rows]


async def test_the_same_content_is_rendered_once_per_voice(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    first = published(REGULATION)
    await consumers.deliver(first)
    await consumers.deliver(first)  # redelivered: the inbox drops it
    copy = published(REGULATION)  # another document with the very same text
    await consumers.deliver(copy)
    assert len(await renders(database)) == 1

    assert await RenderWorker(database, studio).run_next()
    republished = published(REGULATION, document_id=first.document_id, version=2)
    assert await consumers.deliver(republished) is Outcome.PROCESSED
    [render] = await renders(database)
    assert render.status == "succeeded"
    announced = [
        AudioRenderedV1.model_validate_json(p)
        for p in await events_of(database, "audio.rendered.v1")
    ]
    # Rendering announced both documents; the republished version was announced at once.
    assert sorted((str(e.document_id), e.version) for e in announced) == sorted(
        [(str(first.document_id), 1), (str(copy.document_id), 1), (str(first.document_id), 2)]
    )
    assert not await RenderWorker(database, studio).run_next()


async def test_another_voice_or_changed_text_renders_again(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    event = published(REGULATION)
    await consumers.deliver(event)
    await consumers.deliver(published(REGULATION + "\nĐiều 3. Hiệu lực thi hành"))
    async with database.transaction() as tx:
        await repository.insert_render(
            tx.conn,
            repository.NewRender(
                content_hash=event.content_hash,
                voice_key=studio.resolve(VoiceProfile(engine="espeak-ng", rate=1.3)).key,
                engine="espeak-ng",
                voice="vi",
                spec={},
                source_event=event.to_json_bytes(),
                source_record=None,
            ),
        )
    assert len({(r.content_hash, r.voice_key) for r in await renders(database)}) == 3


async def test_an_older_version_arriving_late_changes_nothing(
    database: Database, consumers: Consumers
) -> None:
    newer = published(REGULATION + "\nĐiều 3. Hiệu lực", version=3)
    await consumers.deliver(newer)
    await consumers.deliver(published(REGULATION, document_id=newer.document_id, version=2))
    async with database.connection() as conn:
        document = await repository.get_document(conn, newer.document_id)
    assert document is not None
    assert (document.version, document.content_hash) == (3, newer.content_hash)
    assert len(await renders(database)) == 1


async def test_a_voice_that_is_not_installed_dead_letters_the_event_at_once(
    database: Database, voice_settings: VoiceSettings, tmp_path: Path
) -> None:
    settings = voice_settings.model_copy(
        update={"kind_profiles": {"news": VoiceProfile(engine="piper", voice="vi_VN-none")}}
    )
    consumers = Consumers(database, Studio(settings))
    assert await consumers.deliver(published(NEWS, kind=DocumentKind.NEWS)) is (
        Outcome.DEAD_LETTERED
    )
    [dead] = consumers.dead_letters.records
    assert dead["topic"] == "content.document.dlq"
    assert "voice_not_found" in dead["headers"]["dlq_error"]
    assert dead["headers"]["dlq_attempts"] == "1"
    assert await renders(database) == []


async def test_archiving_withdraws_audio_no_other_document_uses(
    database: Database, studio: Studio, consumers: Consumers
) -> None:
    shared = published(REGULATION)
    sharer = published(REGULATION)
    alone = published(NEWS, kind=DocumentKind.ANNOUNCEMENT)
    for event in (shared, sharer, alone):
        await consumers.deliver(event)
    worker = RenderWorker(database, studio)
    while await worker.run_next():
        pass
    by_hash = {r.content_hash: r for r in await renders(database)}
    alone_files = by_hash[alone.content_hash].files

    await consumers.deliver(archived(alone.document_id))
    await consumers.deliver(archived(shared.document_id))
    await consumers.deliver(archived(shared.document_id, version=1))  # again: nothing new
    after = {r.content_hash: r for r in await renders(database)}
    assert after[alone.content_hash].status == "withdrawn"
    assert after[shared.content_hash].status == "succeeded"  # the sharer still plays it
    for stored in alone_files.values():
        assert not await studio.audio_store.exists(stored["key"])
    for stored in after[shared.content_hash].files.values():
        assert await studio.audio_store.exists(stored["key"])
    withdrawn = [
        AudioWithdrawnV1.model_validate_json(p)
        for p in await events_of(database, "audio.withdrawn.v1")
    ]
    assert [e.document_id for e in withdrawn] == [alone.document_id, shared.document_id]

    await consumers.deliver(archived(sharer.document_id))
    assert {r.status for r in await renders(database)} == {"withdrawn"}
    assert audio_url(sharer.document_id, AudioFormat.MP3).endswith("?format=mp3")


async def test_the_organisation_tree_keeps_the_latest_version_of_each_unit(
    database: Database, consumers: Consumers
) -> None:
    province, district, cell = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await consumers.deliver(organization(province, None))
    await consumers.deliver(organization(district, province))
    await consumers.deliver(organization(cell, district))
    other = uuid.uuid4()
    await consumers.deliver(organization(other, province))
    await consumers.deliver(organization(cell, other, version=2))  # moved
    await consumers.deliver(organization(cell, district, version=1))  # stale, redelivered late
    async with database.connection() as conn:
        assert await repository.organization_chain(conn, cell) == [cell, other, province]
        assert await repository.organization_chain(conn, uuid.uuid4()) == []
