"""HTTP routes of the identity service."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from sotay_common.auth import Principal, Role, current_principal
from sotay_common.errors import FieldError, NotFound, ValidationFailed
from sotay_common.runtime import Runtime
from sotay_identity.components import Components
from sotay_identity.consent import current_text
from sotay_identity.limits import client_address
from sotay_identity.pipeline import UploadedFrame
from sotay_identity.registration import (
    IMAGE_KINDS,
    Registration,
    RegistrationService,
    ReviewItem,
    Started,
)
from sotay_identity.roles import Grant
from sotay_identity.schemas import (
    AccountOut,
    CardOut,
    ChallengeOut,
    ConsentOut,
    ConsentTextOut,
    FieldOut,
    GrantIn,
    GrantOut,
    LoginRequest,
    MemberOut,
    PasswordChange,
    ReasonOut,
    RefreshRequest,
    RegistrationOut,
    RegistrationStart,
    ReviewDecisionIn,
    ReviewFieldOut,
    ReviewOut,
    ReviewSummaryOut,
    SessionStarted,
    TemporaryPasswordOut,
    TokenResponse,
)
from sotay_identity.service import AccountsService, AccountView
from sotay_identity.tokens import TokenPair

router = APIRouter()
CallerDep = Annotated[Principal, Depends(current_principal)]
NO_STORE = {"Cache-Control": "no-store"}


def components(request: Request) -> Components:
    found: Components = request.app.state.identity
    return found


def accounts_service(request: Request) -> AccountsService:
    runtime: Runtime = request.app.state.runtime
    return AccountsService(runtime.database, components(request))


def registration_service(request: Request) -> RegistrationService:
    runtime: Runtime = request.app.state.runtime
    return RegistrationService(runtime.database, components(request), accounts_service(request))


AccountsDep = Annotated[AccountsService, Depends(accounts_service)]
RegistrationDep = Annotated[RegistrationService, Depends(registration_service)]


def client_of(request: Request) -> str:
    peer = request.client.host if request.client else None
    return client_address(
        peer, request.headers.get("x-forwarded-for"), components(request).trusted_proxies
    )


def token_response(tokens: TokenPair, *, password_change_required: bool = False) -> TokenResponse:
    return TokenResponse(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        refresh_expires_in=tokens.refresh_expires_in,
        password_change_required=password_change_required,
    )


# -- keys and sign-in ---------------------------------------------------------------------------


@router.get("/.well-known/jwks.json", tags=["auth"], summary="Public keys that verify tokens")
async def jwks(request: Request, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return components(request).keys.jwks()


@router.post("/auth/login", response_model=TokenResponse, tags=["auth"])
async def login(
    body: LoginRequest, request: Request, response: Response, accounts: AccountsDep
) -> TokenResponse:
    signed_in = await accounts.login(body.login, body.password, client=client_of(request))
    response.headers.update(NO_STORE)
    return token_response(
        signed_in.tokens, password_change_required=signed_in.password_change_required
    )


@router.post("/auth/refresh", response_model=TokenResponse, tags=["auth"])
async def refresh(body: RefreshRequest, response: Response, accounts: AccountsDep) -> TokenResponse:
    tokens = await accounts.refresh(body.refresh_token)
    response.headers.update(NO_STORE)
    return token_response(tokens)


@router.post("/auth/logout", status_code=204, tags=["auth"])
async def logout(body: RefreshRequest, accounts: AccountsDep) -> Response:
    await accounts.logout(body.refresh_token)
    return Response(status_code=204)


# -- accounts -----------------------------------------------------------------------------------


def account_out(view: AccountView) -> AccountOut:
    account, claims = view.account, view.claims
    return AccountOut(
        id=account.id,
        member_id=account.member_id,
        phone=account.phone,
        status=account.status,
        roles=sorted(claims.roles) if claims else [],
        organization_id=claims.organization_id if claims else None,
        grants=[
            GrantOut(role=g.role.value, organization_id=g.organization_id) for g in view.grants
        ],
        created_at=account.created_at,
        password_change_required=account.password_temporary_until is not None,
        face_template_stored=view.face_template_stored,
    )


@router.get("/accounts/me", response_model=AccountOut, tags=["accounts"])
async def my_account(caller: CallerDep, accounts: AccountsDep) -> AccountOut:
    return account_out(await accounts.me(caller))


@router.post("/accounts/me/password", status_code=204, tags=["accounts"])
async def change_password(
    body: PasswordChange, caller: CallerDep, accounts: AccountsDep
) -> Response:
    await accounts.change_password(caller, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get("/accounts/me/consents", response_model=list[ConsentOut], tags=["consents"])
async def my_consents(caller: CallerDep, accounts: AccountsDep) -> list[ConsentOut]:
    return [
        ConsentOut(
            id=c.id,
            purpose=c.purpose,
            text_version=c.text_version,
            given_at=c.given_at,
            withdrawn_at=c.withdrawn_at,
        )
        for c in await accounts.consents(caller)
    ]


@router.post("/accounts/me/consents/{purpose}/withdraw", status_code=204, tags=["consents"])
async def withdraw_consent(purpose: str, caller: CallerDep, accounts: AccountsDep) -> Response:
    await accounts.withdraw_consent(caller, purpose)
    return Response(status_code=204)


@router.get("/consents/texts/{purpose}", response_model=ConsentTextOut, tags=["consents"])
async def consent_text(purpose: str) -> ConsentTextOut:
    text = current_text(purpose)
    if text is None:
        raise NotFound("Không có nội dung đồng ý cho mục đích này.", code="consent_not_found")
    return ConsentTextOut(purpose=text.purpose, version=text.version, text=text.text_vi)


@router.get("/members/{member_id}/account", response_model=AccountOut, tags=["accounts"])
async def account_of_member(
    member_id: uuid.UUID, caller: CallerDep, accounts: AccountsDep
) -> AccountOut:
    view = await accounts.account_of_member(caller, member_id)
    if view is None:
        raise NotFound("Đảng viên này chưa có tài khoản.", code="account_not_found")
    return account_out(view)


@router.post(
    "/accounts/{account_id}/password-reset",
    response_model=TemporaryPasswordOut,
    tags=["accounts"],
)
async def reset_password(
    account_id: uuid.UUID, caller: CallerDep, accounts: AccountsDep, response: Response
) -> TemporaryPasswordOut:
    temporary = await accounts.reset_password(caller, account_id)
    response.headers.update(NO_STORE)
    return TemporaryPasswordOut(
        temporary_password=temporary.password, expires_at=temporary.expires_at
    )


@router.put("/accounts/{account_id}/grants", response_model=AccountOut, tags=["accounts"])
async def put_grant(
    account_id: uuid.UUID, body: GrantIn, caller: CallerDep, accounts: AccountsDep
) -> AccountOut:
    if (body.role == "committee_admin") != (body.organization_id is not None):
        message = "Quyền cán bộ cấp ủy cần tổ chức; quyền quản trị hệ thống thì không."
        raise ValidationFailed(
            message, errors=[FieldError("organization_id", "organization_mismatch", message)]
        )
    grant = Grant(Role(body.role), body.organization_id)
    return account_out(await accounts.grant(caller, account_id, grant))


@router.delete("/accounts/{account_id}/grants/{role}", status_code=204, tags=["accounts"])
async def delete_grant(
    account_id: uuid.UUID, role: Role, caller: CallerDep, accounts: AccountsDep
) -> Response:
    await accounts.revoke_grant(caller, account_id, role)
    return Response(status_code=204)


# -- eKYC registration --------------------------------------------------------------------------


def session_started(started: Started) -> SessionStarted:
    view = started.challenge
    return SessionStarted(
        session_id=started.session.id,
        state=started.session.state,
        challenge=ChallengeOut(
            nonce=view.nonce,
            steps=[step.value for step in view.steps],
            instructions=[step.instruction_vi for step in view.steps],
            deadline=view.deadline,
            max_duration_ms=view.max_duration_ms,
        ),
    )


def registration_out(result: Registration) -> RegistrationOut:
    session = result.session
    return RegistrationOut(
        session_id=session.id,
        state=session.state,
        outcome=result.outcome,
        reasons=[ReasonOut(code=r.code, message=r.message_vi) for r in result.reasons],
        account_id=session.account_id,
        tokens=token_response(result.tokens) if result.tokens else None,
    )


@router.post("/ekyc/sessions", status_code=201, response_model=SessionStarted, tags=["ekyc"])
async def start_registration(
    body: RegistrationStart, request: Request, registration: RegistrationDep
) -> SessionStarted:
    started = await registration.start(body, client=client_of(request))
    return session_started(started)


@router.get("/ekyc/sessions/{session_id}", response_model=RegistrationOut, tags=["ekyc"])
async def registration_status(
    session_id: uuid.UUID, registration: RegistrationDep
) -> RegistrationOut:
    return registration_out(await registration.status(session_id))


@router.delete("/ekyc/sessions/{session_id}", response_model=RegistrationOut, tags=["ekyc"])
async def cancel_registration(
    session_id: uuid.UUID, registration: RegistrationDep
) -> RegistrationOut:
    return registration_out(await registration.cancel(session_id))


@router.post("/ekyc/sessions/{session_id}/card", response_model=CardOut, tags=["ekyc"])
async def submit_card(
    session_id: uuid.UUID,
    registration: RegistrationDep,
    file: Annotated[UploadFile, File(description="Photo of the party card: JPEG, PNG or WebP")],
) -> CardOut:
    read = await registration.submit_card(session_id, await file.read())
    reading = read.session.card_reading
    assert reading is not None
    return CardOut(
        session_id=read.session.id,
        state=read.session.state,
        fields={
            name: FieldOut(
                value=str(field.value) if field.value is not None else None,
                accepted=field.accepted,
            )
            for name, field in reading.fields().items()
        },
        card_attempts_left=read.attempts_left,
    )


@router.post("/ekyc/sessions/{session_id}/challenge", response_model=SessionStarted, tags=["ekyc"])
async def new_challenge(session_id: uuid.UUID, registration: RegistrationDep) -> SessionStarted:
    started = await registration.new_challenge(session_id)
    return session_started(started)


def _timestamps(text: str, count: int) -> list[int]:
    try:
        values = json.loads(text) if text.lstrip().startswith("[") else text.split(",")
        times = [int(value) for value in values]
    except (ValueError, TypeError) as exc:
        raise _bad_timestamps() from exc
    if len(times) != count:
        raise _bad_timestamps()
    return times


def _bad_timestamps() -> ValidationFailed:
    message = "Cần một thời điểm chụp (mili giây) cho mỗi ảnh, theo đúng thứ tự các ảnh."
    return ValidationFailed(
        message, code="bad_timestamps", errors=[FieldError("timestamps", "bad_timestamps", message)]
    )


@router.post("/ekyc/sessions/{session_id}/selfie", response_model=RegistrationOut, tags=["ekyc"])
async def submit_selfie(
    session_id: uuid.UUID,
    registration: RegistrationDep,
    response: Response,
    nonce: Annotated[str, Form(max_length=100, description="The challenge's nonce")],
    timestamps: Annotated[
        str, Form(description="Capture time of each frame in ms, e.g. [0, 100, 200] or 0,100,200")
    ],
    frames: Annotated[list[UploadFile], File(description="The frames, in capture order")],
) -> RegistrationOut:
    times = _timestamps(timestamps, len(frames))
    uploaded = [
        UploadedFrame(await frame.read(), t_ms) for frame, t_ms in zip(frames, times, strict=True)
    ]
    result = await registration.submit_selfie(session_id, nonce, uploaded)
    response.headers.update(NO_STORE)
    return registration_out(result)


# -- reviews ------------------------------------------------------------------------------------


def _member_out(review: ReviewItem) -> MemberOut:
    member = review.member
    return MemberOut(
        id=member.member_id,
        full_name=member.full_name,
        date_of_birth=member.date_of_birth.isoformat(),
        party_card_number=member.party_card_number,
        status=member.status.value,
        admission_date=member.admission_date.isoformat(),
        official_date=member.official_date.isoformat() if member.official_date else None,
        organization_id=member.organization_id,
    )


@router.get("/ekyc/reviews", response_model=list[ReviewSummaryOut], tags=["reviews"])
async def list_reviews(caller: CallerDep, registration: RegistrationDep) -> list[ReviewSummaryOut]:
    items = await registration.reviews(caller)
    return [
        ReviewSummaryOut(
            session_id=item.session.id,
            member_id=item.member.member_id,
            full_name=item.member.full_name,
            organization_id=item.member.organization_id,
            review_since=item.session.review_since or item.session.created_at,
            reasons=[ReasonOut(code=r["code"], message=r["message"]) for r in item.session.reasons],
        )
        for item in items
    ]


@router.get("/ekyc/reviews/{session_id}", response_model=ReviewOut, tags=["reviews"])
async def get_review(
    session_id: uuid.UUID, caller: CallerDep, registration: RegistrationDep, response: Response
) -> ReviewOut:
    item = await registration.review(caller, session_id)
    session = item.session
    assert session.card_reading is not None
    response.headers.update(NO_STORE)
    return ReviewOut(
        session_id=session.id,
        review_since=session.review_since or session.created_at,
        member=_member_out(item),
        card_fields={
            name: ReviewFieldOut(
                value=str(field.value) if field.value is not None else None,
                accepted=field.accepted,
                reason=field.reason,
                tesseract=field.tesseract_raw.text if field.tesseract_raw else None,
                aster=field.aster_raw.text if field.aster_raw else None,
            )
            for name, field in session.card_reading.fields().items()
        },
        scores=session.scores,
        reasons=[ReasonOut(code=r["code"], message=r["message"]) for r in session.reasons],
        images=[key.rsplit("/", 1)[-1] for key in session.image_keys],
    )


@router.get(
    "/ekyc/reviews/{session_id}/images/{kind}",
    tags=["reviews"],
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def review_image(
    session_id: uuid.UUID, kind: str, caller: CallerDep, registration: RegistrationDep
) -> Response:
    if kind not in IMAGE_KINDS:
        raise NotFound("Không có ảnh này.", code="image_not_found")
    image = await registration.review_image(caller, session_id, kind)
    return Response(image, media_type="image/jpeg", headers=NO_STORE)


@router.post(
    "/ekyc/reviews/{session_id}/decision", response_model=RegistrationOut, tags=["reviews"]
)
async def decide_review(
    session_id: uuid.UUID, body: ReviewDecisionIn, caller: CallerDep, registration: RegistrationDep
) -> RegistrationOut:
    result = await registration.decide_review(
        caller, session_id, approve=body.approve, note=body.note
    )
    return registration_out(result)
