"""Request and response bodies of the identity API (also the service layer's commands)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sotay_identity.passwords import MAX_LENGTH

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(?:\+84|0)\d{9,10}$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LENGTH)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- sign-in ------------------------------------------------------------------------------------


class LoginRequest(_Input):
    login: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
        Field(description="Party card number (12 digits) or phone number"),
    ]
    password: Password


class RefreshRequest(_Input):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int
    password_change_required: bool = False


class PasswordChange(_Input):
    current_password: Password
    new_password: Password


class TemporaryPasswordOut(BaseModel):
    temporary_password: str = Field(description="Shown once: hand it to the member in person")
    expires_at: datetime


# -- accounts -----------------------------------------------------------------------------------


class GrantIn(_Input):
    role: Literal["committee_admin", "system_admin"]
    organization_id: uuid.UUID | None = Field(
        default=None, description="Required for committee_admin: the scope of the grant"
    )


class GrantOut(BaseModel):
    role: str
    organization_id: uuid.UUID | None


class AccountOut(BaseModel):
    id: uuid.UUID
    member_id: uuid.UUID | None
    phone: str | None
    status: str
    roles: list[str]
    organization_id: uuid.UUID | None
    grants: list[GrantOut]
    created_at: datetime
    password_change_required: bool
    face_template_stored: bool


class ConsentOut(BaseModel):
    id: uuid.UUID
    purpose: str
    text_version: str
    given_at: datetime
    withdrawn_at: datetime | None


class ConsentTextOut(BaseModel):
    purpose: str
    version: str
    text: str


# -- eKYC ---------------------------------------------------------------------------------------


class RegistrationStart(_Input):
    consent_purpose: Literal["ekyc_biometric"] = "ekyc_biometric"
    consent_text_version: Annotated[str, StringConstraints(max_length=40)] = Field(
        description="The version of the consent text shown to the member (GET /consents/texts/...)"
    )
    consent_given: bool = Field(description="The member ticked the consent box")
    password: Password = Field(description="The password of the account to be created")
    phone: Phone | None = Field(default=None, description="Optional second login")


class ChallengeOut(BaseModel):
    nonce: str = Field(description="Send it back with the selfie frames; it works once")
    steps: list[str] = Field(description="blink, turn_left, turn_right: do them in this order")
    instructions: list[str]
    deadline: datetime
    max_duration_ms: int = Field(description="The frames of one attempt span at most this")


class SessionStarted(BaseModel):
    session_id: uuid.UUID
    state: str
    challenge: ChallengeOut


class FieldOut(BaseModel):
    value: str | None
    accepted: bool = Field(description="Read alike by both engines and valid")


class CardOut(BaseModel):
    session_id: uuid.UUID
    state: str
    fields: dict[str, FieldOut]
    card_attempts_left: int


class ReasonOut(BaseModel):
    code: str
    message: str


class RegistrationOut(BaseModel):
    session_id: uuid.UUID
    state: str
    outcome: str | None = Field(
        description="verified, needs_review, rejected, expired or withdrawn; null while open"
    )
    reasons: list[ReasonOut]
    account_id: uuid.UUID | None = None
    tokens: TokenResponse | None = Field(
        default=None, description="When verified: the member is signed in"
    )


class ReviewDecisionIn(_Input):
    approve: bool
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class MemberOut(BaseModel):
    id: uuid.UUID
    full_name: str
    date_of_birth: str
    party_card_number: str
    status: str
    admission_date: str
    official_date: str | None
    organization_id: uuid.UUID


class ReviewFieldOut(BaseModel):
    value: str | None
    accepted: bool
    reason: str | None
    tesseract: str | None
    aster: str | None


class ReviewSummaryOut(BaseModel):
    session_id: uuid.UUID
    member_id: uuid.UUID
    full_name: str
    organization_id: uuid.UUID
    review_since: datetime
    reasons: list[ReasonOut]


class ReviewOut(BaseModel):
    session_id: uuid.UUID
    review_since: datetime
    member: MemberOut
    card_fields: dict[str, ReviewFieldOut]
    scores: dict[str, float | int | bool | None]
    reasons: list[ReasonOut]
    images: list[str] = Field(description="Kinds of image to fetch: card, portrait, selfie")
