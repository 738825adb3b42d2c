"""The web front end: a static single-page app in Vietnamese and a gateway that forwards
`/api/<service>/<path>` to the services (so the browser talks to one origin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask

from sotay_web.settings import WebSettings

STATIC = files("sotay_web") / "static"
# Hop-by-hop headers (RFC 9110) are not forwarded.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def _problem(status: int, code: str, detail: str) -> JSONResponse:
    body = {
        "type": f"urn:sotay:problem:{code}",
        "title": code,
        "status": status,
        "code": code,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    upstreams = settings.upstreams()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.upstream_timeout_s) as client:
            app.state.client = client
            yield

    app = FastAPI(title="Sổ tay Đảng viên: web", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html; charset=utf-8")

    @app.get("/config.json")
    async def config() -> dict[str, list[str]]:
        return {"services": sorted(upstreams)}

    @app.get("/healthz")
    @app.get("/readyz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route(
        "/api/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    )
    async def gateway(service: str, path: str, request: Request) -> Response:
        base = upstreams.get(service)
        if base is None:
            return _problem(404, "service_unavailable", "Dịch vụ này chưa được bật.")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        client: httpx.AsyncClient = request.app.state.client
        upstream = client.build_request(
            request.method,
            f"{base}/{path}",
            params=request.query_params,
            headers=headers,
            content=request.stream(),
        )
        try:
            response = await client.send(upstream, stream=True)
        except httpx.HTTPError:
            return _problem(
                502, "upstream_unreachable", "Không kết nối được dịch vụ. Vui lòng thử lại sau."
            )
        forwarded = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=forwarded,
            background=BackgroundTask(response.aclose),
        )

    return app
