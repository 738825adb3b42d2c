import random

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from sotay_identity.card import (
    CARD_SIZE,
    HEADER_SHARE,
    PORTRAIT_BOX,
    CardNotFound,
    crop_portrait,
    locate_card,
)
from sotay_identity.images import ImageLimits, decode_image
from tests.identity.support.cards import (
    CLEAN,
    card_photo,
    photograph,
    random_truth,
    render_card,
    scene_without_card,
)


def decoded(jpeg: bytes) -> npt.NDArray[np.uint8]:
    return decode_image(jpeg, limits=ImageLimits())


def red_share_of_top_band(card: npt.NDArray[np.uint8]) -> float:
    band = card[5 : round(CARD_SIZE[1] * HEADER_SHARE * 0.8), 20:-20]
    hue, saturation, _ = cv2.split(cv2.cvtColor(band, cv2.COLOR_BGR2HSV))
    return float((((hue <= 10) | (hue >= 170)) & (saturation >= 90)).mean())


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_card_is_found_and_rectified(seed: int) -> None:
    photo = card_photo(seed)
    card = locate_card(decoded(photo.photo_jpeg))
    assert card.image.shape == (CARD_SIZE[1], CARD_SIZE[0], 3)
    card_width = np.linalg.norm(photo.corners[1] - photo.corners[0])
    assert np.abs(card.corners - photo.corners).max() < 0.04 * card_width
    assert red_share_of_top_band(card.image) > 0.5


def test_card_upside_down_is_turned_upright() -> None:
    photo = card_photo(21)
    upside_down = cv2.rotate(decoded(photo.photo_jpeg), cv2.ROTATE_180)
    card = locate_card(upside_down)
    assert red_share_of_top_band(card.image) > 0.5
    height, width = upside_down.shape[:2]
    expected_top_left = np.array([width, height]) - photo.corners[0]  # the point mirrored
    assert np.linalg.norm(card.corners[0] - expected_top_left) < 30


def test_card_photographed_standing_is_found() -> None:
    photo = card_photo(22)
    standing = cv2.rotate(decoded(photo.photo_jpeg), cv2.ROTATE_90_CLOCKWISE)
    assert red_share_of_top_band(locate_card(standing).image) > 0.5


def test_photo_without_card_is_refused_with_advice() -> None:
    with pytest.raises(CardNotFound) as raised:
        locate_card(decoded(scene_without_card(5)))
    assert raised.value.code == "card_not_found"
    assert "bốn góc" in raised.value.message_vi


def test_a_white_sheet_is_not_a_card() -> None:
    scene = decoded(scene_without_card(6))
    cv2.rectangle(scene, (200, 200), (1000, 700), (250, 250, 250), -1)  # card-shaped, no red band
    with pytest.raises(CardNotFound):
        locate_card(scene)


def test_card_cut_by_the_frame_is_not_found() -> None:
    photo = card_photo(23, degradation=CLEAN)
    image = decoded(photo.photo_jpeg)
    x_middle = int(photo.corners[:, 0].mean())
    with pytest.raises(CardNotFound):
        locate_card(np.ascontiguousarray(image[:, :x_middle]))


def test_portrait_crop_holds_the_pasted_portrait() -> None:
    rng = random.Random(4)
    portrait = np.zeros((400, 300, 3), np.uint8)
    portrait[:] = (0, 200, 0)  # pure green, nowhere else on a card
    card_image = render_card(random_truth(rng), rng, portrait=portrait)
    jpeg, _ = photograph(card_image, rng, CLEAN)
    crop = crop_portrait(locate_card(decoded(jpeg)))
    x0, y0, x1, y1 = PORTRAIT_BOX
    assert crop.shape[0] / crop.shape[1] == pytest.approx((y1 - y0) / (x1 - x0), rel=0.05)
    green = (crop[..., 1] > 150) & (crop[..., 0] < 90) & (crop[..., 2] < 90)
    assert green.mean() > 0.6


def test_clean_card_rectifies_back_to_itself() -> None:
    photo = card_photo(31, degradation=CLEAN)
    card = locate_card(decoded(photo.photo_jpeg))
    difference = cv2.absdiff(
        cv2.GaussianBlur(card.image, (5, 5), 0), cv2.GaussianBlur(photo.card, (5, 5), 0)
    )
    assert np.median(difference) < 20
