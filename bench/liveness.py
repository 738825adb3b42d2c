"""Liveness benchmark: acceptance of live sequences, rejection of printed-photo attacks.

    .venv/bin/python bench/liveness.py [--faces ../shared/datasets/faces] [--seed 5]

How each set is made (sotay_identity.synthetic_faces), from every near-frontal photo of
--faces (or $SOTAY_FACES_DATASET) plus the two package photos (astronaut, Grace Hopper):
- live: a random 3-step challenge acted by re-rendering the face from its FaceMesh landmarks
  in 3D (45 degree head turns, full blinks), one frame every 100 ms;
- printed: the same challenge acted with the photo as a printed sheet turned by 45 or 70
  degrees in front of a pinhole camera, flat or bent (sagitta 20% of its width);
- real motion: the frames of short_hamilton_clip.mp4 (a real person turning his head on
  stage): the planar residual of each turned frame (|yaw| >= min_turn_deg) against the most
  frontal frame, and the same for prints of the clip's frontal frames turned by 45-60 degrees.
Prints the rates, the reasons of failures, and milliseconds per frame.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from matplotlib import cbook

from sotay_identity.face import Image
from sotay_identity.liveness import (
    Challenge,
    FaceMeshTracker,
    Frame,
    FrameObservation,
    LivenessChecker,
    LivenessResult,
    planar_residual,
    random_challenge,
    yaw_degrees,
)
from sotay_identity.synthetic_faces import (
    FaceModel,
    live_sequence,
    printed_sequence,
    render_printed,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
PRINT_VARIANTS = [(turn, bend) for turn in (45.0, 70.0) for bend in (0.0, 0.2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_faces = os.environ.get("SOTAY_FACES_DATASET") or REPO_ROOT / "../shared/datasets/faces"
    parser.add_argument("--faces", type=Path, default=Path(default_faces))
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    checker = LivenessChecker()
    rng = random.Random(args.seed)
    models = _frontal_models(_photos(args.faces))
    print(f"near-frontal photos with one face: {len(models)}")

    frame_ms: list[float] = []
    live, unmatched = [], Counter[str]()
    for model in models.values():
        challenge = random_challenge(rng)
        result = _timed(checker, live_sequence(model, challenge.steps), challenge, frame_ms)
        live.append(result)
        if len(result.steps) < len(challenge.steps):
            unmatched[challenge.steps[len(result.steps)].value] += 1
    _report("live (3D re-rendered)", live, expect_pass=True)
    print(f"  first step not matched in failed live sequences: {dict(unmatched)}")

    for turn, bend in PRINT_VARIANTS:
        attacks = []
        for model in models.values():
            challenge = random_challenge(rng)
            frames = printed_sequence(model.image, challenge.steps, turn_deg=turn, bend=bend)
            attacks.append(_timed(checker, frames, challenge, frame_ms))
        _report(f"printed, turned {turn:.0f} deg, bend {bend:.1f}", attacks, expect_pass=False)

    _real_motion(checker, args.faces / "short_hamilton_clip.mp4")
    print(f"FaceMesh + features: median {np.median(frame_ms):.1f} ms per frame")


def _photos(faces: Path) -> dict[str, Image]:
    photos = {
        "package:astronaut": cv2.cvtColor(
            skimage.data.astronaut(),  # type: ignore[no-untyped-call]
            cv2.COLOR_RGB2BGR,
        ),
        "package:grace_hopper": cv2.imread(
            str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        ),
    }
    with (faces / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            photos[row["file"]] = cv2.imread(str(faces / row["file"]))
    return {name: _fit(np.asarray(image, dtype=np.uint8)) for name, image in photos.items()}


def _fit(image: Image, longest: int = 640) -> Image:
    """Phone-selfie resolution: frames arrive at about 640 px."""
    scale = min(1.0, longest / max(image.shape[:2]))
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.asarray(resized, dtype=np.uint8)


def _frontal_models(photos: dict[str, Image]) -> dict[str, FaceModel]:
    """Photos where FaceMesh sees exactly one face turned less than 10 degrees."""
    models = {}
    with FaceMeshTracker() as tracker:
        for name, image in photos.items():
            faces = tracker.landmarks(image)
            if len(faces) == 1 and abs(yaw_degrees(faces[0])) < 10:
                models[name] = FaceModel(image, faces[0])
    return models


def _timed(
    checker: LivenessChecker, frames: list[Frame], challenge: Challenge, frame_ms: list[float]
) -> LivenessResult:
    start = time.perf_counter()
    result = checker.evaluate(frames, challenge)
    frame_ms.append((time.perf_counter() - start) * 1000 / len(frames))
    return result


def _report(title: str, results: list[LivenessResult], *, expect_pass: bool) -> None:
    passed = sum(r.passed for r in results)
    rate = passed / len(results) if expect_pass else 1 - passed / len(results)
    reasons = Counter(reason.code for r in results for reason in r.reasons)
    label = "accepted" if expect_pass else "rejected"
    print(f"{title}: {label} {rate:.3f} of {len(results)}; reasons {dict(reasons)}")


def _real_motion(checker: LivenessChecker, clip: Path) -> None:
    frames = _video_frames(clip)
    observations = checker.observe(frames)
    faces = [o for o in observations if o.faces == 1 and o.landmarks is not None]
    if not faces:
        print(f"{clip.name}: no face found")
        return
    front = min(faces, key=lambda o: abs(o.yaw_deg))
    turned = [o for o in faces if abs(o.yaw_deg) >= checker.min_turn_deg]
    assert front.landmarks is not None
    live = [
        planar_residual(front.landmarks, o.landmarks) for o in turned if o.landmarks is not None
    ]
    above = np.mean([r >= checker.min_planar_residual for r in live]) if live else float("nan")
    yaws = [o.yaw_deg for o in faces]
    print(
        f"{clip.name}: {len(faces)}/{len(frames)} frames with a face, "
        f"yaw {min(yaws):.0f}..{max(yaws):.0f} deg; "
        f"{len(live)} turned frames, residual min {min(live, default=float('nan')):.3f} "
        f"median {np.median(live) if live else float('nan'):.3f}, non-planar {above:.3f}"
    )
    _real_prints(checker, frames, observations)


def _real_prints(
    checker: LivenessChecker, frames: list[Frame], observations: list[FrameObservation]
) -> None:
    """Prints of the clip's frontal frames turned by 45-60 degrees: how many FaceMesh reads
    as turned, and their residual against the frontal frame they were made from."""
    turned, planar = 0, 0
    candidates = [
        (frame, o)
        for frame, o in zip(frames, observations, strict=True)
        if o.faces == 1 and o.landmarks is not None and abs(o.yaw_deg) < 8
    ][::4]
    for frame, o in candidates:
        for angle in (45.0, -45.0, 60.0, -60.0):
            printed = checker.observe([Frame(render_printed(frame.image, yaw_deg=angle), 0)])[0]
            if printed.faces != 1 or printed.landmarks is None:
                continue
            if abs(printed.yaw_deg) >= checker.min_turn_deg:
                turned += 1
                assert o.landmarks is not None
                residual = planar_residual(o.landmarks, printed.landmarks)
                planar += residual < checker.min_planar_residual
    total = len(candidates) * 4
    print(
        f"  prints of its frontal frames: {total} made, {turned} read as turned, "
        f"{planar} of those caught as planar"
    )


def _video_frames(clip: Path) -> list[Frame]:
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames: list[Frame] = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(Frame(np.asarray(image, dtype=np.uint8), round(len(frames) * 1000 / fps)))
    capture.release()
    return frames


if __name__ == "__main__":
    main()
