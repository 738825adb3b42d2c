import datetime as dt
import uuid

from sotay_common.events.members import MemberStatus
from sotay_identity.matching import MatchOutcome, MemberRecord, card_number_to_look_up, match_member
from sotay_identity.ocr import CardReading, EngineText, FieldReading

RECORD = MemberRecord(
    member_id=uuid.uuid4(),
    version=1,
    organization_id=uuid.uuid4(),
    full_name="Nguyễn Thị Thủy",
    date_of_birth=dt.date(1980, 4, 12),
    party_card_number="123456789012",
    status=MemberStatus.OFFICIAL,
    admission_date=dt.date(2005, 5, 19),
    official_date=dt.date(2006, 5, 19),
    positions=(),
    photo_ref=None,
)


def agreed(value: object) -> FieldReading:  # type: ignore[type-arg]
    text = EngineText(str(value), 0.9)
    return FieldReading(text, text, value, True, None)


def disputed(value: object) -> FieldReading:  # type: ignore[type-arg]
    return FieldReading(
        EngineText(str(value), 0.9), EngineText("?", 0.2), value, False, "engines_disagree"
    )


def reading(**changes: FieldReading) -> CardReading:  # type: ignore[type-arg]
    fields = {
        "full_name": agreed("NGUYỄN THỊ THUỶ"),  # the other tone placement, upper case
        "date_of_birth": agreed(RECORD.date_of_birth),
        "party_card_number": agreed(RECORD.party_card_number),
        "admission_date": agreed(RECORD.admission_date),
        "official_date": agreed(RECORD.official_date),
        "issuing_committee": agreed("Tỉnh ủy Hòa Bình"),
        "issue_date": agreed(dt.date(2010, 1, 1)),
    }
    return CardReading(**(fields | changes))


def test_agreed_fields_equal_to_the_record_match() -> None:
    match = match_member(reading(), RECORD)
    assert (match.outcome, match.mismatched, match.unconfirmed) == (MatchOutcome.MATCHED, (), ())


def test_an_agreed_field_that_differs_is_a_mismatch() -> None:
    match = match_member(reading(date_of_birth=agreed(dt.date(1980, 4, 13))), RECORD)
    assert (match.outcome, match.mismatched) == (MatchOutcome.MISMATCH, ("date_of_birth",))


def test_a_field_read_without_agreement_needs_a_person() -> None:
    match = match_member(reading(full_name=disputed("Nguyễn Thị Thủy")), RECORD)
    assert (match.outcome, match.unconfirmed) == (MatchOutcome.UNCONFIRMED, ("full_name",))


def test_a_different_admission_date_needs_a_person_rather_than_a_rejection() -> None:
    match = match_member(reading(admission_date=agreed(dt.date(2005, 5, 20))), RECORD)
    assert (match.outcome, match.unconfirmed) == (MatchOutcome.UNCONFIRMED, ("admission_date",))


def test_no_record_is_not_found() -> None:
    assert match_member(reading(), None).outcome is MatchOutcome.NOT_FOUND


def test_the_number_to_look_up_may_be_a_suggestion() -> None:
    assert card_number_to_look_up(reading(party_card_number=disputed("123456789012"))) == (
        "123456789012"
    )
    assert card_number_to_look_up(reading(party_card_number=disputed(None))) is None
