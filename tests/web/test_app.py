"""The front end's gateway against a real upstream HTTP server."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI, Request, Response

from sotay_devstack.net import free_port
from sotay_web.app import create_app
from sotay_web.settings import WebSettings


@pytest_asyncio.fixture(loop_scope="session")
async def upstream() -> AsyncIterator[str]:
    app = FastAPI()

    @app.api_route("/echo/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request) -> dict[str, object]:
        return {
            "path": path,
            "query": dict(request.query_params),
            "method": request.method,
            "authorization": request.headers.get("authorization"),
            "body": (await request.body()).decode(),
        }

    @app.get("/audio")
    async def audio(request: Request) -> Response:
        data = bytes(range(100))
        start, end = (int(x) for x in request.headers["range"].removeprefix("bytes=").split("-"))
        return Response(
            data[start : end + 1],
            status_code=206,
            media_type="audio/ogg",
            headers={"Content-Range": f"bytes {start}-{end}/100", "Accept-Ranges": "bytes"},
        )

    @app.get("/missing")
    async def missing() -> Response:
        return Response(
            '{"code": "not_found"}', status_code=404, media_type="application/problem+json"
        )

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest_asyncio.fixture(loop_scope="session")
async def web(upstream: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        WebSettings(members_url=upstream, voice_url=upstream, content_url="http://127.0.0.1:9")
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as client:
            yield client


async def test_the_page_is_vietnamese_and_lists_the_services(web: httpx.AsyncClient) -> None:
    page = await web.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert "Sổ tay Đảng viên" in page.text
    assert (await web.get("/config.json")).json() == {"services": ["content", "members", "voice"]}
    assert "Hỏi trợ lý" in (await web.get("/")).text
    assert (await web.get("/static/app.js")).status_code == 200


async def test_requests_are_forwarded_with_query_body_and_token(web: httpx.AsyncClient) -> None:
    response = await web.post(
        "/api/members/echo/a/b",
        params={"q": "nguyễn"},
        content=b"x=1",
        headers={"Authorization": "Bearer t"},
    )
    assert response.json() == {
        "path": "a/b",
        "query": {"q": "nguyễn"},
        "method": "POST",
        "authorization": "Bearer t",
        "body": "x=1",
    }


async def test_ranges_and_problems_pass_through(web: httpx.AsyncClient) -> None:
    part = await web.get("/api/voice/audio", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.headers["content-range"] == "bytes 10-19/100"
    assert part.content == bytes(range(10, 20))
    missing = await web.get("/api/members/missing")
    assert (missing.status_code, missing.headers["content-type"]) == (
        404,
        "application/problem+json",
    )


async def test_unknown_or_unreachable_services_are_clear_errors(web: httpx.AsyncClient) -> None:
    unknown = await web.get("/api/identity/x")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "service_unavailable")
    down = await web.get("/api/content/documents")
    assert (down.status_code, down.json()["code"]) == (502, "upstream_unreachable")
