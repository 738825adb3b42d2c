"""Face detection, embedding and verification for eKYC (selfie against card portrait).

Pipeline (see bench/face.py for the figures behind each choice):
- YuNet (OpenCV `FaceDetectorYN`) finds faces and 5 landmarks on a copy of the image scaled
  down to at most `detect_max_side` pixels; landmarks are mapped back to full resolution.
- The face is aligned from the full-resolution image by the similarity transform that puts
  its 5 landmarks on SFace's 112x112 template (what OpenCV's `FaceRecognizerSF.alignCrop`
  does). deepface's own detect-and-align path loses accuracy on these models, so it is not used.
- The aligned crop goes through SFace as built by deepface's model registry
  (`DeepFace.build_model(model_name="SFace")`, running on onnxruntime with
  DEEPFACE_BACKEND_ENGINE=onnx and weights from $DEEPFACE_HOME). The embedding is the output of
  that client's `predict`, L2-normalised; two faces match when the cosine similarity of their
  embeddings reaches the threshold.

Thread safety: one `FaceAnalyzer` per process, shared. `detect` serialises the YuNet call
behind a lock (OpenCV's detector keeps its input size as state); `embed` runs concurrently
(onnxruntime sessions are thread-safe). The SFace session uses one intra-op thread: on the
2-core target it gives more embeddings per second to concurrent callers and leaves no spinning
worker threads competing with OCR (bench/face.py prints both).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import cv2
import numpy as np
import numpy.typing as npt

from sotay_identity.face_models import SFACE_FILE, YUNET_FILE, deepface_home, weights_dir

Image = npt.NDArray[np.uint8]
"""A BGR image, HxWx3, as OpenCV decodes it."""

Embedding = npt.NDArray[np.float32]

# Calibrated with bench/face.py on ../shared/datasets/faces (76 real photos of 19 people) and
# on simulated phone photos of party cards carrying those photos as portraits (2 per photo):
# the threshold at a false accept rate <= 0.1% is 0.400 photo vs photo (2 696 impostor pairs;
# the pairs above 0.38 are look-alike actors) and 0.370-0.378 card vs photo (10 784 pairs, two
# random seeds). 0.38 keeps card-vs-photo FAR at 0.06-0.09% with TAR 0.97-0.98 (photo vs photo:
# TAR 1.000, FAR 0.15%). Pass 0.40 for FAR <= 0.1% on photo-vs-photo pairs as well.
DEFAULT_THRESHOLD: Final = 0.38

# SFace's 112x112 landmark template (OpenCV face_recognize.cpp): eyes, nose tip, mouth corners.
_SFACE_TEMPLATE: Final = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
_SFACE_SIZE: Final = 112


class FaceRejected(Exception):
    """An image cannot be used for face verification; `code` is stable, `message_vi` for users."""

    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_vi = message_vi


def _no_face() -> FaceRejected:
    return FaceRejected(
        "no_face",
        "Không tìm thấy khuôn mặt trong ảnh. Vui lòng chụp lại, nhìn thẳng vào máy ảnh "
        "và đủ ánh sáng.",
    )


def _multiple_faces() -> FaceRejected:
    return FaceRejected(
        "multiple_faces",
        "Ảnh có nhiều hơn một khuôn mặt. Vui lòng chụp lại khi chỉ có một mình bạn "
        "trong khung hình.",
    )


def _face_too_small() -> FaceRejected:
    return FaceRejected(
        "face_too_small",
        "Khuôn mặt trong ảnh quá nhỏ. Vui lòng đưa máy ảnh lại gần hơn.",
    )


@dataclass(frozen=True)
class Face:
    """One detected face, in the pixel coordinates of the image it was found in."""

    box: tuple[float, float, float, float]
    """x, y, width, height."""
    landmarks: npt.NDArray[np.float64]
    """(5, 2): the eye on the image's left, the other eye, nose tip, mouth corners (same order)."""
    score: float

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))


@dataclass(frozen=True)
class FaceMatch:
    similarity: float
    threshold: float
    matched: bool


def cosine_similarity(a: Embedding, b: Embedding) -> float:
    """Cosine similarity of two embeddings (L2-normalised or not)."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def align_face(img: Image, face: Face) -> Image:
    """The 112x112 crop SFace expects: the face warped so its landmarks sit on the template."""
    matrix = _similarity_transform(face.landmarks, _SFACE_TEMPLATE)
    return np.asarray(
        cv2.warpAffine(img, matrix, (_SFACE_SIZE, _SFACE_SIZE)),
        dtype=np.uint8,
    )


def _similarity_transform(
    src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Least-squares rotation + uniform scale + translation taking src to dst (Umeyama)."""
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_centered, dst_centered = src - src_mean, dst - dst_mean
    covariance = dst_centered.T @ src_centered / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    reflection = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        reflection[1, 1] = -1.0
    rotation = u @ reflection @ vt
    src_variance = (src_centered**2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ reflection)) / src_variance
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


class FaceAnalyzer:
    """YuNet detection + SFace (through deepface) embeddings and verification.

    Loading takes about a second; build one per process and share it.
    """

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        deepface_home_dir: Path | None = None,
        min_eye_distance: float = 18.0,
        detect_max_side: int = 640,
        detect_score: float = 0.7,
        other_face_ratio: float = 0.5,
    ) -> None:
        """
        threshold: cosine similarity from which two faces are the same person.
        deepface_home_dir: DEEPFACE_HOME holding the weights (default: $DEEPFACE_HOME, else
            the repository's .cache/models/deepface, filled by scripts/install.d).
        min_eye_distance: eye distance in pixels under which a face is too small to verify.
        detect_max_side: images are scaled down to this longest side for detection.
        detect_score: YuNet confidence from which a detection counts as a face.
        other_face_ratio: a second face whose eye distance is at least this fraction of the
            main face's makes the image ambiguous (multiple_faces); smaller ones are ignored
            (people far behind).
        """
        self.threshold = threshold
        self.min_eye_distance = min_eye_distance
        self.detect_max_side = detect_max_side
        self.other_face_ratio = other_face_ratio
        home = deepface_home_dir or deepface_home()
        weights = weights_dir(home)
        for name in (YUNET_FILE, SFACE_FILE):
            if not (weights / name).is_file():
                raise FileNotFoundError(
                    f"{weights / name} is missing: run `make install` (scripts/install.d/"
                    "30-face-models.sh) or point DEEPFACE_HOME at a folder that has it"
                )
        self._detector = cv2.FaceDetectorYN.create(
            str(weights / YUNET_FILE), "", (320, 320), detect_score, 0.3, 50
        )
        self._detector_lock = threading.Lock()
        self._sface = _load_sface(home)

    def detect(self, img: Image) -> list[Face]:
        """All faces YuNet finds, largest first."""
        scale = min(1.0, self.detect_max_side / max(img.shape[:2]))
        small = (
            img
            if scale == 1.0
            else cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        height, width = small.shape[:2]
        with self._detector_lock:
            self._detector.setInputSize((width, height))
            _, found = self._detector.detect(small)
        rows = cast("npt.NDArray[np.float32] | None", found)  # None when there is no face
        if rows is None:
            return []
        faces = [_face_from_row(row, scale) for row in rows]
        return sorted(faces, key=lambda face: face.box[2] * face.box[3], reverse=True)

    def main_face(self, img: Image) -> Face:
        """The one face an eKYC image must show, or FaceRejected saying why it cannot be used."""
        faces = self.detect(img)
        if not faces:
            raise _no_face()
        main = max(faces, key=lambda face: face.eye_distance)
        others = [face for face in faces if face is not main]
        if any(f.eye_distance >= self.other_face_ratio * main.eye_distance for f in others):
            raise _multiple_faces()
        if main.eye_distance < self.min_eye_distance:
            raise _face_too_small()
        return main

    def embed(self, img: Image, face: Face) -> Embedding:
        """SFace embedding (128 floats, L2-normalised) of one detected face of `img`."""
        crop = align_face(img, face)
        # deepface's SFace client takes BGR in [0, 1] and feeds round(x * 255) to the graph,
        # exactly the 8-bit crop.
        raw = self._sface.predict(crop.astype(np.float64) / 255.0)[0]
        vector = np.asarray(raw, dtype=np.float32)
        return vector / np.float32(np.linalg.norm(vector))

    def embed_main_face(self, img: Image) -> Embedding:
        """Embedding of the single face `img` must show (FaceRejected otherwise)."""
        return self.embed(img, self.main_face(img))

    def match(self, a: Embedding, b: Embedding) -> FaceMatch:
        """Compare two embeddings (e.g. a stored template and a fresh selfie)."""
        similarity = cosine_similarity(a, b)
        return FaceMatch(similarity, self.threshold, similarity >= self.threshold)

    def verify(self, selfie: Image, reference: Image) -> FaceMatch:
        """Whether the selfie shows the person of the reference (card portrait, member photo)."""
        return self.match(self.embed_main_face(selfie), self.embed_main_face(reference))


def _face_from_row(row: npt.NDArray[np.float32], scale: float) -> Face:
    values = row.astype(np.float64) / scale
    x, y, w, h = (float(v) for v in values[:4])
    return Face(box=(x, y, w, h), landmarks=values[4:14].reshape(5, 2), score=float(row[14]))


def _load_sface(home: Path) -> Any:
    """deepface's SFace client, with its onnxruntime session on one intra-op thread."""
    os.environ["DEEPFACE_HOME"] = str(home)
    os.environ["DEEPFACE_BACKEND_ENGINE"] = "onnx"
    import onnxruntime as ort
    from deepface import DeepFace

    client = DeepFace.build_model(model_name="SFace", task="facial_recognition")
    # deepface builds the session with onnxruntime's default thread pool (one spinning thread
    # per core); rebuild it on the same weight file with a single intra-op thread.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    client.model = ort.InferenceSession(
        str(weights_dir(home) / SFACE_FILE),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    return client
