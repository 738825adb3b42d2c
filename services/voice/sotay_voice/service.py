"""Use cases of the voice service.

`DocumentAudio` handles the events: a published document version becomes a render job in the
handler's transaction, unless a live render of the same content hash and voice exists (then
the document just points at it); an archived document loses its audio. `AudioService` serves
the audio to whoever may see the document: whole files with ranges, a stream that follows a
render in progress, its status and chapters, and re-renders for administrators.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import asyncpg

from sotay_common.auth import Principal
from sotay_common.consumer import HandlerContext, PoisonEvent, Record
from sotay_common.db import Database
from sotay_common.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from sotay_common.events import decode_headers
from sotay_common.events.content import DocumentArchivedV1, DocumentPublishedV1
from sotay_common.events.members import OrganizationCreatedV1, OrganizationUpdatedV1
from sotay_voice import events, repository
from sotay_voice.access import AudienceScope, may_listen, may_manage
from sotay_voice.encode import FORMATS, AudioFormat
from sotay_voice.links import link_is_valid, link_signature
from sotay_voice.profiles import RenderSpec, VoiceProfile
from sotay_voice.repository import Document, NewRender, PublishedDocument, Render
from sotay_voice.studio import Studio, VoiceUnavailable

logger = logging.getLogger(__name__)

READ_BLOCK_BYTES = 256 * 1024
RENDER_STATUS_LABELS = {
    "pending": "Đang chờ tạo âm thanh",
    "running": "Đang tạo âm thanh",
    "succeeded": "Đã có âm thanh",
    "failed": "Không tạo được âm thanh",
    "withdrawn": "Âm thanh đã được gỡ",
}


class AudioNotFound(NotFound):
    code = "audio_not_found"
    detail_vi = "Không tìm thấy âm thanh của tài liệu này."


class AudioOutOfScope(Forbidden):
    code = "audio_out_of_scope"
    detail_vi = "Tài liệu này nằm ngoài phạm vi tổ chức của bạn."


class RenderManagersOnly(Forbidden):
    code = "render_managers_only"
    detail_vi = "Chỉ quản trị viên cấp ủy quản lý tài liệu này mới yêu cầu tạo lại âm thanh được."


class AudioNotReady(Conflict):
    code = "audio_not_ready"
    detail_vi = "Âm thanh đang được tạo. Vui lòng thử lại sau ít phút hoặc nghe bản phát trực tiếp."


class AudioLinkInvalid(Forbidden):
    code = "audio_link_invalid"
    detail_vi = "Liên kết nghe đã hết hạn hoặc không hợp lệ. Vui lòng mở lại tài liệu."


class AudioFailed(Conflict):
    code = "audio_failed"
    detail_vi = "Không tạo được âm thanh cho tài liệu này. Quản trị viên có thể yêu cầu tạo lại."


def source_record(record: Record) -> dict[str, Any]:
    """What a dead letter needs of the record an event came in."""
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": (record.key or b"").decode("utf-8", errors="replace"),
        "headers": decode_headers(record.headers),
    }


def audience(document: Document) -> AudienceScope:
    return AudienceScope(document.scope_organization_id, tuple(document.scope_ancestor_ids))


def _voice_problem(exc: VoiceUnavailable) -> ValidationFailed:
    return ValidationFailed(errors=[FieldError("voice", exc.code, exc.message_vi)])


class DocumentAudio:
    """The consumers' use cases, each in the consumer's transaction."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    async def on_published(self, ctx: HandlerContext, event: DocumentPublishedV1) -> None:
        conn = ctx.tx.conn
        current = await repository.get_document(conn, event.document_id, for_update=True)
        if current is not None and not await self._supersedes(conn, event, current):
            return
        try:
            spec = self.studio.resolve(self.studio.profile_for(event.kind.value))
        except VoiceUnavailable as exc:
            # A configuration the event cannot change: dead-letter it now, to replay once
            # the voice is installed.
            raise PoisonEvent(f"{exc.code}: {exc.message_vi}") from exc
        render, created = await repository.insert_render(
            conn,
            _new_render(event.content_hash, spec, ctx.record.value, source_record(ctx.record)),
        )
        document = await repository.save_document(
            conn,
            PublishedDocument(
                id=event.document_id,
                version=event.version,
                kind=event.kind.value,
                title=event.title,
                scope_organization_id=event.scope.organization_id,
                scope_ancestor_ids=event.scope.ancestor_ids,
                content_hash=event.content_hash,
                event=ctx.record.value,
            ),
            render.id,
        )
        logger.info(
            "document version recorded",
            extra={
                "document_id": str(document.id),
                "version": document.version,
                "render_id": str(render.id),
                "new_render": created,
            },
        )
        if render.status == "succeeded":
            await ctx.tx.outbox.add(events.audio_rendered(document, render))

    @staticmethod
    async def _supersedes(
        conn: asyncpg.Connection, event: DocumentPublishedV1, current: Document
    ) -> bool:
        """A later version does; so does the same version again when its render failed or was
        withdrawn (a replay from the dead-letter topic)."""
        if event.version != current.version or current.archived_at is not None:
            return event.version > current.version
        render = await repository.get_render(conn, current.render_id)
        return render is None or render.status in ("failed", "withdrawn")

    async def on_archived(self, ctx: HandlerContext, event: DocumentArchivedV1) -> None:
        conn = ctx.tx.conn
        document = await repository.get_document(conn, event.document_id, for_update=True)
        if document is None or not await repository.archive_document(conn, document.id):
            return
        withdrawn = await repository.withdraw_unshared_renders(conn, document.id)
        for render in withdrawn:
            await delete_render_files(self.studio, render)
        await ctx.tx.outbox.add(events.audio_withdrawn(document.id))
        logger.info(
            "audio withdrawn",
            extra={"document_id": str(document.id), "renders": [str(r.id) for r in withdrawn]},
        )

    async def on_organization(
        self, ctx: HandlerContext, event: OrganizationCreatedV1 | OrganizationUpdatedV1
    ) -> None:
        await repository.upsert_organization(
            ctx.tx.conn, event.organization_id, event.parent_id, event.version
        )


def _new_render(
    content_hash: str,
    spec: RenderSpec,
    source_event: bytes,
    record: dict[str, Any] | None,
    requested_by: str | None = None,
) -> NewRender:
    return NewRender(
        content_hash=content_hash,
        voice_key=spec.key,
        engine=spec.engine,
        voice=spec.voice,
        spec=spec.to_json(),
        source_event=source_event,
        source_record=record,
        requested_by=requested_by,
    )


async def delete_render_files(studio: Studio, render: Render) -> None:
    for stored in render.files.values():
        await studio.audio_store.delete(stored["key"])


def render_file_key(render_id: uuid.UUID, audio_format: AudioFormat) -> str:
    return f"renders/{render_id}/audio.{FORMATS[audio_format].extension}"


@dataclass(frozen=True)
class LinkPass:
    """A verified signed link: it opens one document's audio in one format."""

    document_id: uuid.UUID
    audio_format: AudioFormat


Listener = Principal | LinkPass


@dataclass(frozen=True)
class AudioLink:
    url: str
    stream_url: str
    expires_at: datetime


@dataclass(frozen=True)
class DocumentAudioState:
    document: Document
    render: Render


@dataclass(frozen=True)
class StoredAudio:
    document: Document
    render: Render
    key: str
    size: int
    content_type: str

    @property
    def etag(self) -> str:
        return f'"{self.render.id.hex}-{self.key.rsplit(".", 1)[-1]}"'


@dataclass(frozen=True)
class AudioStream:
    content_type: str
    status: str
    body: AsyncIterator[bytes]


def _check_format(listener: Listener, audio_format: AudioFormat) -> None:
    if isinstance(listener, LinkPass) and listener.audio_format != audio_format:
        raise AudioLinkInvalid()


class AudioService:
    def __init__(self, database: Database, studio: Studio) -> None:
        self.database = database
        self.studio = studio
        settings = studio.settings
        self.poll_interval_s = settings.stream_poll_interval_s
        self.max_wait_s = settings.stream_max_wait_s

    async def _caller_chain(
        self, conn: asyncpg.Connection, principal: Principal
    ) -> list[uuid.UUID]:
        if principal.organization_id is None:
            return []
        return await repository.organization_chain(conn, principal.organization_id)

    async def state(self, listener: Listener, document_id: uuid.UUID) -> DocumentAudioState:
        """The document's audio as the caller (or the link) may see it."""
        async with self.database.connection() as conn:
            document = await repository.get_document(conn, document_id)
            if document is None or document.archived_at is not None:
                raise AudioNotFound()
            if isinstance(listener, LinkPass):
                if listener.document_id != document_id:
                    raise AudioLinkInvalid()
            elif not may_listen(
                listener, audience(document), await self._caller_chain(conn, listener)
            ):
                raise AudioOutOfScope()
            render = await repository.get_render(conn, document.render_id)
        assert render is not None
        return DocumentAudioState(document, render)

    async def _link_key(self) -> bytes:
        configured = self.studio.settings.link_signing_key
        if configured is not None:
            return configured.get_secret_value().encode()
        async with self.database.connection() as conn:
            return await repository.link_signing_key(conn)

    async def link(
        self, principal: Principal, document_id: uuid.UUID, audio_format: AudioFormat
    ) -> AudioLink:
        """URLs that play the audio without a token (for <audio> elements), for a while."""
        await self.state(principal, document_id)
        expires = int(time.time()) + self.studio.settings.link_ttl_s
        signature = link_signature(await self._link_key(), document_id, audio_format, expires)
        query = urlencode(
            {"format": audio_format.value, "expires": expires, "signature": signature}
        )
        return AudioLink(
            url=f"/documents/{document_id}/audio?{query}",
            stream_url=f"/documents/{document_id}/audio/stream?{query}",
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    async def link_pass(
        self, document_id: uuid.UUID, audio_format: AudioFormat, expires: int, signature: str
    ) -> LinkPass:
        key = await self._link_key()
        if not link_is_valid(key, document_id, audio_format, expires, signature, now=time.time()):
            raise AudioLinkInvalid()
        return LinkPass(document_id, audio_format)

    async def stored_audio(
        self, listener: Listener, document_id: uuid.UUID, audio_format: AudioFormat
    ) -> StoredAudio:
        _check_format(listener, audio_format)
        state = await self.state(listener, document_id)
        render = state.render
        if render.status in ("pending", "running"):
            raise AudioNotReady(extra={"status": render.status})
        if render.status == "failed":
            raise AudioFailed()
        stored = render.files.get(audio_format.value)
        if render.status != "succeeded" or stored is None:
            raise AudioNotFound()
        return StoredAudio(
            state.document,
            render,
            stored["key"],
            int(stored["size"]),
            FORMATS[audio_format].mime_type,
        )

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes start..end (inclusive) of a stored file, block by block."""
        position = start
        while position <= end:
            last = min(end, position + READ_BLOCK_BYTES - 1)
            yield await self.studio.audio_store.get_range(key, position, last)
            position = last + 1

    async def stream(
        self, listener: Listener, document_id: uuid.UUID, audio_format: AudioFormat
    ) -> AudioStream:
        """The audio from its first byte: the stored file once rendered, otherwise what is
        rendered so far followed by the rest as it comes."""
        _check_format(listener, audio_format)
        state = await self.state(listener, document_id)
        render = state.render
        if render.status == "failed":
            raise AudioFailed()
        if render.status == "withdrawn":
            raise AudioNotFound()
        content_type = FORMATS[audio_format].mime_type
        return AudioStream(content_type, render.status, self._follow(render.id, audio_format))

    async def _follow(
        self, render_id: uuid.UUID, audio_format: AudioFormat
    ) -> AsyncIterator[bytes]:
        sent = 0
        last_seq = -1
        attempt: int | None = None
        last_progress = time.monotonic()
        while time.monotonic() - last_progress < self.max_wait_s:
            # One snapshot: the parts belong to the attempt the render row shows.
            async with self.database.transaction(isolation="repeatable_read") as tx:
                render = await repository.get_render(tx.conn, render_id)
                parts = await repository.read_parts(
                    tx.conn, render_id, audio_format.value, last_seq
                )
            if render is None or render.status in ("failed", "withdrawn"):
                return
            if sent and render.attempts != attempt:
                return  # restarted from the top: its bytes do not continue ours
            attempt = render.attempts
            if render.status == "succeeded":
                stored = render.files[audio_format.value]
                async for block in self.read(stored["key"], sent, int(stored["size"]) - 1):
                    yield block
                return
            for part in parts:
                yield part.data
                sent += len(part.data)
                last_seq = part.seq
                last_progress = time.monotonic()
            await asyncio.sleep(self.poll_interval_s)

    async def request_render(
        self, principal: Principal, document_id: uuid.UUID, request: VoiceProfile
    ) -> DocumentAudioState:
        """Renders the current version again with another profile (voice, rate, pauses); a
        render of the same content and voice that exists is reused, not redone."""
        async with self.database.transaction() as tx:
            document = await repository.get_document(tx.conn, document_id, for_update=True)
            if document is None or document.archived_at is not None:
                raise AudioNotFound()
            chain = await self._caller_chain(tx.conn, principal)
            if not may_manage(principal, audience(document), chain):
                raise RenderManagersOnly()
            try:
                spec = self.studio.resolve(self.studio.profile_for(document.kind, request))
            except VoiceUnavailable as exc:
                raise _voice_problem(exc) from exc
            source_event = await repository.get_document_event(tx.conn, document_id)
            assert source_event is not None
            render, _ = await repository.insert_render(
                tx.conn,
                _new_render(
                    document.content_hash, spec, source_event, None, requested_by=principal.subject
                ),
            )
            if render.id != document.render_id:
                document = await repository.switch_render(tx.conn, document.id, render.id)
                if render.status == "succeeded":
                    await tx.outbox.add(events.audio_rendered(document, render))
        return DocumentAudioState(document, render)
