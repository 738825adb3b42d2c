import pytest

from sotay_assistant.indexing import (
    Decision,
    DocumentState,
    after_archived,
    after_published,
    retry_delay_s,
)

INDEXED_V2 = DocumentState(version=2, archived=False, content_hash="h2")
ARCHIVED_V2 = DocumentState(version=2, archived=True, content_hash="h2")


@pytest.mark.parametrize(
    ("current", "version", "content_hash", "expected"),
    [
        (None, 1, "h1", Decision.INDEX),
        (INDEXED_V2, 3, "h3", Decision.INDEX),
        (INDEXED_V2, 3, "h2", Decision.RETAG),
        (INDEXED_V2, 2, "h2", Decision.IGNORE),  # delivered twice
        (INDEXED_V2, 1, "h1", Decision.IGNORE),  # late
        (ARCHIVED_V2, 2, "h2", Decision.IGNORE),  # the archived version itself, late
        (ARCHIVED_V2, 3, "h2", Decision.INDEX),  # published again after the archive
    ],
)
def test_a_publication_is_indexed_once_and_only_when_newest(
    current: DocumentState | None, version: int, content_hash: str, expected: Decision
) -> None:
    assert after_published(current, version, content_hash) is expected


@pytest.mark.parametrize(
    ("current", "version", "expected"),
    [
        (None, 1, Decision.REMOVE),
        (INDEXED_V2, 2, Decision.REMOVE),
        (INDEXED_V2, 1, Decision.IGNORE),  # overtaken by the publication of version 2
        (ARCHIVED_V2, 2, Decision.IGNORE),
    ],
)
def test_an_archive_removes_unless_overtaken(
    current: DocumentState | None, version: int, expected: Decision
) -> None:
    assert after_archived(current, version) is expected


def test_retries_back_off_up_to_a_cap() -> None:
    delays = [retry_delay_s(attempt) for attempt in range(1, 10)]
    assert delays[:3] == [5.0, 10.0, 20.0]
    assert delays == sorted(delays)
    assert delays[-1] == 300.0
