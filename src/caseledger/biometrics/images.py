"""Turning uploaded bytes into a face-ready RGB image, or a clear refusal.

:func:`load_image` is the only way photos enter the face pipeline. Decoding is an attack
surface, so every photo is budgeted before any pixel is decoded: the container is walked
by :mod:`.containers` (markers, chunks; nothing decompressed) and the decode is planned by
:mod:`.decode_budget` (pixels, memory, a process-wide limit on decodes at once). It refuses,
with a :class:`caseledger.core.errors.ValidationError` whose ``code`` is one of the constants
below and whose ``message`` is written for the participant (translated):

======================  ===================================================================
``empty``               no bytes at all
``too_large``           more bytes than ``settings.FACE_MAX_UPLOAD_BYTES``
``unsupported_type``    an image format other than JPEG, PNG or WebP (GIF, HEIC, ...), or a
                        JPEG process cameras never write (lossless, hierarchical, arithmetic)
``unreadable``          not an image (a PDF renamed .jpg, text, ...), or a corrupt, truncated
                        or malformed one (no frame header, zero width, unknown chunks, ...)
``too_many_pixels``     a header declaring more than ``settings.FACE_MAX_PIXELS``, or a
                        non-JPEG over the decoded-pixel cap (decompression bombs)
``too_many_scans``      a JPEG with more scans than ``containers.MAX_SCANS``, or whose scans
                        visit more blocks than ``containers.MAX_SCAN_BLOCKS``
``high_bit_depth``      a 16-bit PNG or a 12-bit JPEG
``unsupported_colour``  a CMYK or YCCK JPEG
``animated``            an animated PNG (APNG) or WebP
``oversized_metadata``  compressed text or ICC chunks, or metadata, over their small limits
``polyglot``            a file that is also something else (a ZIP archive, HTML after the
                        image, ...)
``too_much_memory``     decoding would need more than the memory budget of one decode
``busy``                no decode slot became free in time (try again)
======================  ===================================================================

The pixel count is read from the header, so a 20000x20000 PNG of a few hundred bytes costs
nothing. JPEGs above the decoded-pixel cap (``FACE_DECODE_MAX_PIXELS``, 12 MP) are decoded at
a reduced scale by libjpeg itself. Pillow's own guard is also armed
(``Image.MAX_IMAGE_PIXELS`` and ``DecompressionBombWarning`` raised as an error) as a second
line. Accepted images are reduced so that the longest side is at most :data:`MAX_SIDE`
pixels, get their EXIF orientation applied (phone photos otherwise arrive sideways and no
face is found), and are converted to 8-bit RGB (transparency over white).
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from caseledger.core.errors import ValidationError

from . import containers, decode_budget
from .containers import Header, Refusal

logger = logging.getLogger(__name__)

__all__ = [
    "ACCEPTED_FORMATS",
    "ANIMATED",
    "BUSY",
    "EMPTY",
    "HIGH_BIT_DEPTH",
    "IMAGE_ERROR_CODES",
    "MAX_SIDE",
    "MESSAGES",
    "OVERSIZED_METADATA",
    "POLYGLOT",
    "TOO_LARGE",
    "TOO_MANY_PIXELS",
    "TOO_MANY_SCANS",
    "TOO_MUCH_MEMORY",
    "UNREADABLE",
    "UNSUPPORTED_COLOUR",
    "UNSUPPORTED_TYPE",
    "load_image",
    "sniff_format",
]

EMPTY = "empty"
TOO_LARGE = "too_large"
UNREADABLE = containers.UNREADABLE
TOO_MANY_PIXELS = decode_budget.TOO_MANY_PIXELS
UNSUPPORTED_TYPE = containers.UNSUPPORTED_TYPE
TOO_MANY_SCANS = containers.TOO_MANY_SCANS
HIGH_BIT_DEPTH = containers.HIGH_BIT_DEPTH
UNSUPPORTED_COLOUR = containers.UNSUPPORTED_COLOUR
ANIMATED = containers.ANIMATED
OVERSIZED_METADATA = containers.OVERSIZED_METADATA
POLYGLOT = containers.POLYGLOT
TOO_MUCH_MEMORY = decode_budget.TOO_MUCH_MEMORY
BUSY = decode_budget.BUSY

#: The participant's text for the refusals added with the decode budget (the older codes
#: have their own texts below and in verifier.OUTCOME_MESSAGES).
MESSAGES: dict[str, Promise] = {
    TOO_MANY_SCANS: gettext_lazy(
        "This photo is saved in a way that takes too long to open. Please take the photo "
        "again with your phone's camera."
    ),
    HIGH_BIT_DEPTH: gettext_lazy(
        "This picture has more color detail than we can accept. Please take a normal photo "
        "with your phone's camera."
    ),
    UNSUPPORTED_COLOUR: gettext_lazy(
        "This picture uses print colors (CMYK). Please take a normal photo with your "
        "phone's camera."
    ),
    ANIMATED: gettext_lazy("Moving pictures are not accepted. Please send a single photo."),
    OVERSIZED_METADATA: gettext_lazy(
        "This picture carries too much extra information besides the photo. Please send "
        "the photo straight from your camera."
    ),
    POLYGLOT: gettext_lazy(
        "This file holds something else besides the photo. Please send the photo straight "
        "from your camera."
    ),
    TOO_MUCH_MEMORY: gettext_lazy(
        "This picture is too big to open. Please take a normal photo with your phone's camera."
    ),
    BUSY: gettext_lazy(
        "We are busy checking other photos. Please wait a minute and send your photo again."
    ),
}
IMAGE_ERROR_CODES = (EMPTY, TOO_LARGE, UNREADABLE, TOO_MANY_PIXELS, UNSUPPORTED_TYPE, *MESSAGES)

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

# What each format may decode to; anything else means the decoder disagrees with the header.
_DECODED_MODES = {
    "JPEG": ("L", "RGB"),
    "PNG": ("1", "L", "LA", "P", "RGB", "RGBA"),
    "WEBP": ("RGB", "RGBA"),
}
_DECODER_ERRORS = (
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
)


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


def _unsupported_type() -> ValidationError:
    return _refuse(
        UNSUPPORTED_TYPE,
        gettext("This kind of picture is not accepted. Please send a JPEG, PNG or WebP photo."),
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


def _from_refusal(refusal: Refusal, kind: str) -> ValidationError:
    """The participant's error for a refusal of the container or the budget (logged with its
    technical detail, which never reaches the participant)."""
    logger.info("refused a %s upload: %s (%s)", kind, refusal.code, refusal.detail)
    if refusal.code == TOO_MANY_PIXELS:
        return _too_many_pixels(*(refusal.size or (None, None)))
    if refusal.code == UNREADABLE:
        return _unreadable()
    if refusal.code == UNSUPPORTED_TYPE:
        return _unsupported_type()
    return _refuse(refusal.code, str(MESSAGES[refusal.code]))


def load_image(data: bytes) -> Image.Image:
    """Decode an uploaded photo into an RGB :class:`PIL.Image.Image` ready for detection.

    Raises :class:`~caseledger.core.errors.ValidationError` (``code`` as in the module doc).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("load_image takes the uploaded bytes")
    # Truncated files are refused. Pillow's switch is process-wide, and a library may turn it
    # on when imported (WeasyPrint does): make sure it is off before decoding an upload.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # Pillow's guard as a second line: it warns above MAX_IMAGE_PIXELS and raises above twice
    # that, when the header is read. Its limit is process-wide; set it to ours and treat the
    # warning as an error when decoding. Our own checks do not depend on either.
    Image.MAX_IMAGE_PIXELS = int(settings.FACE_MAX_PIXELS)
    data = bytes(data)
    max_bytes = int(settings.FACE_MAX_UPLOAD_BYTES)
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
        raise _unsupported_type()
    if kind is None:
        raise _unreadable()
    try:
        header = containers.read_header(data, kind)  # nothing decoded or decompressed
        plan = decode_budget.plan(header, max_side=MAX_SIDE)
        with decode_budget.decode_slot():
            return _prepare(_decode(header, plan))
    except Refusal as refusal:
        raise _from_refusal(refusal, kind) from None


def _decode(header: Header, plan: decode_budget.DecodePlan) -> Image.Image:
    """Decode ``header.payload`` as planned; the decoder's own errors become ``unreadable``
    and Pillow's bomb guard ``too_many_pixels``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(header.payload), formats=[header.format])
            if image.size != header.size or image.mode not in _DECODED_MODES[header.format]:
                raise Refusal(UNREADABLE, f"the decoder reads {image.mode} {image.size}")
            if header.format == "JPEG":
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale (size // scale is the requested
                # size for which Pillow picks exactly that scale).
                wanted = (max(1, header.width // plan.scale), max(1, header.height // plan.scale))
                image.draft("RGB", wanted)
            if image.size != plan.size:
                raise Refusal(TOO_MANY_PIXELS, f"decoder plans {image.size}", size=header.size)
            image.load()
    except Refusal:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refusal(TOO_MANY_PIXELS, "Pillow's bomb guard", size=header.size) from None
    except _DECODER_ERRORS as exc:
        raise Refusal(UNREADABLE, f"decoder: {type(exc).__name__}") from None
    return image


def _prepare(image: Image.Image) -> Image.Image:
    """Reduce, orient and flatten a decoded image to RGB of at most MAX_SIDE. Reducing comes
    first so the conversions work on the small image (palette and 1-bit images are expanded
    first: they cannot be resampled)."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode == "1":
        image = image.convert("L")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception as exc:  # a damaged EXIF block must not block the photo itself
        logger.info("ignored unusable EXIF orientation: %s", type(exc).__name__)
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
