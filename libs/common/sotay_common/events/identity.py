"""Contracts published by the identity service (topic identity.account).

Never images, face templates, passwords or citizen ids: only identifiers, the method and scores.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from sotay_common.events import topics
from sotay_common.events.base import Event


class VerificationScores(BaseModel):
    face_similarity: float | None = None
    face_threshold: float | None = None
    liveness_passed: bool | None = None
    ocr_fields_accepted: int | None = None
    ocr_fields_total: int | None = None


class MemberVerifiedV1(Event):
    """A member proved who they are (eKYC, or a committee admin's review) and has an account."""

    event_type: ClassVar[str] = "member.verified.v1"
    topic: ClassVar[str] = topics.IDENTITY_ACCOUNT
    key_field: ClassVar[str] = "account_id"

    account_id: uuid.UUID
    member_id: uuid.UUID
    method: str = Field(description="ekyc or admin_review")
    scores: VerificationScores
    verified_at: datetime


class ConsentWithdrawnV1(Event):
    """A member withdrew consent to biometric processing: their templates were deleted."""

    event_type: ClassVar[str] = "consent.withdrawn.v1"
    topic: ClassVar[str] = topics.IDENTITY_ACCOUNT
    key_field: ClassVar[str] = "account_id"

    account_id: uuid.UUID
    member_id: uuid.UUID | None
    purpose: str
    withdrawn_at: datetime
