"""The eKYC decision once the card is read, the liveness challenge passed and the faces compared.

- verified: every card field read with agreement and valid, the identifying fields equal to the
  member record, the member active, the selfie matching the card portrait (and the record
  photo, when there is one) at the calibrated threshold;
- rejected, with reasons the member can act on: the card does not match any record, the
  member is not active, or the selfie is far from the card portrait (under the review band);
- needs review otherwise: a committee admin looks at the card, both images and the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sotay_identity.matching import MatchOutcome, MemberMatch
from sotay_identity.roles import ACTIVE_STATUSES

__all__ = ["Decision", "FaceScores", "Outcome", "Reason", "decide"]


class Outcome(StrEnum):
    VERIFIED = "verified"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Reason:
    code: str
    message_vi: str


@dataclass(frozen=True)
class FaceScores:
    card_similarity: float
    threshold: float
    review_threshold: float
    member_photo_similarity: float | None = None  # None: no record photo to compare with

    def card_matches(self) -> bool:
        return self.card_similarity >= self.threshold

    def photo_matches(self) -> bool:
        similarity = self.member_photo_similarity
        return similarity is None or similarity >= self.threshold


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()


CARD_MISMATCH = Reason(
    "card_mismatch",
    "Thông tin thẻ không khớp hồ sơ đảng viên. Vui lòng kiểm tra lại thẻ hoặc liên hệ "
    "cấp ủy nơi sinh hoạt để cập nhật hồ sơ.",
)
MEMBER_INACTIVE = Reason(
    "member_inactive",
    "Hồ sơ đảng viên không ở trạng thái đang sinh hoạt. Vui lòng liên hệ cấp ủy nơi sinh hoạt.",
)
FACE_MISMATCH = Reason(
    "face_mismatch",
    "Khuôn mặt không khớp với ảnh trên thẻ. Vui lòng tự thực hiện, chụp ở nơi đủ ánh sáng.",
)
FIELDS_UNCONFIRMED = Reason(
    "fields_unconfirmed",
    "Một số thông tin trên thẻ chưa đọc được chắc chắn: cán bộ cấp ủy sẽ kiểm tra.",
)
FACE_UNCERTAIN = Reason(
    "face_uncertain",
    "Chưa khẳng định được khuôn mặt khớp với ảnh trên thẻ: cán bộ cấp ủy sẽ kiểm tra.",
)
PHOTO_UNCERTAIN = Reason(
    "member_photo_uncertain",
    "Khuôn mặt chưa khớp chắc chắn với ảnh trong hồ sơ: cán bộ cấp ủy sẽ kiểm tra.",
)


def decide(*, card_fully_accepted: bool, match: MemberMatch, faces: FaceScores) -> Decision:
    if match.outcome in (MatchOutcome.NOT_FOUND, MatchOutcome.MISMATCH):
        return Decision(Outcome.REJECTED, (CARD_MISMATCH,))
    assert match.member is not None
    if match.member.status not in ACTIVE_STATUSES:
        return Decision(Outcome.REJECTED, (MEMBER_INACTIVE,))
    if faces.card_similarity < faces.review_threshold:
        return Decision(Outcome.REJECTED, (FACE_MISMATCH,))
    reasons = []
    if not card_fully_accepted or match.outcome is not MatchOutcome.MATCHED:
        reasons.append(FIELDS_UNCONFIRMED)
    if not faces.card_matches():
        reasons.append(FACE_UNCERTAIN)
    if not faces.photo_matches():
        reasons.append(PHOTO_UNCERTAIN)
    if reasons:
        return Decision(Outcome.NEEDS_REVIEW, tuple(reasons))
    return Decision(Outcome.VERIFIED)
