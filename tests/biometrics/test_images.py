from __future__ import annotations

import struct
import warnings
import zlib

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from caseledger.biometrics import images
from caseledger.biometrics.images import load_image
from caseledger.core.errors import ValidationError

from .conftest import encode


def refused(data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        load_image(data)
    error = info.value
    assert error.status_code == 422
    assert error.field == "image"
    assert error.message and "Traceback" not in error.message and "Error" not in error.message
    return error


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid-looking PNG header for a width x height RGB image, with a tiny IDAT: a few
    dozen bytes that would decode to 1.2 GB."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))


def test_accepts_jpeg_png_webp(photo: Image.Image) -> None:
    for fmt in ("JPEG", "PNG", "WEBP"):
        loaded = load_image(encode(photo, fmt))
        assert loaded.mode == "RGB"
        assert loaded.size == (320, 240)


def test_empty() -> None:
    assert refused(b"").code == "empty"


def test_too_many_bytes(photo: Image.Image) -> None:
    data = encode(photo, "PNG")
    with override_settings(FACE_MAX_UPLOAD_BYTES=len(data) - 1):
        assert refused(data).code == "too_large"
    with override_settings(FACE_MAX_UPLOAD_BYTES=len(data)):
        assert load_image(data).size == (320, 240)


def test_corrupt_jpeg(photo: Image.Image) -> None:
    data = encode(photo, "JPEG")
    assert refused(data[: len(data) // 2]).code == "unreadable"  # truncated
    garbage = np.random.default_rng(1).integers(0, 255, 4000, dtype=np.uint8).tobytes()
    assert refused(b"\xff\xd8\xff\xe0" + garbage).code == "unreadable"  # header, then noise


def test_truncated_png(photo: Image.Image) -> None:
    data = encode(photo, "PNG")
    assert refused(data[: len(data) * 2 // 3]).code == "unreadable"
    assert refused(data[:30]).code == "unreadable"


def test_pdf_renamed_jpg_and_text_are_unreadable() -> None:
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer\n%%EOF\n"
    assert refused(pdf).code == "unreadable"
    assert refused(b"<html>not a photo</html>").code == "unreadable"


def test_gif_and_other_image_types_are_unsupported(photo: Image.Image) -> None:
    assert refused(encode(photo, "GIF")).code == "unsupported_type"
    assert refused(encode(photo, "BMP")).code == "unsupported_type"
    assert refused(encode(photo, "TIFF")).code == "unsupported_type"
    assert refused(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 32).code == "unsupported_type"


def test_20000_by_20000_png_is_refused_from_its_header() -> None:
    data = huge_png()
    assert len(data) < 200
    error = refused(data)
    assert error.code == "too_many_pixels"
    assert "20000" in error.message


def test_pixel_limit_applies_to_every_format(photo: Image.Image) -> None:
    with override_settings(FACE_MAX_PIXELS=320 * 240 - 1):
        for fmt in ("JPEG", "PNG", "WEBP"):
            assert refused(encode(photo, fmt)).code == "too_many_pixels"
        assert Image.MAX_IMAGE_PIXELS <= 320 * 240 - 1  # Pillow's own guard is armed too


def test_pillow_bomb_warning_becomes_a_refusal_and_never_leaks(photo: Image.Image) -> None:
    # Pillow's guard fires while the header is read (before our own check); its warning must
    # be turned into the same refusal, not leak out as a warning and carry on.
    with override_settings(FACE_MAX_PIXELS=320 * 240 // 3):
        for fmt in ("JPEG", "WEBP", "PNG"):  # above the limit, and above twice the limit
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                assert refused(encode(photo, fmt)).code == "too_many_pixels"
            assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert load_image(encode(photo, "PNG")).size == (320, 240)  # the limit is restored


def test_exif_rotated_phone_photo_is_transposed() -> None:
    # Stored as the sensor saw it: 300 wide, 200 high, red on top, blue below; the EXIF
    # orientation 6 says "rotate 90 degrees clockwise to display".
    stored = np.zeros((200, 300, 3), dtype=np.uint8)
    stored[:100] = (255, 0, 0)
    stored[100:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    loaded = load_image(data)
    assert loaded.size == (200, 300)
    right, left = loaded.getpixel((190, 150)), loaded.getpixel((10, 150))
    assert right[0] > 200 and right[2] < 60  # the top edge is now on the right
    assert left[2] > 200 and left[0] < 60


def test_large_photos_are_downscaled_to_1280() -> None:
    big = Image.fromarray(np.full((2000, 3000, 3), 90, dtype=np.uint8))
    for fmt in ("JPEG", "PNG"):
        loaded = load_image(encode(big, fmt))
        assert loaded.size == (1280, 853)
    assert images.MAX_SIDE == 1280


def test_transparency_is_flattened_and_16_bit_is_refused() -> None:
    rgba = Image.new("RGBA", (50, 40), (0, 0, 0, 0))
    assert load_image(encode(rgba, "PNG")).getpixel((5, 5)) == (255, 255, 255)
    # 16 bits per channel is refused from the header since the decode budget: no camera
    # writes it, and decoding it used to cost ~25 bytes per pixel.
    grey16 = Image.fromarray(np.full((40, 50), 20000, dtype=np.uint16))
    assert refused(encode(grey16, "PNG")).code == "high_bit_depth"


def test_sniffing() -> None:
    assert images.sniff_format(b"\xff\xd8\xff\xdb") == "JPEG"
    assert images.sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert images.sniff_format(b"GIF89a") == "OTHER"
    assert images.sniff_format(b"%PDF-1.4") is None
