"""Active liveness: a random challenge (blink, turn left, turn right) checked on selfie frames.

No passive anti-spoofing model ships in any package we can install, so liveness is an active
challenge read from FaceMesh landmarks (mediapipe, refined model, ~7 ms per frame):
- blink: the eye aspect ratio (EAR, on 3D landmarks) drops by `blink_drop` (20%) below the
  session's own open-eye baseline and comes back within `max_blink_ms`. A fixed EAR threshold
  misfires across faces. On fully closed synthetic eyes of 66 real faces FaceMesh's EAR fell
  by 15-75% (median ~45%), least for narrow eyes and glasses, hence 20%. Extra blinks are
  natural and ignored;
- turn: the head's yaw (from the depth difference across symmetric landmarks), measured from
  the person's own frontal pose, passes `min_turn_deg` (20) to one side;
- not a photo: a printed photo turned in front of the camera moves its landmarks as a plane
  does: one homography maps the frontal frame's landmarks onto the turned frame's. A real head
  does not. Each turn must leave a homography residual of at least `min_planar_residual`
  (0.04) eye distances, or the attempt fails with planar_motion. In practice FaceMesh reads a
  turned print as (nearly) frontal, so prints mostly fail with step_missing first;
- order: the challenge's steps must happen in its order.

Frames are the client's (a short burst, e.g. 8-30 JPEGs at ~10 fps with capture times in ms),
as the camera delivers them: not mirrored (else pass mirrored=True). `turn_left` means the
person turns towards their own left, which moves the nose towards the right of an un-mirrored
image. Deadlines and the nonce the challenge is bound to are the service's job; `evaluate`
only reads the frames' times. Not covered: a screen replaying a video of the person, or two
photos (frontal and turned) swapped in front of the camera; see the report of bench/liveness.py.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, Self, cast

import cv2
import numpy as np
import numpy.typing as npt

from sotay_identity.face import Image

Points = npt.NDArray[np.float64]

# FaceMesh indices. EAR: outer corner, two upper-lid points, inner corner, two lower-lid points.
_RIGHT_EYE: Final = (33, 160, 158, 133, 153, 144)
_LEFT_EYE: Final = (263, 387, 385, 362, 380, 373)
# Pairs symmetric about the face's mid-plane (image-left point first) for the yaw.
_YAW_PAIRS: Final = ((33, 263), (133, 362), (234, 454), (61, 291), (127, 356), (93, 323))


class Step(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"

    @property
    def instruction_vi(self) -> str:
        return _INSTRUCTIONS_VI[self]


_INSTRUCTIONS_VI: Final = {
    Step.BLINK: "Chớp mắt",
    Step.TURN_LEFT: "Quay mặt sang trái",
    Step.TURN_RIGHT: "Quay mặt sang phải",
}


@dataclass(frozen=True)
class Challenge:
    steps: tuple[Step, ...]

    def instructions_vi(self) -> list[str]:
        return [step.instruction_vi for step in self.steps]


def random_challenge(rng: random.Random, n: int = 3) -> Challenge:
    """`n` steps (2 to 6) in random order, never the same step twice in a row, always with a
    head turn (the photo check needs one). Pass `random.SystemRandom()` in production."""
    if not 2 <= n <= 6:
        raise ValueError("a challenge has 2 to 6 steps")
    steps = list(Step)
    rng.shuffle(steps)
    while len(steps) < n:
        steps.append(rng.choice([step for step in Step if step != steps[-1]]))
    return Challenge(tuple(steps[:n]))


@dataclass(frozen=True)
class Frame:
    image: Image
    t_ms: int


@dataclass(frozen=True)
class StepSeen:
    step: Step
    t_ms: int
    frame_index: int


@dataclass(frozen=True)
class LivenessFailure:
    code: str
    message_vi: str


@dataclass(frozen=True)
class LivenessResult:
    passed: bool
    steps: tuple[StepSeen, ...]
    """Challenge steps matched in order, with the frame at which each happened."""
    reasons: tuple[LivenessFailure, ...]
    frontal_index: int | None
    """Index of the frame to verify against the card (frontal, eyes open, sharpest)."""
    observations: tuple[FrameObservation, ...] = field(repr=False)


class LivenessError(Exception):
    """The frames cannot be evaluated at all; `code` is stable, `message_vi` for users."""

    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_vi = message_vi


_FAILURE_MESSAGES_VI: Final = {
    "step_missing": "Chưa thấy đủ các thao tác được yêu cầu. Vui lòng làm lại theo hướng dẫn.",
    "wrong_order": "Các thao tác chưa đúng thứ tự yêu cầu. Vui lòng làm lại theo hướng dẫn.",
    "planar_motion": "Không xác nhận được khuôn mặt thật. Vui lòng tự thực hiện trước máy ảnh, "
    "không dùng ảnh chụp.",
    "face_lost": "Khuôn mặt ra khỏi khung hình. Vui lòng giữ khuôn mặt trong khung hình.",
    "multiple_faces": "Có nhiều hơn một khuôn mặt trong khung hình. Vui lòng thực hiện một mình.",
    "no_frontal_frame": "Chưa có ảnh nhìn thẳng, mở mắt. Vui lòng nhìn thẳng vào máy ảnh.",
}


def _failure(code: str) -> LivenessFailure:
    return LivenessFailure(code, _FAILURE_MESSAGES_VI[code])


@dataclass(frozen=True)
class FrameObservation:
    """What FaceMesh saw in one frame."""

    faces: int
    yaw_deg: float = 0.0
    """Positive: the person turned towards their own left."""
    ear: float = 0.0
    landmarks: Points | None = field(default=None, repr=False)
    eye_distance: float = 0.0


class FaceMeshTracker:
    """mediapipe FaceMesh on single images (no tracking state between frames).

    Not thread-safe: make one per evaluation (creating one takes ~15 ms) and close it.
    """

    def __init__(self, max_faces: int = 2) -> None:
        from mediapipe.python.solutions import face_mesh

        # The refined (attention) model follows the eyelids better: a full synthetic eye
        # closure lowers its EAR by 20-38% against 14-28% for the basic model.
        self._mesh: Any = face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True
        )

    def landmarks(self, image: Image) -> list[Points]:
        """Per face: (468, 3) landmarks in pixels; z in the same unit, smaller is nearer.
        (The refined model's 10 iris points are dropped: they follow the gaze, not the head.)"""
        height, width = image.shape[:2]
        result = self._mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        faces = result.multi_face_landmarks or []
        scale = np.array([width, height, width], dtype=np.float64)
        return [
            np.array([[p.x, p.y, p.z] for p in face.landmark[:468]], dtype=np.float64) * scale
            for face in faces
        ]

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def eye_aspect_ratio(landmarks: Points) -> float:
    """Mean of both eyes' (|p2-p6| + |p3-p5|) / (2 |p1-p4|), on 3D landmarks."""
    ratios = []
    for p1, p2, p3, p4, p5, p6 in (_RIGHT_EYE, _LEFT_EYE):
        vertical = np.linalg.norm(landmarks[p2] - landmarks[p6]) + np.linalg.norm(
            landmarks[p3] - landmarks[p5]
        )
        ratios.append(vertical / (2 * np.linalg.norm(landmarks[p1] - landmarks[p4])))
    return float(np.mean(ratios))


def yaw_degrees(landmarks: Points) -> float:
    """Head yaw from the depth difference across symmetric point pairs; positive when the
    image-right side of the face is farther (the person turned towards their own left)."""
    angles = [
        np.arctan2(
            landmarks[right, 2] - landmarks[left, 2], landmarks[right, 0] - landmarks[left, 0]
        )
        for left, right in _YAW_PAIRS
    ]
    return float(np.degrees(np.median(angles)))


def planar_residual(frontal: Points, turned: Points) -> float:
    """RMS distance, in eye distances of `frontal`, between the turned frame's 2D landmarks
    and the best single homography of the frontal frame's onto them."""
    src, dst = frontal[:, :2].astype(np.float32), turned[:, :2].astype(np.float32)
    found, _ = cv2.findHomography(src, dst, 0)
    homography = cast("npt.NDArray[np.float64] | None", found)  # None if degenerate
    if homography is None:
        return float("inf")
    mapped = cv2.perspectiveTransform(src[None], homography)[0]
    rms = float(np.sqrt(np.mean(np.sum((mapped - dst) ** 2, axis=1))))
    return rms / _eye_distance(frontal)


def _eye_distance(landmarks: Points) -> float:
    return float(np.linalg.norm(landmarks[_RIGHT_EYE[0], :2] - landmarks[_LEFT_EYE[0], :2]))


class LivenessChecker:
    """Checks a frame sequence against a challenge. Stateless between calls; thread-safe."""

    def __init__(
        self,
        *,
        blink_drop: float = 0.2,
        max_blink_ms: int = 700,
        min_turn_deg: float = 20.0,
        frontal_deg: float = 12.0,
        min_planar_residual: float = 0.04,
        max_lost_fraction: float = 0.2,
        other_face_ratio: float = 0.5,
        mirrored: bool = False,
    ) -> None:
        """
        blink_drop: fraction by which EAR must fall below the open-eye baseline for a blink.
        max_blink_ms: longest time from the last open frame before to the first after.
        min_turn_deg: yaw a turn must reach.
        frontal_deg: yaw under which a frame counts as frontal (baseline, verification frame).
        min_planar_residual: homography residual (eye distances) a real turn must exceed.
        max_lost_fraction: share of frames allowed without a face (motion blur) before
            face_lost.
        other_face_ratio: a second face at least this large (eye distance ratio) in any
            frame fails the attempt with multiple_faces.
        mirrored: frames are mirrored like a selfie preview (left and right swap).
        """
        self.blink_drop = blink_drop
        self.max_blink_ms = max_blink_ms
        self.min_turn_deg = min_turn_deg
        self.frontal_deg = frontal_deg
        self.min_planar_residual = min_planar_residual
        self.max_lost_fraction = max_lost_fraction
        self.other_face_ratio = other_face_ratio
        self.mirrored = mirrored

    def observe(self, frames: Sequence[Frame]) -> list[FrameObservation]:
        """FaceMesh observations of every frame."""
        with FaceMeshTracker() as tracker:
            return [self._observe(tracker.landmarks(frame.image)) for frame in frames]

    def evaluate(self, frames: Sequence[Frame], challenge: Challenge) -> LivenessResult:
        _check_frames(frames)
        return self.evaluate_observations(frames, self.observe(frames), challenge)

    def evaluate_observations(
        self,
        frames: Sequence[Frame],
        observations: Sequence[FrameObservation],
        challenge: Challenge,
    ) -> LivenessResult:
        reasons: list[LivenessFailure] = []
        if any(o.faces > 1 for o in observations):
            reasons.append(_failure("multiple_faces"))
        seen = [i for i, o in enumerate(observations) if o.faces == 1]
        if len(frames) - len(seen) > self.max_lost_fraction * len(frames):
            reasons.append(_failure("face_lost"))
        frontal = self._frontal_frames(observations, seen)
        if not frontal:
            reasons.append(_failure("no_frontal_frame"))
            return LivenessResult(False, (), tuple(reasons), None, tuple(observations))
        events = self._blinks(frames, observations, seen, frontal) + self._turns(
            frames, observations, seen, frontal
        )
        events.sort(key=lambda event: event.t_ms)
        matched, reason = _match_in_order(events, challenge.steps)
        if reason:
            reasons.append(_failure(reason))
        if self._any_planar_turn(observations, events, frontal):
            reasons.append(_failure("planar_motion"))
        best = self._verification_frame(frames, observations, frontal)
        return LivenessResult(
            not reasons, tuple(matched), tuple(reasons), best, tuple(observations)
        )

    def _observe(self, faces: list[Points]) -> FrameObservation:
        if not faces:
            return FrameObservation(faces=0)
        faces.sort(key=_eye_distance, reverse=True)
        main = faces[0]
        others = [
            f for f in faces[1:] if _eye_distance(f) >= self.other_face_ratio * _eye_distance(main)
        ]
        yaw = yaw_degrees(main)
        return FrameObservation(
            faces=1 + len(others),
            yaw_deg=-yaw if self.mirrored else yaw,
            ear=eye_aspect_ratio(main),
            landmarks=main,
            eye_distance=_eye_distance(main),
        )

    def _frontal_frames(
        self, observations: Sequence[FrameObservation], seen: list[int]
    ) -> list[int]:
        return [i for i in seen if abs(observations[i].yaw_deg) <= self.frontal_deg]

    def _blinks(
        self,
        frames: Sequence[Frame],
        observations: Sequence[FrameObservation],
        seen: list[int],
        frontal: list[int],
    ) -> list[StepSeen]:
        """Runs of closed-eye frames between open-eye frames at most max_blink_ms apart.
        Frames turned past min_turn_deg are skipped: the EAR is least reliable there."""
        baseline = float(np.median([observations[i].ear for i in frontal]))
        closed_below = (1 - self.blink_drop) * baseline
        open_above = (1 - self.blink_drop / 2) * baseline
        blinks: list[StepSeen] = []
        last_open: int | None = None
        closed: list[int] = []
        for i in seen:
            if abs(observations[i].yaw_deg) >= self.min_turn_deg:
                continue
            ear = observations[i].ear
            if ear <= closed_below:
                closed.append(i)
            elif ear >= open_above:
                quick = last_open is not None and (
                    frames[i].t_ms - frames[last_open].t_ms <= self.max_blink_ms
                )
                if closed and quick:
                    middle = closed[len(closed) // 2]
                    blinks.append(StepSeen(Step.BLINK, frames[middle].t_ms, middle))
                closed, last_open = [], i
        return blinks

    def _turns(
        self,
        frames: Sequence[Frame],
        observations: Sequence[FrameObservation],
        seen: list[int],
        frontal: list[int],
    ) -> list[StepSeen]:
        """One event per run of frames turned past min_turn_deg to one side, at its peak.
        Yaw is measured from the person's own frontal pose (median of the frontal frames)."""
        rest = float(np.median([observations[i].yaw_deg for i in frontal]))
        turns: list[StepSeen] = []
        sides = [(i, self._side(observations[i].yaw_deg - rest)) for i in seen]
        for side, run in itertools.groupby(sides, key=lambda pair: pair[1]):
            if side is None:
                continue
            peak = max((i for i, _ in run), key=lambda i: abs(observations[i].yaw_deg - rest))
            turns.append(StepSeen(side, frames[peak].t_ms, peak))
        return turns

    def _side(self, yaw: float) -> Step | None:
        if yaw >= self.min_turn_deg:
            return Step.TURN_LEFT
        if yaw <= -self.min_turn_deg:
            return Step.TURN_RIGHT
        return None

    def _any_planar_turn(
        self,
        observations: Sequence[FrameObservation],
        events: list[StepSeen],
        frontal: list[int],
    ) -> bool:
        """Whether any turn is explained by one homography from the most frontal frame."""
        reference = min(frontal, key=lambda i: abs(observations[i].yaw_deg))
        front = observations[reference].landmarks
        for event in events:
            if event.step == Step.BLINK:
                continue
            turned = observations[event.frame_index].landmarks
            assert turned is not None
            assert front is not None
            if planar_residual(front, turned) < self.min_planar_residual:
                return True
        return False

    def _verification_frame(
        self, frames: Sequence[Frame], observations: Sequence[FrameObservation], frontal: list[int]
    ) -> int:
        """The sharpest of the most frontal open-eye frames."""
        baseline = float(np.median([observations[i].ear for i in frontal]))
        open_eyes = [i for i in frontal if observations[i].ear >= 0.8 * baseline] or frontal
        most_frontal = sorted(open_eyes, key=lambda i: abs(observations[i].yaw_deg))[:3]
        return max(most_frontal, key=lambda i: _sharpness(frames[i].image))


def _match_in_order(
    events: list[StepSeen], steps: tuple[Step, ...]
) -> tuple[list[StepSeen], str | None]:
    """Greedy in-order match of the challenge steps in the events; why it fails, if it does."""
    matched: list[StepSeen] = []
    position = 0
    for event in events:
        if position < len(steps) and event.step == steps[position]:
            matched.append(event)
            position += 1
    if position == len(steps):
        return matched, None
    kinds = {event.step for event in events}
    if all(step in kinds for step in steps):
        return matched, "wrong_order"
    return matched, "step_missing"


def _sharpness(image: Image) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _check_frames(frames: Sequence[Frame]) -> None:
    if len(frames) < 3:
        raise LivenessError("too_few_frames", "Chưa nhận đủ ảnh. Vui lòng thực hiện lại.")
    times = [frame.t_ms for frame in frames]
    if any(later <= earlier for earlier, later in itertools.pairwise(times)):
        raise LivenessError(
            "bad_timestamps", "Thời gian các ảnh không hợp lệ. Vui lòng thực hiện lại."
        )
