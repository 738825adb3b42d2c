"""Renders plausible Vietnamese party cards and photographs of them, with ground truth.

Used by tests/identity and by bench/ocr.py. Everything is drawn from a seed, with fonts
from Debian packages (fonts-dejavu-core, fonts-noto-core): no file outside the repository's
declared packages is read.

The card side drawn is the one with the member's data: a red band with the party's name and
"THẺ ĐẢNG VIÊN", a cream body with the portrait box on the left, the labelled fields on the
right and the issue date and issuing committee at the bottom right. Its geometry is the one
`sotay_identity.card` rectifies to (CARD_SIZE), so crops can be checked against it.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from sotay_identity.card import CARD_SIZE, PORTRAIT_BOX

Image8 = npt.NDArray[np.uint8]

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))
# (regular, bold) pairs that cover Vietnamese.
FONT_FAMILIES = (
    ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
)

# Approximate shares of Vietnamese surnames (percent); the rest spread over rarer ones.
SURNAMES = {
    "Nguyễn": 38.0,
    "Trần": 11.0,
    "Lê": 9.5,
    "Phạm": 7.1,
    "Hoàng": 4.0,
    "Huỳnh": 1.1,
    "Phan": 4.5,
    "Vũ": 2.0,
    "Võ": 1.9,
    "Đặng": 2.1,
    "Bùi": 2.0,
    "Đỗ": 1.4,
    "Hồ": 1.3,
    "Ngô": 1.3,
    "Dương": 1.0,
    "Lý": 0.5,
    "Đinh": 0.6,
    "Trịnh": 0.5,
    "Mai": 0.4,
    "Đào": 0.4,
    "Lâm": 0.3,
    "Cao": 0.3,
    "Tạ": 0.2,
    "Lương": 0.3,
    "Hà": 0.3,
    "Vương": 0.2,
    "Chu": 0.2,
    "Kiều": 0.1,
    "Quách": 0.1,
    "Lại": 0.1,
    "Thái": 0.1,
    "Triệu": 0.1,
    "Khổng": 0.05,
    "Tôn": 0.05,
    "Ông": 0.05,
    "Doãn": 0.05,
    "Nghiêm": 0.05,
    "Mạc": 0.05,
    "Lò": 0.05,
}
MALE_MIDDLE = (
    "Văn",
    "Đức",
    "Minh",
    "Hữu",
    "Quang",
    "Xuân",
    "Công",
    "Đình",
    "Trọng",
    "Mạnh",
    "Thành",
    "Bá",
    "Ngọc",
    "Anh",
    "Duy",
    "Quốc",
    "Thế",
    "Khắc",
    "Tiến",
)
FEMALE_MIDDLE = (
    "Thị",
    "Ngọc",
    "Thu",
    "Kim",
    "Hồng",
    "Thanh",
    "Minh",
    "Diệu",
    "Phương",
    "Bích",
    "Thùy",
    "Mỹ",
    "Hoài",
    "Khánh",
    "Tuyết",
    "Quỳnh",
)
# Given names covering all six tones and the "oa/oe/uy" syllables that have two spellings.
MALE_GIVEN = (
    "Hùng",
    "Dũng",
    "Tuấn",
    "Hải",
    "Hạnh",
    "Toản",
    "Hòa",
    "Thụy",
    "Khải",
    "Lĩnh",
    "Kỳ",
    "Hiếu",
    "Quyết",
    "Thắng",
    "Nghĩa",
    "Trung",
    "Long",
    "Sơn",
    "Tùng",
    "Cường",
    "Khoa",
    "Huy",
    "Vĩnh",
    "Phúc",
    "Lộc",
    "Thọ",
    "Quý",
    "Tuệ",
    "Nguyên",
    "Ngữ",
)
FEMALE_GIVEN = (
    "Lan",
    "Hương",
    "Thủy",
    "Thúy",
    "Huệ",
    "Nguyệt",
    "Khuê",
    "Quỳnh",
    "Uyên",
    "Hòa",
    "Hằng",
    "Ngọc",
    "Trang",
    "Thảo",
    "Nhung",
    "Liễu",
    "Mỹ",
    "Hỷ",
    "Loan",
    "Diệp",
    "Xuân",
    "Oanh",
    "Tuyết",
    "Hoè",
    "Nhã",
    "Vỹ",
    "Ánh",
    "Dung",
    "Yến",
)
COMMITTEES = (
    "Tỉnh ủy Nghệ An",
    "Tỉnh ủy Thanh Hóa",
    "Tỉnh ủy Quảng Ninh",
    "Tỉnh ủy Thừa Thiên Huế",
    "Tỉnh ủy Đắk Lắk",
    "Tỉnh ủy Bà Rịa - Vũng Tàu",
    "Thành ủy Hà Nội",
    "Thành ủy Hải Phòng",
    "Thành ủy Đà Nẵng",
    "Thành ủy Cần Thơ",
    "Tỉnh ủy Hà Tĩnh",
    "Tỉnh ủy Quảng Bình",
    "Đảng ủy Khối các cơ quan tỉnh",
    "Đảng ủy Khối doanh nghiệp tỉnh",
)

HEADER_H = 128
FIELD_X = 280
FIELD_TOP = 160
FIELD_PITCH = 54
ISSUE_Y = 438
RED = (196, 22, 28)
GOLD = (252, 214, 60)
INK = (24, 20, 20)


@dataclass(frozen=True)
class CardTruth:
    full_name: str
    date_of_birth: dt.date
    party_card_number: str
    admission_date: dt.date
    official_date: dt.date
    issuing_committee: str
    issue_date: dt.date


@dataclass(frozen=True)
class Degradation:
    """How hard the simulated phone photo is; each value is the upper end of a random range."""

    max_rotation_deg: float = 12.0
    max_corner_jitter: float = 0.06  # perspective: corner shift as a share of the card side
    card_width_share: tuple[float, float] = (0.55, 0.85)
    max_blur_sigma: float = 1.3
    max_noise_sigma: float = 7.0
    jpeg_quality: tuple[int, int] = (45, 90)
    max_light_falloff: float = 0.4  # uneven light: darkest corner at 1 - this
    photo_size: tuple[int, int] = (1280, 960)


CLEAN = Degradation(0.0, 0.0, (0.8, 0.8), 0.0, 0.0, (95, 95), 0.0)


@dataclass(frozen=True)
class CardPhoto:
    photo_jpeg: bytes  # the simulated phone photo
    card: Image8  # the clean card, BGR, CARD_SIZE
    corners: npt.NDArray[np.float32]  # card corners in the photo: TL, TR, BR, BL
    truth: CardTruth
    old_style_tones: bool = field(default=False)  # name printed as "Hoà" rather than "Hòa"


def random_truth(rng: random.Random, committees: tuple[str, ...] = COMMITTEES) -> CardTruth:
    birth = _random_date(rng, dt.date(1940, 1, 1), dt.date(2004, 12, 31))
    earliest_admission = _add_years(birth, 18)
    latest_admission = min(_add_years(birth, 45), dt.date(2023, 6, 30))
    admission = _random_date(rng, earliest_admission, max(earliest_admission, latest_admission))
    official = _add_months(admission, 12)
    if rng.random() < 0.15:  # recognised a little after the probation year ended
        official += dt.timedelta(days=rng.randint(1, 40))
    issue = _random_date(rng, official, min(dt.date(2024, 12, 31), _add_years(official, 15)))
    number = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(11))
    return CardTruth(
        full_name=random_name(rng),
        date_of_birth=birth,
        party_card_number=number,
        admission_date=admission,
        official_date=official,
        issuing_committee=rng.choice(committees),
        issue_date=issue,
    )


def random_name(rng: random.Random) -> str:
    surname = rng.choices(list(SURNAMES), weights=list(SURNAMES.values()))[0]
    female = rng.random() < 0.5
    middles = FEMALE_MIDDLE if female else MALE_MIDDLE
    given = FEMALE_GIVEN if female else MALE_GIVEN
    parts = [surname, rng.choice(middles)]
    if rng.random() < 0.25:
        parts.append(rng.choice(middles))
    if rng.random() < 0.05:  # composite surname, e.g. Tôn Nữ, Nguyễn Phước
        parts.insert(1, rng.choice(("Nữ", "Phước", "Lê", "Trần")))
    parts.append(rng.choice(given))
    return " ".join(dict.fromkeys(parts))  # no syllable twice


def render_card(
    truth: CardTruth,
    rng: random.Random,
    *,
    portrait: Image8 | None = None,
    old_style_tones: bool = False,
) -> Image8:
    """Draw the card (BGR, CARD_SIZE). `portrait` (BGR) is pasted into the photo box."""
    width, height = CARD_SIZE
    regular, bold = rng.choice(FONT_FAMILIES)
    card = Image.new("RGB", (width, height), _jitter(rng, (244, 236, 212), 8))
    draw = ImageDraw.Draw(card)
    _draw_guilloche(draw, rng, width, height)
    _draw_header(draw, rng, bold, width)
    _paste_portrait(card, rng, portrait)
    name = _tone_style(truth.full_name, old_style_tones).upper()
    upper_values = rng.random() < 0.7
    fields = (
        ("Họ và tên:", name if upper_values else _tone_style(truth.full_name, old_style_tones)),
        ("Sinh ngày:", _format_date(truth.date_of_birth, rng)),
        ("Vào Đảng ngày:", _format_date(truth.admission_date, rng)),
        ("Chính thức ngày:", _format_date(truth.official_date, rng)),
        ("Số thẻ:", truth.party_card_number),
    )
    label_font = _font(regular, rng.randint(25, 28))
    value_font = _font(bold, rng.randint(26, 29))
    for row, (label, value) in enumerate(fields):
        y = FIELD_TOP + row * FIELD_PITCH
        draw.text((FIELD_X, y), label, font=label_font, fill=INK)
        value_x = FIELD_X + draw.textlength(label, font=label_font) + 12
        font = _fit(draw, value, bold, round(value_font.size), width - 30 - value_x)
        draw.text((value_x, y - 1), value, font=font, fill=INK)
    _draw_issue_block(draw, rng, truth, regular, bold)
    _draw_seal(draw, rng)
    return np.asarray(cv2.cvtColor(np.asarray(card), cv2.COLOR_RGB2BGR), np.uint8)


def photograph(
    card: Image8, rng: random.Random, degradation: Degradation
) -> tuple[bytes, npt.NDArray[np.float32]]:
    """Simulate a phone photo of `card`: JPEG bytes and the card's corners in the photo."""
    photo_w, photo_h = degradation.photo_size
    if rng.random() < 0.3:
        photo_w, photo_h = photo_h, photo_w
    background = _background(rng, photo_w, photo_h)
    corners = _card_quad(rng, degradation, photo_w, photo_h)
    card_h, card_w = card.shape[:2]
    source = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(source, corners)
    warped = cv2.warpPerspective(card, homography, (photo_w, photo_h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(
        np.full((card_h, card_w), 255, np.uint8), homography, (photo_w, photo_h)
    )
    _cast_shadow(background, np.asarray(mask, np.uint8), rng)
    alpha = mask.astype(np.float32)[..., None] / 255.0
    photo: npt.NDArray[np.float32] = (
        warped.astype(np.float32) * alpha + background.astype(np.float32) * (1 - alpha)
    ).astype(np.float32)
    photo = _uneven_light(photo, rng, degradation.max_light_falloff)
    sigma = rng.uniform(0, degradation.max_blur_sigma)
    if sigma > 0.2:
        photo = np.asarray(cv2.GaussianBlur(photo, (0, 0), sigma), np.float32)
    noise = rng.uniform(0, degradation.max_noise_sigma)
    if noise > 0:
        photo += (
            np.random.default_rng(rng.getrandbits(32))
            .normal(0, noise, photo.shape)
            .astype(np.float32)
        )
    quality = rng.randint(*degradation.jpeg_quality)
    return encode_jpeg(np.clip(photo, 0, 255).astype(np.uint8), quality), corners


def card_photo(
    seed: int,
    *,
    degradation: Degradation | None = None,
    portrait: Image8 | None = None,
    committees: tuple[str, ...] = COMMITTEES,
) -> CardPhoto:
    """One seeded card, rendered and photographed."""
    rng = random.Random(seed)
    truth = random_truth(rng, committees)
    old_style = rng.random() < 0.3
    card = render_card(truth, rng, portrait=portrait, old_style_tones=old_style)
    jpeg, corners = photograph(card, rng, degradation or Degradation())
    return CardPhoto(jpeg, card, corners, truth, old_style)


def encode_jpeg(image: Image8, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def scene_without_card(seed: int, size: tuple[int, int] = (1280, 960)) -> bytes:
    """A photo-like picture of a cluttered desk with no card on it (JPEG)."""
    rng = random.Random(seed)
    image = _background(rng, *size)
    for _ in range(rng.randint(3, 8)):  # papers, mugs, pens: shapes that are not cards
        color = _jitter(rng, (rng.randint(40, 220),) * 3, 30)
        center = (rng.randint(0, size[0]), rng.randint(0, size[1]))
        radius = rng.randint(20, 150)
        cv2.circle(image, center, radius, color, -1)
        cv2.line(image, center, (rng.randint(0, size[0]), rng.randint(0, size[1])), color, 6)
    image = np.asarray(cv2.GaussianBlur(image, (0, 0), 1.0), np.uint8)
    return encode_jpeg(image, 85)


def _tone_style(name: str, old_style: bool) -> str:
    """Spell `name` with the other tone placement ("Hòa" -> "Hoà", "Thủy" -> "Thuỷ")."""
    if not old_style:
        return name
    swaps = {
        "òa": "oà",
        "óa": "oá",
        "ỏa": "oả",
        "õa": "oã",
        "ọa": "oạ",
        "òe": "oè",
        "óe": "oé",
        "ủy": "uỷ",
        "úy": "uý",
        "ùy": "uỳ",
        "ũy": "uỹ",
        "ụy": "uỵ",
    }
    words = []
    for word in name.split():
        low = word.lower()
        for old, new in swaps.items():
            if low.endswith(old) and not low.startswith("qu"):
                word = word[: -len(old)] + (new if word[-1].islower() else new.upper())
                break
        words.append(word)
    return " ".join(words)


def _format_date(day: dt.date, rng: random.Random) -> str:
    separator = rng.choices(("/", "-", "."), weights=(8, 1, 1))[0]
    return f"{day.day:02d}{separator}{day.month:02d}{separator}{day.year}"


def _draw_header(draw: ImageDraw.ImageDraw, rng: random.Random, bold: str, width: int) -> None:
    draw.rectangle((0, 0, width, HEADER_H), fill=_jitter(rng, RED, 12))
    _draw_star(draw, (70, HEADER_H // 2), 42)
    _draw_star(draw, (width - 70, HEADER_H // 2), 42)
    draw.text(
        (width // 2, 36), "ĐẢNG CỘNG SẢN VIỆT NAM", font=_font(bold, 30), fill=GOLD, anchor="mm"
    )
    draw.text((width // 2, 88), "THẺ ĐẢNG VIÊN", font=_font(bold, 44), fill=GOLD, anchor="mm")


def _draw_star(draw: ImageDraw.ImageDraw, center: tuple[int, int], radius: int) -> None:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.4
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((center[0] + r * math.cos(angle), center[1] + r * math.sin(angle)))
    draw.polygon(points, fill=GOLD)


def _draw_guilloche(draw: ImageDraw.ImageDraw, rng: random.Random, width: int, height: int) -> None:
    """Faint security waves over the body, as printed cards have."""
    color = _jitter(rng, (236, 214, 196), 6)
    phase = rng.uniform(0, math.pi)
    for k in range(0, height - HEADER_H, 18):
        y0 = HEADER_H + 10 + k
        points = [(x, y0 + 6 * math.sin(x / 37 + phase + k)) for x in range(0, width, 8)]
        draw.line(points, fill=color, width=1)


def _paste_portrait(card: Image.Image, rng: random.Random, portrait: Image8 | None) -> None:
    x0, y0, x1, y1 = PORTRAIT_BOX
    if portrait is None:
        photo = Image.new("RGB", (x1 - x0, y1 - y0), _jitter(rng, (170, 200, 230), 20))
        face = ImageDraw.Draw(photo)
        skin = _jitter(rng, (225, 185, 150), 20)
        w, h = photo.size
        face.ellipse((w * 0.28, h * 0.14, w * 0.72, h * 0.6), fill=skin)
        face.ellipse((w * 0.05, h * 0.62, w * 0.95, h * 1.3), fill=_jitter(rng, (60, 60, 90), 30))
    else:
        rgb = cv2.cvtColor(portrait, cv2.COLOR_BGR2RGB)
        photo = Image.fromarray(rgb).resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS)
    card.paste(photo, (x0, y0))
    ImageDraw.Draw(card).rectangle((x0, y0, x1, y1), outline=INK, width=2)


def _draw_issue_block(
    draw: ImageDraw.ImageDraw, rng: random.Random, truth: CardTruth, regular: str, bold: str
) -> None:
    center_x = 640
    issue = truth.issue_date
    issued = f"Ngày {issue.day:02d} tháng {issue.month:02d} năm {issue.year}"
    draw.text((center_x, ISSUE_Y), issued, font=_font(regular, 25), fill=INK, anchor="mt")
    committee = truth.issuing_committee.upper()
    font = _fit(draw, committee, bold, 27, 560)
    draw.text((center_x, ISSUE_Y + 46), committee, font=font, fill=INK, anchor="mt")
    # A signature scribble under the committee.
    start_x = center_x - rng.randint(40, 90)
    points = [
        (start_x + i * 9, ISSUE_Y + 112 + rng.randint(-9, 9)) for i in range(rng.randint(10, 16))
    ]
    draw.line(points, fill=(30, 40, 120), width=2)


def _draw_seal(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """The red seal over the portrait's lower right corner, as on issued cards."""
    _, _, x1, y1 = PORTRAIT_BOX
    cx, cy, r = x1 - 10 + rng.randint(-8, 8), y1 - 15 + rng.randint(-8, 8), 52
    color = _jitter(rng, (200, 40, 50), 15)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=color, width=3)
    draw.ellipse((cx - r + 10, cy - r + 10, cx + r - 10, cy + r - 10), outline=color, width=2)


def _background(rng: random.Random, width: int, height: int) -> Image8:
    base = np.array(
        _jitter(
            rng,
            rng.choice(((60, 45, 30), (35, 35, 40), (120, 90, 60), (90, 100, 110), (20, 60, 30))),
            25,
        ),
        np.float32,
    )
    gen = np.random.default_rng(rng.getrandbits(32))
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    grain = np.sin((x * rng.uniform(20, 80) + y * rng.uniform(1, 6)) * math.pi) * 10
    image = base[None, None, :] + grain[..., None] + gen.normal(0, 6, (height, width, 3))
    return np.asarray(np.clip(image[..., ::-1], 0, 255), np.uint8)  # RGB tuples -> BGR


def _card_quad(
    rng: random.Random, degradation: Degradation, photo_w: int, photo_h: int
) -> npt.NDArray[np.float32]:
    card_w, card_h = CARD_SIZE
    share = rng.uniform(*degradation.card_width_share)
    scale = min(photo_w * share / card_w, photo_h * 0.9 / card_h)
    w, h = card_w * scale, card_h * scale
    angle = math.radians(rng.uniform(-degradation.max_rotation_deg, degradation.max_rotation_deg))
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    jitter = degradation.max_corner_jitter
    corners += [
        [rng.uniform(-jitter, jitter) * w, rng.uniform(-jitter, jitter) * h] for _ in range(4)
    ]
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    corners = corners @ rotation.T
    corners -= (corners.max(axis=0) + corners.min(axis=0)) / 2
    span = corners.max(axis=0) - corners.min(axis=0)
    fit = min(1.0, (photo_w - 24) / span[0], (photo_h - 24) / span[1])  # all four corners in
    corners, span = corners * fit, span * fit
    room_x = max(0.0, (photo_w - span[0]) / 2 - 10)
    room_y = max(0.0, (photo_h - span[1]) / 2 - 10)
    center = (
        photo_w / 2 + rng.uniform(-room_x, room_x),
        photo_h / 2 + rng.uniform(-room_y, room_y),
    )
    return np.asarray(corners + center, np.float32)


def _cast_shadow(background: Image8, mask: Image8, rng: random.Random) -> None:
    shift = np.array([[1, 0, rng.randint(4, 14)], [0, 1, rng.randint(4, 14)]], np.float32)
    shadow = cv2.warpAffine(mask, shift, (mask.shape[1], mask.shape[0]))
    shadow = cv2.GaussianBlur(shadow, (0, 0), 6).astype(np.float32) / 255.0
    background[:] = (background * (1 - 0.45 * shadow[..., None])).astype(np.uint8)


def _uneven_light(
    photo: npt.NDArray[np.float32], rng: random.Random, falloff: float
) -> npt.NDArray[np.float32]:
    if falloff <= 0:
        return photo
    height, width = photo.shape[:2]
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot(x - cx, y - cy) / math.hypot(width, height)
    gain = 1.1 - rng.uniform(0.1, falloff) * distance / max(float(distance.max()), 1e-6)
    return np.asarray(photo * gain[..., None], np.float32)


def _jitter(rng: random.Random, color: tuple[int, ...], amount: int) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, c + rng.randint(-amount, amount))) for c in color[:3])
    return r, g, b


def _fit(
    draw: ImageDraw.ImageDraw, text: str, font_file: str, size: int, max_width: float
) -> ImageFont.FreeTypeFont:
    """The largest font up to `size` in which `text` fits `max_width`."""
    while size > 12 and draw.textlength(text, font=_font(font_file, size)) > max_width:
        size -= 1
    return _font(font_file, size)


@cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    for folder in FONT_DIRS:
        path = folder / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    raise FileNotFoundError(f"font {name} not found: install fonts-dejavu-core and fonts-noto-core")


def _random_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):  # 31 Jan + 1 month -> 28/29 Feb
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _add_years(day: dt.date, years: int) -> dt.date:
    return _add_months(day, 12 * years)
