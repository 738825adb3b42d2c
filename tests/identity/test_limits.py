from datetime import UTC, datetime, timedelta

from sotay_identity.limits import Rule, client_address, parse_networks, retry_after_s

PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_address("203.0.113.5", "1.2.3.4", PROXIES) == "203.0.113.5"
    assert client_address("10.1.2.3", "203.0.113.5", PROXIES) == "203.0.113.5"
    assert client_address("10.1.2.3", None, PROXIES) == "10.1.2.3"


def test_addresses_the_client_made_up_are_not_believed() -> None:
    # the client sent "6.6.6.6" itself; our proxies appended the real address and their own
    forwarded = "6.6.6.6, 203.0.113.5, 10.0.0.7"
    assert client_address("10.0.0.9", forwarded, PROXIES) == "203.0.113.5"
    assert client_address("10.0.0.9", "not-an-address", PROXIES) == "10.0.0.9"
    assert client_address("fd00::1", "2001:db8::7", PROXIES) == "2001:db8::7"


def test_retry_after_rounds_up_and_is_never_zero() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert retry_after_s(now + timedelta(seconds=90.2), now) == 91
    assert retry_after_s(now - timedelta(seconds=5), now) == 1
    assert Rule("login", 5, timedelta(minutes=15), timedelta(minutes=15)).key("x") == "login:x"
