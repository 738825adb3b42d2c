import time

from sotay_common.ids import new_id


def test_ids_are_version_7_and_ordered_by_time() -> None:
    first = new_id()
    time.sleep(0.002)
    later = [new_id() for _ in range(1000)]
    assert first.version == 7
    assert first.variant == "specified in RFC 4122"
    assert all(first < other for other in later)
    assert len({*later, first}) == 1001
