"""What a document event asks of the passage index, given what was asked before.

The content service publishes versions in order, but events of one document can still arrive
late or twice (redelivery, a republish of unchanged content, an archive racing a publish): the
newest version wins, and the same content is never indexed twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    IGNORE = "ignore"  # older than what is known, or already asked for
    INDEX = "index"  # new content: chunk, encode, replace the document's passages
    RETAG = "retag"  # the same content under a newer version: only the version number changes
    REMOVE = "remove"  # archived: withdraw every passage


@dataclass(frozen=True, slots=True)
class DocumentState:
    """The newest request recorded for a document."""

    version: int
    archived: bool
    content_hash: str | None


def after_published(current: DocumentState | None, version: int, content_hash: str) -> Decision:
    if current is None:
        return Decision.INDEX
    if version < current.version or (current.archived and version == current.version):
        return Decision.IGNORE
    if current.archived or content_hash != current.content_hash:
        return Decision.INDEX
    return Decision.RETAG if version > current.version else Decision.IGNORE


def after_archived(current: DocumentState | None, version: int) -> Decision:
    """`version` is the last published version: an archive of an older one was overtaken by a
    newer publication."""
    if current is not None and (current.archived or version < current.version):
        return Decision.IGNORE
    return Decision.REMOVE


def retry_delay_s(attempts: int, *, initial_s: float = 5.0, cap_s: float = 300.0) -> float:
    """Back-off before an indexing job that failed `attempts` times runs again."""
    return float(min(initial_s * 2 ** max(attempts - 1, 0), cap_s))
