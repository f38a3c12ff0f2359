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


# --- the same bytes, built directly (the write path's encoder) ---------------------------

# One encoder, made once: `json.dumps` with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)
_QUOTE = json.encoder.encode_basestring_ascii
# The document of `canonical_bytes(event_fields(e))`, its keys already in sorted order.
_LEAF = (
    '{"action":%s,"actor":%s,"category":%s,"detail":%s,"id":%s,"office":%s,"outcome":%s,'
    '"purpose":%s,"record":[%s,%s],"request":%s,"role":%s,"subject":%s,"time":"%s","v":%d}'
)


def _json(value: Any) -> str:
    return _QUOTE(value) if isinstance(value, str) else _CANONICAL.encode(value)


def detail_json(detail: Any) -> str:
    """An event's detail as its leaf holds it (compact, sorted keys, ASCII): also valid
    input for the `jsonb` column, so a batch writer encodes it once."""
    return _CANONICAL.encode(detail)


def event_leaf(event: Any, *, time_text: str | None = None, detail_text: str | None = None
               ) -> bytes:
    """`canonical_bytes(event_fields(event))`, byte for byte, without building the document
    and sorting its keys for every event (the ledger's write path encodes every event; this
    is several times cheaper). `time_text` (`format_time(event.time)`) and `detail_text`
    (`detail_json(event.detail)`) may be given when the caller has them already.
    `tests/ledger/test_encoding_fast.py` compares the two over awkward values."""
    subject = event.subject_id
    return (_LEAF % (
        _json(event.action),
        _json(event.actor_id),
        _json(event.data_category),
        detail_json(event.detail) if detail_text is None else detail_text,
        _QUOTE(str(event.uuid)),
        _json(event.office),
        _json(event.outcome),
        _json(event.purpose),
        _json(event.record_type),
        _json(event.record_id),
        _json(event.request_id),
        _json(event.actor_role),
        _QUOTE(str(subject)) if subject else "null",
        format_time(event.time) if time_text is None else time_text,
        ENCODING_VERSION,
    )).encode("ascii")
