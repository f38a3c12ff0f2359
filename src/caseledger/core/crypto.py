"""Encryption of small secrets at rest: AES-256-GCM with a key id, so keys can rotate.

Keys come from ``settings.ENCRYPTION_KEYS``: comma-separated ``id:base64key`` entries, newest
first. The first key encrypts; every listed key can decrypt. Rotation is therefore: put a new
key in front, deploy, re-encrypt old tokens with :func:`reencrypt` (or let them be rewritten as
they change), then drop the old key once :func:`key_id_of` no longer reports it anywhere.
Keys never sit in the database (design invariant 7) and are never logged or put in messages.

Token layout (all of it authenticated)::

    0x01 | len(key_id) (1 byte) | key_id (ASCII) | nonce (12 bytes) | ciphertext + 16-byte tag

The version byte and key id are part of the associated data given to AES-GCM, together with
the caller's ``associated_data``. Pass ``associated_data`` that binds a token to its place, for
example ``b"face-template:" + enrolment_id.bytes``: a token copied to another row then fails to
decrypt instead of silently belonging to someone else.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "DecryptionError",
    "current_key_id",
    "decrypt",
    "encrypt",
    "generate_key_entry",
    "key_id_of",
    "reencrypt",
]

FORMAT_VERSION = 1
NONCE_BYTES = 12  # 96-bit random nonce, the size AES-GCM is designed for
KEY_BYTES = 32  # AES-256
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class DecryptionError(Exception):
    """The token cannot be decrypted: unknown key, wrong associated data, altered or malformed.

    Deliberately one error for all of these (an attacker learns nothing from which one)."""


@dataclass(frozen=True)
class _Keyring:
    current: str
    keys: dict[str, AESGCM]


_cache: dict[str, _Keyring] = {}
_cache_lock = threading.Lock()


def _parse(raw: str) -> _Keyring:
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    if not entries:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS is empty: set CASELEDGER_ENCRYPTION_KEYS to one or more "
            "'id:base64key' entries (newest first), each key 32 random bytes in base64."
        )
    keys: dict[str, AESGCM] = {}
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        # Messages name the entry's position and id only, never the key material.
        if not sep or not _KEY_ID.match(key_id):
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS entry {position} is not 'id:base64key' with an id of "
                "1-64 letters, digits, '.', '_' or '-'."
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS lists the key id {key_id!r} twice.")
        try:
            key = base64.b64decode(
                encoded.strip().replace("-", "+").replace("_", "/"), validate=True
            )
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS entry {key_id!r}: the key is not valid base64."
            ) from None
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS entry {key_id!r}: the key must be {KEY_BYTES} bytes "
                f"(AES-256), not {len(key)}."
            )
        keys[key_id] = AESGCM(key)
    return _Keyring(current=next(iter(keys)), keys=keys)


def _keyring() -> _Keyring:
    raw = getattr(settings, "ENCRYPTION_KEYS", "") or ""
    if isinstance(raw, list | tuple):
        raw = ",".join(raw)
    ring = _cache.get(raw)
    if ring is None:
        with _cache_lock:
            ring = _cache.get(raw)
            if ring is None:
                ring = _parse(raw)
                _cache.clear()  # only the configuration in force is kept in memory
                _cache[raw] = ring
    return ring


def _header(key_id: str) -> bytes:
    encoded = key_id.encode("ascii")
    return bytes([FORMAT_VERSION, len(encoded)]) + encoded


def _split(token: bytes) -> tuple[bytes, str, bytes, bytes]:
    """(header, key id, nonce, ciphertext) of a token, or DecryptionError."""
    if not isinstance(token, bytes | bytearray | memoryview):
        raise TypeError("token must be bytes")
    token = bytes(token)
    if len(token) < 2 or token[0] != FORMAT_VERSION:
        raise DecryptionError("not a caseledger encryption token")
    end = 2 + token[1]
    if token[1] == 0 or len(token) < end + NONCE_BYTES + 16:
        raise DecryptionError("truncated encryption token")
    try:
        key_id = token[2:end].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError("malformed key id") from None
    return token[:end], key_id, token[end : end + NONCE_BYTES], token[end + NONCE_BYTES :]


def encrypt(plaintext: bytes, *, associated_data: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` with the current key; ``associated_data`` must be given again
    (byte for byte) to decrypt."""
    if not isinstance(plaintext, bytes | bytearray | memoryview):
        raise TypeError("plaintext must be bytes")
    ring = _keyring()
    header = _header(ring.current)
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.keys[ring.current].encrypt(nonce, bytes(plaintext), header + associated_data)
    return header + nonce + sealed


def decrypt(token: bytes, *, associated_data: bytes = b"") -> bytes:
    """Decrypt a token made by :func:`encrypt` with any key still listed in ENCRYPTION_KEYS.

    Raises :class:`DecryptionError` when the key is unknown, the token was altered, or the
    associated data differs."""
    header, key_id, nonce, sealed = _split(token)
    aead = _keyring().keys.get(key_id)
    if aead is None:
        raise DecryptionError("the token's key is not configured")
    try:
        return aead.decrypt(nonce, sealed, header + associated_data)
    except InvalidTag:
        raise DecryptionError("the token does not authenticate") from None


def key_id_of(token: bytes) -> str:
    """The id of the key a token was encrypted with (no decryption; for rotation jobs)."""
    return _split(token)[1]


def current_key_id() -> str:
    return _keyring().current


def reencrypt(token: bytes, *, associated_data: bytes = b"") -> bytes:
    """The token under the current key (unchanged if it already uses it)."""
    if key_id_of(token) == current_key_id():
        return bytes(token)
    return encrypt(decrypt(token, associated_data=associated_data), associated_data=associated_data)


def generate_key_entry(key_id: str) -> str:
    """A new ``id:base64key`` entry for ENCRYPTION_KEYS (for operators; prints nothing)."""
    if not _KEY_ID.match(key_id):
        raise ValueError("key id: 1-64 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode('ascii')}"
