"""HTTP range requests (RFC 9110 section 14) over a file of known size, for seeking players.

One range is served as 206; a header this module cannot honour exactly (another unit, a
malformed one, several ranges) is ignored and the whole file is served, as the RFC allows;
a well-formed range entirely past the end is 416.
"""

import re
from dataclasses import dataclass

_SINGLE = re.compile(r"^bytes=(?P<first>\d*)-(?P<last>\d*)$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"no byte of a {size}-byte file in range")
        self.size = size

    @property
    def content_range(self) -> str:
        return f"bytes */{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve, or None for the whole file. Raises `RangeNotSatisfiable`."""
    match = _SINGLE.match(header or "")
    if match is None:
        return None
    first, last = match["first"], match["last"]
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = min(int(last), size - 1) if last else size - 1
    return ByteRange(start, end)
