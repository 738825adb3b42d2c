"""The closed list of committees that may appear as a card's issuer, from the organisation tree.

Party cards are issued by the province's committee or by a committee directly under it
(district level and equivalent). The card prints the committee (cấp ủy), while the tree of the
members service names the party organisation (đảng bộ); the mapping is:

    Đảng bộ tỉnh X       -> Tỉnh ủy X        Đảng bộ thành phố X -> Thành ủy X
    Đảng bộ huyện X      -> Huyện ủy X       Đảng bộ quận X      -> Quận ủy X
    Đảng bộ thị xã X     -> Thị ủy X         Đảng bộ <other>     -> Đảng ủy <other>
                                             (Đảng bộ Khối các cơ quan tỉnh -> Đảng ủy Khối ...)

A name that already names a committee (Tỉnh ủy ..., Đảng ủy ...) is kept. Only province and
intermediate organisations issue cards; merged and dissolved ones stay on the list, because
the cards they issued remain valid. Case, accents and tone placement do not matter: the card
reader compares accent-folded letters.
"""

from __future__ import annotations

from collections.abc import Iterable

from sotay_common.events.members import OrganizationType
from sotay_common.text import collapse_spaces, fold, nfc

__all__ = ["ISSUING_TYPES", "issuing_committee", "issuing_committees"]

ISSUING_TYPES = frozenset(
    {OrganizationType.PROVINCE_COMMITTEE, OrganizationType.INTERMEDIATE_COMMITTEE}
)
_COMMITTEE_WORDS = ("tinh uy", "thanh uy", "huyen uy", "quan uy", "thi uy", "dang uy")
# Folded unit word after "Đảng bộ" -> the committee's name; longest first (thành phố, thị xã).
_UNIT_COMMITTEES = (
    ("thanh pho ", "Thành ủy "),
    ("thi xa ", "Thị ủy "),
    ("tinh ", "Tỉnh ủy "),
    ("huyen ", "Huyện ủy "),
    ("quan ", "Quận ủy "),
)
_PARTY_ORGANISATION = "dang bo "


def issuing_committee(name: str, org_type: OrganizationType) -> str | None:
    """The committee name a card issued by this organisation prints, or None if it issues none."""
    if org_type not in ISSUING_TYPES:
        return None
    name = collapse_spaces(nfc(name))
    folded = fold(name)
    if folded.startswith(_COMMITTEE_WORDS):
        return name
    if not folded.startswith(_PARTY_ORGANISATION):
        return None
    # Folding keeps the length of Vietnamese text, so folded offsets index the name.
    rest, folded_rest = name[len(_PARTY_ORGANISATION) :], folded[len(_PARTY_ORGANISATION) :]
    for unit, committee in _UNIT_COMMITTEES:
        if folded_rest.startswith(unit):
            return committee + rest[len(unit) :]
    return "Đảng ủy " + rest


def issuing_committees(organizations: Iterable[tuple[str, OrganizationType]]) -> list[str]:
    """The distinct committee names of (name, type) pairs, sorted."""
    names = {issuing_committee(name, org_type) for name, org_type in organizations}
    return sorted(name for name in names if name)
