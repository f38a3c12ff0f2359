"""A hostile corpus of photo uploads, built deterministically (no files in the repository).

Every builder returns the bytes of one upload. ``HOSTILE`` names each hostile file with the
refusal code ``load_image`` must answer; ``GENUINE`` holds ordinary photos that must still
load. The JPEG and PNG structures are written here by hand (struct, zlib), independently of
the parser under test, so the corpus is an outside check on it. Used by
``tests/biometrics/test_hostile_corpus.py`` and ``bench/decode.py``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import io
import re
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["GENUINE", "HOSTILE", "Hostile", "Measured", "many_scans_jpeg", "measure"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIB = 1024 * 1024
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


# --- ordinary images ------------------------------------------------------------------------
def photo(width: int = 640, height: int = 480, seed: int = 7) -> Image.Image:
    """A photo-like RGB image: smooth gradients with some grain (compresses like a photo).
    Large ones are drawn at 1/4 size and enlarged (fast, little memory)."""
    if width * height > 4_000_000:
        small = photo(-(-width // 4), -(-height // 4), seed)
        return small.resize((width, height), Image.Resampling.BILINEAR)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [x * 255 / max(width, 1), y * 255 / max(height, 1), (x + y) * 127 / (width + height)],
        axis=-1,
    )
    grain = rng.normal(0, 12, (height, width, 1)).astype(np.float32)
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def baseline_jpeg() -> bytes:
    return encode(photo(), "JPEG", quality=88)


def progressive_jpeg() -> bytes:
    return encode(photo(), "JPEG", quality=88, progressive=True)


def exif_rotated_jpeg() -> bytes:
    """300 wide and 200 high as stored, red on top; EXIF orientation 6 (rotate 90 clockwise)."""
    stored = np.zeros((200, 300, 3), dtype=np.uint8)
    stored[:100] = (255, 0, 0)
    stored[100:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())


@cache
def jpeg_20mp() -> bytes:
    """A 5472 x 3648 (20 MP) camera-sized JPEG."""
    return encode(photo(5472, 3648, seed=3), "JPEG", quality=80)


def png_with_alpha() -> bytes:
    rgba = np.zeros((240, 320, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[:, 160:, 3] = 255  # left half transparent, right half opaque red
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


def webp_photo() -> bytes:
    return encode(photo(), "WEBP", quality=85)


# --- JPEG by hand ---------------------------------------------------------------------------
def jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, segment bytes including the marker) of a well-formed JPEG, entropy-coded data
    attached to the SOS segment before it, ending with EOI."""
    assert data[:2] == b"\xff\xd8"
    yield 0xD8, data[:2]
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xD9:
            yield marker, data[pos : pos + 2]
            return
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker other than RSTn
            found = _NEXT_MARKER.search(data, end)
            assert found is not None
            end = found.start()
        yield marker, data[pos:end]
        pos = end
    raise AssertionError("no EOI")


def _patch_sof(
    data: bytes,
    *,
    width: int | None = None,
    height: int | None = None,
    precision: int | None = None,
) -> bytes:
    out = bytearray()
    for marker, segment in jpeg_segments(data):
        if marker in (0xC0, 0xC1, 0xC2):
            seg = bytearray(segment)
            if precision is not None:
                seg[4] = precision
            if height is not None:
                seg[5:7] = struct.pack(">H", height)
            if width is not None:
                seg[7:9] = struct.pack(">H", width)
            segment = bytes(seg)
        out += segment
    return bytes(out)


class _Bits:
    """MSB-first bit writer with JPEG byte stuffing."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value: int, count: int) -> None:
        for i in range(count - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self._byte()

    def _byte(self) -> None:
        self.out.append(self.acc)
        if self.acc == 0xFF:
            self.out.append(0x00)
        self.acc = self.n = 0

    def flush(self) -> bytes:
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with one-bits
        return bytes(self.out)


# An AC Huffman table (class 1, id 1) holding only the EOB-run symbols 0x00, 0x10 .. 0xE0,
# all with 4-bit codes 0000 .. 1110: enough to say "the next 2^r + v blocks are empty".
_EOB_SYMBOLS = [r << 4 for r in range(15)]
_EOB_DHT = (
    b"\xff\xc4"
    + struct.pack(">H", 2 + 1 + 16 + len(_EOB_SYMBOLS))
    + b"\x11"
    + bytes([0, 0, 0, len(_EOB_SYMBOLS)] + [0] * 12)
    + bytes(_EOB_SYMBOLS)
)


def _empty_refinement_scan(component_id: int, blocks: int) -> bytes:
    """One AC refinement scan (Ss=1, Se=63, Ah=1, Al=0) of one component whose blocks are all
    empty, coded as EOB runs: a dozen bytes that make the decoder walk all 63 coefficients of
    every block of the image once more."""
    header = b"\xff\xda" + struct.pack(">HBBBBBB", 8, 1, component_id, 0x01, 1, 63, 0x10)
    bits = _Bits()
    left = blocks
    while left:
        run = min(left, 32767)
        r = run.bit_length() - 1
        bits.put(r, 4)  # the code of symbol r << 4 is r itself
        bits.put(run - (1 << r), r)
        left -= run
    return header + bits.flush()


@cache
def many_scans_jpeg(scans: int = 1000, size: int = 4096) -> bytes:
    """A real, decodable progressive greyscale JPEG of ``size`` x ``size`` pixels and
    ``scans`` scans in total, ~100 KB: Pillow's own progression of a flat grey picture, then
    repeated empty refinement scans. Pillow takes ~30 s to decode it on one core."""
    flat = Image.new("L", (size, size), 128)  # no AC coefficients: no correction bits needed
    base = encode(flat, "JPEG", quality=75, progressive=True)
    segments = list(jpeg_segments(base))
    own = sum(1 for marker, _ in segments if marker == 0xDA)
    sof = next(seg for marker, seg in segments if marker == 0xC2)
    component_id = sof[10]
    blocks = ((size + 7) // 8) ** 2
    extra = _EOB_DHT + _empty_refinement_scan(component_id, blocks) * max(0, scans - own)
    body = b"".join(seg for marker, seg in segments if marker != 0xD9)
    return body + extra + b"\xff\xd9"


def scan_work_jpeg() -> bytes:
    """30 scans (under the scan count limit) over a 6000 x 6000 picture: 17 million
    block-scans, over the work limit."""
    return many_scans_jpeg(scans=30, size=6000)


def truncated_jpeg() -> bytes:
    data = baseline_jpeg()
    return data[: len(data) // 2]


def jpeg_zip_polyglot() -> bytes:
    """A JPEG with a ZIP archive appended: opens as a photo and unzips as an archive."""
    buffer = io.BytesIO(baseline_jpeg())
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a") as archive:  # appends a ZIP to a non-ZIP file
        archive.writestr("index.html", "<html><script>alert(document.domain)</script></html>")
    return buffer.getvalue()


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (320, 240), (0, 120, 200, 10)), "JPEG", quality=90)


def jpeg_dimension_lie() -> bytes:
    """A 64 x 48 JPEG whose frame header claims 65,500 x 65,500 pixels (4.3 gigapixels)."""
    small = encode(photo(64, 48), "JPEG", quality=80)
    return _patch_sof(small, width=65_500, height=65_500)


def progressive_coefficient_bomb() -> bytes:
    """A small progressive 4:4:4 JPEG whose header claims 6,000 x 6,000 (36 MP, under the
    header ceiling): decoding it needs the whole coefficient buffer, ~216 MB."""
    small = encode(photo(64, 48), "JPEG", quality=80, progressive=True, subsampling=0)
    return _patch_sof(small, width=6_000, height=6_000)


def jpeg_without_frame() -> bytes:
    """Quantisation and Huffman tables and a scan, but no frame header (SOF)."""
    return b"".join(
        seg for marker, seg in jpeg_segments(baseline_jpeg()) if marker not in (0xC0, 0xC1, 0xC2)
    )


def jpeg_zero_width() -> bytes:
    return _patch_sof(baseline_jpeg(), width=0)


def jpeg_12_bit() -> bytes:
    return _patch_sof(baseline_jpeg(), precision=12)


# --- PNG by hand ----------------------------------------------------------------------------
def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _ihdr(width: int, height: int, depth: int, colour: int, interlace: int = 0) -> bytes:
    return png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    )


def _zeros_deflated(size: int, chunk: int = MIB) -> bytes:
    """zlib data that inflates to ``size`` zero bytes, made in a fraction of a second without
    holding them: deflate blocks cut by full flushes do not depend on each other, so one
    compressed mebibyte of zeros is repeated, then the stream is closed with a final empty
    block and the Adler-32 of the whole."""
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(chunk)
    first = raw.compress(zeros) + raw.flush(zlib.Z_FULL_FLUSH)
    again = raw.compress(zeros) + raw.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(size, chunk)
    adler = 1
    for _ in range(count):
        adler = zlib.adler32(zeros, adler)
    adler = zlib.adler32(bytes(rest), adler)
    body = first + again * (count - 1) if count else b""
    tail = raw.compress(bytes(rest)) + raw.flush(zlib.Z_FULL_FLUSH)
    return b"\x78\xda" + body + tail + b"\x03\x00" + struct.pack(">I", adler)


def _png_rows(width_bytes: int, height: int) -> bytes:
    """IDAT data: ``height`` rows of filter type 0 and ``width_bytes`` zero bytes each."""
    return _zeros_deflated((width_bytes + 1) * height)


def small_png() -> bytes:
    return encode(photo(64, 48), "PNG")


def _with_chunk_before_idat(png: bytes, chunk: bytes) -> bytes:
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


@cache
def ztxt_bomb() -> bytes:
    """A small PNG with a zTXt comment that inflates to 256 MB."""
    payload = b"Comment\x00\x00" + _zeros_deflated(256 * MIB)
    return _with_chunk_before_idat(small_png(), png_chunk(b"zTXt", payload))


@cache
def iccp_bomb() -> bytes:
    """A small PNG whose embedded colour profile (iCCP) inflates to 256 MB."""
    payload = b"ICC profile\x00\x00" + _zeros_deflated(256 * MIB)
    return _with_chunk_before_idat(small_png(), png_chunk(b"iCCP", payload))


@cache
def png_16_bit(size: int = 6324) -> bytes:
    """A 16-bit greyscale 6324 x 6324 PNG (40 MP, just under the old ceiling) of ~80 KB."""
    return (
        PNG_SIGNATURE
        + _ihdr(size, size, 16, 0)
        + png_chunk(b"IDAT", _png_rows(size * 2, size))
        + png_chunk(b"IEND", b"")
    )


def png_dimension_lie() -> bytes:
    """An RGB PNG header claiming 100,000 x 100,000 pixels over a few bytes of data."""
    return (
        PNG_SIGNATURE
        + _ihdr(100_000, 100_000, 8, 2)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


@cache
def palette_png_huge(size: int = 6000) -> bytes:
    """A 1-bit palette PNG of 6000 x 6000 (36 MP) in a few kilobytes: a decoder expands it to
    one byte per pixel, then four to show it."""
    palette = png_chunk(b"PLTE", bytes([0, 0, 0, 255, 255, 255]))
    return (
        PNG_SIGNATURE
        + _ihdr(size, size, 1, 3)
        + palette
        + png_chunk(b"IDAT", _png_rows((size + 7) // 8, size))
        + png_chunk(b"IEND", b"")
    )


def png_html_polyglot() -> bytes:
    """A PNG followed by an HTML page: a browser told it is HTML runs the script."""
    page = b"<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>"
    return small_png() + page


def apng() -> bytes:
    frames = [photo(64, 48, seed=s) for s in (1, 2)]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


# --- WebP and GIF ---------------------------------------------------------------------------
def animated_webp() -> bytes:
    frames = [photo(64, 48, seed=s) for s in (1, 2)]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def webp_dimension_lie() -> bytes:
    """A 64 x 48 lossy WebP whose VP8 frame header claims 16,383 x 16,383 (268 MP)."""
    data = bytearray(encode(photo(64, 48), "WEBP", quality=80))
    assert data[12:16] == b"VP8 " and data[23:26] == b"\x9d\x01\x2a"
    data[26:30] = struct.pack("<HH", 16_383, 16_383)
    return bytes(data)


def webp_canvas_mismatch() -> bytes:
    """An extended WebP (VP8X) declaring a 4,000 x 3,000 canvas around a 64 x 48 image."""
    small = encode(photo(64, 48), "WEBP", quality=80)
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += (3_999).to_bytes(3, "little") + (2_999).to_bytes(3, "little")
    body = b"WEBP" + vp8x + small[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_with_trailer() -> bytes:
    return webp_photo() + b"<html><script>alert(1)</script></html>"


def animated_gif() -> bytes:
    frames = [photo(64, 48, seed=s).convert("P") for s in (1, 2)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


def zero_bytes() -> bytes:
    return b""


# --- the catalogue --------------------------------------------------------------------------
@dataclass(frozen=True)
class Hostile:
    build: Callable[[], bytes]
    code: str  # the refusal code load_image must answer
    what: str


HOSTILE: dict[str, Hostile] = {
    "zero_bytes": Hostile(zero_bytes, "empty", "an empty upload"),
    "truncated_jpeg": Hostile(truncated_jpeg, "unreadable", "a JPEG cut in half"),
    "jpeg_without_frame": Hostile(jpeg_without_frame, "unreadable", "a JPEG without SOF"),
    "jpeg_zero_width": Hostile(jpeg_zero_width, "unreadable", "a JPEG frame 0 pixels wide"),
    "jpeg_12_bit": Hostile(jpeg_12_bit, "high_bit_depth", "a 12-bit JPEG frame"),
    "jpeg_zip_polyglot": Hostile(jpeg_zip_polyglot, "polyglot", "a JPEG that is also a ZIP"),
    "png_html_polyglot": Hostile(png_html_polyglot, "polyglot", "a PNG followed by HTML"),
    "webp_with_trailer": Hostile(webp_with_trailer, "polyglot", "a WebP followed by HTML"),
    "many_scans_jpeg": Hostile(
        many_scans_jpeg, "too_many_scans", "a progressive JPEG with 1,000 scans (~100 KB)"
    ),
    "scan_work_jpeg": Hostile(
        scan_work_jpeg, "too_many_scans", "30 scans over 6000 x 6000 (17 M block-scans)"
    ),
    "progressive_coefficient_bomb": Hostile(
        progressive_coefficient_bomb, "too_much_memory", "progressive 4:4:4, 36 MP declared"
    ),
    "jpeg_dimension_lie": Hostile(
        jpeg_dimension_lie, "too_many_pixels", "a JPEG header claiming 65,500 x 65,500"
    ),
    "cmyk_jpeg": Hostile(cmyk_jpeg, "unsupported_colour", "a CMYK JPEG"),
    "ztxt_bomb": Hostile(ztxt_bomb, "oversized_metadata", "a zTXt inflating to 256 MB"),
    "iccp_bomb": Hostile(iccp_bomb, "oversized_metadata", "an iCCP inflating to 256 MB"),
    "png_16_bit": Hostile(png_16_bit, "high_bit_depth", "a 16-bit 6324 x 6324 PNG"),
    "png_dimension_lie": Hostile(
        png_dimension_lie, "too_many_pixels", "a PNG header claiming 100,000 x 100,000"
    ),
    "palette_png_huge": Hostile(
        palette_png_huge, "too_many_pixels", "a 1-bit palette PNG of 6000 x 6000"
    ),
    "apng": Hostile(apng, "animated", "an animated PNG"),
    "animated_webp": Hostile(animated_webp, "animated", "an animated WebP"),
    "webp_dimension_lie": Hostile(
        webp_dimension_lie, "too_many_pixels", "a WebP frame header claiming 16,383 x 16,383"
    ),
    "webp_canvas_mismatch": Hostile(
        webp_canvas_mismatch, "unreadable", "a WebP canvas larger than its image"
    ),
    "animated_gif": Hostile(animated_gif, "unsupported_type", "an animated GIF"),
}

GENUINE: dict[str, Callable[[], bytes]] = {
    "baseline_jpeg": baseline_jpeg,
    "progressive_jpeg": progressive_jpeg,
    "exif_rotated_jpeg": exif_rotated_jpeg,
    "jpeg_20mp": jpeg_20mp,
    "png_with_alpha": png_with_alpha,
    "webp_photo": webp_photo,
}


# --- measuring one decode -------------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    outcome: Any  # what the call returned, or the exception it raised
    seconds: float
    rss_growth: int  # bytes: peak resident set during the call minus before it
    traced_peak: int  # bytes: peak of Python allocations (tracemalloc) during the call


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _release_free_memory() -> None:
    """Return freed heap to the system, so that memory freed earlier (building the corpus)
    cannot hide what the measured call allocates."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)


def measure(call: Callable[[], Any]) -> Measured:
    """Run ``call`` and measure its peak memory: the process's resident set (Linux: the
    high-water mark is reset through /proc/self/clear_refs first, so C allocations by the
    decoders count) and tracemalloc's peak (Python allocations)."""
    _release_free_memory()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = _status_kib("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = call()
    except Exception as exc:  # noqa: BLE001 - the outcome under test, kept for the caller
        outcome = exc
    seconds = time.perf_counter() - started
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    growth = (_status_kib("VmHWM") - before) * 1024
    return Measured(outcome, seconds, max(0, growth), traced)
