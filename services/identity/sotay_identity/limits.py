"""Rate limits and lockouts: the rules, and who the client is.

Counters live in PostgreSQL (repository.hit_limit) so that every replica sees the same ones.
A rule allows `limit` hits in a fixed window; the hit over the limit blocks the key for
`block`. Sign-in counts failures only (a success clears them); eKYC counts every attempt.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Rule", "client_address", "parse_networks", "retry_after_s"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Rule:
    scope: str  # the key prefix: login, login-account, login-address, ekyc-card, ...
    limit: int
    window: timedelta
    block: timedelta

    def key(self, value: str) -> str:
        return f"{self.scope}:{value}"


def retry_after_s(blocked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((blocked_until - now).total_seconds()))


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address of the client: the peer, unless the peer is a trusted proxy; then the
    right-most address of X-Forwarded-For that is not a trusted proxy (the left part of the
    header is whatever the client chose to send)."""
    address = peer or "unknown"
    if not forwarded_for or not _is_trusted(address, trusted):
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if not _is_ip(hop):
            return address  # a malformed header: keep the last address we know
        address = hop
        if not _is_trusted(hop, trusted):
            return hop
    return address


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
