"""Active liveness on frame sequences synthesised from real photos shipped by packages
(scikit-image's astronaut, matplotlib's Grace Hopper): live sequences re-render the face in 3D
from its FaceMesh landmarks, printed-photo attacks warp the photo as a turned (bent) sheet."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from functools import cache

import cv2
import numpy as np
import pytest
import skimage.data
from matplotlib import cbook

from sotay_identity.face import Image
from sotay_identity.liveness import (
    Challenge,
    Frame,
    LivenessChecker,
    LivenessError,
    Step,
    eye_aspect_ratio,
    planar_residual,
    random_challenge,
    yaw_degrees,
)
from sotay_identity.synthetic_faces import (
    FaceModel,
    face_model,
    live_sequence,
    printed_sequence,
    render_live,
    render_printed,
)

LEFT_BLINK_RIGHT = Challenge((Step.TURN_LEFT, Step.BLINK, Step.TURN_RIGHT))


@cache
def _photo(name: str) -> Image:
    if name == "astronaut":
        rgb = skimage.data.astronaut()  # type: ignore[no-untyped-call]
        return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8)
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(cv2.imread(str(path), cv2.IMREAD_COLOR), dtype=np.uint8)


@cache
def _model(name: str) -> FaceModel:
    return face_model(_photo(name))


@cache
def _live(name: str, steps: tuple[Step, ...]) -> list[Frame]:
    return live_sequence(_model(name), steps)


@pytest.fixture(scope="module")
def checker() -> LivenessChecker:
    return LivenessChecker()


def test_random_challenge_has_every_step_once_in_random_order() -> None:
    rng = random.Random(3)
    challenges = [random_challenge(rng) for _ in range(30)]

    assert all(sorted(c.steps) == sorted(Step) for c in challenges)
    assert len({c.steps for c in challenges}) > 3
    assert challenges[0].instructions_vi()[0] in {
        "Chớp mắt",
        "Quay mặt sang trái",
        "Quay mặt sang phải",
    }


def test_longer_challenges_never_repeat_a_step_back_to_back() -> None:
    rng = random.Random(5)
    for _ in range(30):
        steps = random_challenge(rng, n=6).steps
        assert len(steps) == 6
        assert all(a != b for a, b in itertools.pairwise(steps))
    assert any(s != Step.BLINK for s in random_challenge(rng, n=2).steps)
    with pytest.raises(ValueError, match="2 to 6"):
        random_challenge(rng, n=1)


def test_live_person_passes_and_the_steps_come_with_their_times(checker: LivenessChecker) -> None:
    frames = _live("astronaut", LEFT_BLINK_RIGHT.steps)

    result = checker.evaluate(frames, LEFT_BLINK_RIGHT)

    assert result.passed, result.reasons
    assert [seen.step for seen in result.steps] == list(LEFT_BLINK_RIGHT.steps)
    times = [seen.t_ms for seen in result.steps]
    assert times == sorted(times)
    assert result.frontal_index is not None
    frontal = result.observations[result.frontal_index]
    assert abs(frontal.yaw_deg) < 5


def test_turns_of_another_face_pass_too(checker: LivenessChecker) -> None:
    challenge = Challenge((Step.TURN_RIGHT, Step.TURN_LEFT))

    result = checker.evaluate(_live("hopper", challenge.steps), challenge)

    assert result.passed, result.reasons


def test_steps_in_the_wrong_order_fail(checker: LivenessChecker) -> None:
    frames = _live("astronaut", LEFT_BLINK_RIGHT.steps)
    asked = Challenge((Step.TURN_RIGHT, Step.BLINK, Step.TURN_LEFT))

    result = checker.evaluate(frames, asked)

    assert not result.passed
    assert [r.code for r in result.reasons] == ["wrong_order"]


def test_a_missing_blink_fails(checker: LivenessChecker) -> None:
    turns_only = _live("astronaut", (Step.TURN_LEFT, Step.TURN_RIGHT))

    result = checker.evaluate(turns_only, LEFT_BLINK_RIGHT)

    assert [r.code for r in result.reasons] == ["step_missing"]


def test_blink_is_a_drop_of_the_eye_aspect_ratio_from_the_baseline() -> None:
    model = _model("astronaut")
    open_eyes = model.landmarks
    frames = _live("astronaut", (Step.BLINK,))
    observations = LivenessChecker().observe(frames)
    ears = [o.ear for o in observations]

    assert min(ears) < 0.75 * eye_aspect_ratio(open_eyes)
    assert ears.index(min(ears)) not in (0, len(ears) - 1)


def test_mirrored_frames_swap_left_and_right() -> None:
    frames = _live("astronaut", LEFT_BLINK_RIGHT.steps)
    mirrored = [
        replace(frame, image=np.ascontiguousarray(frame.image[:, ::-1])) for frame in frames
    ]
    swapped = Challenge((Step.TURN_RIGHT, Step.BLINK, Step.TURN_LEFT))

    assert LivenessChecker(mirrored=True).evaluate(mirrored, LEFT_BLINK_RIGHT).passed
    assert not LivenessChecker().evaluate(mirrored, LEFT_BLINK_RIGHT).passed
    assert LivenessChecker().evaluate(mirrored, swapped).passed


@pytest.mark.parametrize("bend", [0.0, 0.15])
@pytest.mark.parametrize("person", ["astronaut", "hopper"])
def test_a_printed_photo_turned_in_front_of_the_camera_fails(
    checker: LivenessChecker, person: str, bend: float
) -> None:
    frames = printed_sequence(_photo(person), LEFT_BLINK_RIGHT.steps, bend=bend)

    result = checker.evaluate(frames, LEFT_BLINK_RIGHT)

    assert not result.passed
    assert {r.code for r in result.reasons} <= {"step_missing", "planar_motion", "face_lost"}


def test_a_real_turn_is_not_planar_but_a_turned_print_is() -> None:
    model = _model("astronaut")
    checker = LivenessChecker()
    frontal, live, printed = checker.observe(
        [
            Frame(model.image, 0),
            Frame(render_live(model, yaw_deg=40), 1),
            Frame(render_printed(model.image, yaw_deg=45), 2),
        ]
    )
    assert frontal.landmarks is not None
    assert live.landmarks is not None
    assert printed.landmarks is not None

    assert yaw_degrees(live.landmarks) > checker.min_turn_deg
    assert planar_residual(frontal.landmarks, live.landmarks) > checker.min_planar_residual
    assert planar_residual(frontal.landmarks, printed.landmarks) < checker.min_planar_residual


def test_turns_whose_landmarks_move_as_a_plane_fail_with_planar_motion(
    checker: LivenessChecker,
) -> None:
    """A photo that FaceMesh would read as turned: the turned frames keep their yaw but their
    landmarks are the frontal ones under a homography (a sheet turned about its vertical axis)."""
    frames = _live("astronaut", LEFT_BLINK_RIGHT.steps)
    observations = checker.observe(frames)
    front = observations[0].landmarks
    assert front is not None
    sheet = cv2.getPerspectiveTransform(
        np.array([[0, 0], [512, 0], [512, 512], [0, 512]], dtype=np.float32),
        np.array([[40, 10], [470, 60], [470, 450], [40, 500]], dtype=np.float32),
    )
    flat = np.array(front, copy=True)
    flat[:, :2] = cv2.perspectiveTransform(front[None, :, :2].astype(np.float32), sheet)[0]
    planar = [
        replace(o, landmarks=flat) if abs(o.yaw_deg) >= checker.min_turn_deg else o
        for o in observations
    ]

    result = checker.evaluate_observations(frames, planar, LEFT_BLINK_RIGHT)

    assert not checker.evaluate_observations(frames, observations, LEFT_BLINK_RIGHT).reasons
    assert [r.code for r in result.reasons] == ["planar_motion"]


def test_a_second_person_in_the_frames_fails(checker: LivenessChecker) -> None:
    frames = _live("astronaut", LEFT_BLINK_RIGHT.steps)
    other = cv2.resize(_photo("hopper"), (256, 300))
    crowded = []
    for frame in frames:
        image = np.full((512, 800, 3), 90, dtype=np.uint8)
        image[:, :512] = frame.image
        image[100:400, 530:786] = other
        crowded.append(replace(frame, image=image))

    result = checker.evaluate(crowded, LEFT_BLINK_RIGHT)

    assert "multiple_faces" in [r.code for r in result.reasons]


def test_losing_the_face_fails(checker: LivenessChecker) -> None:
    frames = _live("astronaut", LEFT_BLINK_RIGHT.steps)
    empty = np.full_like(frames[0].image, 128)
    gaps = [replace(f, image=empty) if i % 3 == 1 else f for i, f in enumerate(frames)]

    result = checker.evaluate(gaps, LEFT_BLINK_RIGHT)

    assert "face_lost" in [r.code for r in result.reasons]


def test_unusable_input_is_an_error(checker: LivenessChecker) -> None:
    frames = _live("astronaut", LEFT_BLINK_RIGHT.steps)

    with pytest.raises(LivenessError) as too_few:
        checker.evaluate(frames[:2], LEFT_BLINK_RIGHT)
    with pytest.raises(LivenessError) as unordered:
        checker.evaluate([frames[1], frames[0], frames[2]], LEFT_BLINK_RIGHT)

    assert too_few.value.code == "too_few_frames"
    assert unordered.value.code == "bad_timestamps"
    assert unordered.value.message_vi
