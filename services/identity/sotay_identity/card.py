"""Find the party card in a photo and rectify it to the canonical card frame.

The card is found as the best four-cornered outline among the edges of a reduced copy of
the photo, then warped to CARD_SIZE. The red band along the card's top edge tells which
way up the card lies (and is also what tells a card apart from any other rectangle).
"""

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from cv2.typing import MatLike

__all__ = [
    "CARD_SIZE",
    "PORTRAIT_BOX",
    "CardNotFound",
    "RectifiedCard",
    "crop_portrait",
    "locate_card",
]

CARD_SIZE = (1000, 630)  # width, height: ID-1 proportions (85.6 x 54 mm)
PORTRAIT_BOX = (40, 160, 250, 440)  # x0, y0, x1, y1 in the canonical frame (3:4 photo)
HEADER_SHARE = 0.2  # the red band's height as a share of the card's height

_WORK_SIDE = 640  # longest side of the reduced copy the outline is searched in
_MIN_AREA_SHARE = 0.12  # the card must fill at least this share of the photo
_ASPECT = CARD_SIZE[0] / CARD_SIZE[1]
_MIN_RED_SHARE = 0.35  # share of red pixels the header band must have

Image8 = npt.NDArray[np.uint8]
Quad = npt.NDArray[np.float32]


class CardNotFound(Exception):
    """No party card could be found in the photo."""

    code = "card_not_found"
    message_vi = (
        "Không tìm thấy thẻ đảng viên trong ảnh. Vui lòng đặt thẻ trên nền phẳng, "
        "khác màu với thẻ, chụp thẳng từ trên xuống, đủ cả bốn góc thẻ và không bị lóa."
    )

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class RectifiedCard:
    image: Image8  # BGR, CARD_SIZE, the card upright
    corners: Quad  # the card's corners in the photo: top-left, top-right, bottom-right, bottom-left


def locate_card(photo: MatLike) -> RectifiedCard:
    """Find the card's outline in a BGR photo and warp the card to CARD_SIZE, upright."""
    scale = _WORK_SIDE / max(photo.shape[:2])
    small = np.asarray(
        cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
    )
    for quad in _candidate_quads(small):
        corners = (quad / scale).astype(np.float32)
        card = _warp(photo, corners)
        if _red_share(_band(card, top=True)) >= _MIN_RED_SHARE:
            return RectifiedCard(card, corners)
        if _red_share(_band(card, top=False)) >= _MIN_RED_SHARE:
            corners = np.roll(corners, 2, axis=0)  # the card lies upside down
            return RectifiedCard(np.asarray(cv2.rotate(card, cv2.ROTATE_180), np.uint8), corners)
    raise CardNotFound("no four-cornered outline with the card's red band")


def crop_portrait(card: RectifiedCard, *, margin: float = 0.08) -> Image8:
    """The portrait box of a rectified card, widened by `margin` of its size on each side."""
    x0, y0, x1, y1 = PORTRAIT_BOX
    dx, dy = round((x1 - x0) * margin), round((y1 - y0) * margin)
    height, width = card.image.shape[:2]
    return card.image[
        max(0, y0 - dy) : min(height, y1 + dy), max(0, x0 - dx) : min(width, x1 + dx)
    ].copy()


def _candidate_quads(small: Image8) -> list[Quad]:
    """Plausible card outlines in the reduced photo, the most plausible first."""
    edges = _edges(small)
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_area = _MIN_AREA_SHARE * small.shape[0] * small.shape[1]
    scored: list[tuple[float, Quad]] = []
    for contour in contours:
        if cv2.contourArea(contour) < min_area:
            continue
        quad = _four_corners(cv2.convexHull(contour))
        if quad is not None and _plausible(quad):
            scored.append((cv2.contourArea(quad), quad))
    scored.sort(key=lambda item: -item[0])
    return [quad for _, quad in scored]


def _edges(small: Image8) -> Image8:
    """Edges of any colour channel, closed so that the card's outline is one contour."""
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    edges = np.zeros(small.shape[:2], np.uint8)
    for channel in cv2.split(blurred):
        edges |= np.asarray(cv2.Canny(channel, 40, 120), np.uint8)
    return np.asarray(cv2.dilate(edges, np.ones((5, 5), np.uint8)), np.uint8)


def _four_corners(hull: MatLike) -> Quad | None:
    perimeter = cv2.arcLength(hull, closed=True)
    for epsilon in (0.02, 0.03, 0.045, 0.06):
        approx = cv2.approxPolyDP(hull, epsilon * perimeter, closed=True)
        if len(approx) == 4:
            return _order_corners(approx.reshape(4, 2).astype(np.float32))
    return None


def _order_corners(points: Quad) -> Quad:
    """Clockwise from the top-left, the first side being the upper of the two long sides."""
    center = points.mean(axis=0)
    clockwise = points[np.argsort(np.arctan2(points[:, 1] - center[1], points[:, 0] - center[0]))]
    sides = np.linalg.norm(clockwise - np.roll(clockwise, -1, axis=0), axis=1)
    if sides[0] + sides[2] < sides[1] + sides[3]:
        clockwise = np.roll(clockwise, -1, axis=0)
    if clockwise[2:, 1].mean() < clockwise[:2, 1].mean():
        clockwise = np.roll(clockwise, -2, axis=0)
    return clockwise


def _plausible(quad: Quad) -> bool:
    if not cv2.isContourConvex(quad.astype(np.int32)):
        return False
    sides = np.linalg.norm(quad - np.roll(quad, -1, axis=0), axis=1)
    aspect = float(sides[0] + sides[2]) / max(float(sides[1] + sides[3]), 1.0)
    return _ASPECT / 1.35 <= aspect <= _ASPECT * 1.35


def _warp(photo: MatLike, corners: Quad) -> Image8:
    width, height = CARD_SIZE
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return np.asarray(
        cv2.warpPerspective(photo, matrix, CARD_SIZE, flags=cv2.INTER_LINEAR), np.uint8
    )


def _band(card: Image8, *, top: bool) -> Image8:
    height = card.shape[0]
    band = round(height * HEADER_SHARE * 0.8)
    inset = round(height * 0.03)  # skip the outline, where background may bleed in
    rows = slice(inset, band) if top else slice(height - band, height - inset)
    return card[rows, inset:-inset]


def _red_share(region: Image8) -> float:
    hsv = cv2.cvtColor(region, cv2.COLOR_BGR2HSV)
    hue, saturation, value = cv2.split(hsv)
    red = ((hue <= 10) | (hue >= 170)) & (saturation >= 90) & (value >= 60)
    return float(red.mean())
