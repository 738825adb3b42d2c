import datetime as dt
import uuid
from dataclasses import replace

from sotay_common.events.members import MemberStatus
from sotay_identity.decision import FaceScores, Outcome, decide
from sotay_identity.matching import MatchOutcome, MemberMatch, MemberRecord

RECORD = MemberRecord(
    member_id=uuid.uuid4(),
    version=1,
    organization_id=uuid.uuid4(),
    full_name="Lê Văn Hòa",
    date_of_birth=dt.date(1970, 1, 1),
    party_card_number="123456789012",
    status=MemberStatus.OFFICIAL,
    admission_date=dt.date(1995, 1, 1),
    official_date=dt.date(1996, 1, 1),
    positions=(),
    photo_ref=None,
)
MATCHED = MemberMatch(MatchOutcome.MATCHED, RECORD)
SAME_FACE = FaceScores(card_similarity=0.7, threshold=0.38, review_threshold=0.25)


def codes(outcome: Outcome, *reasons: str) -> tuple[Outcome, tuple[str, ...]]:
    return outcome, reasons


def outcome_of(**changes: object) -> tuple[Outcome, tuple[str, ...]]:
    values: dict[str, object] = {"card_fully_accepted": True, "match": MATCHED, "faces": SAME_FACE}
    decision = decide(**(values | changes))  # type: ignore[arg-type]
    return decision.outcome, tuple(reason.code for reason in decision.reasons)


def test_everything_agreeing_is_verified() -> None:
    assert outcome_of() == codes(Outcome.VERIFIED)


def test_what_the_member_can_act_on_is_rejected_with_the_reason() -> None:
    assert outcome_of(match=MemberMatch(MatchOutcome.MISMATCH, RECORD)) == codes(
        Outcome.REJECTED, "card_mismatch"
    )
    assert outcome_of(match=MemberMatch(MatchOutcome.NOT_FOUND, None)) == codes(
        Outcome.REJECTED, "card_mismatch"
    )
    inactive = MemberMatch(MatchOutcome.MATCHED, replace(RECORD, status=MemberStatus.REMOVED))
    assert outcome_of(match=inactive) == codes(Outcome.REJECTED, "member_inactive")
    assert outcome_of(faces=replace(SAME_FACE, card_similarity=0.1)) == codes(
        Outcome.REJECTED, "face_mismatch"
    )


def test_doubts_go_to_a_person_with_every_reason() -> None:
    assert outcome_of(
        card_fully_accepted=False,
        faces=replace(SAME_FACE, card_similarity=0.3, member_photo_similarity=0.2),
    ) == codes(
        Outcome.NEEDS_REVIEW, "fields_unconfirmed", "face_uncertain", "member_photo_uncertain"
    )
    assert outcome_of(match=MemberMatch(MatchOutcome.UNCONFIRMED, RECORD)) == codes(
        Outcome.NEEDS_REVIEW, "fields_unconfirmed"
    )
