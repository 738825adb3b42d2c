import pytest

from sotay_voice.ranges import ByteRange, RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=500-", ByteRange(500, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-2000", ByteRange(990, 999)),
        ("bytes = 1-2", None),  # no spaces in a range
        (None, None),
        ("", None),
        ("items=0-5", None),
        ("bytes=0-5,10-20", None),  # several ranges: the whole file
        ("bytes=9-3", None),
        ("bytes=-", None),
        ("bytes=abc", None),
    ],
)
def test_ranges_of_a_thousand_byte_file(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_ranges_past_the_end_cannot_be_satisfied(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse_range(header, 1000)
    assert raised.value.content_range == "bytes */1000"


def test_content_range_and_length() -> None:
    assert ByteRange(10, 19).content_range(50) == "bytes 10-19/50"
    assert ByteRange(10, 19).length == 10
