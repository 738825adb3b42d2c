"""eKYC registration on the service layer, with the real models: generated card photos carrying
a real face, selfie frames re-rendered from that face, the test's rolled-back database."""

import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sotay_common.auth import Principal, Role
from sotay_common.errors import AppError
from sotay_common.events.identity import MemberVerifiedV1
from sotay_common.storage import FileBlobStore
from sotay_identity import repository
from sotay_identity.components import Components
from sotay_identity.consent import CONSENT_TEXTS, EKYC_BIOMETRIC
from sotay_identity.crypto import SealedDataInvalid, embedding_from_bytes
from sotay_identity.matching import MemberRecord
from sotay_identity.pipeline import UploadedFrame
from sotay_identity.registration import Registration, RegistrationService, Started
from sotay_identity.schemas import RegistrationStart
from sotay_identity.service import AccountsService
from tests.identity.conftest import Clock, RegistrationWith, with_settings
from tests.identity.support.cards import encode_jpeg, scene_without_card
from tests.identity.support.registration import (
    Tree,
    add_member,
    card_jpeg,
    card_truth,
    photo,
    selfie_frames,
)

PASSWORD = "Hoa sen nở 2025"
CLIENT = "203.0.113.7"


def start_command(**overrides: Any) -> RegistrationStart:
    values: dict[str, Any] = {
        "consent_text_version": CONSENT_TEXTS[EKYC_BIOMETRIC].version,
        "consent_given": True,
        "password": PASSWORD,
    }
    return RegistrationStart(**(values | overrides))


async def start_with_card(
    registration: RegistrationService, tree: Tree, member: MemberRecord, *, card_face: str
) -> Started:
    started = await registration.start(start_command(), client=CLIENT)
    await registration.submit_card(
        started.session.id, card_jpeg(card_truth(member, tree.committee), card_face)
    )
    return started


async def register(
    registration: RegistrationService,
    tree: Tree,
    member: MemberRecord,
    *,
    card_face: str = "astronaut",
    selfie_face: str = "astronaut",
) -> Registration:
    started = await start_with_card(registration, tree, member, card_face=card_face)
    frames = selfie_frames(selfie_face, started.challenge.steps)
    return await registration.submit_selfie(started.session.id, started.challenge.nonce, frames)


async def outbox_events(conn: asyncpg.Connection, event_type: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT payload FROM outbox WHERE event_type = $1", event_type)
    return [json.loads(bytes(row["payload"])) for row in rows]


def stored_files(components: Components, session_id: uuid.UUID) -> list[Path]:
    store = components.store
    assert isinstance(store, FileBlobStore)
    folder = store.root / "ekyc" / str(session_id)
    return sorted(folder.glob("*")) if folder.exists() else []


def committee_admin(org_id: uuid.UUID) -> Principal:
    return Principal(
        subject=f"admin-{org_id.hex[:6]}",
        roles=frozenset({Role.COMMITTEE_ADMIN, Role.MEMBER}),
        organization_id=org_id,
    )


async def test_a_member_registers_alone_and_is_verified(
    registration: RegistrationService,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    member = await add_member(conn, tree.cell)

    result = await register(registration, tree, member)

    assert (result.outcome, result.reasons) == ("verified", [])
    assert result.tokens is not None
    session = result.session
    account = await repository.account_by_member(conn, member.member_id)
    assert account is not None
    assert session.account_id == account.id
    # nothing personal is left on the session, no image in the store
    assert (session.card_reading, session.password_hash, session.portrait_template) == (
        None,
        None,
        None,
    )
    assert session.image_keys == []
    assert stored_files(components, session.id) == []
    # the face template is sealed to its account
    sealed = await repository.get_template(conn, account.id)
    assert sealed is not None
    template = embedding_from_bytes(components.sealer.open(sealed, f"template:{account.id}"))
    assert template.shape == (128,)
    with pytest.raises(SealedDataInvalid):
        components.sealer.open(sealed, f"template:{uuid.uuid4()}")
    # the consent given at the start now belongs to the account
    [consent] = await repository.consents_of(conn, account.id)
    assert (consent.purpose, consent.withdrawn_at) == (EKYC_BIOMETRIC, None)
    # the event: identifiers, method and scores only
    [payload] = await outbox_events(conn, "member.verified.v1")
    event = MemberVerifiedV1.model_validate(payload)
    assert (event.account_id, event.member_id, event.method) == (
        account.id,
        member.member_id,
        "ekyc",
    )
    assert event.scores.face_similarity is not None
    assert event.scores.face_similarity >= components.settings.face_threshold
    assert (event.scores.ocr_fields_accepted, event.scores.ocr_fields_total) == (7, 7)
    assert set(payload) == {"account_id", "member_id", "method", "scores", "verified_at"}


async def test_registering_again_links_the_account_and_ends_its_sessions(
    registration: RegistrationService,
    accounts: AccountsService,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    member = await add_member(conn, tree.cell)
    first = await register(registration, tree, member)
    assert first.tokens is not None

    second = await register(registration, tree, member)

    assert second.outcome == "verified"
    assert second.session.account_id == first.session.account_id
    with pytest.raises(AppError) as refused:
        await accounts.refresh(first.tokens.refresh_token)
    assert refused.value.code == "refresh_token_invalid"


async def test_a_selfie_of_someone_else_is_rejected_and_nothing_is_kept(
    registration: RegistrationService,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    member = await add_member(conn, tree.cell)

    result = await register(registration, tree, member, card_face="hopper")

    assert result.outcome == "rejected"
    assert [reason.code for reason in result.reasons] == ["face_mismatch"]
    assert "Khuôn mặt không khớp" in result.reasons[0].message_vi
    assert result.session.scores["face_similarity"] < components.settings.face_review_threshold
    assert stored_files(components, result.session.id) == []
    assert await repository.account_by_member(conn, member.member_id) is None


async def test_an_uncertain_face_waits_for_a_reviewer_who_approves(
    registration_with: RegistrationWith,
    accounts: AccountsService,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    strict = with_settings(components, face_threshold=0.99)
    registration = registration_with(strict)
    member = await add_member(conn, tree.cell)

    result = await register(registration, tree, member)

    assert result.outcome == "needs_review"
    assert [reason.code for reason in result.reasons] == ["face_uncertain"]
    session_id = result.session.id
    assert [p.name for p in stored_files(components, session_id)] == [
        "card",
        "portrait",
        "selfie",
    ]
    reviewer = committee_admin(tree.district.id)
    [item] = await registration.reviews(reviewer)
    assert (item.session.id, item.member.member_id) == (session_id, member.member_id)
    assert await registration.reviews(committee_admin(tree.other_district.id)) == []
    with pytest.raises(AppError) as out_of_scope:
        await registration.review(committee_admin(tree.other_district.id), session_id)
    assert out_of_scope.value.code == "review_out_of_scope"
    selfie = await registration.review_image(reviewer, session_id, "selfie")
    assert selfie.startswith(b"\xff\xd8\xff")
    audit = await repository.audit_entries(conn, "member", str(member.member_id))
    assert [(e.actor, e.action) for e in audit] == [
        (reviewer.subject, "review.list"),
        (reviewer.subject, "review.image.selfie"),
    ]

    decided = await registration.decide_review(reviewer, session_id, approve=True, note="")

    assert decided.outcome == "verified"
    assert decided.session.decided_by == reviewer.subject
    assert stored_files(components, session_id) == []
    [payload] = await outbox_events(conn, "member.verified.v1")
    assert payload["method"] == "admin_review"
    account = await repository.account_by_member(conn, member.member_id)
    assert account is not None
    signed_in = await accounts.login(member.party_card_number, PASSWORD, client=CLIENT)
    assert signed_in.tokens.access_token


async def test_a_reviewer_may_reject_with_a_reason(
    registration_with: RegistrationWith,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    strict = with_settings(components, face_threshold=0.99)
    registration = registration_with(strict)
    member = await add_member(conn, tree.cell)
    result = await register(registration, tree, member)

    decided = await registration.decide_review(
        committee_admin(tree.province.id),
        result.session.id,
        approve=False,
        note="Ảnh chân dung trên thẻ đã bị thay.",
    )

    assert decided.outcome == "rejected"
    assert [(r.code, r.message_vi) for r in decided.reasons] == [
        ("rejected_by_reviewer", "Ảnh chân dung trên thẻ đã bị thay.")
    ]
    assert stored_files(components, result.session.id) == []
    assert await repository.account_by_member(conn, member.member_id) is None


async def test_the_record_photo_is_compared_when_it_can_be_read(
    registration_with: RegistrationWith,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    photos = FileBlobStore(tmp_path / "member-photos")
    await photos.put("photos/hopper.jpg", encode_jpeg(photo("hopper")))
    with_photos = with_settings(components)
    with_photos.member_photos = photos
    registration = registration_with(with_photos)
    member = await add_member(conn, tree.cell, photo_ref="photos/hopper.jpg")

    result = await register(registration, tree, member)

    assert result.outcome == "needs_review"
    assert [reason.code for reason in result.reasons] == ["member_photo_uncertain"]
    assert result.session.scores["member_photo_similarity"] < components.settings.face_threshold


async def test_a_card_of_no_member_record_is_refused_and_nothing_is_stored(
    registration: RegistrationService,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    member = await add_member(conn, tree.cell)
    started = await registration.start(start_command(), client=CLIENT)
    wrong_birthday = card_truth(member, tree.committee)
    wrong_birthday = type(wrong_birthday)(
        **{**wrong_birthday.__dict__, "date_of_birth": member.date_of_birth.replace(year=1976)}
    )

    with pytest.raises(AppError) as refused:
        await registration.submit_card(started.session.id, card_jpeg(wrong_birthday, "astronaut"))

    assert (refused.value.status, refused.value.code) == (422, "card_mismatch")
    assert refused.value.detail_vi.startswith("Thông tin thẻ không khớp hồ sơ")
    assert refused.value.extra == {"attempts_left": components.settings.ekyc_max_card_attempts - 1}
    session = await repository.get_session(conn, started.session.id)
    assert session is not None
    assert (session.state, session.card_reading, session.image_keys) == ("started", None, [])
    assert stored_files(components, started.session.id) == []


async def test_a_photo_without_a_card_says_so(
    registration: RegistrationService, tree: Tree, conn: asyncpg.Connection
) -> None:
    started = await registration.start(start_command(), client=CLIENT)

    with pytest.raises(AppError) as refused:
        await registration.submit_card(started.session.id, scene_without_card(4))

    assert (refused.value.status, refused.value.code) == (422, "card_not_found")


async def test_the_selfie_step_guards_its_nonce_order_and_deadline(
    registration: RegistrationService, clock: Clock, tree: Tree, conn: asyncpg.Connection
) -> None:
    member = await add_member(conn, tree.cell)
    started = await registration.start(start_command(), client=CLIENT)
    session_id, nonce = started.session.id, started.challenge.nonce
    frames = selfie_frames("astronaut", started.challenge.steps)

    async def refused_code(nonce: str, frames: Any = frames) -> str:
        with pytest.raises(AppError) as refused:
            await registration.submit_selfie(session_id, nonce, frames)
        return refused.value.code

    assert await refused_code(nonce) == "card_required"
    await registration.submit_card(
        session_id, card_jpeg(card_truth(member, tree.committee), "astronaut")
    )
    assert await refused_code("not-the-nonce") == "invalid_nonce"
    wrong_order = selfie_frames("astronaut", list(reversed(started.challenge.steps)))
    assert await refused_code(nonce, wrong_order) == "wrong_order"
    assert await refused_code(nonce) == "replayed_nonce"
    again = await registration.new_challenge(session_id)
    with pytest.raises(AppError) as unused:  # a new challenge only after the last was used
        await registration.new_challenge(session_id)
    assert unused.value.code == "challenge_unused"
    clock.advance(seconds=registration.settings.ekyc_session_ttl_s + 1)
    assert await refused_code(again.challenge.nonce) == "session_expired"


async def test_the_last_failed_attempt_closes_the_session(
    registration_with: RegistrationWith,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    one_try = with_settings(components, ekyc_max_selfie_attempts=1)
    registration = registration_with(one_try)
    member = await add_member(conn, tree.cell)
    started = await start_with_card(registration, tree, member, card_face="astronaut")
    still = encode_jpeg(photo("astronaut"))  # a still picture: no step is ever seen
    printed = [UploadedFrame(still, t_ms) for t_ms in range(0, 1000, 100)]

    with pytest.raises(AppError) as refused:
        await registration.submit_selfie(started.session.id, started.challenge.nonce, printed)

    assert (refused.value.code, refused.value.extra) == ("step_missing", {"attempts_left": 0})
    status = await registration.status(started.session.id)
    assert (status.outcome, [r.code for r in status.reasons]) == ("rejected", ["step_missing"])
    assert status.session.image_keys == []


async def test_card_photos_of_one_number_are_limited(
    registration_with: RegistrationWith,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    limited = with_settings(components, ekyc_cards_per_number=1)
    registration = registration_with(limited)
    member = await add_member(conn, tree.cell)
    card = card_jpeg(card_truth(member, tree.committee), "astronaut")
    first = await registration.start(start_command(), client=CLIENT)
    await registration.submit_card(first.session.id, card)
    second = await registration.start(start_command(), client="198.51.100.2")

    with pytest.raises(AppError) as refused:
        await registration.submit_card(second.session.id, card)

    assert (refused.value.status, refused.value.code) == (429, "too_many_attempts")


async def test_start_requires_consent_to_the_current_text_and_a_good_password(
    registration: RegistrationService,
) -> None:
    for command, code in [
        (start_command(consent_given=False), "consent_required"),
        (start_command(consent_text_version="2020-01-01"), "consent_required"),
        (start_command(password="1234567"), "password_too_short"),
        (start_command(password="aaaaaaaaaa"), "password_too_weak"),
    ]:
        with pytest.raises(AppError) as refused:
            await registration.start(command, client=CLIENT)
        assert refused.value.code == code


async def test_retention_closes_abandoned_sessions_and_deletes_their_images(
    registration: RegistrationService,
    components: Components,
    clock: Clock,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    member = await add_member(conn, tree.cell)
    clock.advance(hours=-1)  # started an hour ago, so its deadline has passed
    started = await start_with_card(registration, tree, member, card_face="astronaut")
    assert len(stored_files(components, started.session.id)) == 2

    assert await registration.close_stale_sessions() >= 1

    status = await registration.status(started.session.id)
    assert status.outcome == "expired"
    assert stored_files(components, started.session.id) == []


async def test_cancelling_withdraws_the_consent_and_deletes_everything(
    registration: RegistrationService,
    components: Components,
    tree: Tree,
    conn: asyncpg.Connection,
) -> None:
    member = await add_member(conn, tree.cell)
    started = await start_with_card(registration, tree, member, card_face="astronaut")

    cancelled = await registration.cancel(started.session.id)

    assert cancelled.outcome == "withdrawn"
    assert stored_files(components, started.session.id) == []
    withdrawn = await conn.fetchval(
        "SELECT withdrawn_at IS NOT NULL FROM consents WHERE session_id = $1", started.session.id
    )
    assert withdrawn is True
