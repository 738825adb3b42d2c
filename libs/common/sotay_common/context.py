"""Request/event context carried through logs and events: the correlation id and W3C traceparent."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def accept_correlation_id(value: str | None) -> str:
    """A caller-supplied id is kept when it is safe to log, otherwise a new one is made."""
    if value and _SAFE_ID.match(value):
        return value
    return new_correlation_id()


def accept_traceparent(value: str | None) -> str | None:
    if value and _TRACEPARENT.match(value):
        return value
    return None


def current_correlation_id() -> str:
    value = correlation_id_var.get()
    if value is None:
        value = new_correlation_id()
        correlation_id_var.set(value)
    return value
