"""ASGI middleware shared by every service: correlation id, request metrics and access log,
and a request body limit enforced before the body is read."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sotay_common.context import (
    accept_correlation_id,
    accept_traceparent,
    correlation_id_var,
    traceparent_var,
)
from sotay_common.metrics import Metrics

access_logger = logging.getLogger("sotay.access")
_UNMATCHED = "<unmatched>"
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestContextMiddleware:
    """Sets the correlation id (from X-Correlation-ID or a new one) and traceparent, echoes the
    id in the response, records latency per route template and writes one access log line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        correlation_id = accept_correlation_id(headers.get("x-correlation-id"))
        correlation = correlation_id_var.set(correlation_id)
        trace = traceparent_var.set(accept_traceparent(headers.get("traceparent")))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", _UNMATCHED)
            self.metrics.http_latency.labels(scope["method"], template, str(status)).observe(
                elapsed
            )
            if template not in _QUIET_PATHS:
                access_logger.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "route": template,
                    },
                )
            correlation_id_var.reset(correlation)
            traceparent_var.reset(trace)


class BodyLimitMiddleware:
    """Rejects request bodies above a limit (by Content-Length, or while streaming when
    chunked), with larger limits for the upload routes given by path prefix."""

    def __init__(
        self, app: ASGIApp, *, default_limit: int, limits_by_prefix: Mapping[str, int]
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits_by_prefix = dict(limits_by_prefix)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits_by_prefix.items():
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await _too_large(send, limit)


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing re-raises it unchanged (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")
        self.limit = limit


async def _too_large(send: Send, limit: int) -> None:
    megabytes = limit / 1_000_000
    body = {
        "type": "urn:sotay:problem:payload_too_large",
        "title": "Payload too large",
        "status": 413,
        "code": "payload_too_large",
        "detail": f"Dữ liệu gửi lên vượt quá giới hạn {megabytes:g} MB.",
        "limit_bytes": limit,
    }
    correlation_id = correlation_id_var.get()
    if correlation_id:
        body["correlation_id"] = correlation_id
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
