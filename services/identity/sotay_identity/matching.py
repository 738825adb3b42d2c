"""Match what was read on a card against the member record it names.

The card number finds the record (exact, 12 digits); the date of birth must be the same day
and the full name the same after NFC and one tone placement (HÒA = HOÀ), case and spacing
aside. A field the two OCR engines agreed on and that differs from the record is a mismatch
(the card is not this member's, or the record is wrong: either way the member cannot be
verified by themselves). A field that was not read with agreement can only be confirmed by
a person. The record's admission and official dates are compared too: a difference there
sends the case to a person rather than rejecting it (records are sometimes wrong).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sotay_common.events.members import MemberStatus, Position
from sotay_common.text import canonical_name
from sotay_identity.ocr import CardReading, FieldReading

__all__ = ["MatchOutcome", "MemberMatch", "MemberRecord", "card_number_to_look_up", "match_member"]

IDENTIFYING_FIELDS = ("party_card_number", "date_of_birth", "full_name")
SUPPORTING_FIELDS = ("admission_date", "official_date")


@dataclass(frozen=True)
class MemberRecord:
    """A member as the identity service's read model knows it (from member.* events)."""

    member_id: uuid.UUID
    version: int
    organization_id: uuid.UUID
    full_name: str
    date_of_birth: dt.date
    party_card_number: str
    status: MemberStatus
    admission_date: dt.date
    official_date: dt.date | None
    positions: tuple[Position, ...]
    photo_ref: str | None


class MatchOutcome(StrEnum):
    MATCHED = "matched"  # every identifying field read with agreement and equal
    UNCONFIRMED = "unconfirmed"  # nothing contradicts the record, but a person must confirm
    MISMATCH = "mismatch"  # an agreed reading contradicts the record
    NOT_FOUND = "not_found"  # no record has the card number


@dataclass(frozen=True)
class MemberMatch:
    outcome: MatchOutcome
    member: MemberRecord | None
    mismatched: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()


def card_number_to_look_up(reading: CardReading) -> str | None:
    """The number to find the record by: the agreed one, else what an engine suggested."""
    value = reading.party_card_number.value
    return value if value is not None and len(value) == 12 and value.isdigit() else None


def match_member(reading: CardReading, member: MemberRecord | None) -> MemberMatch:
    if member is None:
        if reading.party_card_number.accepted:
            return MemberMatch(MatchOutcome.NOT_FOUND, None)
        return MemberMatch(MatchOutcome.NOT_FOUND, None, unconfirmed=("party_card_number",))
    mismatched: list[str] = []
    unconfirmed: list[str] = []
    for name in (*IDENTIFYING_FIELDS, *SUPPORTING_FIELDS):
        field = reading.fields()[name]
        same = _same(name, field, member)
        if field.accepted and same:
            continue
        if field.accepted and name in IDENTIFYING_FIELDS:
            mismatched.append(name)
        elif field.accepted or not same or name in IDENTIFYING_FIELDS:
            unconfirmed.append(name)
    if mismatched:
        outcome = MatchOutcome.MISMATCH
    elif unconfirmed:
        outcome = MatchOutcome.UNCONFIRMED
    else:
        outcome = MatchOutcome.MATCHED
    return MemberMatch(outcome, member, tuple(mismatched), tuple(unconfirmed))


def _same(
    name: str, field: FieldReading[str] | FieldReading[dt.date], member: MemberRecord
) -> bool:
    recorded = getattr(member, name)
    if field.value is None or recorded is None:
        return False
    if name == "full_name":
        return canonical_name(str(field.value)) == canonical_name(member.full_name)
    return bool(field.value == recorded)
