"""The CPU-bound steps of an eKYC registration, with the models built once per process.

`check_card`: decode the photo (size, pixel and format limits, EXIF orientation), find and
rectify the card, refuse it when blurred, read its fields with both OCR engines, crop the
portrait and compute its face template. `check_selfie`: decode the frames, run the liveness
challenge on them (when it fails, the first frame says whether there is one face of a usable
size) and compute the template of the frontal frame it picks. Whatever makes a step
impossible is a `StepRejected` with a stable code and a message the member can act on.
Methods are synchronous and thread-safe: the service runs them in a thread pool sized to the
cores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from sotay_identity.card import CardNotFound, crop_portrait, locate_card
from sotay_identity.face import Embedding, FaceAnalyzer, FaceRejected, Image
from sotay_identity.images import ImageLimits, ImageRejected, decode_image, is_blurry
from sotay_identity.liveness import (
    Challenge,
    Frame,
    LivenessChecker,
    LivenessError,
    LivenessResult,
)
from sotay_identity.ocr import CardReader, CardReading, default_reader

__all__ = [
    "CardCheck",
    "EkycEngine",
    "SelfieCheck",
    "StepRejected",
    "UploadedFrame",
]


class StepRejected(Exception):
    """A step of the registration cannot go on with this input; nothing of it is kept."""

    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_vi = message_vi

    @classmethod
    def of(cls, error: ImageRejected | CardNotFound | FaceRejected | LivenessError) -> StepRejected:
        return cls(error.code, error.message_vi)


def _portrait_not_found() -> StepRejected:
    return StepRejected(
        "portrait_not_found",
        "Không tìm thấy khuôn mặt trên ảnh thẻ. Vui lòng chụp lại thẻ rõ nét, không bị lóa ở "
        "ảnh chân dung.",
    )


@dataclass(frozen=True)
class UploadedFrame:
    data: bytes
    t_ms: int  # capture time, milliseconds from the start of the challenge


@dataclass(frozen=True)
class CardCheck:
    reading: CardReading
    portrait_template: Embedding
    card_jpeg: bytes  # the rectified card, for a reviewer
    portrait_jpeg: bytes


@dataclass(frozen=True)
class SelfieCheck:
    liveness: LivenessResult
    template: Embedding
    frame_jpeg: bytes  # the frame the face was verified on, for a reviewer


class EkycEngine:
    def __init__(
        self,
        *,
        faces: FaceAnalyzer,
        reader: CardReader,
        liveness: LivenessChecker,
        card_limits: ImageLimits,
        frame_limits: ImageLimits,
    ) -> None:
        self.faces = faces
        self.reader = reader
        self.liveness = liveness
        self.card_limits = card_limits
        self.frame_limits = frame_limits

    @classmethod
    def load(
        cls, *, face_threshold: float, card_max_bytes: int, frame_max_bytes: int
    ) -> EkycEngine:
        """Build the models (a few seconds): face detector and recogniser, both OCR engines."""
        return cls(
            faces=FaceAnalyzer(threshold=face_threshold),
            reader=default_reader(),
            liveness=LivenessChecker(),
            card_limits=ImageLimits(max_bytes=card_max_bytes),
            frame_limits=ImageLimits(max_bytes=frame_max_bytes, min_side=240),
        )

    def check_card(
        self, data: bytes, *, committees: Sequence[str], today: dt.date | None = None
    ) -> CardCheck:
        photo = self._decode(data, self.card_limits)
        try:
            card = locate_card(photo)
        except CardNotFound as error:
            raise StepRejected.of(error) from error
        if is_blurry(card.image):
            raise StepRejected.of(ImageRejected.blurry())
        portrait = crop_portrait(card)
        try:
            portrait_template = self.faces.embed_main_face(portrait)
        except FaceRejected as error:
            raise _portrait_not_found() from error
        reading = self.reader.read(card, known_committees=committees, today=today)
        return CardCheck(reading, portrait_template, _jpeg(card.image), _jpeg(portrait))

    def check_selfie(self, frames: Sequence[UploadedFrame], challenge: Challenge) -> SelfieCheck:
        images = [self._decode(frame.data, self.frame_limits) for frame in frames]
        if not images:
            raise StepRejected("too_few_frames", "Chưa nhận được ảnh nào. Vui lòng thực hiện lại.")
        try:
            result = self.liveness.evaluate(
                [Frame(image, frame.t_ms) for image, frame in zip(images, frames, strict=True)],
                challenge,
            )
            if not result.passed or result.frontal_index is None:
                # No face, two faces, a face too small say more than "face lost".
                self.faces.main_face(images[0])
                failure = result.reasons[0]
                raise StepRejected(failure.code, failure.message_vi)
        except (FaceRejected, LivenessError) as error:
            raise StepRejected.of(error) from error
        chosen = images[result.frontal_index]
        try:
            template = self.faces.embed_main_face(chosen)
        except FaceRejected as error:
            raise StepRejected.of(error) from error
        return SelfieCheck(result, template, _jpeg(chosen))

    def photo_template(self, data: bytes) -> Embedding:
        """The face template of a stored photo (the member record's)."""
        image = self._decode(data, ImageLimits(max_bytes=self.card_limits.max_bytes, min_side=64))
        try:
            return self.faces.embed_main_face(image)
        except FaceRejected as error:
            raise StepRejected.of(error) from error

    def similarity(self, a: Embedding, b: Embedding) -> float:
        return self.faces.match(a, b).similarity

    @staticmethod
    def _decode(data: bytes, limits: ImageLimits) -> Image:
        try:
            return decode_image(data, limits=limits)
        except ImageRejected as error:
            raise StepRejected.of(error) from error


def _jpeg(image: Image, quality: int = 90) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return np.asarray(encoded).tobytes()
