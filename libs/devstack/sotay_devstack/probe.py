"""An event contract that exists only for tests of the event machinery (topic `test.probe`)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from sotay_common.events import Event

PROBE_TOPIC = "test.probe"


class ProbeSentV1(Event):
    """A test probe: `poison` makes the test handler fail every time."""

    event_type: ClassVar[str] = "probe.sent.v1"
    topic: ClassVar[str] = PROBE_TOPIC
    key_field: ClassVar[str] = "probe_id"

    probe_id: uuid.UUID
    sequence: int
    poison: bool = False
