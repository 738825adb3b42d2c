"""What a member types to sign in: a party card number or a phone number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Login", "normalise_phone", "parse_login"]

_SEPARATORS = re.compile(r"[\s.\-()]")
_CARD_NUMBER = re.compile(r"^\d{12}$")
_PHONE = re.compile(r"^0\d{9,10}$")


@dataclass(frozen=True)
class Login:
    kind: Literal["card_number", "phone"]
    value: str


def normalise_phone(text: str) -> str | None:
    """'+84 912 345 678' or '0912.345.678' -> '0912345678'; None if it is no phone number."""
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("+84"):
        compact = "0" + compact[3:]
    return compact if _PHONE.match(compact) else None


def parse_login(text: str) -> Login | None:
    compact = _SEPARATORS.sub("", text)
    if _CARD_NUMBER.match(compact):
        return Login("card_number", compact)
    phone = normalise_phone(text)
    return Login("phone", phone) if phone else None
