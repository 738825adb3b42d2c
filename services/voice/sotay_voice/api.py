"""HTTP routes of the voice service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from sotay_common.auth import Principal, Role, current_principal, require_roles
from sotay_common.errors import problem_response
from sotay_common.runtime import Runtime
from sotay_voice.encode import FORMATS, AudioFormat
from sotay_voice.events import audio_url
from sotay_voice.profiles import VoiceProfile
from sotay_voice.ranges import RangeNotSatisfiable, parse_range
from sotay_voice.schemas import (
    AudioFileOut,
    AudioLinkOut,
    AudioStatusOut,
    ChapterOut,
    ChaptersOut,
    FormatName,
    VoicesOut,
)
from sotay_voice.service import (
    RENDER_STATUS_LABELS,
    AudioService,
    DocumentAudioState,
    Listener,
)
from sotay_voice.studio import Studio

router = APIRouter(tags=["audio"])
CallerDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_roles(Role.SYSTEM_ADMIN, Role.COMMITTEE_ADMIN))]
FormatQuery = Annotated[
    FormatName, Query(description="opus (Ogg Opus, main) or mp3 (for players without Opus)")
]
AUDIO_CONTENT: dict[str, object] = {"content": {FORMATS[f].mime_type: {} for f in AudioFormat}}
AUDIO_RESPONSES: dict[int | str, dict[str, object]] = {
    200: AUDIO_CONTENT,
    206: {"description": "The requested byte range"},
    416: {"description": "The range lies outside the file"},
}


def studio_of(request: Request) -> Studio:
    studio: Studio = request.app.state.studio
    return studio


def audio_service(request: Request) -> AudioService:
    runtime: Runtime = request.app.state.runtime
    return AudioService(runtime.database, studio_of(request))


ServiceDep = Annotated[AudioService, Depends(audio_service)]


async def listener(
    request: Request,
    document_id: uuid.UUID,
    service: ServiceDep,
    format: FormatQuery = "opus",
    expires: Annotated[int | None, Query(description="From a signed link")] = None,
    signature: Annotated[str | None, Query(max_length=64, description="From a signed link")] = None,
) -> Listener:
    """The caller's token, or a signed link's permission (players cannot send tokens)."""
    if expires is None or signature is None:
        return await current_principal(request)
    return await service.link_pass(document_id, AudioFormat(format), expires, signature)


ListenerDep = Annotated[Listener, Depends(listener)]


def status_out(state: DocumentAudioState) -> AudioStatusOut:
    document, render = state.document, state.render
    total = render.chunks_total
    done = render.status == "succeeded"
    files = [
        AudioFileOut(
            format=fmt.value,
            content_type=FORMATS[fmt].mime_type,
            size_bytes=int(render.files[fmt.value]["size"]),
            bitrate_kbps=FORMATS[fmt].bitrate // 1000,
            url=audio_url(document.id, fmt),
        )
        for fmt in AudioFormat
        if done and fmt.value in render.files
    ]
    return AudioStatusOut(
        document_id=document.id,
        version=document.version,
        render_id=render.id,
        status=render.status,
        status_label=RENDER_STATUS_LABELS[render.status],
        engine=render.engine,
        voice=render.voice,
        rate=float(render.spec["rate"]),
        chunks_done=render.chunks_done,
        chunks_total=total,
        progress=1.0 if done else round(render.chunks_done / total, 3) if total else 0.0,
        seconds_rendered=round(render.seconds_rendered, 3),
        duration_seconds=render.duration_s,
        attempts=render.attempts,
        error_code=render.error_code,
        error_message=render.error_message,
        files=files,
        stream_url=f"/documents/{document.id}/audio/stream?format=opus",
        requested_at=render.created_at,
        finished_at=render.finished_at,
    )


@router.get(
    "/documents/{document_id}/audio",
    response_class=StreamingResponse,
    responses=AUDIO_RESPONSES,
)
async def get_audio(
    document_id: uuid.UUID,
    request: Request,
    caller: ListenerDep,
    service: ServiceDep,
    format: FormatQuery = "opus",
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """The rendered file; `Range: bytes=start-end` gives 206 so players can seek."""
    audio_format = AudioFormat(format)
    stored = await service.stored_audio(caller, document_id, audio_format)
    file_name = f"{document_id}.{FORMATS[audio_format].extension}"
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": stored.etag,
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="{file_name}"',
    }
    byte_range = None
    if if_range is None or if_range == stored.etag:  # a stale If-Range gets the whole file
        try:
            byte_range = parse_range(range_header, stored.size)
        except RangeNotSatisfiable as exc:
            return problem_response(
                request,
                status=416,
                code="range_not_satisfiable",
                title="Range not satisfiable",
                detail="Đoạn âm thanh yêu cầu nằm ngoài tệp.",
                headers={"Content-Range": exc.content_range, "Accept-Ranges": "bytes"},
            )
    start, end, status = 0, stored.size - 1, 200
    if byte_range is not None:
        start, end, status = byte_range.start, byte_range.end, 206
        headers["Content-Range"] = byte_range.content_range(stored.size)
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=stored.content_type)
    return StreamingResponse(
        service.read(stored.key, start, end),
        status_code=status,
        headers=headers,
        media_type=stored.content_type,
    )


# Players ask HEAD for the size and range support before they seek.
router.add_api_route(
    "/documents/{document_id}/audio", get_audio, methods=["HEAD"], include_in_schema=False
)


@router.get(
    "/documents/{document_id}/audio/stream",
    response_class=StreamingResponse,
    responses={200: AUDIO_CONTENT},
)
async def stream_audio(
    document_id: uuid.UUID, caller: ListenerDep, service: ServiceDep, format: FormatQuery = "opus"
) -> StreamingResponse:
    """Starts playback before the render is done: what exists, then the rest as it comes."""
    stream = await service.stream(caller, document_id, AudioFormat(format))
    return StreamingResponse(
        stream.body,
        media_type=stream.content_type,
        headers={"Cache-Control": "no-store", "X-Audio-Status": stream.status},
    )


@router.get("/documents/{document_id}/audio/link", response_model=AudioLinkOut)
async def audio_link(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep, format: FormatQuery = "opus"
) -> AudioLinkOut:
    """URLs of the file and the stream that work without a token until they expire (for an
    <audio> element, which cannot send one)."""
    link = await service.link(caller, document_id, AudioFormat(format))
    return AudioLinkOut(url=link.url, stream_url=link.stream_url, expires_at=link.expires_at)


@router.get("/documents/{document_id}/audio/status", response_model=AudioStatusOut)
async def audio_status(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> AudioStatusOut:
    """Progress of the render: chunks done of total, seconds rendered, files when ready."""
    return status_out(await service.state(caller, document_id))


@router.get("/documents/{document_id}/audio/chapters", response_model=ChaptersOut)
async def audio_chapters(
    document_id: uuid.UUID, caller: CallerDep, service: ServiceDep
) -> ChaptersOut:
    """Chapters (per Điều or heading) with their start in the audio, to jump to "Điều 5"."""
    state = await service.state(caller, document_id)
    render = state.render
    return ChaptersOut(
        document_id=state.document.id,
        version=state.document.version,
        ready=render.status == "succeeded",
        duration_seconds=render.duration_s,
        chapters=[ChapterOut(**chapter) for chapter in render.chapters],
    )


@router.post(
    "/documents/{document_id}/audio/render", status_code=202, response_model=AudioStatusOut
)
async def request_render(
    document_id: uuid.UUID, body: VoiceProfile, caller: CallerDep, service: ServiceDep
) -> AudioStatusOut:
    """Administrators: render the current version with another engine, voice, rate or pauses
    (fields left out come from the document kind's profile)."""
    return status_out(await service.request_render(caller, document_id, body))


@router.get("/voices", response_model=VoicesOut)
async def list_voices(request: Request, caller: AdminDep) -> VoicesOut:
    """Installed voices and the configured profiles (administrators)."""
    studio = studio_of(request)
    return VoicesOut(
        voices=studio.voices(),
        default_profile=studio.settings.default_profile,
        kind_profiles=studio.settings.kind_profiles,
    )
