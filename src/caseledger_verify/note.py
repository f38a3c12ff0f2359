"""C2SP signed notes (https://c2sp.org/signed-note) and checkpoints (https://c2sp.org/tlog-checkpoint).

Wire format, byte for byte compatible with Go's ``golang.org/x/mod/sumdb/note``::

    <origin>\\n
    <tree size, decimal, no leading zeros>\\n
    <base64 (standard, padded) of the 32-byte root hash>\\n
    [<extension line>\\n ...]
    \\n
    \\u2014 <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>\\n
    [more signature lines]

The signature covers the note *body*: every byte up to and including the newline that
ends the last body line (not the blank separator line).

Key strings::

    verifier: <name>+<8 hex digits key hash>+<base64(0x01 || 32-byte public key)>
    signer:   PRIVATE+KEY+<name>+<8 hex digits key hash>+<base64(0x01 || 32-byte seed)>

    key hash = SHA-256(name || 0x0A || 0x01 || public key)[:4]
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "NoteError",
    "NoteSignature",
    "ParsedNote",
    "Signer",
    "Verifier",
    "format_checkpoint_body",
    "generate_signer",
    "key_hash",
    "open_note",
    "parse_checkpoint",
    "parse_checkpoint_body",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "verifier_key_from_public_key",
    "verify_note",
]

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # EM DASH, SPACE
MAX_SIGNATURES = 100  # as in the Go reference implementation
MAX_TREE_SIZE = (1 << 64) - 1
HASH_SIZE = 32
_ED25519_SIG_SIZE = 64
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_HEX8_RE = re.compile(r"[0-9a-f]{8}")


class NoteError(ValueError):
    """A note, checkpoint or key string is malformed or does not verify."""


# --------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------


def _valid_name(name: str) -> bool:
    """Key names are non-empty and contain no Unicode whitespace and no '+'."""
    return bool(name) and "+" not in name and not any(ch.isspace() for ch in name)


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash: ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]`` (Ed25519)."""
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    ).digest()[:4]


def _b64decode_strict(value: str, what: str) -> bytes:
    """Standard, padded base64 that round-trips exactly (no stray bits or characters)."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{what} is not valid base64: {value!r}") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise NoteError(f"{what} is not canonical base64: {value!r}")
    return raw


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A parsed verifier key (name, key hash and Ed25519 public key)."""

    name: str
    key_hash: bytes
    public_key: bytes

    @property
    def key_id(self) -> str:
        """``name+hexhash``, how notes and messages refer to this key."""
        return f"{self.name}+{self.key_hash.hex()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __str__(self) -> str:
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode("ascii")
        return f"{self.key_id}+{blob}"


@dataclass(frozen=True)
class Signer:
    """A parsed signer key.  ``str(signer)`` gives the secret key string back."""

    name: str
    key_hash: bytes
    seed: bytes = field(repr=False)

    @property
    def verifier(self) -> Verifier:
        public = _raw_public(Ed25519PrivateKey.from_private_bytes(self.seed).public_key())
        return Verifier(self.name, self.key_hash, public)

    def sign(self, message: bytes) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)

    def __str__(self) -> str:
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_hash.hex()}+{blob}"


def parse_verifier_key(vkey: str | Verifier) -> Verifier:
    """Parse ``<name>+<hexhash>+<base64(0x01 || pubkey)>``; raises :class:`NoteError`."""
    if isinstance(vkey, Verifier):
        return vkey
    vkey = vkey.strip()
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("verifier key must look like <name>+<hex key hash>+<base64 key>")
    name, hash16, key64 = parts
    if not _valid_name(name):
        raise NoteError(f"verifier key has an invalid name {name!r}")
    if not _HEX8_RE.fullmatch(hash16):
        raise NoteError(f"verifier key hash must be 8 lowercase hex digits, got {hash16!r}")
    key = _b64decode_strict(key64, "verifier key material")
    if len(key) != 1 + 32 or key[0] != ALG_ED25519:
        raise NoteError(
            "verifier key material must be 0x01 followed by a 32-byte Ed25519 public key"
        )
    public = key[1:]
    expected = key_hash(name, public)
    if expected.hex() != hash16:
        raise NoteError(
            f"verifier key hash {hash16} does not match its name and key (expected "
            f"{expected.hex()})"
        )
    try:
        Ed25519PublicKey.from_public_bytes(public)
    except ValueError as exc:
        raise NoteError(f"verifier key is not a valid Ed25519 public key: {exc}") from None
    return Verifier(name, expected, public)


def parse_signer_key(skey: str | Signer) -> Signer:
    """Parse ``PRIVATE+KEY+<name>+<hexhash>+<base64(0x01 || seed)>``."""
    if isinstance(skey, Signer):
        return skey
    skey = skey.strip()
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise NoteError("signer key must look like PRIVATE+KEY+<name>+<hex key hash>+<base64>")
    _, _, name, hash16, key64 = parts
    if not _valid_name(name):
        raise NoteError(f"signer key has an invalid name {name!r}")
    if not _HEX8_RE.fullmatch(hash16):
        raise NoteError(f"signer key hash must be 8 lowercase hex digits, got {hash16!r}")
    key = _b64decode_strict(key64, "signer key material")
    if len(key) != 1 + 32 or key[0] != ALG_ED25519:
        raise NoteError("signer key material must be 0x01 followed by a 32-byte Ed25519 seed")
    seed = key[1:]
    public = _raw_public(Ed25519PrivateKey.from_private_bytes(seed).public_key())
    if key_hash(name, public).hex() != hash16:
        raise NoteError(f"signer key hash {hash16} does not match its name and key")
    return Signer(name, bytes.fromhex(hash16), seed)


def verifier_key_from_public_key(name: str, public_key: bytes) -> str:
    """Verifier key string for a raw 32-byte Ed25519 public key."""
    if not _valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    if len(public_key) != 32:
        raise NoteError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    return str(Verifier(name, key_hash(name, public_key), bytes(public_key)))


def generate_signer(name: str) -> tuple[str, str]:
    """A fresh Ed25519 key pair for ``name``: ``(signer_key_str, verifier_key_str)``.

    For a checkpoint signer the name should be the log's origin.  Keep the signer key
    secret; publish the verifier key.
    """
    if not _valid_name(name):
        raise NoteError(f"invalid key name {name!r}: it must be non-empty, without spaces or '+'")
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = _raw_public(private.public_key())
    signer = Signer(name, key_hash(name, public), seed)
    return str(signer), str(signer.verifier)


# --------------------------------------------------------------------------------------
# Generic notes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: bytes
    signature: bytes  # without the 4-byte key hash
    line: int  # 1-based line number in the note, for messages


@dataclass(frozen=True)
class ParsedNote:
    text: str  # the body, ending with "\n"
    body_bytes: bytes  # what the signatures cover
    signatures: tuple[NoteSignature, ...]


def _as_text(note: str | bytes) -> str:
    if isinstance(note, bytes | bytearray | memoryview):
        try:
            return bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError(f"note is not valid UTF-8 (byte {exc.start})") from None
    if not isinstance(note, str):
        raise NoteError(f"note must be text, got {type(note).__name__}")
    return note


def parse_note(note: str | bytes) -> ParsedNote:
    """Split a signed note into body and signature lines, checking the syntax only."""
    text = _as_text(note)
    for i, ch in enumerate(text):
        if ch < " " and ch != "\n":
            hint = " (CRLF line endings?)" if ch == "\r" else ""
            raise NoteError(
                f"note contains a control character U+{ord(ch):04X} at offset {i}{hint}"
            )
        if "\ud800" <= ch <= "\udfff":
            raise NoteError(f"note contains a lone surrogate U+{ord(ch):04X} at offset {i}")
    if not text.endswith("\n"):
        raise NoteError("note does not end with a newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line separating the text from the signatures")
    body, sig_block = text[: split + 1], text[split + 2 :]
    if not sig_block:
        raise NoteError("note has no signature lines after the blank line")
    body_lines = body.count("\n")
    sigs: list[NoteSignature] = []
    for offset, line in enumerate(sig_block[:-1].split("\n")):
        lineno = body_lines + 2 + offset
        if len(sigs) >= MAX_SIGNATURES:
            raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
        if not line.startswith(SIG_PREFIX):
            raise NoteError(
                f"line {lineno} is not a signature line (must start with an em dash and a "
                f"space): {line[:40]!r}"
            )
        name, sep, b64 = line[len(SIG_PREFIX) :].partition(" ")
        if not sep or not _valid_name(name):
            raise NoteError(f"signature line {lineno} has an invalid key name {name!r}")
        try:
            raw = base64.b64decode(b64.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise NoteError(f"signature line {lineno} is not valid base64") from None
        if len(raw) < 5:
            raise NoteError(f"signature line {lineno} is too short ({len(raw)} bytes)")
        sigs.append(NoteSignature(name, raw[:4], raw[4:], lineno))
    return ParsedNote(body, body.encode("utf-8"), tuple(sigs))


def sign_note(text: str, signer_key: str | Signer) -> str:
    """Sign ``text`` (which must end with a newline) and return the full note."""
    signer = parse_signer_key(signer_key)
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if "\n\n" in text or text.startswith("\n"):
        raise NoteError("note text must not contain blank lines")
    message = text.encode("utf-8")
    blob = base64.b64encode(signer.key_hash + signer.sign(message)).decode("ascii")
    return f"{text}\n{SIG_PREFIX}{signer.name} {blob}\n"


def open_note(note: str | bytes, verifier_key: str | Verifier) -> ParsedNote:
    """Parse ``note`` and check the signature(s) by ``verifier_key``.

    Signatures by other keys are ignored, as the signed-note specification requires
    (they may be witness cosignatures).  At least one signature by the key must be
    present, and every signature line claiming to be from the key must verify.
    """
    verifier = parse_verifier_key(verifier_key)
    parsed = parse_note(note)
    mine = [
        s for s in parsed.signatures if s.name == verifier.name and s.key_hash == verifier.key_hash
    ]
    if not mine:
        same_name = [s for s in parsed.signatures if s.name == verifier.name]
        if same_name:
            got = ", ".join(s.key_hash.hex() for s in same_name)
            raise NoteError(
                f"note is signed by {verifier.name!r} with key hash {got}, but the trusted key "
                f"{verifier.key_id} has a different key hash (unknown or rotated key)"
            )
        names = ", ".join(f"{s.name}+{s.key_hash.hex()}" for s in parsed.signatures)
        raise NoteError(
            f"note has no signature by the trusted key {verifier.key_id} (signed by: {names})"
        )
    for sig in mine:
        if len(sig.signature) != _ED25519_SIG_SIZE:
            raise NoteError(
                f"signature on line {sig.line} by {verifier.key_id} must be "
                f"{_ED25519_SIG_SIZE} bytes, got {len(sig.signature)}"
            )
        if not verifier.verify(parsed.body_bytes, sig.signature):
            raise NoteError(
                f"invalid signature on line {sig.line} by {verifier.key_id}: the note text "
                "was altered or was not signed by this key"
            )
    return parsed


# --------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint body.  ``body_bytes`` is exactly what the signature covers."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    body_bytes: bytes

    @property
    def root_b64(self) -> str:
        return base64.b64encode(self.root).decode("ascii")


def format_checkpoint_body(
    origin: str, size: int, root: bytes, extensions: Iterable[str] = ()
) -> str:
    """The checkpoint note text (body), ending with a newline."""
    if not origin or "\n" in origin:
        raise NoteError("checkpoint origin must be a non-empty single line")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
        raise NoteError(f"checkpoint size must be an integer in [0, 2**64), got {size!r}")
    if len(root) != HASH_SIZE:
        raise NoteError(f"checkpoint root must be {HASH_SIZE} bytes, got {len(root)}")
    lines = [origin, str(size), base64.b64encode(bytes(root)).decode("ascii")]
    for ext in extensions:
        if not ext or "\n" in ext:
            raise NoteError("checkpoint extension lines must be non-empty single lines")
        lines.append(ext)
    return "".join(line + "\n" for line in lines)


def parse_checkpoint_body(body: str) -> Checkpoint:
    """Parse the checkpoint note text (without signatures)."""
    if not body.endswith("\n"):
        raise NoteError("checkpoint text does not end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError(f"checkpoint text has {len(lines)} lines, needs at least 3")
    for i, line in enumerate(lines, 1):
        if not line:
            raise NoteError(f"checkpoint line {i} is empty")
    origin, size_s, root_s, *extensions = lines
    if not _SIZE_RE.fullmatch(size_s):
        raise NoteError(
            f"checkpoint tree size {size_s!r} is not a canonical decimal number "
            "(ASCII digits, no sign, no leading zeros)"
        )
    size = int(size_s)
    if size > MAX_TREE_SIZE:
        raise NoteError(f"checkpoint tree size {size_s} does not fit in 64 bits")
    root = _b64decode_strict(root_s, "checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise NoteError(f"checkpoint root hash must be {HASH_SIZE} bytes, got {len(root)}")
    return Checkpoint(origin, size, root, tuple(extensions), body.encode("utf-8"))


def parse_checkpoint(text: str | bytes) -> Checkpoint:
    """Parse a signed checkpoint note WITHOUT checking signatures (see :func:`verify_note`)."""
    return parse_checkpoint_body(parse_note(text).text)


def sign_checkpoint(
    origin: str,
    size: int,
    root: bytes,
    signer_key: str | Signer,
    extensions: Iterable[str] = (),
) -> str:
    """Sign a checkpoint and return the full note text.

    The signer's key name must equal ``origin`` (tlog-checkpoint: the log's key name
    matches the origin line), so that a verifier can tell which log a key belongs to.
    """
    signer = parse_signer_key(signer_key)
    if signer.name != origin:
        raise NoteError(
            f"checkpoint origin {origin!r} must equal the signer key name {signer.name!r}"
        )
    return sign_note(format_checkpoint_body(origin, size, root, extensions), signer)


def verify_note(
    text: str | bytes, verifier_key: str | Verifier, *, check_origin: bool = True
) -> Checkpoint:
    """Verify a signed checkpoint note and return the checkpoint it commits to.

    Raises :class:`NoteError` for a malformed note or checkpoint, a missing/unknown key,
    a bad signature, or (with ``check_origin``) an origin line that is not the key name.
    """
    verifier = parse_verifier_key(verifier_key)
    parsed = open_note(text, verifier)
    checkpoint = parse_checkpoint_body(parsed.text)
    if check_origin and checkpoint.origin != verifier.name:
        raise NoteError(
            f"checkpoint origin {checkpoint.origin!r} does not match the key name {verifier.name!r}"
        )
    return checkpoint
