import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from sotay_common.auth import Principal, Role
from sotay_common.events.members import MemberStatus
from sotay_common.events.members import OrganizationType as T
from sotay_members.domain import (
    CONTACT_FIELDS,
    add_months,
    changeable_fields,
    check_member_facts,
    check_parent,
    name_search_forms,
    read_scope,
)

TODAY = date(2026, 11, 24)


@dataclass(frozen=True)
class Facts:
    date_of_birth: date = date(1980, 1, 31)
    admission_date: date = date(2005, 5, 19)
    official_date: date | None = date(2006, 5, 19)
    status: MemberStatus = MemberStatus.OFFICIAL
    party_card_number: str = "012345678901"
    citizen_id: str | None = "001080012345"


def facts(**overrides: Any) -> list[str]:
    return [v.code for v in check_member_facts(Facts(**overrides), today=TODAY)]


def test_consistent_facts_pass() -> None:
    assert facts() == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"party_card_number": "12345"}, "invalid_card_number"),
        ({"party_card_number": "01234567890a"}, "invalid_card_number"),
        ({"citizen_id": "0010800"}, "invalid_citizen_id"),
        ({"date_of_birth": date(2027, 1, 1)}, "date_in_future"),
        ({"admission_date": date(1995, 1, 1)}, "admitted_too_young"),
        ({"official_date": date(2005, 12, 1)}, "probation_too_short"),
        ({"status": MemberStatus.PROBATIONARY}, "probationary_with_official_date"),
        ({"official_date": None}, "official_date_missing"),
        (
            {
                "admission_date": date(2027, 3, 1),
                "official_date": None,
                "status": MemberStatus.PROBATIONARY,
            },
            "date_in_future",
        ),
    ],
)
def test_each_broken_fact_is_named(overrides: dict[str, object], code: str) -> None:
    assert code in facts(**overrides)


def test_eighteenth_birthday_is_old_enough() -> None:
    assert (
        facts(
            date_of_birth=date(1987, 5, 19),
            admission_date=date(2005, 5, 19),
            official_date=date(2006, 5, 19),
        )
        == []
    )
    assert "admitted_too_young" in facts(date_of_birth=date(1987, 5, 20))


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 12, 15), 12) == date(2024, 12, 15)


@pytest.mark.parametrize(
    ("child", "parent", "ok"),
    [
        (T.PROVINCE_COMMITTEE, None, True),
        (T.INTERMEDIATE_COMMITTEE, T.PROVINCE_COMMITTEE, True),
        (T.GRASSROOTS_COMMITTEE, T.PROVINCE_COMMITTEE, True),
        (T.CELL, T.GRASSROOTS_COMMITTEE, True),
        (T.CELL, T.PROVINCE_COMMITTEE, False),
        (T.CELL, None, False),
        (T.INTERMEDIATE_COMMITTEE, T.CELL, False),
        (T.PROVINCE_COMMITTEE, T.PROVINCE_COMMITTEE, False),
    ],
)
def test_tree_levels(child: T, parent: T | None, ok: bool) -> None:
    violation = check_parent(child, parent)
    assert (violation is None) is ok
    if violation:
        assert violation.message  # Vietnamese text for users


def test_name_forms_fold_and_canonicalise() -> None:
    forms = name_search_forms("Nguyễn Thị Hoà")
    assert forms.key == "nguyen thi hoa"
    assert forms.tokens == ["nguyen", "thi", "hoa"]
    assert forms.words == ["nguyễn", "thị", "hòa"]


def principal(
    *roles: Role, org: uuid.UUID | None = None, member: uuid.UUID | None = None
) -> Principal:
    return Principal(subject="x", roles=frozenset(roles), organization_id=org, member_id=member)


def test_scopes_follow_the_strongest_role() -> None:
    org, me = uuid.uuid4(), uuid.uuid4()
    assert read_scope(principal(Role.SYSTEM_ADMIN)).everything
    assert read_scope(principal(Role.COMMITTEE_ADMIN, Role.MEMBER, org=org)).subtree_of == org
    assert read_scope(principal(Role.CELL_SECRETARY, Role.MEMBER, org=org)).organization == org
    assert read_scope(principal(Role.MEMBER, org=org, member=me)).member == me
    # a committee role without an organisation in the token grants nothing beyond oneself
    assert read_scope(principal(Role.COMMITTEE_ADMIN, member=me)).member == me


def test_who_may_change_which_fields() -> None:
    org = uuid.uuid4()
    assert changeable_fields(principal(Role.COMMITTEE_ADMIN, org=org), own_record=False) is None
    assert (
        changeable_fields(principal(Role.CELL_SECRETARY, org=org), own_record=False)
        == CONTACT_FIELDS
    )
    assert changeable_fields(principal(Role.MEMBER), own_record=True) == CONTACT_FIELDS
    assert changeable_fields(principal(Role.MEMBER), own_record=False) == frozenset()
