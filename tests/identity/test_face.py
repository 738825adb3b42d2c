"""Face detection, alignment and verification on real photos shipped by packages:
scikit-image's astronaut (Eileen Collins) and matplotlib's Grace Hopper."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from matplotlib import cbook

from sotay_identity.face import (
    DEFAULT_THRESHOLD,
    FaceAnalyzer,
    FaceRejected,
    Image,
    align_face,
    cosine_similarity,
)
from sotay_identity.face_models import SFACE_FILE, deepface_home, weights_dir


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def astronaut() -> Image:
    return _u8(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def hopper() -> Image:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(cv2.imread(str(path), cv2.IMREAD_COLOR), dtype=np.uint8)


def _u8(image: object) -> Image:
    return np.ascontiguousarray(image, dtype=np.uint8)


def _jpeg(image: Image, quality: int) -> Image:
    _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), dtype=np.uint8)


def _same_person_views(image: Image) -> dict[str, Image]:
    """Other photographs of the same face: reframed, rescaled, relit, recompressed, rotated."""
    height, width = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 3), 12, 1.0)
    darker = np.clip(255 * (image / 255.0) ** 1.6, 0, 255).astype(np.uint8)
    return {
        "cropped and enlarged": _u8(
            cv2.resize(image[20 : height - 120, 60 : width - 40], (900, 840))
        ),
        "half size": _u8(
            cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        ),
        "darker": darker,
        "jpeg q25": _jpeg(image, 25),
        "rotated 12 degrees": _u8(cv2.warpAffine(image, rotation, (width, height))),
        "blurred": _u8(cv2.GaussianBlur(image, (0, 0), 2.0)),
    }


def _side_by_side(left: Image, right: Image) -> Image:
    height = min(left.shape[0], right.shape[0])
    return np.hstack([left[:height], right[:height]])


def test_detect_finds_the_face_with_its_landmarks(analyzer: FaceAnalyzer, astronaut: Image) -> None:
    faces = analyzer.detect(astronaut)

    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.box
    assert face.score > 0.8
    assert 150 < x + w / 2 < 260  # her face, left of the flag
    assert 60 < y + h / 2 < 160
    inside = (face.landmarks >= [x, y]) & (face.landmarks <= [x + w, y + h])
    assert inside.all()
    # eyes above the nose, nose above the mouth corners
    assert face.landmarks[0, 1] < face.landmarks[2, 1] < face.landmarks[3, 1]


def test_detect_maps_landmarks_back_to_full_resolution(
    analyzer: FaceAnalyzer, astronaut: Image
) -> None:
    large = _u8(cv2.resize(astronaut, (2048, 2048)))  # detected on a 640 px copy

    face = analyzer.detect(large)[0]
    small_face = analyzer.detect(astronaut)[0]

    # the same points up to YuNet's jitter between two input sizes (eyes are ~45 px apart)
    np.testing.assert_allclose(face.landmarks / 4, small_face.landmarks, atol=8)


def test_alignment_matches_opencv_align_crop(analyzer: FaceAnalyzer, hopper: Image) -> None:
    face = analyzer.detect(hopper)[0]
    recognizer = cv2.FaceRecognizerSF.create(str(weights_dir(deepface_home()) / SFACE_FILE), "")
    row = np.array([*face.box, *face.landmarks.ravel(), face.score], dtype=np.float32)

    ours = align_face(hopper, face).astype(np.int16)
    theirs = recognizer.alignCrop(hopper, row).astype(np.int16)

    assert ours.shape == (112, 112, 3)
    assert np.abs(ours - theirs).mean() < 0.5


def test_embedding_is_unit_length_and_deterministic(
    analyzer: FaceAnalyzer, astronaut: Image
) -> None:
    first = analyzer.embed_main_face(astronaut)
    second = analyzer.embed_main_face(astronaut.copy())

    assert first.shape == (128,)
    assert first.dtype == np.float32
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-5
    np.testing.assert_allclose(first, second, atol=1e-6)


@pytest.mark.parametrize("person", ["astronaut", "hopper"])
def test_other_views_of_the_same_person_match(
    analyzer: FaceAnalyzer, person: str, request: pytest.FixtureRequest
) -> None:
    original: Image = request.getfixturevalue(person)

    for name, view in _same_person_views(original).items():
        result = analyzer.verify(view, original)
        assert result.matched, f"{name}: {result}"
        assert result.threshold == DEFAULT_THRESHOLD


def test_different_people_do_not_match(
    analyzer: FaceAnalyzer, astronaut: Image, hopper: Image
) -> None:
    result = analyzer.verify(astronaut, hopper)

    assert not result.matched
    assert result.similarity < DEFAULT_THRESHOLD - 0.1
    for view in _same_person_views(hopper).values():
        assert not analyzer.verify(view, astronaut).matched


def test_match_compares_stored_embeddings(analyzer: FaceAnalyzer, astronaut: Image) -> None:
    stored = analyzer.embed_main_face(astronaut)
    fresh = analyzer.embed_main_face(_jpeg(astronaut, 40))

    result = analyzer.match(fresh, stored)

    assert result.matched
    assert result.similarity == pytest.approx(cosine_similarity(fresh, stored))


def test_threshold_is_configurable(astronaut: Image) -> None:
    strict = FaceAnalyzer(threshold=0.999)
    view = _same_person_views(astronaut)["darker"]

    result = strict.verify(view, astronaut)

    assert result.threshold == 0.999
    assert not result.matched


def test_image_without_a_face_is_rejected(analyzer: FaceAnalyzer) -> None:
    coffee = _u8(cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2BGR))  # type: ignore[no-untyped-call]

    with pytest.raises(FaceRejected) as raised:
        analyzer.embed_main_face(coffee)

    assert raised.value.code == "no_face"
    assert raised.value.message_vi.startswith("Không tìm thấy khuôn mặt")


def test_two_people_are_rejected(analyzer: FaceAnalyzer, astronaut: Image, hopper: Image) -> None:
    both = _side_by_side(astronaut, _u8(cv2.resize(hopper, (426, 500))))

    with pytest.raises(FaceRejected) as raised:
        analyzer.verify(both, astronaut)

    assert raised.value.code == "multiple_faces"


def test_a_small_face_far_behind_is_ignored(
    analyzer: FaceAnalyzer, astronaut: Image, hopper: Image
) -> None:
    scene = astronaut.copy()
    scene[380:500, 380:480] = cv2.resize(hopper, (100, 120))  # a bystander far behind

    assert len(analyzer.detect(scene)) == 2
    assert analyzer.verify(scene, astronaut).matched


def test_a_face_too_small_to_verify_is_rejected(analyzer: FaceAnalyzer, hopper: Image) -> None:
    canvas = np.full((480, 640, 3), 200, dtype=np.uint8)
    canvas[100:194, 300:380] = cv2.resize(hopper, (80, 94), interpolation=cv2.INTER_AREA)

    (face,) = analyzer.detect(canvas)  # found, but with eyes ~12 px apart
    assert face.eye_distance < analyzer.min_eye_distance
    with pytest.raises(FaceRejected) as raised:
        analyzer.main_face(canvas)

    assert raised.value.code == "face_too_small"


def test_missing_weights_say_how_to_install_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make install"):
        FaceAnalyzer(deepface_home_dir=tmp_path)
