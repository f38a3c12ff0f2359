"""Sealing supervision images and templates: encrypted at rest, each bound to its row.

The associated data names what the bytes are and the row they belong to, so a sealed photo
copied to another row (or used as another kind of data) does not decrypt. Services seal when
they write; selectors unseal for the one reader the gate let through. Kept apart from both so
that reads never import writes.
"""

from __future__ import annotations

from typing import Any

from caseledger.core import crypto


def seal(data: bytes, record_id: Any, what: str) -> bytes:
    return crypto.encrypt(data, associated_data=f"{what}:{record_id}".encode())


def unseal(data: bytes, record_id: Any, what: str) -> bytes:
    return crypto.decrypt(bytes(data), associated_data=f"{what}:{record_id}".encode())
