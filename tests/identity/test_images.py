import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from sotay_identity.images import (
    ImageLimits,
    ImageRejected,
    decode_image,
    is_blurry,
    sharpness,
    sniff_format,
)
from tests.identity.support.cards import CLEAN, card_photo

LIMITS = ImageLimits()


def encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def test_formats_are_sniffed_from_magic_bytes() -> None:
    picture = Image.new("RGB", (8, 8))
    assert sniff_format(encoded(picture, "JPEG")) == "JPEG"
    assert sniff_format(encoded(picture, "PNG")) == "PNG"
    assert sniff_format(encoded(picture, "WEBP")) == "WEBP"
    assert sniff_format(b"%PDF-1.7 photo.jpg") is None


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_lossless_images_decode_to_bgr(image_format: str) -> None:
    picture = Image.new("RGB", (640, 480), (255, 0, 0))  # pure red
    options = {"lossless": True} if image_format == "WEBP" else {}
    decoded = decode_image(encoded(picture, image_format, **options), limits=LIMITS)
    assert decoded.shape == (480, 640, 3)
    assert decoded.dtype == np.uint8
    assert tuple(decoded[10, 10]) == (0, 0, 255)


def test_jpeg_decodes() -> None:
    picture = Image.new("RGB", (640, 480), (20, 200, 20))
    decoded = decode_image(encoded(picture, "JPEG", quality=95), limits=LIMITS)
    assert decoded.shape == (480, 640, 3)
    assert abs(int(decoded[100, 100, 1]) - 200) < 6


def test_exif_orientation_is_applied() -> None:
    picture = Image.new("RGB", (800, 600), (255, 255, 255))
    picture.paste((0, 0, 0), (0, 0, 100, 100))  # a black mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    decoded = decode_image(encoded(picture, "JPEG", exif=exif.tobytes()), limits=LIMITS)
    assert decoded.shape == (800, 600, 3)  # now portrait
    assert decoded[50, 550].mean() < 40  # the mark moved to the top-right corner
    assert decoded[50, 50].mean() > 200


def test_transparent_png_is_flattened_on_white() -> None:
    picture = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    decoded = decode_image(encoded(picture, "PNG"), limits=LIMITS)
    assert decoded.shape == (600, 600, 3)
    assert decoded.min() == 255


def rejection(data: bytes, limits: ImageLimits = LIMITS) -> str:
    with pytest.raises(ImageRejected) as raised:
        decode_image(data, limits=limits)
    assert raised.value.message_vi  # every rejection tells the member what to do
    return raised.value.code


def test_text_is_not_an_image() -> None:
    assert rejection(b"%PDF-1.7\n1 0 obj <<>> endobj") == "not_an_image"
    assert rejection(b"") == "not_an_image"


def test_other_image_formats_are_unsupported() -> None:
    assert rejection(encoded(Image.new("RGB", (640, 480)), "GIF")) == "unsupported_format"
    assert rejection(encoded(Image.new("RGB", (640, 480)), "BMP")) == "unsupported_format"


def test_a_renamed_file_is_judged_by_its_content() -> None:
    png = encoded(Image.new("RGB", (640, 480)), "PNG")
    assert decode_image(png, limits=LIMITS).shape == (480, 640, 3)  # whatever it was called
    assert rejection(b"GIF89a" + png) == "unsupported_format"


def test_truncated_jpeg_is_corrupt() -> None:
    photo = card_photo(3, degradation=CLEAN).photo_jpeg
    assert rejection(photo[: len(photo) // 2]) == "corrupt_image"


def test_png_with_damaged_data_is_corrupt() -> None:
    png = bytearray(encoded(Image.new("RGB", (640, 480), (9, 9, 9)), "PNG"))
    data_start = png.index(b"IDAT") + 8
    png[data_start : data_start + 16] = bytes(16)
    assert rejection(bytes(png)) == "corrupt_image"


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares width x height (its pixel data is not even valid)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(bytes(1000))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [8_000, 100_000])
def test_decompression_bomb_is_refused_from_its_header(side: int) -> None:
    bomb = png_declaring(side, side)
    assert len(bomb) < 2_000
    # The pixel data is invalid: "too_many_pixels" shows nothing was decoded.
    assert rejection(bomb) == "too_many_pixels"


def test_huge_upload_is_refused_before_reading_it() -> None:
    upload = b"\xff\xd8\xff\xe0" + bytes(50 * 1024 * 1024)
    assert rejection(upload) == "file_too_large"


def test_tiny_image_is_too_small() -> None:
    assert rejection(encoded(Image.new("RGB", (120, 90)), "PNG")) == "image_too_small"


def test_limits_are_configurable() -> None:
    png = encoded(Image.new("RGB", (640, 480)), "PNG")
    assert rejection(png, ImageLimits(max_bytes=100)) == "file_too_large"
    assert rejection(png, ImageLimits(max_pixels=640 * 480 - 1)) == "too_many_pixels"
    assert rejection(png, ImageLimits(min_side=481)) == "image_too_small"


def test_blur_is_told_apart_from_a_sharp_card() -> None:
    card = card_photo(5, degradation=CLEAN).card
    blurred = cv2.GaussianBlur(card, (0, 0), 3.0)
    assert sharpness(card) > sharpness(blurred)
    assert not is_blurry(card)
    assert is_blurry(blurred)
    assert ImageRejected.blurry().code == "image_blurry"
