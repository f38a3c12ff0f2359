"""Sealing supervision images and templates: encrypted at rest, each bound to its row.

The associated data names what the bytes are and the row they belong to, so a sealed photo
copied to another row (or used as another kind of data) does not decrypt. Services seal when
they write; selectors unseal for the one reader the gate let through. Kept apart from both so
that reads never import writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from caseledger.core import crypto


def seal(data: bytes, record_id: Any, what: str) -> bytes:
    return crypto.encrypt(data, associated_data=f"{what}:{record_id}".encode())


def unseal(data: bytes, record_id: Any, what: str) -> bytes:
    return crypto.decrypt(bytes(data), associated_data=f"{what}:{record_id}".encode())


def pack_frames(frames: Sequence[bytes]) -> bytes:
    """Several frames as one byte string to seal: each frame's length (4 bytes, big-endian),
    then its bytes."""
    return b"".join(len(f).to_bytes(4, "big") + bytes(f) for f in frames)


def unpack_frames(data: bytes) -> list[bytes]:
    """The frames of `pack_frames` (a truncated tail is left out)."""
    frames, at = [], 0
    while at + 4 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if at + 4 + size > len(data):
            break
        frames.append(bytes(data[at + 4 : at + 4 + size]))
        at += 4 + size
    return frames
