"""Render jobs in SQL: claiming under a lease, takeover of stale jobs, increments, and two
workers claiming at once (real commits on a schema of its own)."""

import asyncio
import uuid

import asyncpg

from sotay_devstack.pytest_plugin import FreshSchema
from sotay_voice import repository
from sotay_voice.repository import NewRender, Part


def new_render(content_hash: str | None = None) -> NewRender:
    return NewRender(
        content_hash=content_hash or uuid.uuid4().hex,
        voice_key="k1",
        engine="espeak-ng",
        voice="vi",
        spec={"rate": 1.0},
        source_event=b"{}",
        source_record=None,
    )


async def test_a_live_render_is_shared_and_a_failed_one_can_be_redone(
    conn: asyncpg.Connection,
) -> None:
    first, created = await repository.insert_render(conn, new_render("h"))
    again, created_again = await repository.insert_render(conn, new_render("h"))
    assert (created, created_again, again.id) == (True, False, first.id)
    claimed = await repository.claim_render(conn, stale_after_s=60)
    assert claimed is not None
    assert claimed.render.lease is not None
    await repository.fail_render(
        conn, first.id, claimed.render.lease, error_code="x", error_message="y"
    )
    redo, created_redo = await repository.insert_render(conn, new_render("h"))
    assert created_redo
    assert redo.id != first.id


async def test_claims_take_due_jobs_and_stale_ones_under_a_new_lease(
    conn: asyncpg.Connection,
) -> None:
    render, _ = await repository.insert_render(conn, new_render())
    claimed = await repository.claim_render(conn, stale_after_s=60)
    assert claimed is not None
    lease = claimed.render.lease
    assert lease is not None
    assert (claimed.render.id, claimed.render.attempts, claimed.source_event) == (
        render.id,
        1,
        b"{}",
    )
    assert await repository.claim_render(conn, stale_after_s=60) is None
    assert await repository.record_progress(
        conn,
        render.id,
        lease,
        chunks_done=1,
        seconds_rendered=2.5,
        chapters=[],
        parts=[Part("opus", 0, b"Ogg1"), Part("mp3", 0, b"ID3")],
    )
    await conn.execute(
        "UPDATE renders SET heartbeat_at = now() - interval '2 minutes' WHERE id = $1", render.id
    )
    taken = await repository.claim_render(conn, stale_after_s=60)
    assert taken is not None
    assert taken.render.attempts == 2
    assert taken.render.lease not in (None, lease)
    assert await repository.read_parts(conn, render.id, "opus", -1) == []  # starts over
    # The first worker lost the job: nothing it does lands any more.
    assert not await repository.record_progress(
        conn, render.id, lease, chunks_done=2, seconds_rendered=3, chapters=[], parts=[]
    )
    assert (
        await repository.finish_render(conn, render.id, lease, duration_s=1, chapters=[], files={})
        is None
    )


async def test_a_retry_waits_for_its_backoff(conn: asyncpg.Connection) -> None:
    render, _ = await repository.insert_render(conn, new_render())
    claimed = await repository.claim_render(conn, stale_after_s=60)
    assert claimed is not None
    assert claimed.render.lease is not None
    await repository.retry_render_later(
        conn,
        render.id,
        claimed.render.lease,
        delay_s=30,
        error_code="voice_engine_failed",
        error_message="m",
    )
    assert await repository.claim_render(conn, stale_after_s=60) is None
    due = await repository.next_due_in(conn, stale_after_s=60)
    assert due is not None
    assert 25 < due <= 30


async def test_increments_are_read_in_order_after_a_sequence_number(
    conn: asyncpg.Connection,
) -> None:
    render, _ = await repository.insert_render(conn, new_render())
    claimed = await repository.claim_render(conn, stale_after_s=60)
    assert claimed is not None
    assert claimed.render.lease is not None
    for seq in range(3):
        await repository.record_progress(
            conn,
            render.id,
            claimed.render.lease,
            chunks_done=seq + 1,
            seconds_rendered=seq,
            chapters=[],
            parts=[Part("opus", seq, bytes([seq]) * 3)],
        )
    parts = await repository.read_parts(conn, render.id, "opus", 0)
    assert [(p.seq, p.data) for p in parts] == [(1, b"\x01" * 3), (2, b"\x02" * 3)]
    assert await repository.read_parts(conn, render.id, "mp3", -1) == []


async def test_two_workers_claiming_at_once_get_different_jobs(
    fresh_database: FreshSchema,
) -> None:
    setup = await fresh_database.connect()
    try:
        for _ in range(2):
            await repository.insert_render(setup, new_render())
    finally:
        await setup.close()
    first, second = await fresh_database.connect(), await fresh_database.connect()
    try:
        async with first.transaction(), second.transaction():
            claims = await asyncio.gather(
                repository.claim_render(first, stale_after_s=60),
                repository.claim_render(second, stale_after_s=60),
            )
        ids = {claim.render.id for claim in claims if claim is not None}
        assert len(ids) == 2
    finally:
        await first.close()
        await second.close()
