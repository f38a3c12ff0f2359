"""The decode budget: how many pixels are decoded, how much memory that may take, and how
many decodes run at once, all decided from the header before any pixel is decoded.

Settings (optional; the module default applies when a setting is absent):

==============================  ============  =================================================
``FACE_MAX_PIXELS``             (settings)    pixels a header may declare at all; above it the
                                              photo is refused (``too_many_pixels``)
``FACE_DECODE_MAX_PIXELS``      12,000,000    pixels actually decoded. A phone selfie needs no
                                              more; a larger JPEG is decoded at 1/2, 1/4 or
                                              1/8 scale by libjpeg (DCT scaling, Pillow's
                                              ``draft``); other formats above it are refused
``FACE_DECODE_MAX_BYTES``       128 MiB       memory one decode may need, estimated from the
                                              header (see :func:`estimated_bytes`); above it:
                                              ``too_much_memory``
``FACE_DECODE_CONCURRENCY``     2             decodes at once in one process
``FACE_DECODE_WAIT_SECONDS``    20            how long a photo waits for a decode slot before
                                              it is refused as ``busy`` (try again)
==============================  ============  =================================================

With the defaults one process spends at most ~2 x 128 MiB on decoding photos, however many
requests arrive together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

from .containers import Header, Refusal

__all__ = [
    "DEFAULT_DECODE_CONCURRENCY",
    "DEFAULT_DECODE_MAX_BYTES",
    "DEFAULT_DECODE_MAX_PIXELS",
    "DEFAULT_DECODE_WAIT_SECONDS",
    "DecodePlan",
    "decode_slot",
    "estimated_bytes",
    "plan",
]

DEFAULT_DECODE_MAX_PIXELS = 12_000_000
DEFAULT_DECODE_MAX_BYTES = 128 * 1024 * 1024
DEFAULT_DECODE_CONCURRENCY = 2
DEFAULT_DECODE_WAIT_SECONDS = 20.0

TOO_MANY_PIXELS = "too_many_pixels"
TOO_MUCH_MEMORY = "too_much_memory"
BUSY = "busy"

#: JPEG DCT scaling factors libjpeg offers through Pillow's draft().
JPEG_SCALES = (1, 2, 4, 8)
#: Bytes libjpeg keeps per 8x8 block when it must hold the whole image's coefficients
#: (progressive or multi-scan files): 64 coefficients of 2 bytes.
COEFFICIENT_BLOCK_BYTES = 128
#: What libwebp allocates per pixel beside Pillow's image (measured: a 12 MP WebP adds
#: ~200 MiB to the process).
WEBP_DECODER_BYTES_PER_PIXEL = 14


def _setting(name: str, default: float) -> float:
    return getattr(settings, name, default)


def decode_max_pixels() -> int:
    """Pixels decoded at most: FACE_DECODE_MAX_PIXELS, never above FACE_MAX_PIXELS."""
    limit = int(_setting("FACE_DECODE_MAX_PIXELS", DEFAULT_DECODE_MAX_PIXELS))
    return min(limit, int(settings.FACE_MAX_PIXELS))


@dataclass(frozen=True)
class DecodePlan:
    """How a photo will be decoded: the JPEG scale denominator (1 = full size), the size
    the decoder will produce, and the memory that is expected to take."""

    scale: int
    size: tuple[int, int]
    estimated_bytes: int


def plan(header: Header, *, max_side: int) -> DecodePlan:
    """The decode plan for ``header``, or :class:`Refusal` (``too_many_pixels``,
    ``too_much_memory``). ``max_side`` is the longest side the caller needs."""
    width, height = header.size
    if width * height > int(settings.FACE_MAX_PIXELS):
        raise Refusal(TOO_MANY_PIXELS, "over FACE_MAX_PIXELS", size=header.size)
    cap = decode_max_pixels()
    scale = _jpeg_scale(width, height, cap, max_side) if header.format == "JPEG" else 1
    size = (-(-width // scale), -(-height // scale))
    if size[0] * size[1] > cap:
        raise Refusal(TOO_MANY_PIXELS, f"{size} decoded is over {cap} pixels", size=header.size)
    estimate = estimated_bytes(header, size, max_side)
    limit = int(_setting("FACE_DECODE_MAX_BYTES", DEFAULT_DECODE_MAX_BYTES))
    if estimate > limit:
        raise Refusal(TOO_MUCH_MEMORY, f"~{estimate >> 20} MiB to decode, over {limit >> 20}")
    return DecodePlan(scale, size, estimate)


def _jpeg_scale(width: int, height: int, cap: int, max_side: int) -> int:
    """The DCT scaling denominator: at least what brings the decoded pixels under ``cap``,
    and as much as keeps the longest side at ``max_side`` or more (no need to decode more
    than the caller keeps)."""
    fits = [s for s in JPEG_SCALES if -(-width // s) * -(-height // s) <= cap]
    needed = fits[0] if fits else JPEG_SCALES[-1]
    useful = max(s for s in JPEG_SCALES if max(width, height) // s >= max_side or s == 1)
    return max(needed, useful)


def estimated_bytes(header: Header, size: tuple[int, int], max_side: int) -> int:
    """Memory a decode of ``header`` into ``size`` pixels needs, from the header alone (within
    about a quarter of the peak measured with Pillow 13 on 12 MP JPEG, PNG and WebP photos).

    Pillow keeps one byte per pixel for modes 1, L and P and four for every other mode;
    palette and 1-bit images are expanded (counted as four bytes) before they are reduced;
    reducing to ``max_side`` needs an intermediate of the new width by the old height, and a
    premultiplied copy when there is transparency; libwebp decodes into buffers of its own
    (~14 bytes per pixel: YUV planes and two RGBA canvases) before Pillow copies the result;
    a progressive or multi-scan JPEG makes libjpeg hold the coefficients of the whole image
    at full resolution, whatever the output scale; a PNG is decoded from a copy of its pixel
    chunks."""
    width, height = size
    pixels = width * height
    total = pixels * (1 if header.mode in ("1", "L", "P") else 4)
    if header.mode in ("1", "P"):
        total += pixels * 4
    if header.format == "WEBP":
        total += pixels * WEBP_DECODER_BYTES_PER_PIXEL
    if max(size) > max_side:
        total += -(-width * max_side // max(size)) * height * 4
        total += pixels * 4 if header.alpha else 0
    if header.format == "PNG":
        total += len(header.payload)
    return total + header.coefficient_blocks * COEFFICIENT_BLOCK_BYTES


# --- concurrency ----------------------------------------------------------------------------
_slots_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


def _semaphore() -> threading.BoundedSemaphore:
    """The process-wide decode slots (recreated if the setting changes, e.g. in tests; a
    decode in progress releases the semaphore it took)."""
    global _slots
    count = max(1, int(_setting("FACE_DECODE_CONCURRENCY", DEFAULT_DECODE_CONCURRENCY)))
    with _slots_lock:
        if _slots is None or _slots[0] != count:
            _slots = (count, threading.BoundedSemaphore(count))
        return _slots[1]


@contextmanager
def decode_slot() -> Iterator[None]:
    """Hold one of the process's decode slots, or raise :class:`Refusal` (``busy``) after
    FACE_DECODE_WAIT_SECONDS."""
    slots = _semaphore()
    wait = float(_setting("FACE_DECODE_WAIT_SECONDS", DEFAULT_DECODE_WAIT_SECONDS))
    if not slots.acquire(timeout=max(0.0, wait)):
        raise Refusal(BUSY, f"no decode slot free within {wait:g} s")
    try:
        yield
    finally:
        slots.release()
