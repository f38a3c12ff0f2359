"""Canonical byte encoding of an event and the hashes built on it.

The encoding is compact JSON with sorted keys and ASCII escapes, so that the same event
always gives the same bytes on every platform. It is versioned (`"v": 1`): a change of
format is a new version, never a silent reinterpretation of old leaves.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

ENCODING_VERSION = 1
CHAIN_START = bytes(32)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    document = {"v": ENCODING_VERSION, **fields}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def chain_hash(previous: bytes, leaf_digest: bytes) -> bytes:
    return hashlib.sha256(previous + leaf_digest).digest()


def event_fields(event: Any) -> dict[str, Any]:
    """The fields of an Event that the leaf commits to."""
    return {
        "id": str(event.uuid),
        "time": format_time(event.time),
        "actor": event.actor_id,
        "role": event.actor_role,
        "office": event.office,
        "action": event.action,
        "subject": str(event.subject_id) if event.subject_id else None,
        "record": [event.record_type, event.record_id],
        "category": event.data_category,
        "purpose": event.purpose,
        "outcome": event.outcome,
        "request": event.request_id,
        "detail": event.detail,
    }
