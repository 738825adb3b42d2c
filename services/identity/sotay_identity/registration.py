"""Use cases of eKYC registration: start (consent, password, challenge), the card photo, the
selfie frames and the decision; the review queue of committee admins; retention.

A session moves started -> card_read -> (in_review) -> decided. CPU work runs in the thread
pool outside any transaction; each step's state change is one short transaction. Bad input
stores nothing but the attempt it used up. Images are kept (sealed) only between the card
step and the decision, and while a person reviews.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from random import SystemRandom
from typing import Any, TypeVar

import asyncpg

from sotay_common.auth import Principal, Role
from sotay_common.db import Database, Tx
from sotay_common.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from sotay_common.events.identity import VerificationScores
from sotay_common.storage import ObjectNotFound
from sotay_identity import events, passwords, repository
from sotay_identity.committees import issuing_committees
from sotay_identity.components import Components
from sotay_identity.consent import EKYC_BIOMETRIC, current_text
from sotay_identity.crypto import SealedDataInvalid, embedding_from_bytes, embedding_to_bytes
from sotay_identity.decision import (
    CARD_MISMATCH,
    MEMBER_INACTIVE,
    Decision,
    FaceScores,
    Outcome,
    Reason,
    decide,
)
from sotay_identity.face import Embedding
from sotay_identity.limits import Rule, retry_after_s
from sotay_identity.liveness import Challenge, Step, random_challenge
from sotay_identity.logins import normalise_phone
from sotay_identity.matching import MatchOutcome, MemberRecord, card_number_to_look_up, match_member
from sotay_identity.ocr import CardReading
from sotay_identity.pipeline import (
    CardCheck,
    EkycEngine,
    SelfieCheck,
    StepRejected,
    UploadedFrame,
)
from sotay_identity.repository import Account, Session
from sotay_identity.roles import ACTIVE_STATUSES
from sotay_identity.schemas import RegistrationStart
from sotay_identity.service import (
    AccountsService,
    TooManyAttempts,
    audit_read,
    delete_images,
    password_rejected,
    utc_now,
)
from sotay_identity.tokens import TokenPair

logger = logging.getLogger(__name__)
T = TypeVar("T")

IMAGE_KINDS = ("card", "portrait", "selfie")


# -- errors -------------------------------------------------------------------------------------


class SessionNotFound(NotFound):
    code = "session_not_found"
    detail_vi = "Không tìm thấy phiên đăng ký. Vui lòng bắt đầu lại."


class SessionExpired(AppError):
    status = 410
    code = "session_expired"
    title = "Gone"
    detail_vi = "Phiên đăng ký đã hết hạn. Vui lòng bắt đầu lại."


class SessionClosed(Conflict):
    code = "session_closed"
    detail_vi = "Phiên đăng ký đã kết thúc."


class CardRequired(Conflict):
    code = "card_required"
    detail_vi = "Vui lòng chụp thẻ đảng viên trước."


class ReplayedNonce(Conflict):
    code = "replayed_nonce"
    detail_vi = "Yêu cầu này đã được gửi trước đó. Vui lòng nhận thử thách mới rồi thực hiện lại."


class InvalidNonce(BadRequest):
    code = "invalid_nonce"
    detail_vi = "Mã thử thách không hợp lệ. Vui lòng nhận thử thách mới rồi thực hiện lại."


class ChallengeUnused(Conflict):
    code = "challenge_unused"
    detail_vi = "Thử thách hiện tại chưa được thực hiện."


class ConsentRequired(ValidationFailed):
    code = "consent_required"
    detail_vi = (
        "Bạn cần đọc và đồng ý với việc xử lý ảnh và dữ liệu sinh trắc học (bản hiện hành) "
        "trước khi đăng ký."
    )


class EkycNotReady(ServiceUnavailable):
    code = "ekyc_not_ready"
    detail_vi = "Hệ thống xác thực đang khởi động. Vui lòng thử lại sau ít phút."


class NotInReview(Conflict):
    code = "not_in_review"
    detail_vi = "Hồ sơ đăng ký này không chờ xem xét."


class ReviewOutOfScope(Forbidden):
    code = "review_out_of_scope"
    detail_vi = "Hồ sơ đăng ký này thuộc đảng viên ngoài phạm vi bạn quản lý."


_STEP_STATUS: dict[str, type[AppError]] = {
    "file_too_large": PayloadTooLarge,
    "not_an_image": UnsupportedMediaType,
    "unsupported_format": UnsupportedMediaType,
}


def step_error(error: StepRejected, attempts_left: int) -> AppError:
    kind = _STEP_STATUS.get(error.code, ValidationFailed)
    return kind(error.message_vi, code=error.code, extra={"attempts_left": attempts_left})


def card_unreadable() -> StepRejected:
    return StepRejected(
        "card_unreadable",
        "Không đọc được số thẻ. Vui lòng chụp lại thẻ rõ nét, đủ sáng, không bị lóa.",
    )


def refused(reason: Reason) -> StepRejected:
    return StepRejected(reason.code, reason.message_vi)


FRAMES_OUT_OF_WINDOW = "frames_out_of_window"


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeView:
    nonce: str
    steps: tuple[Step, ...]
    deadline: datetime
    max_duration_ms: int


@dataclass(frozen=True)
class Started:
    session: Session
    challenge: ChallengeView


@dataclass(frozen=True)
class CardRead:
    session: Session
    attempts_left: int


@dataclass(frozen=True)
class Registration:
    session: Session
    outcome: str | None  # verified, needs_review, rejected, expired, withdrawn; None while open
    reasons: list[Reason]
    tokens: TokenPair | None = None


@dataclass(frozen=True)
class ReviewItem:
    session: Session
    member: MemberRecord


def _reasons(session: Session) -> list[Reason]:
    return [Reason(r["code"], r["message"]) for r in session.reasons]


def registration_of(session: Session, tokens: TokenPair | None = None) -> Registration:
    outcome = "needs_review" if session.state == "in_review" else session.outcome
    return Registration(session, outcome, _reasons(session), tokens)


def _reasons_json(reasons: Sequence[Reason]) -> list[dict[str, str]]:
    return [{"code": r.code, "message": r.message_vi} for r in reasons]


def _closed(outcome: str, reasons: Sequence[Reason], decided_by: str) -> dict[str, Any]:
    """The changes that close a session: nothing personal stays but scores and reasons."""
    return {
        "state": "decided",
        "outcome": outcome,
        "reasons": _reasons_json(reasons),
        "password_hash": None,
        "card_reading": None,
        "portrait_template": None,
        "selfie_template": None,
        "decided_at": utc_now(),
        "decided_by": decided_by,
    }


def image_key(session_id: uuid.UUID, kind: str) -> str:
    return f"ekyc/{session_id}/{kind}"


class RegistrationService:
    def __init__(
        self,
        database: Database,
        components: Components,
        accounts: AccountsService,
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.database = database
        self.components = components
        self.settings = components.settings
        self.accounts = accounts
        self.now = now
        s = self.settings
        day, hour = timedelta(days=1), timedelta(hours=1)
        self.per_address = Rule("ekyc-address", s.ekyc_sessions_per_address, hour, hour)
        self.per_card = Rule("ekyc-card", s.ekyc_cards_per_number, day, day)
        self.per_member = Rule("ekyc-member", s.ekyc_sessions_per_member, day, day)

    # -- helpers ------------------------------------------------------------------------------

    def _engine(self) -> EkycEngine:
        if self.components.engine is None:
            raise EkycNotReady()
        return self.components.engine

    async def _in_pool(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.components.executor, functools.partial(work, *args, **kwargs)
        )

    async def _count(self, rule: Rule, value: str) -> None:
        """One attempt against `rule`, committed on its own; 429 when over the limit."""
        async with self.database.transaction() as tx:
            blocked_until = await repository.hit_limit(tx.conn, rule.key(value), rule)
            now = await repository.database_now(tx.conn)
        if blocked_until is not None:
            raise TooManyAttempts(retry_after_s(blocked_until, now))

    def _seal_template(self, embedding: Embedding, context: str) -> bytes:
        return self.components.sealer.seal(embedding_to_bytes(embedding), context)

    def _open_template(self, sealed: bytes, context: str) -> Embedding:
        return embedding_from_bytes(self.components.sealer.open(sealed, context))

    async def _store_image(self, session_id: uuid.UUID, kind: str, jpeg: bytes) -> str:
        key = image_key(session_id, kind)
        sealed = self.components.sealer.seal(jpeg, f"image:{key}")
        await self.components.store.put(key, sealed)
        return key

    async def _locked_session(self, conn: asyncpg.Connection, session_id: uuid.UUID) -> Session:
        session = await repository.get_session(conn, session_id, for_update=True)
        if session is None:
            raise SessionNotFound()
        return session

    def _check_open(self, session: Session) -> None:
        if session.state not in ("started", "card_read"):
            raise SessionClosed()
        if session.deadline <= self.now():
            raise SessionExpired()

    def _challenge_view(self, session: Session) -> ChallengeView:
        return ChallengeView(
            nonce=session.nonce,
            steps=tuple(Step(step) for step in session.challenge),
            deadline=session.deadline,
            max_duration_ms=self.settings.ekyc_max_challenge_ms,
        )

    def _new_challenge(self) -> tuple[str, list[str]]:
        challenge = random_challenge(SystemRandom(), self.settings.ekyc_challenge_steps)
        return secrets.token_urlsafe(24), [step.value for step in challenge.steps]

    async def _attempt_failed(
        self, session: Session, error: StepRejected, *, attempts_left: int
    ) -> AppError:
        """The error to answer; the last allowed attempt also closes the session."""
        if attempts_left <= 0:
            async with self.database.transaction() as tx:
                reason = Reason(error.code, error.message_vi)
                await repository.update_session(
                    tx.conn, session.id, _closed("rejected", [reason], "ekyc")
                )
            await delete_images(
                self.database, self.components.store, session.id, session.image_keys
            )
        return step_error(error, attempts_left)

    async def _without_images(self, session: Session) -> Session:
        """The session once its images are deleted (after its decision was committed)."""
        store = self.components.store
        if await delete_images(self.database, store, session.id, session.image_keys):
            return replace(session, image_keys=[])
        return session

    # -- the member's steps -------------------------------------------------------------------

    async def start(self, command: RegistrationStart, *, client: str) -> Started:
        text = current_text(command.consent_purpose)
        if (
            text is None
            or not command.consent_given
            or command.consent_text_version != text.version
        ):
            raise ConsentRequired(extra={"consent_text_version": text.version if text else None})
        phone = normalise_phone(command.phone) if command.phone else None
        try:
            passwords.check_policy(command.password, personal=tuple(filter(None, [phone])))
        except passwords.PasswordRejected as error:
            raise password_rejected(error, "password") from error
        await self._count(self.per_address, client)
        password_hash = await asyncio.to_thread(passwords.hash_password, command.password)
        nonce, steps = self._new_challenge()
        session_id = uuid.uuid4()
        async with self.database.transaction() as tx:
            await repository.insert_consent(
                tx.conn, purpose=text.purpose, text_version=text.version, session_id=session_id
            )
            session = await repository.insert_session(
                tx.conn,
                session_id=session_id,
                nonce=nonce,
                challenge=steps,
                deadline=self.now() + timedelta(seconds=self.settings.ekyc_session_ttl_s),
                client_address=client,
                password_hash=password_hash,
                phone=phone,
            )
        return Started(session, self._challenge_view(session))

    async def new_challenge(self, session_id: uuid.UUID) -> Started:
        """A fresh nonce and challenge after a failed selfie attempt (never before: cycling
        challenges until one suits a recording is what the random order prevents)."""
        async with self.database.transaction() as tx:
            session = await self._locked_session(tx.conn, session_id)
            self._check_open(session)
            if session.nonce not in session.used_nonces:
                raise ChallengeUnused()
            nonce, steps = self._new_challenge()
            session = await repository.update_session(
                tx.conn, session.id, {"nonce": nonce, "challenge": steps}
            )
        return Started(session, self._challenge_view(session))

    async def status(self, session_id: uuid.UUID) -> Registration:
        async with self.database.connection() as conn:
            session = await repository.get_session(conn, session_id)
        if session is None:
            raise SessionNotFound()
        return registration_of(session)

    async def submit_card(self, session_id: uuid.UUID, photo: bytes) -> CardRead:
        engine = self._engine()
        async with self.database.transaction() as tx:
            session = await self._locked_session(tx.conn, session_id)
            self._check_open(session)
            session = await repository.update_session(
                tx.conn, session.id, {"card_attempts": session.card_attempts + 1}
            )
            committees = issuing_committees(await repository.issuing_organizations(tx.conn))
        attempts_left = self.settings.ekyc_max_card_attempts - session.card_attempts
        try:
            check = await self._in_pool(engine.check_card, photo, committees=committees)
            member = await self._member_of(check.reading)
        except StepRejected as error:
            raise await self._attempt_failed(session, error, attempts_left=attempts_left) from error
        if member.member_id != session.member_id:
            await self._count(self.per_member, str(member.member_id))
        return CardRead(await self._keep_card(session, member, check), attempts_left)

    async def _member_of(self, reading: CardReading) -> MemberRecord:
        """The active member whose record the card matches, or why the card is refused."""
        number = card_number_to_look_up(reading)
        if number is None:
            raise card_unreadable()
        await self._count(self.per_card, number)
        async with self.database.connection() as conn:
            member = await repository.member_by_card_number(conn, number)
        if member is None or match_member(reading, member).outcome is MatchOutcome.MISMATCH:
            raise refused(CARD_MISMATCH)
        if member.status not in ACTIVE_STATUSES:
            raise refused(MEMBER_INACTIVE)
        return member

    async def _keep_card(self, session: Session, member: MemberRecord, check: CardCheck) -> Session:
        """Sealed images and template, the reading: what the selfie step and a reviewer need."""
        keys = [
            await self._store_image(session.id, "card", check.card_jpeg),
            await self._store_image(session.id, "portrait", check.portrait_jpeg),
        ]
        async with self.database.transaction() as tx:
            session = await self._locked_session(tx.conn, session.id)
            self._check_open(session)
            return await repository.update_session(
                tx.conn,
                session.id,
                {
                    "state": "card_read",
                    "member_id": member.member_id,
                    "card_number": member.party_card_number,
                    "card_reading": check.reading,
                    "portrait_template": self._seal_template(
                        check.portrait_template, f"portrait:{session.id}"
                    ),
                    "image_keys": keys,
                },
            )

    async def submit_selfie(
        self, session_id: uuid.UUID, nonce: str, frames: Sequence[UploadedFrame]
    ) -> Registration:
        engine = self._engine()
        session = await self._use_nonce(session_id, nonce)
        attempts_left = self.settings.ekyc_max_selfie_attempts - session.selfie_attempts
        challenge = Challenge(tuple(Step(step) for step in session.challenge))
        try:
            self._check_frames(frames)
            selfie = await self._in_pool(engine.check_selfie, frames, challenge)
        except StepRejected as error:
            raise await self._attempt_failed(session, error, attempts_left=attempts_left) from error
        async with self.database.connection() as conn:
            member = (
                await repository.get_member(conn, session.member_id) if session.member_id else None
            )
        faces = await self._face_scores(engine, session, member, selfie.template)
        assert session.card_reading is not None
        decision = decide(
            card_fully_accepted=session.card_reading.fully_accepted,
            match=match_member(session.card_reading, member),
            faces=faces,
        )
        return await self._carry_out(decision, session, member, selfie, _scores(faces, session))

    async def _use_nonce(self, session_id: uuid.UUID, nonce: str) -> Session:
        """Checks the nonce and uses it up, with one selfie attempt (committed at once)."""
        async with self.database.transaction() as tx:
            session = await self._locked_session(tx.conn, session_id)
            if nonce in session.used_nonces:
                raise ReplayedNonce()
            if not secrets.compare_digest(nonce, session.nonce):
                raise InvalidNonce()
            if session.state == "started":
                raise CardRequired()
            self._check_open(session)
            return await repository.update_session(
                tx.conn,
                session.id,
                {
                    "used_nonces": [*session.used_nonces, nonce],
                    "selfie_attempts": session.selfie_attempts + 1,
                },
            )

    async def _face_scores(
        self,
        engine: EkycEngine,
        session: Session,
        member: MemberRecord | None,
        selfie: Embedding,
    ) -> FaceScores:
        assert session.portrait_template is not None
        portrait = self._open_template(session.portrait_template, f"portrait:{session.id}")
        return FaceScores(
            card_similarity=engine.similarity(selfie, portrait),
            threshold=self.settings.face_threshold,
            review_threshold=self.settings.face_review_threshold,
            member_photo_similarity=await self._record_photo_similarity(engine, member, selfie),
        )

    async def _carry_out(
        self,
        decision: Decision,
        session: Session,
        member: MemberRecord | None,
        selfie: SelfieCheck,
        scores: dict[str, Any],
    ) -> Registration:
        """Verified: the account and the event, the member signed in. Needs review: the selfie
        frame is kept for the reviewer. Rejected: closed. Images go with the decision."""
        if decision.outcome is Outcome.NEEDS_REVIEW:
            key = await self._store_image(session.id, "selfie", selfie.frame_jpeg)
            return registration_of(
                await self._to_review(session, decision, scores, selfie.template, key)
            )
        tokens = None
        async with self.database.transaction() as tx:
            if decision.outcome is Outcome.VERIFIED:
                assert member is not None
                account, session = await self._verify(
                    tx, session, member, selfie.template, scores, method="ekyc", decided_by="ekyc"
                )
                tokens = await self.accounts.issue_tokens(tx, account)
            else:
                session = await repository.update_session(
                    tx.conn,
                    session.id,
                    {**_closed("rejected", decision.reasons, "ekyc"), "scores": scores},
                )
        return registration_of(await self._without_images(session), tokens)

    def _check_frames(self, frames: Sequence[UploadedFrame]) -> None:
        if len(frames) > self.settings.ekyc_max_frames:
            raise StepRejected(
                "too_many_frames",
                f"Gửi tối đa {self.settings.ekyc_max_frames} ảnh cho mỗi lần thực hiện.",
            )
        times = [frame.t_ms for frame in frames]
        if times and (
            min(times) < 0 or max(times) - min(times) > self.settings.ekyc_max_challenge_ms
        ):
            seconds = self.settings.ekyc_max_challenge_ms // 1000
            raise StepRejected(
                FRAMES_OUT_OF_WINDOW,
                f"Các ảnh phải được chụp liên tục trong vòng {seconds} giây. "
                "Vui lòng thực hiện lại.",
            )

    async def _record_photo_similarity(
        self, engine: EkycEngine, member: MemberRecord | None, selfie: Embedding
    ) -> float | None:
        """The selfie against the member record's photo, when there is one and it can be read."""
        store = self.components.member_photos
        if store is None or member is None or not member.photo_ref:
            return None
        try:
            photo = await store.get(member.photo_ref)
            template = await self._in_pool(engine.photo_template, photo)
        except (ObjectNotFound, StepRejected, ValueError) as exc:
            logger.warning("record photo not usable, skipped", extra={"error": repr(exc)})
            return None
        return engine.similarity(selfie, template)

    async def _to_review(
        self,
        session: Session,
        decision: Decision,
        scores: dict[str, Any],
        selfie: Embedding,
        selfie_key: str,
    ) -> Session:
        async with self.database.transaction() as tx:
            return await repository.update_session(
                tx.conn,
                session.id,
                {
                    "state": "in_review",
                    "review_since": self.now(),
                    "scores": scores,
                    "reasons": _reasons_json(decision.reasons),
                    "selfie_template": self._seal_template(selfie, f"selfie:{session.id}"),
                    "image_keys": [*session.image_keys, selfie_key],
                },
            )

    async def _verify(
        self,
        tx: Tx,
        session: Session,
        member: MemberRecord,
        selfie: Embedding,
        scores: dict[str, Any],
        *,
        method: str,
        decided_by: str,
    ) -> tuple[Account, Session]:
        """Creates the member's account, or gives an existing one the new password (every
        other session of it ends), stores the face template and publishes member.verified.v1."""
        assert session.password_hash is not None
        account = await repository.account_by_member(tx.conn, member.member_id)
        phone = session.phone
        if phone is not None:
            holder = await repository.account_by_phone(tx.conn, phone)
            if holder is not None and (account is None or holder.id != account.id):
                phone = None  # taken since the start: the member adds it later
        if account is None:
            account = await repository.insert_account(
                tx.conn,
                account_id=uuid.uuid4(),
                member_id=member.member_id,
                phone=phone,
                password_hash=session.password_hash,
            )
        else:
            await repository.set_password(tx.conn, account.id, session.password_hash)
            await repository.revoke_account_tokens(tx.conn, account.id)
            if phone is not None:
                await repository.set_phone(tx.conn, account.id, phone)
        await repository.put_template(
            tx.conn, account.id, self._seal_template(selfie, f"template:{account.id}")
        )
        await repository.attach_consents(tx.conn, session.id, account.id)
        verified_at = self.now()
        await tx.outbox.add(
            events.member_verified(
                account_id=account.id,
                member_id=member.member_id,
                method=method,
                scores=VerificationScores(
                    face_similarity=scores.get("face_similarity"),
                    face_threshold=scores.get("face_threshold"),
                    liveness_passed=scores.get("liveness_passed"),
                    ocr_fields_accepted=scores.get("ocr_fields_accepted"),
                    ocr_fields_total=scores.get("ocr_fields_total"),
                ),
                verified_at=verified_at,
            )
        )
        session = await repository.update_session(
            tx.conn,
            session.id,
            {**_closed("verified", [], decided_by), "scores": scores, "account_id": account.id},
        )
        return account, session

    async def cancel(self, session_id: uuid.UUID) -> Registration:
        """The member stops before the end: consent withdrawn, everything of the session gone."""
        async with self.database.transaction() as tx:
            session = await self._locked_session(tx.conn, session_id)
            if session.state == "decided":
                raise SessionClosed()
            await repository.withdraw_consents(
                tx.conn, purpose=EKYC_BIOMETRIC, session_id=session.id
            )
            session = await repository.update_session(
                tx.conn, session.id, _closed("withdrawn", [], "member")
            )
        return registration_of(await self._without_images(session))

    # -- reviews ------------------------------------------------------------------------------

    @staticmethod
    def _review_scope(caller: Principal) -> uuid.UUID | None:
        """None: everything (system admin); else the subtree the caller administers."""
        if caller.is_system_admin:
            return None
        if Role.COMMITTEE_ADMIN in caller.roles and caller.organization_id is not None:
            return caller.organization_id
        raise Forbidden("Chỉ cán bộ cấp ủy mới xem xét được hồ sơ đăng ký.", code="reviewers_only")

    async def _review_item(
        self, conn: asyncpg.Connection, caller: Principal, session_id: uuid.UUID
    ) -> ReviewItem:
        scope = self._review_scope(caller)
        session = await repository.get_session(conn, session_id)
        if session is None:
            raise SessionNotFound()
        if session.state != "in_review" or session.member_id is None:
            raise NotInReview()
        member = await repository.get_member(conn, session.member_id)
        if member is None:
            raise NotInReview()
        if scope is not None and not await repository.organization_within(
            conn, member.organization_id, scope
        ):
            raise ReviewOutOfScope()
        return ReviewItem(session, member)

    async def reviews(self, caller: Principal, *, limit: int = 50) -> list[ReviewItem]:
        scope = self._review_scope(caller)
        async with self.database.transaction() as tx:
            sessions = await repository.sessions_in_review(tx.conn, within=scope, limit=limit)
            items = []
            for session in sessions:
                assert session.member_id is not None
                member = await repository.get_member(tx.conn, session.member_id)
                if member is not None:
                    items.append(ReviewItem(session, member))
            await audit_read(
                tx.conn,
                caller,
                action="review.list",
                subject_type="member",
                subject_ids=[item.member.member_id for item in items],
                purpose="ekyc_review",
            )
        return items

    async def review(self, caller: Principal, session_id: uuid.UUID) -> ReviewItem:
        async with self.database.transaction() as tx:
            item = await self._review_item(tx.conn, caller, session_id)
            await audit_read(
                tx.conn,
                caller,
                action="review.read",
                subject_type="member",
                subject_ids=[item.member.member_id],
                purpose="ekyc_review",
            )
        return item

    async def review_image(self, caller: Principal, session_id: uuid.UUID, kind: str) -> bytes:
        async with self.database.transaction() as tx:
            item = await self._review_item(tx.conn, caller, session_id)
            key = image_key(session_id, kind)
            if key not in item.session.image_keys:
                raise NotFound("Không có ảnh này.", code="image_not_found")
            await audit_read(
                tx.conn,
                caller,
                action=f"review.image.{kind}",
                subject_type="member",
                subject_ids=[item.member.member_id],
                purpose="ekyc_review",
            )
        try:
            sealed = await self.components.store.get(key)
            return self.components.sealer.open(sealed, f"image:{key}")
        except (ObjectNotFound, SealedDataInvalid) as exc:
            raise NotFound("Ảnh không còn đọc được.", code="image_not_found") from exc

    async def decide_review(
        self, caller: Principal, session_id: uuid.UUID, *, approve: bool, note: str
    ) -> Registration:
        async with self.database.transaction() as tx:
            item = await self._review_item(tx.conn, caller, session_id)
            session = await self._locked_session(tx.conn, session_id)
            if session.state != "in_review":
                raise NotInReview()
            if approve:
                assert session.selfie_template is not None
                selfie = self._open_template(session.selfie_template, f"selfie:{session.id}")
                scores = {**session.scores, "reviewed": True}
                _, session = await self._verify(
                    tx,
                    session,
                    item.member,
                    selfie,
                    scores,
                    method="admin_review",
                    decided_by=caller.subject,
                )
            else:
                reason = Reason(
                    "rejected_by_reviewer",
                    note or "Cán bộ cấp ủy không xác nhận được hồ sơ đăng ký này.",
                )
                session = await repository.update_session(
                    tx.conn, session.id, _closed("rejected", [reason], caller.subject)
                )
        return registration_of(await self._without_images(session))

    # -- retention ----------------------------------------------------------------------------

    async def close_stale_sessions(self) -> int:
        """Closes sessions past their deadline and reviews past the retention, deletes their
        images (and images a failed deletion left). Returns how many sessions it touched."""
        retention = timedelta(days=self.settings.review_retention_days)
        async with self.database.transaction() as tx:
            stale = await repository.sessions_to_close(tx.conn, review_older_than=retention)
            for session in stale:
                if session.state != "decided":
                    await repository.update_session(
                        tx.conn, session.id, _closed("expired", [], "retention")
                    )
            await repository.delete_stale_rows(tx.conn)
        for session in stale:
            await self._without_images(session)
        return len(stale)


def _scores(faces: FaceScores, session: Session) -> dict[str, Any]:
    reading = session.card_reading
    assert reading is not None
    return {
        "face_similarity": round(faces.card_similarity, 4),
        "face_threshold": faces.threshold,
        "member_photo_similarity": (
            round(faces.member_photo_similarity, 4)
            if faces.member_photo_similarity is not None
            else None
        ),
        "liveness_passed": True,
        "ocr_fields_accepted": sum(f.accepted for f in reading.fields().values()),
        "ocr_fields_total": len(reading.fields()),
    }
