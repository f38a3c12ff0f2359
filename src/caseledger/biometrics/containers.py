"""Reading a photo's container before any pixel is decoded.

:func:`read_header` walks the structure of a JPEG (its marker segments), PNG (its chunks) or
WebP (its RIFF chunks) in plain Python, decompresses nothing, and either returns a
:class:`Header` (the dimensions, the mode the decoder will produce and what decoding will
need) or raises :class:`Refusal` with one of the codes of ``images``. What it refuses, and
why:

- **JPEG**: more than :data:`MAX_SCANS` scans, or scans that together visit more than
  :data:`MAX_SCAN_BLOCKS` 8x8 blocks (``too_many_scans``: each scan is one more pass over the
  blocks it covers; 1,000 scans in a 100 KB file cost libjpeg half a minute); a missing,
  repeated or absurd frame header (SOF: zero width or height, component count other than 1
  or 3, sampling factors outside 1-4); processes that phones never write (lossless,
  hierarchical, arithmetic coding: ``unsupported_type``); a precision other than 8 bits
  (``high_bit_depth``); four components, i.e. CMYK or YCCK (``unsupported_colour``: print
  files, never a camera's; Pillow converts them to RGB without a colour profile, so the
  colours, and with them the face check, would be off); unknown markers, bytes between
  segments, an invalid scan header, no end-of-image marker (a truncated file).
- **PNG**: a first chunk other than IHDR, invalid bit depth and colour type pairs, 16 bits
  per channel (``high_bit_depth``), animation chunks (APNG: ``animated``), compressed
  metadata (zTXt, iCCP, compressed iTXt) over :data:`MAX_COMPRESSED_METADATA_BYTES` each or
  ancillary chunks over :data:`MAX_METADATA_BYTES` together (``oversized_metadata``: such
  chunks are decompression bombs), unknown critical chunks, no IDAT, no IEND. Only the chunks
  that make the pixels (IHDR, PLTE, tRNS, IDAT, IEND) and eXIf (orientation) are handed to
  the decoder: text and colour-profile chunks are never decompressed, by us or by Pillow.
- **WebP**: animation (a VP8X animation flag, ANIM or ANMF chunks), a RIFF size larger than
  the file, a canvas (VP8X) that differs from the image inside it, no image chunk, metadata
  chunks over :data:`MAX_METADATA_BYTES`.
- **All**: more than :data:`MAX_SEGMENTS` segments or chunks, and *polyglots*: a file that
  a ZIP reader opens as an archive (an end-of-central-directory record at the end), anything
  after a PNG's IEND or past a WebP's RIFF size other than zero padding, and markup,
  documents, archives or executables after a JPEG's end-of-image marker (phones do append
  data there: secondary MPF images, Samsung trailers, motion-photo videos; those stay
  accepted).

Nothing here imports Django: the limits are module constants (tests may patch them).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

__all__ = [
    "MAX_COMPRESSED_METADATA_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_SCANS",
    "MAX_SCAN_BLOCKS",
    "MAX_SEGMENTS",
    "Header",
    "Refusal",
    "read_header",
]

#: Scans allowed in one JPEG. A baseline JPEG has one (three if not interleaved); libjpeg's
#: standard progressive script has 10 for colour and 6 for grey, Photoshop writes 3 to 5;
#: re-encoded web photos go higher (14 in the ~1,600 real face photos we checked). Each scan
#: is one more pass over the blocks it covers, so the work is bounded by
#: :data:`MAX_SCAN_BLOCKS` as well; this count also bounds the per-scan overhead of tiny
#: images with thousands of scans.
MAX_SCANS = 32
#: 8x8 blocks visited by all scans together (each scan counts the blocks of the components
#: it codes). libjpeg needs ~0.1 us per block and scan at worst (refinement scans walk all 63
#: coefficients), so 10.5 million block-scans stay near a second: a 12 MP progressive photo
#: with the standard script needs ~1.5 million; a 1,000-scan 16 MP file needs 262 million.
MAX_SCAN_BLOCKS = 10 * 1024 * 1024
#: Marker segments (JPEG) or chunks (PNG, WebP) in one file. A phone JPEG has ~15 segments (a
#: few hundred with a depth map in extended XMP); an 8 MB PNG cut in 8 KB IDAT chunks ~1,000.
#: Bounds the time this walk itself can take.
MAX_SEGMENTS = 10_000
#: Compressed metadata chunk (zTXt, iCCP, compressed iTXt) size, each: an ICC profile of a
#: phone screenshot is ~0.5 KB compressed, a large v4 profile ~30 KB; at deflate's 1:1000 a
#: chunk of this size could still inflate to 64 MB, which is why none is ever decompressed.
MAX_COMPRESSED_METADATA_BYTES = 64 * 1024
#: All ancillary (non-pixel) chunks of a PNG or WebP together: EXIF, XMP, ICC, text.
MAX_METADATA_BYTES = 1024 * 1024

# Refusal codes (the same strings as images.py's constants, which document them).
UNREADABLE = "unreadable"
UNSUPPORTED_TYPE = "unsupported_type"
TOO_MANY_SCANS = "too_many_scans"
HIGH_BIT_DEPTH = "high_bit_depth"
UNSUPPORTED_COLOUR = "unsupported_colour"
ANIMATED = "animated"
OVERSIZED_METADATA = "oversized_metadata"
POLYGLOT = "polyglot"


class Refusal(Exception):
    """The file is refused before decoding. ``code`` is one of the refusal codes; ``detail``
    is for the log (never shown to the participant); ``size`` the declared pixels, if known."""

    def __init__(self, code: str, detail: str = "", *, size: tuple[int, int] | None = None):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.size = size


@dataclass(frozen=True)
class Header:
    """What the container says, read without decoding."""

    format: str  # "JPEG", "PNG" or "WEBP"
    width: int
    height: int
    mode: str  # the Pillow mode the decoder produces: "1", "L", "LA", "P", "RGB" or "RGBA"
    alpha: bool = False  # transparency (an alpha channel, or a PNG tRNS chunk)
    scans: int = 1  # JPEG scans
    #: JPEG 8x8 blocks of all components, when decoding keeps them all in memory (progressive
    #: or several scans: libjpeg's whole-image coefficient buffer, 128 bytes per block).
    coefficient_blocks: int = 0
    #: What the decoder is given: the file itself, or for PNG its pixel chunks only.
    payload: bytes = b""

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def read_header(data: bytes, kind: str) -> Header:
    """The header of ``data`` (already sniffed as ``kind``), or :class:`Refusal`."""
    if _hides_zip(data):
        raise Refusal(POLYGLOT, "a ZIP end-of-central-directory record ends the file")
    reader = {"JPEG": _read_jpeg, "PNG": _read_png, "WEBP": _read_webp}[kind]
    return reader(data)


# --- polyglots ------------------------------------------------------------------------------
_ZIP_END = re.compile(rb"PK\x05\x06")
_ZIP_END_SIZE = 22
_ZIP_TAIL = _ZIP_END_SIZE + 0xFFFF  # the record plus the longest comment
# What must never follow a JPEG: markup a browser would run, documents, archives,
# executables. Each needs 5+ fixed bytes, so entropy-coded data (a secondary MPF image, a
# motion-photo video) matches by chance about once in 10^11 megabytes.
_FOREIGN = re.compile(
    rb"<(?:!doctype|html|head|body|script|iframe|svg|object|embed|\?php)[\s>/]"
    rb"|%PDF-|PK\x03\x04[\x0a-\x3f]\x00|Rar!\x1a\x07|7z\xbc\xaf\x27\x1c|\x7fELF[\x01\x02]",
    re.IGNORECASE,
)


def _hides_zip(data: bytes) -> bool:
    """True when a ZIP reader would open ``data``: it looks for the end-of-central-directory
    record whose comment reaches exactly the end of the file."""
    start = max(0, len(data) - _ZIP_TAIL)
    for found in _ZIP_END.finditer(data, start):
        at = found.start()
        if at + _ZIP_END_SIZE <= len(data):
            comment = struct.unpack_from("<H", data, at + 20)[0]
            if at + _ZIP_END_SIZE + comment == len(data):
                return True
    return False


def _check_trailer(trailer: bytes, *, lenient: bool) -> None:
    """Bytes after the image's end: zero padding passes; for JPEG (``lenient``) anything
    without a foreign format's signature passes too; everything else is a polyglot."""
    if not trailer.strip(b"\x00"):
        return
    if not lenient:
        raise Refusal(POLYGLOT, f"{len(trailer)} bytes after the end of the image")
    if _FOREIGN.search(trailer):
        raise Refusal(POLYGLOT, "markup, a document or an archive after the JPEG")


# --- JPEG -----------------------------------------------------------------------------------
_SOI, _EOI, _SOS, _APP14 = 0xD8, 0xD9, 0xDA, 0xEE
_SOF_ACCEPTED = {0xC0: False, 0xC1: False, 0xC2: True}  # marker: progressive
_SOF_OTHER = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PARAMETERLESS = {0x01, *range(0xD0, 0xD8)}
_WITH_LENGTH = {0xC4, 0xCC, *range(0xDB, 0xE0), *range(0xE0, 0xF0), 0xFE}
# The next marker after entropy-coded data: 0xFF (after any fill 0xFF bytes) followed by
# anything but a stuffed zero or a restart marker. The look-behind keeps the search linear on
# long runs of 0xFF; it is applied to a memoryview slice so it cannot see before the start.
_ENTROPY_END = re.compile(rb"(?<!\xff)\xff++([^\x00\xd0-\xd7\xff])")


@dataclass
class _Frame:
    progressive: bool
    width: int
    height: int
    components: dict[int, tuple[int, int]]  # id: (horizontal, vertical) sampling

    def component_blocks(self, ident: int) -> int:
        """8x8 blocks of one component at full resolution."""
        h_max = max(h for h, _ in self.components.values())
        v_max = max(v for _, v in self.components.values())
        h, v = self.components[ident]
        width = -(-self.width * h // h_max)
        height = -(-self.height * v // v_max)
        return -(-width // 8) * -(-height // 8)

    def blocks(self) -> int:
        """8x8 blocks of all components at full resolution."""
        return sum(self.component_blocks(ident) for ident in self.components)


def _read_jpeg(data: bytes) -> Header:
    view = memoryview(data)
    pos, segments, scans, scan_blocks = 2, 0, 0, 0
    frame: _Frame | None = None
    while True:
        marker, pos = _jpeg_marker(data, pos)
        if marker == _EOI:
            break
        if marker in _PARAMETERLESS:
            continue
        segments += 1
        if segments > MAX_SEGMENTS:
            raise Refusal(UNREADABLE, f"more than {MAX_SEGMENTS} JPEG segments")
        body, pos = _jpeg_segment(data, marker, pos)
        if marker in _SOF_ACCEPTED or marker in _SOF_OTHER:
            if frame is not None or scans:
                raise Refusal(UNREADABLE, "a second frame header")
            frame = _jpeg_frame(marker, body)
        elif marker == _SOS:
            if frame is None:
                raise Refusal(UNREADABLE, "a scan before the frame header")
            scans += 1
            if scans > MAX_SCANS:
                raise Refusal(TOO_MANY_SCANS, f"more than {MAX_SCANS} scans")
            scan_blocks += _jpeg_scan(body, frame)
            if scans > 1 and scan_blocks > MAX_SCAN_BLOCKS:  # one scan: a matter of pixels
                raise Refusal(TOO_MANY_SCANS, f"{scans} scans visit over {MAX_SCAN_BLOCKS} blocks")
            end = _ENTROPY_END.search(view[pos:])
            if end is None:
                raise Refusal(UNREADABLE, "the file ends inside a scan")
            pos += end.start()
    if frame is None or not scans:
        raise Refusal(UNREADABLE, "no frame header or no scan")
    _check_trailer(data[pos:], lenient=True)
    several = frame.progressive or scans > 1
    return Header(
        format="JPEG",
        width=frame.width,
        height=frame.height,
        mode="L" if len(frame.components) == 1 else "RGB",
        scans=scans,
        coefficient_blocks=frame.blocks() if several else 0,
        payload=data,
    )


def _jpeg_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker at ``pos`` (after fill bytes) and the position after it. Between segments
    there must be nothing but markers: other bytes mean a damaged file."""
    if pos >= len(data) or data[pos] != 0xFF:
        raise Refusal(UNREADABLE, "no marker where one must be (truncated or damaged)")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise Refusal(UNREADABLE, "the file ends before its end-of-image marker")
    marker = data[pos]
    if marker == _SOI or not (
        marker in _PARAMETERLESS
        or marker in _WITH_LENGTH
        or marker in _SOF_ACCEPTED
        or marker in _SOF_OTHER
        or marker in (_SOS, _EOI)
    ):
        raise Refusal(UNREADABLE, f"unexpected marker 0xFF{marker:02X}")
    return marker, pos + 1


def _jpeg_segment(data: bytes, marker: int, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(data):
        raise Refusal(UNREADABLE, "the file ends inside a segment")
    length = struct.unpack_from(">H", data, pos)[0]
    if length < 2 or pos + length > len(data):
        raise Refusal(UNREADABLE, f"segment 0xFF{marker:02X} runs past the end of the file")
    return data[pos + 2 : pos + length], pos + length


def _jpeg_frame(marker: int, body: bytes) -> _Frame:
    if marker in _SOF_OTHER:
        raise Refusal(UNSUPPORTED_TYPE, f"JPEG process 0xFF{marker:02X} (not from a camera)")
    if len(body) < 6:
        raise Refusal(UNREADABLE, "a short frame header")
    precision, height, width, count = struct.unpack_from(">BHHB", body)
    if precision != 8:
        raise Refusal(HIGH_BIT_DEPTH, f"{precision}-bit JPEG")
    if count == 4:
        raise Refusal(UNSUPPORTED_COLOUR, "four components (CMYK or YCCK)")
    if count not in (1, 3) or len(body) != 6 + 3 * count:
        raise Refusal(UNREADABLE, f"{count} components in the frame header")
    if not width or not height:
        raise Refusal(UNREADABLE, f"a frame of {width} x {height} pixels")
    components: dict[int, tuple[int, int]] = {}
    for i in range(count):
        ident, sampling, table = body[6 + 3 * i : 9 + 3 * i]
        h, v = sampling >> 4, sampling & 0x0F
        if ident in components or not (1 <= h <= 4 and 1 <= v <= 4) or table > 3:
            raise Refusal(UNREADABLE, "an invalid component in the frame header")
        components[ident] = (h, v)
    return _Frame(_SOF_ACCEPTED[marker], width, height, components)


def _jpeg_scan(body: bytes, frame: _Frame) -> int:
    """The blocks the scan visits. Its header must name the frame's components and, for a
    sequential frame, the whole spectrum (libjpeg only warns otherwise; we refuse)."""
    count = body[0] if body else 0
    if not 1 <= count <= 4 or len(body) != 4 + 2 * count:
        raise Refusal(UNREADABLE, "an invalid scan header")
    if any(body[1 + 2 * i] not in frame.components for i in range(count)):
        raise Refusal(UNREADABLE, "a scan of a component the frame does not have")
    start, end, approx = body[-3], body[-2], body[-1]
    high, low = approx >> 4, approx & 0x0F
    if not frame.progressive:
        valid = (start, end, approx) == (0, 63, 0)
    else:
        valid = start <= end <= 63 and high <= 13 and low <= 13 and (start > 0) == (end > 0)
        valid = valid and (start == 0 or count == 1)
    if not valid:
        raise Refusal(UNREADABLE, "invalid spectral selection in a scan header")
    return sum(frame.component_blocks(body[1 + 2 * i]) for i in range(count))


# --- PNG ------------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"eXIf"}
_PNG_ANIMATION = {b"acTL", b"fcTL", b"fdAT"}
_PNG_COMPRESSED = {b"zTXt", b"iCCP"}


@dataclass
class _PngState:
    width: int = 0
    height: int = 0
    depth: int = 0
    colour: int = 0
    chunks: int = 0
    metadata: int = 0
    palette: int = 0
    idat: bool = False
    transparency: bool = False


def _read_png(data: bytes) -> Header:
    state = _PngState()
    kept = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise Refusal(UNREADABLE, "the file ends before IEND")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            raise Refusal(UNREADABLE, "a damaged or truncated chunk")
        state.chunks += 1
        if state.chunks > MAX_SEGMENTS:
            raise Refusal(UNREADABLE, f"more than {MAX_SEGMENTS} PNG chunks")
        _png_chunk(state, kind, data, pos + 8, length)
        if kind in _PNG_KEEP:
            kept.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    if not state.idat:
        raise Refusal(UNREADABLE, "no image data (IDAT)")
    _check_trailer(data[pos:], lenient=False)
    mode = {0: "1" if state.depth == 1 else "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}
    return Header(
        format="PNG",
        width=state.width,
        height=state.height,
        mode=mode[state.colour],
        alpha=state.colour in (4, 6) or state.transparency,
        payload=b"".join(kept),
    )


def _png_chunk(state: _PngState, kind: bytes, data: bytes, at: int, length: int) -> None:
    """Check one chunk (its payload is ``data[at:at+length]``) against the rules."""
    if (state.chunks == 1) != (kind == b"IHDR"):
        raise Refusal(UNREADABLE, "IHDR is not the first chunk, or comes twice")
    if kind == b"IHDR":
        _png_ihdr(state, data[at : at + length])
    elif kind in _PNG_ANIMATION:
        raise Refusal(ANIMATED, "an animated PNG (APNG)")
    elif kind == b"PLTE":
        if state.palette or not length or length % 3 or length > 768:
            raise Refusal(UNREADABLE, "an invalid palette")
        state.palette = length // 3
    elif kind == b"IDAT":
        if state.colour == 3 and not state.palette:
            raise Refusal(UNREADABLE, "a palette image without a palette")
        state.idat = True
    elif kind == b"IEND":
        return
    elif kind[0] < ord("a"):  # an unknown critical chunk: decoders must not guess
        raise Refusal(UNREADABLE, f"unknown critical chunk {kind!r}")
    else:
        _png_metadata(state, kind, data, at, length)


def _png_ihdr(state: _PngState, payload: bytes) -> None:
    if len(payload) != 13:
        raise Refusal(UNREADABLE, "a short IHDR")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", payload
    )
    if depth not in _PNG_DEPTHS.get(colour, ()):
        raise Refusal(UNREADABLE, f"bit depth {depth} with colour type {colour}")
    if depth == 16:
        raise Refusal(HIGH_BIT_DEPTH, "16 bits per channel")
    if not (0 < width <= 0x7FFFFFFF and 0 < height <= 0x7FFFFFFF):
        raise Refusal(UNREADABLE, f"{width} x {height} pixels")
    if compression or filtering or interlace > 1:
        raise Refusal(UNREADABLE, "an unknown compression, filter or interlace method")
    state.width, state.height, state.depth, state.colour = width, height, depth, colour


def _png_metadata(state: _PngState, kind: bytes, data: bytes, at: int, length: int) -> None:
    state.metadata += length
    if state.metadata > MAX_METADATA_BYTES:
        raise Refusal(OVERSIZED_METADATA, f"over {MAX_METADATA_BYTES} bytes of metadata")
    compressed = kind in _PNG_COMPRESSED
    if kind == b"iTXt":  # keyword, NUL, compression flag, ...
        nul = data.find(b"\x00", at, at + min(length, 80))
        compressed = nul >= 0 and nul + 1 < at + length and data[nul + 1] == 1
    if compressed and length > MAX_COMPRESSED_METADATA_BYTES:
        raise Refusal(OVERSIZED_METADATA, f"a compressed {kind.decode()} of {length} bytes")
    if kind == b"tRNS":
        allowed = {0: 2, 2: 6, 3: 256}.get(state.colour, 0)  # palette: up to one per entry
        if not length or length > allowed or (state.colour != 3 and length != allowed):
            raise Refusal(UNREADABLE, "an invalid transparency chunk")
        state.transparency = True


# --- WebP -----------------------------------------------------------------------------------
_VP8_START = b"\x9d\x01\x2a"


@dataclass
class _WebpState:
    canvas: tuple[int, int] | None = None
    image: tuple[int, int] | None = None
    alpha: bool = False
    chunks: int = 0
    metadata: int = 0


def _read_webp(data: bytes) -> Header:
    if len(data) < 20:
        raise Refusal(UNREADABLE, "a WebP shorter than its headers")
    end = 8 + struct.unpack_from("<I", data, 4)[0]
    if end > len(data):
        raise Refusal(UNREADABLE, "the file ends before its RIFF size")
    state = _WebpState()
    pos = 12
    while pos + 8 <= end:
        kind, length = struct.unpack_from("<4sI", data, pos)
        body_end = pos + 8 + length
        if body_end > end:
            raise Refusal(UNREADABLE, "a chunk runs past the RIFF size")
        state.chunks += 1
        if state.chunks > MAX_SEGMENTS:
            raise Refusal(UNREADABLE, f"more than {MAX_SEGMENTS} WebP chunks")
        _webp_chunk(state, kind, data[pos + 8 : pos + 8 + min(length, 10)], length)
        pos = body_end + (length & 1)
    if end - pos > 1 or state.image is None:
        raise Refusal(UNREADABLE, "no image chunk, or bytes left over inside the RIFF")
    if state.canvas is not None and state.canvas != state.image:
        raise Refusal(UNREADABLE, f"canvas {state.canvas} but image {state.image}")
    width, height = state.image
    if not width or not height:
        raise Refusal(UNREADABLE, f"a WebP of {width} x {height} pixels")
    _check_trailer(data[end:], lenient=False)
    return Header(
        format="WEBP",
        width=width,
        height=height,
        mode="RGBA" if state.alpha else "RGB",
        alpha=state.alpha,
        payload=data,
    )


def _webp_chunk(state: _WebpState, kind: bytes, head: bytes, length: int) -> None:
    """Check one chunk, given the first bytes of its payload (``head``) and its length."""
    if state.chunks == 1 and kind not in (b"VP8 ", b"VP8L", b"VP8X"):
        raise Refusal(UNREADABLE, f"a WebP starting with {kind!r}")
    if kind in (b"ANIM", b"ANMF"):
        raise Refusal(ANIMATED, "an animated WebP")
    if kind == b"VP8X":
        if state.chunks != 1 or len(head) < 10:
            raise Refusal(UNREADABLE, "a misplaced or short VP8X")
        if head[0] & 0x02:
            raise Refusal(ANIMATED, "an animated WebP (VP8X flag)")
        state.alpha = bool(head[0] & 0x10)
        width = 1 + int.from_bytes(head[4:7], "little")
        height = 1 + int.from_bytes(head[7:10], "little")
        state.canvas = (width, height)
    elif kind in (b"VP8 ", b"VP8L"):
        if state.image is not None:
            raise Refusal(UNREADABLE, "two images in one WebP")
        state.image = _vp8_size(head) if kind == b"VP8 " else _vp8l_size(state, head)
    elif kind != b"ALPH":
        state.metadata += length
        if state.metadata > MAX_METADATA_BYTES:
            raise Refusal(OVERSIZED_METADATA, f"over {MAX_METADATA_BYTES} bytes of metadata")


def _vp8_size(head: bytes) -> tuple[int, int]:
    """Lossy: a key frame's tag, start code, then 14-bit width and height."""
    if len(head) < 10 or head[0] & 1 or head[3:6] != _VP8_START:
        raise Refusal(UNREADABLE, "a damaged VP8 frame header")
    width, height = struct.unpack_from("<HH", head, 6)
    return width & 0x3FFF, height & 0x3FFF


def _vp8l_size(state: _WebpState, head: bytes) -> tuple[int, int]:
    """Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each, alpha, version."""
    if len(head) < 5 or head[0] != 0x2F:
        raise Refusal(UNREADABLE, "a damaged VP8L header")
    bits = int.from_bytes(head[1:5], "little")
    if bits >> 29:
        raise Refusal(UNREADABLE, "an unknown VP8L version")
    state.alpha = state.alpha or bool(bits >> 28 & 1)
    return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1
