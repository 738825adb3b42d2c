"""All event contracts. Importing this package registers every event type."""

from sotay_common.events import assistant, content, identity, members, topics, voice
from sotay_common.events.base import (
    CONTENT_TYPE,
    SPEC_VERSION,
    Event,
    EventEnvelope,
    dead_letter_topic,
    decode_headers,
    event_class,
    registered_event_types,
)

__all__ = [
    "CONTENT_TYPE",
    "SPEC_VERSION",
    "Event",
    "EventEnvelope",
    "assistant",
    "content",
    "dead_letter_topic",
    "decode_headers",
    "event_class",
    "identity",
    "members",
    "registered_event_types",
    "topics",
    "voice",
]
