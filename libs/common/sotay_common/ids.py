"""Time-ordered identifiers (UUID version 7, RFC 9562): 48 bits of Unix milliseconds, then
random bits. Rows keyed by them are appended to the right of their B-tree indexes instead of
landing on random pages, which keeps bulk inserts fast at millions of rows."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> uuid.UUID:
    milliseconds = time.time_ns() // 1_000_000
    value = int.from_bytes(milliseconds.to_bytes(6, "big") + os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value)
