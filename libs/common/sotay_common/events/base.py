"""Event contracts: one typed, versioned pydantic model per event type, carried as CloudEvents
(binary mode: attributes in Kafka headers, the model's JSON as the value, key = aggregate id)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from sotay_common.context import current_correlation_id, traceparent_var
from sotay_common.ids import new_id

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

_REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of every event contract.

    Subclasses set `event_type` (`<aggregate>.<past-tense verb>.v<N>`), `topic` (the aggregate's
    topic) and `key_field` (the field holding the aggregate id). Consumers ignore unknown fields,
    so a version may gain optional fields without breaking anyone.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[str]
    key_field: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:
            return
        existing = _REGISTRY.get(event_type)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise TypeError(f"event type {event_type} defined twice")
        _REGISTRY[event_type] = cls

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.key_field))

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def event_class(event_type: str) -> type[Event] | None:
    return _REGISTRY.get(event_type)


def registered_event_types() -> Mapping[str, type[Event]]:
    return dict(_REGISTRY)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class EventEnvelope:
    """The CloudEvents attributes of one event, as carried in Kafka headers."""

    id: uuid.UUID
    type: str
    source: str
    time: datetime
    subject: str
    correlation_id: str | None = None
    traceparent: str | None = None

    @classmethod
    def for_event(cls, event: Event, *, source: str) -> EventEnvelope:
        return cls(
            id=new_id(),
            type=event.event_type,
            source=source,
            time=datetime.now(UTC),
            subject=event.aggregate_id,
            correlation_id=current_correlation_id(),
            traceparent=traceparent_var.get(),
        )

    def headers(self) -> dict[str, str]:
        headers = {
            "ce_specversion": SPEC_VERSION,
            "ce_id": str(self.id),
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject,
            "content-type": CONTENT_TYPE,
        }
        if self.correlation_id:
            headers["correlation_id"] = self.correlation_id
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return headers

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> EventEnvelope:
        """Raises KeyError for a missing attribute, ValueError for a malformed one."""
        if headers.get("ce_specversion") != SPEC_VERSION:
            raise ValueError(f"unsupported ce_specversion {headers.get('ce_specversion')!r}")
        return cls(
            id=uuid.UUID(headers["ce_id"]),
            type=headers["ce_type"],
            source=headers["ce_source"],
            time=datetime.fromisoformat(headers["ce_time"].replace("Z", "+00:00")),
            subject=headers.get("ce_subject", ""),
            correlation_id=headers.get("correlation_id"),
            traceparent=headers.get("traceparent"),
        )


def decode_headers(raw: Iterable[tuple[str, bytes | None]] | Sequence[Any]) -> dict[str, str]:
    """Kafka headers to a dict; later duplicates win, undecodable bytes are replaced."""
    result: dict[str, str] = {}
    for name, value in raw:
        result[str(name)] = (value or b"").decode("utf-8", errors="replace")
    return result
