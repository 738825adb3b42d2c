"""Safe decoding of uploaded photos (card photos, selfies) into BGR arrays.

Only JPEG, PNG and WebP are accepted, recognised by their magic bytes, never by the name
the client sent. Sizes are checked in this order, each before the costlier step after it:
the byte count, then the dimensions the header declares (a decompression bomb declares
huge dimensions in a small file), then the full decode, which must consume a complete,
valid stream. EXIF orientation is applied so that the pixels are upright.
"""

import io
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from cv2.typing import MatLike
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ImageLimits",
    "ImageRejected",
    "decode_image",
    "is_blurry",
    "sharpness",
    "sniff_format",
]

Image8 = npt.NDArray[np.uint8]

_MB = 1024 * 1024
# Sharpness (see `sharpness`) of a rectified card under which its text no longer reads:
# on generated cards (bench/ocr.py --blur-sweep) none under 15 was read fully automatically,
# half of those from 15 to 30, nearly all above. Other pictures (selfies) need their own.
BLUR_THRESHOLD = 20.0
_SHARPNESS_SIDE = 1000  # images are brought to this longest side before measuring


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * _MB
    max_pixels: int = 40_000_000  # 40 megapixels: more than any phone camera of today
    min_side: int = 480  # the shorter side, in pixels


class ImageRejected(Exception):
    """An uploaded image that cannot be used; `code` is stable, `message_vi` is for the user."""

    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(code)
        self.code = code
        self.message_vi = message_vi

    @classmethod
    def blurry(cls) -> "ImageRejected":
        return cls(
            "image_blurry",
            "Ảnh bị mờ, vui lòng chụp lại: giữ máy chắc tay, đủ ánh sáng và lấy nét vào thẻ.",
        )


_ACCEPTED = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
_OTHER_IMAGE_MAGIC = (b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00")


def sniff_format(data: bytes) -> str | None:
    """ "JPEG", "PNG" or "WEBP" from the magic bytes, None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_image(data: bytes, *, limits: ImageLimits) -> Image8:
    """Decode an uploaded JPEG, PNG or WebP to an upright BGR uint8 array.

    Raises ImageRejected with a stable code for anything that cannot be used.
    """
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            "file_too_large",
            f"Ảnh quá lớn (tối đa {limits.max_bytes // _MB} MB). "
            "Vui lòng chụp lại hoặc chọn ảnh có dung lượng nhỏ hơn.",
        )
    image_format = sniff_format(data)
    if image_format is None:
        raise _unknown_content(data)
    image = _open_header(data, image_format)
    _check_dimensions(image.size, limits)
    rgb = _load_upright_rgb(image)
    _check_dimensions(rgb.size, limits)  # EXIF rotation swaps the sides, never the area
    return np.asarray(cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR), np.uint8)


def sharpness(image: MatLike) -> float:
    """Variance of the Laplacian at a fixed scale: higher is sharper."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if len(image.shape) == 3 else image
    scale = _SHARPNESS_SIDE / max(gray.shape[:2])
    gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def is_blurry(image: MatLike, *, threshold: float = BLUR_THRESHOLD) -> bool:
    """True when `image`, a rectified card (RectifiedCard.image), is too blurred to read."""
    return sharpness(image) < threshold


def _unknown_content(data: bytes) -> ImageRejected:
    looks_like_image = data.startswith(_OTHER_IMAGE_MAGIC) or data[4:12] in (
        b"ftypheic",
        b"ftypheix",
        b"ftypmif1",
        b"ftypavif",
    )
    if looks_like_image:
        return ImageRejected(
            "unsupported_format",
            "Định dạng ảnh chưa được hỗ trợ. Vui lòng dùng ảnh JPEG, PNG hoặc WebP.",
        )
    return ImageRejected(
        "not_an_image",
        "Tệp tải lên không phải là ảnh. Vui lòng chụp hoặc chọn ảnh JPEG, PNG hoặc WebP.",
    )


def _corrupt() -> ImageRejected:
    return ImageRejected(
        "corrupt_image", "Ảnh bị hỏng hoặc tải lên chưa hết. Vui lòng chụp hoặc tải lại ảnh."
    )


def _open_header(data: bytes, image_format: str) -> Image.Image:
    """Parse only the header (Pillow decodes lazily), as the sniffed format and no other
    (no other decoder, e.g. one that shells out, ever sees the upload)."""
    try:
        return Image.open(io.BytesIO(data), formats=[_ACCEPTED[image_format]])
    except Image.DecompressionBombError as error:  # far beyond any limit: Pillow stops it
        raise _too_many_pixels() from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise _corrupt() from error


def _check_dimensions(size: tuple[int, int], limits: ImageLimits) -> None:
    width, height = size
    if width * height > limits.max_pixels:
        raise _too_many_pixels()
    if min(width, height) < limits.min_side:
        raise ImageRejected(
            "image_too_small",
            f"Ảnh quá nhỏ để đọc được (cần ít nhất {limits.min_side} điểm ảnh mỗi chiều). "
            "Vui lòng chụp lại gần hơn hoặc dùng ảnh có độ phân giải cao hơn.",
        )


def _too_many_pixels() -> ImageRejected:
    return ImageRejected(
        "too_many_pixels",
        "Ảnh có kích thước quá lớn. Vui lòng chụp lại với độ phân giải thấp hơn.",
    )


def _load_upright_rgb(image: Image.Image) -> Image.Image:
    """Fully decode (a truncated or corrupt stream raises), apply EXIF orientation, to RGB."""
    try:
        image.load()
        upright = ImageOps.exif_transpose(image) or image
        if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
            return _flatten_on_white(upright)
        return upright.convert("RGB")
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise _corrupt() from error


def _flatten_on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")
