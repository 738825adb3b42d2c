"""Synthetic liveness sequences made from one real photo, for tests and benchmarks.

A live face is re-rendered from FaceMesh's 3D landmarks: the 468 points (plus a fixed ring of
background points) are triangulated, moved in 3D (a head rotation about a vertical axis through
the head, eyelids closed for a blink) and each triangle's texture is warped to its new place,
far triangles first. This is a true 3D motion: its landmarks are not related to the frontal
ones by one homography. A printed photo is the frontal frame warped by the homography of a
plane rotated in front of a pinhole camera (optionally bent like a held sheet of paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt

from sotay_identity.face import Image
from sotay_identity.liveness import FaceMeshTracker, Frame, Step

Points = npt.NDArray[np.float64]

_WALL = (128, 128, 128)  # what the camera sees around a printed photo

# FaceMesh indices: upper eyelid points with the lower-lid point each closes onto, and the
# crease points above them that follow halfway (the lid skin stretches over the eye).
_LID_PAIRS = (
    (246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155),
    (466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382),
)  # fmt: skip
_CREASE_PAIRS = (
    (247, 246), (30, 161), (29, 160), (27, 159), (28, 158), (56, 157), (190, 173),
    (467, 466), (260, 388), (259, 387), (257, 386), (258, 385), (286, 384), (414, 398),
)  # fmt: skip


# Poses of each step, one frame every FRAME_MS: (yaw in degrees, eyelid closure).
FRAME_MS = 100
_HOLD = ((0.0, 0.0),) * 2
_STEP_POSES = {
    Step.TURN_LEFT: ((20.0, 0.0), (45.0, 0.0), (45.0, 0.0), (20.0, 0.0), (0.0, 0.0)),
    Step.TURN_RIGHT: ((-20.0, 0.0), (-45.0, 0.0), (-45.0, 0.0), (-20.0, 0.0), (0.0, 0.0)),
    Step.BLINK: ((0.0, 1.0), (0.0, 0.0)),
}


@dataclass(frozen=True)
class FaceModel:
    """A photo with its FaceMesh landmarks (pixels; z in the same unit, smaller = nearer).

    Renders of the live face are kept, by pose, for every sequence made from this model."""

    image: Image = field(repr=False)
    landmarks: Points = field(repr=False)
    renders: dict[tuple[float, float], Image] = field(
        default_factory=dict, repr=False, compare=False
    )

    def render(self, yaw_deg: float, eyes_closed: float) -> Image:
        pose = (yaw_deg, eyes_closed)
        if pose not in self.renders:
            self.renders[pose] = render_live(self, yaw_deg=yaw_deg, eyes_closed=eyes_closed)
        return self.renders[pose]


def face_model(image: Image) -> FaceModel:
    """Run FaceMesh once on a frontal photo."""
    with FaceMeshTracker() as tracker:
        faces = tracker.landmarks(image)
    if len(faces) != 1:
        raise ValueError(f"expected one face, found {len(faces)}")
    return FaceModel(image, faces[0])


def live_sequence(model: FaceModel, steps: Sequence[Step]) -> list[Frame]:
    """A person doing `steps` in order: still frontal frames, then each step's poses, one frame
    every FRAME_MS (turns of 45 degrees, full blinks). FaceMesh reads these renders' yaw
    at about two thirds of the rotation applied (its depth is flatter than a real head's)."""
    return _frames([model.render(yaw, closed) for yaw, closed in _poses(steps)])


def printed_sequence(
    image: Image, steps: Sequence[Step], *, turn_deg: float = 60.0, bend: float = 0.0
) -> list[Frame]:
    """An attacker doing `steps` with a printed photo: turns are the sheet turned by up to
    `turn_deg` (optionally bent), blinks cannot be done (the photo stays still)."""
    render = cache(lambda yaw: image if yaw == 0 else render_printed(image, yaw_deg=yaw, bend=bend))
    return _frames([render(yaw * turn_deg / 45.0) for yaw, _ in _poses(steps)])


def _poses(steps: Sequence[Step]) -> list[tuple[float, float]]:
    poses = list(_HOLD)
    for step in steps:
        poses += [*_STEP_POSES[step], *_HOLD]
    return poses


def _frames(images: list[Image]) -> list[Frame]:
    return [Frame(image, index * FRAME_MS) for index, image in enumerate(images)]


def render_live(model: FaceModel, *, yaw_deg: float = 0.0, eyes_closed: float = 0.0) -> Image:
    """The face turned by `yaw_deg` (positive: towards the image's right) with eyelids closed
    by the fraction `eyes_closed` (0 open, 1 shut)."""
    moved = _close_eyes(model.landmarks, eyes_closed)
    moved = _rotate_yaw(moved, np.deg2rad(yaw_deg))
    return _warp_mesh(model.image, model.landmarks, moved)


def render_printed(
    image: Image, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0, bend: float = 0.0
) -> Image:
    """`image` as a printed sheet turned by yaw/pitch in front of a pinhole camera (focal
    length = image width); `bend` curves the sheet around a vertical axis (sagitta as a
    fraction of the width), which a planar homography cannot explain."""
    height, width = image.shape[:2]
    grid_x, grid_y = np.meshgrid(np.linspace(0, width - 1, 17), np.linspace(0, height - 1, 17))
    source = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)
    centred_x = source[:, 0] - width / 2
    depth = bend * width * (1 - (2 * centred_x / width) ** 2)
    points = np.stack([centred_x, source[:, 1] - height / 2, -depth], axis=1)
    rotation = _rotation(np.deg2rad(yaw_deg), np.deg2rad(pitch_deg))
    turned = points @ rotation.T
    focal = float(width)
    distance = focal  # the sheet fills the frame when facing the camera
    projected = turned[:, :2] * focal / (distance + turned[:, 2:3])
    target = projected + np.array([width / 2, height / 2])
    if bend == 0:
        corners = [0, 16, 16 * 17 + 16, 16 * 17]  # the grid's corners, clockwise
        homography = cv2.getPerspectiveTransform(
            source[corners].astype(np.float32), target[corners].astype(np.float32)
        )
        warped = cv2.warpPerspective(image, homography, (width, height), borderValue=_WALL)
        return np.asarray(warped, dtype=np.uint8)
    return _warp_grid(image, source, target)


def _close_eyes(landmarks: Points, amount: float) -> Points:
    moved = landmarks.copy()
    for upper, lower in _LID_PAIRS:
        moved[upper] = landmarks[upper] + amount * (landmarks[lower] - landmarks[upper])
    for crease, lid in _CREASE_PAIRS:
        moved[crease] = landmarks[crease] + 0.5 * (moved[lid] - landmarks[lid])
    return moved


def _rotate_yaw(landmarks: Points, yaw: float) -> Points:
    """Rotate about a vertical axis through the head's centre (FaceMesh's z origin is about
    the head's centre; its x centre is the landmarks' mean)."""
    centre = np.array([landmarks[:, 0].mean(), 0.0, 0.0])
    rotation = _rotation(yaw, 0.0)
    return np.asarray((landmarks - centre) @ rotation.T + centre, dtype=np.float64)


def _rotation(yaw: float, pitch: float) -> Points:
    """Rotation for camera coordinates (x right, y down, z away from the camera); positive
    yaw moves what is nearest the camera to the right."""
    cos_y, sin_y = np.cos(yaw), np.sin(yaw)
    cos_p, sin_p = np.cos(pitch), np.sin(pitch)
    about_vertical = np.array([[cos_y, 0, -sin_y], [0, 1, 0], [sin_y, 0, cos_y]])
    about_horizontal = np.array([[1, 0, 0], [0, cos_p, -sin_p], [0, sin_p, cos_p]])
    return np.asarray(about_horizontal @ about_vertical, dtype=np.float64)


def _warp_mesh(image: Image, source: Points, target: Points) -> Image:
    """Move the mesh's texture from `source` to `target` landmarks, far triangles first,
    with a ring of fixed points around the face so the background stretches continuously."""
    ring = _background_ring(image, source)
    src_2d = np.vstack([source[:, :2], ring])
    dst_2d = np.vstack([target[:, :2], ring])
    depth = np.concatenate([target[:, 2], np.full(len(ring), np.inf)])
    triangles = _delaunay(src_2d, image.shape[1], image.shape[0])
    order = sorted(triangles, key=lambda tri: -float(np.mean(depth[list(tri)])))
    output = image.copy()
    for tri in order:
        _warp_triangle(image, output, src_2d[list(tri)], dst_2d[list(tri)])
    return output


def _background_ring(image: Image, landmarks: Points) -> Points:
    height, width = image.shape[:2]
    centre = landmarks[:, :2].mean(axis=0)
    radius = np.abs(landmarks[:, :2] - centre).max(axis=0)
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = centre + 1.6 * radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    corners = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    return np.vstack([np.clip(ring, 0, [width - 1, height - 1]), corners]).astype(np.float64)


def _delaunay(points: Points, width: int, height: int) -> list[tuple[int, int, int]]:
    subdivision = cv2.Subdiv2D((0, 0, width, height))
    index = {}
    for i, (x, y) in enumerate(points):
        key = (round(float(x), 3), round(float(y), 3))
        index[key] = i
        subdivision.insert((float(x), float(y)))
    triangles = []
    for x1, y1, x2, y2, x3, y3 in subdivision.getTriangleList():
        keys = [(round(float(x), 3), round(float(y), 3)) for x, y in ((x1, y1), (x2, y2), (x3, y3))]
        if all(key in index for key in keys):
            triangles.append((index[keys[0]], index[keys[1]], index[keys[2]]))
    return triangles


def _warp_triangle(source: Image, output: Image, src: Points, dst: Points) -> None:
    x, y, w, h = cv2.boundingRect(dst.astype(np.float32))
    if w <= 0 or h <= 0:
        return
    matrix = cv2.getAffineTransform(src.astype(np.float32), (dst - [x, y]).astype(np.float32))
    patch = cv2.warpAffine(
        source, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(dst - [x, y]).astype(np.int32), (1,), cv2.LINE_AA)
    region = output[y : y + h, x : x + w]
    inside = mask[: region.shape[0], : region.shape[1]].astype(bool)
    region[inside] = patch[: region.shape[0], : region.shape[1]][inside]


def _warp_grid(image: Image, source: Points, target: Points) -> Image:
    """Dense warp through a fine grid of point correspondences (piecewise linear)."""
    height, width = image.shape[:2]
    output = np.empty_like(image)
    output[:] = _WALL
    triangles = _delaunay(source, width, height)
    for tri in triangles:
        _warp_triangle(image, output, source[list(tri)], target[list(tri)])
    return output
