"""Face verification benchmark: accuracy at a fixed false accept rate, and speed per step.

    .venv/bin/python bench/face.py [--faces ../shared/datasets/faces] [--seed 7]

Data: the labelled real photos of --faces (or $SOTAY_FACES_DATASET; labels.csv maps file to
identity). Two sets of pairs:
- photo vs photo: every pair of photos (same identity = genuine, else impostor);
- card re-capture vs photo: each photo is turned into a simulated photograph of a party card
  carrying it as the portrait (see `simulate_card_recapture`), then compared with every other
  photo (same identity, other photo = genuine; other identity = impostor).
For each set it prints the threshold at which the false accept rate is <= 0.1% and the true
accept rate there, and both rates at the configured default threshold. Then milliseconds per
image for detection, alignment and embedding, and embeddings per second with 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from sotay_identity.face import (
    DEFAULT_THRESHOLD,
    Embedding,
    Face,
    FaceAnalyzer,
    Image,
    align_face,
    cosine_similarity,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_FAR = 0.001


@dataclass
class Sample:
    name: str
    identity: str
    image: Image
    face: Face | None
    embedding: Embedding | None
    """None when no face was found: every pair with it counts as rejected."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_faces = os.environ.get("SOTAY_FACES_DATASET") or REPO_ROOT / "../shared/datasets/faces"
    parser.add_argument("--faces", type=Path, default=Path(default_faces))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recaptures", type=int, default=2, help="re-captures per photo")
    args = parser.parse_args()

    analyzer = FaceAnalyzer()
    timings: dict[str, list[float]] = {"detect": [], "align": [], "embed": []}
    photos = [
        _sample(analyzer, name, identity, _read(args.faces / name), timings)
        for name, identity in _labels(args.faces / "labels.csv")
    ]
    print(f"photos: {len(photos)} of {len({p.identity for p in photos})} people")
    genuine, impostor = _photo_pairs(photos)
    _report("photo vs photo", genuine, impostor)

    rng = np.random.default_rng(args.seed)
    recaptures = []
    for photo in photos:
        for index in range(args.recaptures):
            assert photo.face is not None, f"no face in {photo.name}"
            card = simulate_card_recapture(photo.image, photo.face, rng)
            name = f"{photo.name}#card{index}"
            recaptures.append(_sample(analyzer, name, photo.identity, card, timings))
    genuine, impostor = _recapture_pairs(recaptures, photos)
    _report(f"card re-capture vs photo ({len(recaptures)} re-captures)", genuine, impostor)

    _face_size_sweep(analyzer, photos)
    for step, values in timings.items():
        print(
            f"{step:>7}: median {statistics.median(values):6.1f} ms, "
            f"p95 {np.percentile(values, 95):6.1f} ms per image"
        )
    _throughput(analyzer, photos)


def _labels(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="") as handle:
        return [(row["file"], row["identity"]) for row in csv.DictReader(handle)]


def _read(path: Path) -> Image:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return np.asarray(image, dtype=np.uint8)


def _sample(
    analyzer: FaceAnalyzer, name: str, identity: str, image: Image, timings: dict[str, list[float]]
) -> Sample:
    """Detect (largest face) and embed one image, recording the time of each step."""
    start = time.perf_counter()
    faces = analyzer.detect(image)
    detected = time.perf_counter()
    if not faces:
        print(f"  no face found in {name}")
        return Sample(name, identity, image, None, None)
    align_face(image, faces[0])
    aligned = time.perf_counter()
    embedding = analyzer.embed(image, faces[0])
    embedded = time.perf_counter()
    timings["detect"].append((detected - start) * 1000)
    timings["align"].append((aligned - detected) * 1000)
    # embed() aligns again; subtract that to get the SFace step alone
    timings["embed"].append((embedded - aligned - (aligned - detected)) * 1000)
    return Sample(name, identity, image, faces[0], embedding)


def _photo_pairs(photos: list[Sample]) -> tuple[list[float], list[float]]:
    genuine: list[float] = []
    impostor: list[float] = []
    for a, b in itertools.combinations(photos, 2):
        similarity = _similarity(a, b)
        (genuine if a.identity == b.identity else impostor).append(similarity)
    return genuine, impostor


def _recapture_pairs(
    recaptures: list[Sample], photos: list[Sample]
) -> tuple[list[float], list[float]]:
    genuine: list[float] = []
    impostor: list[float] = []
    for card in recaptures:
        source = card.name.split("#")[0]
        for photo in photos:
            if photo.name == source:
                continue
            similarity = _similarity(card, photo)
            (genuine if card.identity == photo.identity else impostor).append(similarity)
    return genuine, impostor


def _similarity(a: Sample, b: Sample) -> float:
    if a.embedding is None or b.embedding is None:
        return -1.0
    return cosine_similarity(a.embedding, b.embedding)


def _report(title: str, genuine: list[float], impostor: list[float]) -> None:
    genuine_arr, impostor_arr = np.array(genuine), np.sort(np.array(impostor))
    allowed = int(np.floor(TARGET_FAR * len(impostor_arr)))
    # the smallest threshold with at most `allowed` impostor similarities at or above it
    threshold = float(np.nextafter(impostor_arr[len(impostor_arr) - allowed - 1], 1.0))
    print(f"{title}: {len(genuine)} genuine, {len(impostor)} impostor pairs")
    print(
        f"  FAR <= {TARGET_FAR:.1%}: threshold {threshold:.3f}, "
        f"TAR {np.mean(genuine_arr >= threshold):.3f} "
        f"(genuine min {genuine_arr.min():.3f}, impostor max {impostor_arr[-1]:.3f})"
    )
    default_tar = np.mean(genuine_arr >= DEFAULT_THRESHOLD)
    default_far = np.mean(impostor_arr >= DEFAULT_THRESHOLD)
    print(f"  default threshold {DEFAULT_THRESHOLD}: TAR {default_tar:.3f}, FAR {default_far:.4f}")
    rates = [
        f"{t:.2f}: {np.mean(genuine_arr >= t):.3f}/{np.mean(impostor_arr >= t):.4f}"
        for t in np.arange(0.34, 0.455, 0.02)
    ]
    print("  threshold: TAR/FAR  " + "  ".join(rates))


def _face_size_sweep(analyzer: FaceAnalyzer, photos: list[Sample]) -> None:
    """True accept rate (photo vs the person's other photos) when the probe photo is scaled
    down so that its eye distance is the given number of pixels: where `min_eye_distance`
    (face_too_small) comes from."""
    for eye_distance in (10, 14, 18, 22, 30):
        accepted, total = 0, 0
        for probe in photos:
            assert probe.face is not None
            scale = eye_distance / probe.face.eye_distance
            small = np.asarray(
                cv2.resize(probe.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA),
                dtype=np.uint8,
            )
            faces = analyzer.detect(small)
            embedding = analyzer.embed(small, faces[0]) if faces else None
            for other in photos:
                if other.identity != probe.identity or other.name == probe.name:
                    continue
                total += 1
                if embedding is not None and other.embedding is not None:
                    similarity = cosine_similarity(embedding, other.embedding)
                    accepted += similarity >= DEFAULT_THRESHOLD
        print(
            f"probe eye distance {eye_distance:2d} px: TAR {accepted / total:.3f} "
            f"at the default threshold ({total} pairs)"
        )


def _throughput(analyzer: FaceAnalyzer, photos: list[Sample]) -> None:
    crops = photos[:8]

    def work(count: int) -> None:
        for index in range(count):
            sample = crops[index % len(crops)]
            assert sample.face is not None
            analyzer.embed(sample.image, sample.face)

    for threads in (1, 2):
        elapsed, cpu = _timed_threads(work, threads, 40)
        print(
            f"embed with {threads} thread(s): {40 * threads / elapsed:5.1f} faces/s, "
            f"{cpu / (40 * threads) * 1000:5.1f} ms CPU per face"
        )


def _timed_threads(work: Callable[[int], None], threads: int, count: int) -> tuple[float, float]:
    workers = [threading.Thread(target=work, args=(count,)) for _ in range(threads)]
    cpu_start, start = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start, time.process_time() - cpu_start


# --- simulated card re-capture -------------------------------------------------------------

CARD_SIZE = (1000, 630)  # 85.6 x 54 mm at ~11.7 px/mm
PORTRAIT_SIZE = (290, 385)  # 25 x 33 mm
PORTRAIT_ORIGIN = (60, 150)
PHOTO_SIZE = (1280, 960)


def simulate_card_recapture(image: Image, face: Face, rng: np.random.Generator) -> Image:
    """A phone photograph of a party card whose portrait is a print of `face`.

    Portrait: a 3:4 head-and-shoulders crop, printed (lower contrast, colour cast, partial
    desaturation, blur, print noise) with a red seal over its lower corner; the card: a pale
    patterned background with text lines; the photograph: random perspective (corner jitter,
    rotation up to 10 degrees, card filling 45-90% of the frame width), uneven light, a glare
    spot (on the portrait in 40% of the photos), defocus blur, sensor noise, JPEG quality 45-85.
    """
    portrait = _printed_portrait(_portrait_crop(image, face), rng)
    card = _card_background(rng)
    x, y = PORTRAIT_ORIGIN
    card[y : y + PORTRAIT_SIZE[1], x : x + PORTRAIT_SIZE[0]] = portrait
    _stamp_seal(card, (x + PORTRAIT_SIZE[0] - 10, y + PORTRAIT_SIZE[1] - 20), rng)
    return _photograph(card, rng)


def _portrait_crop(image: Image, face: Face) -> Image:
    x, y, w, h = face.box
    centre_x, centre_y = x + w / 2, y + h * 0.6
    height = h * 2.0
    width = height * PORTRAIT_SIZE[0] / PORTRAIT_SIZE[1]
    matrix = np.array(
        [
            [
                PORTRAIT_SIZE[0] / width,
                0,
                PORTRAIT_SIZE[0] / 2 - centre_x * PORTRAIT_SIZE[0] / width,
            ],
            [
                0,
                PORTRAIT_SIZE[1] / height,
                PORTRAIT_SIZE[1] / 2 - centre_y * PORTRAIT_SIZE[1] / height,
            ],
        ]
    )
    crop = cv2.warpAffine(
        image, matrix, PORTRAIT_SIZE, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(crop, dtype=np.uint8)


def _printed_portrait(portrait: Image, rng: np.random.Generator) -> Image:
    pixels = portrait.astype(np.float32)
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + (pixels - grey) * rng.uniform(0.6, 1.0)
    pixels = 30 + pixels * rng.uniform(0.75, 0.9) + rng.uniform(-8, 8, size=3)
    pixels = cv2.GaussianBlur(pixels, (0, 0), rng.uniform(0.5, 1.0))
    pixels = pixels + rng.normal(0, 4, pixels.shape)
    return _to_uint8(pixels)


def _card_background(rng: np.random.Generator) -> Image:
    width, height = CARD_SIZE
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.array([215, 225, 245], dtype=np.float32) + rng.uniform(-10, 10, size=3)
    waves = 8 * np.sin(xx / rng.uniform(6, 12) + 3 * np.sin(yy / 40))
    card = base[None, None, :] + waves[..., None] * np.array([0.2, 0.5, 1.0], dtype=np.float32)
    image = _to_uint8(card)
    cv2.putText(
        image, "DANG CONG SAN VIET NAM", (400, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (30, 30, 170), 2
    )
    for row in range(5):
        text = "".join(rng.choice(list("ABCDEGHKLMNOPQRSTUVXY 0123456789"), size=22))
        cv2.putText(
            image, text, (400, 200 + row * 70), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (40, 40, 40), 2
        )
    return image


def _stamp_seal(card: Image, centre: tuple[int, int], rng: np.random.Generator) -> None:
    overlay = card.copy()
    radius = int(rng.uniform(55, 75))
    cv2.circle(overlay, centre, radius, (40, 40, 200), 4)
    cv2.circle(overlay, centre, radius - 12, (40, 40, 200), 2)
    cv2.putText(
        overlay,
        "*",
        (centre[0] - 12, centre[1] + 12),
        cv2.FONT_HERSHEY_SIMPLEX,
        1.2,
        (40, 40, 200),
        3,
    )
    cv2.addWeighted(overlay, 0.6, card, 0.4, 0, dst=card)


def _photograph(card: Image, rng: np.random.Generator) -> Image:
    photo_w, photo_h = PHOTO_SIZE
    card_h, card_w = card.shape[:2]
    fill = rng.uniform(0.45, 0.9) * photo_w / card_w
    angle = np.deg2rad(rng.uniform(-10, 10))
    corners = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], dtype=np.float32)
    centred = (corners - [card_w / 2, card_h / 2]) * fill
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    jitter = rng.uniform(-0.06, 0.06, size=(4, 2)) * card_w * fill
    target = centred @ rotation.T + jitter + [photo_w / 2, photo_h / 2]
    homography = cv2.getPerspectiveTransform(corners, target.astype(np.float32))
    table = np.full((photo_h, photo_w, 3), rng.uniform(60, 140, size=3), dtype=np.float32)
    warped = _float(cv2.warpPerspective(card, homography, (photo_w, photo_h)))
    mask = _float(
        cv2.warpPerspective(np.ones((card_h, card_w), np.float32), homography, (photo_w, photo_h))
    )[..., None]
    pixels = _float(table * (1.0 - mask) + warped * mask)
    pixels = _float(pixels * _light_gradient(photo_w, photo_h, rng)[..., None])
    portrait_centre = cv2.perspectiveTransform(
        np.array(
            [
                [
                    [
                        PORTRAIT_ORIGIN[0] + PORTRAIT_SIZE[0] / 2,
                        PORTRAIT_ORIGIN[1] + PORTRAIT_SIZE[1] / 2,
                    ]
                ]
            ],
            np.float32,
        ),
        homography,
    )[0, 0]
    pixels = _float(pixels + _glare(photo_w, photo_h, portrait_centre, rng)[..., None])
    pixels = _float(cv2.GaussianBlur(pixels, (0, 0), rng.uniform(0.6, 1.6)))
    pixels = _float(pixels + rng.normal(0, rng.uniform(2, 5), pixels.shape))
    quality = int(rng.integers(45, 86))
    ok, encoded = cv2.imencode(".jpg", _to_uint8(pixels), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), dtype=np.uint8)


def _light_gradient(width: int, height: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = rng.uniform(-1, 1, size=2)
    ramp = (xx / width - 0.5) * direction[0] + (yy / height - 0.5) * direction[1]
    return np.asarray(rng.uniform(0.8, 1.05) + 0.25 * ramp, dtype=np.float32)


def _glare(
    width: int, height: int, portrait: npt.NDArray[np.float32], rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.random() < 0.4:
        cx, cy = portrait + rng.normal(0, 40, size=2)
    else:
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
    sx, sy = rng.uniform(40, 160), rng.uniform(30, 100)
    spot = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2)
    return np.asarray(rng.uniform(60, 160) * spot, dtype=np.float32)


def _float(pixels: npt.ArrayLike) -> npt.NDArray[np.float32]:
    return np.asarray(pixels, dtype=np.float32)


def _to_uint8(pixels: npt.NDArray[np.floating[Any]]) -> Image:
    return np.clip(pixels, 0, 255).round().astype(np.uint8)


if __name__ == "__main__":
    main()
