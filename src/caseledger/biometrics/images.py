"""Turning uploaded bytes into a face-ready RGB image, or a clear refusal.

:func:`load_image` is the only way photos enter the face pipeline. It refuses, with a
:class:`caseledger.core.errors.ValidationError` whose ``code`` is one of the constants below
and whose ``message`` is written for the participant:

==================  =======================================================================
``empty``           no bytes at all
``too_large``       more bytes than ``settings.FACE_MAX_UPLOAD_BYTES``
``unsupported_type`` a recognisable image format other than JPEG, PNG or WebP (GIF, HEIC, ...)
``unreadable``      not an image (a PDF renamed .jpg, text, ...), or a corrupt/truncated one
``too_many_pixels`` width x height over ``settings.FACE_MAX_PIXELS`` (decompression bombs)
==================  =======================================================================

The pixel count is read from the file header, before anything is decoded, so a 20000x20000
PNG of a few hundred bytes costs nothing. Pillow's own guard is also armed
(``Image.MAX_IMAGE_PIXELS`` and ``DecompressionBombWarning`` raised as an error) as a second
line. Accepted images get their EXIF orientation applied (phone photos otherwise arrive
sideways and no face is found), are converted to 8-bit RGB (transparency over white), and are
downscaled so that the longest side is at most :data:`MAX_SIDE` pixels.
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib

import numpy as np
from django.conf import settings
from django.utils.translation import gettext
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from caseledger.core.errors import ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "ACCEPTED_FORMATS",
    "EMPTY",
    "MAX_SIDE",
    "TOO_LARGE",
    "TOO_MANY_PIXELS",
    "UNREADABLE",
    "UNSUPPORTED_TYPE",
    "load_image",
    "sniff_format",
]

EMPTY = "empty"
TOO_LARGE = "too_large"
UNREADABLE = "unreadable"
TOO_MANY_PIXELS = "too_many_pixels"
UNSUPPORTED_TYPE = "unsupported_type"
IMAGE_ERROR_CODES = (EMPTY, TOO_LARGE, UNREADABLE, TOO_MANY_PIXELS, UNSUPPORTED_TYPE)

#: Longest side after loading. The detector and the 150x150 alignment chip need far less;
#: 1280 keeps a face that fills a tenth of a phone photo above the 80-pixel minimum.
MAX_SIDE = 1280

#: Pillow format names we decode, and only these decoders are ever asked to parse a file.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")

# Signatures of formats we recognise but do not accept (the answer is then "send a JPEG",
# not "this is not an image").
_OTHER_IMAGE_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),
    (0, b"II*\x00"),
    (0, b"MM\x00*"),
    (0, b"\x00\x00\x01\x00"),  # ICO
    (0, b"8BPS"),  # Photoshop
    (0, b"\xff\x0a"),  # JPEG XL codestream
    (0, b"\x00\x00\x00\x0cJXL "),
    (0, b"\x00\x00\x00\x0cjP  "),  # JPEG 2000
    (0, b"\xff\x4f\xff\x51"),
    (0, b"qoif"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


def sniff_format(data: bytes) -> str | None:
    """'JPEG', 'PNG' or 'WEBP' from the first bytes; 'OTHER' for another image format we
    recognise (GIF, HEIC, TIFF, BMP, ...); None when it does not look like an image."""
    head = bytes(data[:32])
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if any(head[offset:].startswith(sig) for offset, sig in _OTHER_IMAGE_SIGNATURES):
        return "OTHER"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "OTHER"
    return None


def _refuse(code: str, message: str) -> ValidationError:
    return ValidationError(message, code=code, field="image")


def _unreadable() -> ValidationError:
    return _refuse(
        UNREADABLE,
        gettext(
            "We could not read this file as a photo. It may be damaged or not a picture. "
            "Please take the photo again."
        ),
    )


def _too_many_pixels(width: int | None = None, height: int | None = None) -> ValidationError:
    if width and height:
        text = gettext(
            "This picture is too big (%(width)s x %(height)s pixels). Please take a normal "
            "photo with your phone's camera."
        ) % {"width": width, "height": height}
    else:
        text = gettext("This picture is too big. Please take a normal photo with your camera.")
    return _refuse(TOO_MANY_PIXELS, text)


def _png_dimensions(data: bytes) -> tuple[int, int] | None:
    # IHDR is required to be the first chunk; read it without any decoder.
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def load_image(data: bytes) -> Image.Image:
    """Decode an uploaded photo into an RGB :class:`PIL.Image.Image` ready for detection.

    Raises :class:`~caseledger.core.errors.ValidationError` (``code`` as in the module doc).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("load_image takes the uploaded bytes")
    # Truncated files are refused. Pillow's switch is process-wide, and a library may turn it
    # on when imported (WeasyPrint does): make sure it is off before decoding an upload.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    data = bytes(data)
    max_bytes = int(settings.FACE_MAX_UPLOAD_BYTES)
    max_pixels = int(settings.FACE_MAX_PIXELS)
    if not data:
        raise _refuse(EMPTY, gettext("The photo is empty. Please take the photo again."))
    if len(data) > max_bytes:
        raise _refuse(
            TOO_LARGE,
            gettext(
                "The photo file is too large (more than %(mib)s MB). Please send a smaller one."
            )
            % {"mib": max_bytes // (1024 * 1024)},
        )
    kind = sniff_format(data)
    if kind == "OTHER":
        raise _refuse(
            UNSUPPORTED_TYPE,
            gettext("This kind of picture is not accepted. Please send a JPEG, PNG or WebP photo."),
        )
    if kind is None:
        raise _unreadable()
    if kind == "PNG":
        dims = _png_dimensions(data)
        if dims and dims[0] * dims[1] > max_pixels:
            raise _too_many_pixels(*dims)

    # Pillow's guard as a second line: it warns above MAX_IMAGE_PIXELS and raises above twice
    # that, when the header is read. Its limit is process-wide; set it to ours and treat the
    # warning as an error here. Our own check below does not depend on either.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[kind])  # header only, nothing decoded
            width, height = image.size
            if width <= 0 or height <= 0:
                raise _unreadable()
            if width * height > max_pixels:
                raise _too_many_pixels(width, height)
            if image.format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still exceeds MAX_SIDE.
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        struct.error,
        zlib.error,
        EOFError,
        IndexError,
        TypeError,
        MemoryError,
    ) as exc:
        logger.info("refused an unreadable %s upload: %s", kind, type(exc).__name__)
        raise _unreadable() from None

    try:
        image = ImageOps.exif_transpose(image)
    except Exception as exc:  # a damaged EXIF block must not block the photo itself
        logger.info("ignored unusable EXIF orientation: %s", type(exc).__name__)
    image = _to_rgb(image)
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit or float grey: Pillow's convert() would clip it to white; rescale instead.
        pixels = np.asarray(image, dtype=np.float64)
        high = float(pixels.max()) or 1.0
        grey = np.clip(pixels * (255.0 / (65535.0 if high > 255 else 255.0)), 0, 255)
        return Image.fromarray(grey.astype(np.uint8), "L").convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
