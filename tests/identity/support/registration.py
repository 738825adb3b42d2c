"""Builders for the registration tests (service, API, end to end): the identity read model's
tree and members, the photo of a member's card with a real face on it, and selfie frames of
that face doing a challenge (re-rendered in 3D from one photo, see synthetic_faces).

Faces are the real photos two packages ship: scikit-image's astronaut (Eileen Collins) and
matplotlib's Grace Hopper.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import asyncpg
import cv2
import numpy as np
import skimage.data
from matplotlib import cbook

from sotay_common.events.members import MemberStatus, OrganizationType, Position
from sotay_identity import repository
from sotay_identity.face import Image
from sotay_identity.liveness import Step
from sotay_identity.matching import MemberRecord
from sotay_identity.pipeline import UploadedFrame
from sotay_identity.repository import OrganizationNode
from sotay_identity.synthetic_faces import FaceModel, face_model, live_sequence
from tests.identity.support.cards import (
    CardTruth,
    Degradation,
    encode_jpeg,
    photograph,
    render_card,
)

# A phone photo taken with some care: what a member who follows the instructions sends.
CAREFUL_PHOTO = Degradation(
    max_rotation_deg=5.0,
    max_corner_jitter=0.03,
    max_blur_sigma=0.5,
    max_noise_sigma=3.0,
    jpeg_quality=(80, 92),
    max_light_falloff=0.2,
)
# Head and shoulders (x0, y0, x1, y1, 3:4) of each photo, as on a card's portrait.
_PORTRAIT_BOXES = {"astronaut": (137, 16, 308, 244), "hopper": (108, 35, 427, 460)}


@cache
def photo(name: str) -> Image:
    if name == "astronaut":
        rgb = skimage.data.astronaut()  # type: ignore[no-untyped-call]
        return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8)
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(cv2.imread(str(path), cv2.IMREAD_COLOR), dtype=np.uint8)


def portrait(name: str) -> Image:
    x0, y0, x1, y1 = _PORTRAIT_BOXES[name]
    return np.ascontiguousarray(photo(name)[y0:y1, x0:x1])


@cache
def _model(name: str) -> FaceModel:
    return face_model(photo(name))


@cache
def _selfie_frames(name: str, steps: tuple[Step, ...]) -> tuple[UploadedFrame, ...]:
    return tuple(
        UploadedFrame(encode_jpeg(frame.image, 90), frame.t_ms)
        for frame in live_sequence(_model(name), steps)
    )


def selfie_frames(name: str, steps: Sequence[str | Step]) -> list[UploadedFrame]:
    """JPEG frames of the person of photo `name` doing `steps` (100 ms apart)."""
    return list(_selfie_frames(name, tuple(Step(step) for step in steps)))


def card_truth(member: MemberRecord, committee: str) -> CardTruth:
    official = member.official_date or member.admission_date
    return CardTruth(
        full_name=member.full_name,
        date_of_birth=member.date_of_birth,
        party_card_number=member.party_card_number,
        admission_date=member.admission_date,
        official_date=official,
        issuing_committee=committee,
        issue_date=official + dt.timedelta(days=400),
    )


def card_jpeg(truth: CardTruth, face: str, *, seed: int = 3) -> bytes:
    """A careful phone photo of the card of `truth` with the portrait of photo `face`."""
    rng = random.Random(seed)
    card = render_card(truth, rng, portrait=portrait(face))
    jpeg, _ = photograph(card, rng, CAREFUL_PHOTO)
    return jpeg


# -- the read model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """Tỉnh → huyện → xã → chi bộ A; and a second district with one cell."""

    province: OrganizationNode
    district: OrganizationNode
    commune: OrganizationNode
    cell: OrganizationNode
    other_district: OrganizationNode
    other_cell: OrganizationNode

    committee = "Tỉnh ủy Thanh Bình"  # what the province's cards print


async def seed_tree(conn: asyncpg.Connection) -> Tree:
    async def org(
        name: str, kind: OrganizationType, parent: OrganizationNode | None
    ) -> OrganizationNode:
        node = OrganizationNode(
            id=uuid.uuid4(),
            parent_id=parent.id if parent else None,
            ancestor_ids=parent.path_ids if parent else [],
            name=name,
            type=kind,
            status="active",
            version=1,
        )
        assert await repository.upsert_organization(conn, node)
        return node

    province = await org("Đảng bộ tỉnh Thanh Bình", OrganizationType.PROVINCE_COMMITTEE, None)
    district = await org("Đảng bộ huyện Yên Hòa", OrganizationType.INTERMEDIATE_COMMITTEE, province)
    commune = await org("Đảng bộ xã Yên Mông", OrganizationType.GRASSROOTS_COMMITTEE, district)
    cell = await org("Chi bộ thôn Đông", OrganizationType.CELL, commune)
    other_district = await org(
        "Đảng bộ huyện Lạc Sơn", OrganizationType.INTERMEDIATE_COMMITTEE, province
    )
    other_cell = await org("Chi bộ thôn Bãi", OrganizationType.CELL, other_district)
    return Tree(province, district, commune, cell, other_district, other_cell)


def card_number() -> str:
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def member_record(org: OrganizationNode, **overrides: Any) -> MemberRecord:
    values: dict[str, Any] = {
        "member_id": uuid.uuid4(),
        "version": 1,
        "organization_id": org.id,
        "full_name": "Phan Văn Đức",
        "date_of_birth": dt.date(1975, 9, 2),
        "party_card_number": card_number(),
        "status": MemberStatus.OFFICIAL,
        "admission_date": dt.date(2000, 3, 3),
        "official_date": dt.date(2001, 3, 3),
        "positions": (),
        "photo_ref": None,
    }
    values.update(overrides)
    return MemberRecord(**values)


async def add_member(
    conn: asyncpg.Connection, org: OrganizationNode, **overrides: Any
) -> MemberRecord:
    member = member_record(org, **overrides)
    assert await repository.upsert_member(conn, member)
    return member


async def make_secretary(conn: asyncpg.Connection, member: MemberRecord) -> MemberRecord:
    updated = replace(member, version=member.version + 1, positions=(Position.SECRETARY,))
    assert await repository.upsert_member(conn, updated)
    return updated
