from pathlib import Path

from sotay_common.events.catalogue import catalogue

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_the_event_catalogue_is_up_to_date() -> None:
    assert DOCS.read_text() == catalogue(), (
        "run: python -m sotay_common.events.catalogue docs/events.md"
    )


def test_every_event_is_documented() -> None:
    text = catalogue()
    for event_type in (
        "member.created.v1",
        "document.published.v1",
        "audio.rendered.v1",
        "assistant.reindexed.v1",
        "member.verified.v1",
    ):
        assert f"### `{event_type}`" in text
