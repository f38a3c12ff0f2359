"""`encoding.event_leaf` (the write path's encoder) gives exactly the bytes of
`canonical_bytes(event_fields(event))`, whatever the fields hold."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

from caseledger.ledger import encoding
from caseledger.ledger.services import _Fields

STRINGS = ["", "plain", "quote\" back\\slash /", "tab\tnew\nline\r\x00\x1f\x7f",
           "Олександр", "李伟", "محمد", "🙂 emoji", "\u2028\u2029", "<script>&amp;"]


def _detail(rng: random.Random, depth: int = 0) -> dict:
    detail: dict = {}
    for _ in range(rng.randrange(5)):
        key = rng.choice(STRINGS) + str(rng.randrange(3))
        kind = rng.randrange(6 if depth < 2 else 4)
        makers = [
            lambda: rng.choice(STRINGS), lambda: rng.randrange(-10**12, 10**12),
            lambda: rng.random() < 0.5, lambda: None,
            lambda: [rng.choice(STRINGS), rng.randrange(100)], lambda: _detail(rng, depth + 1),
        ]
        detail[key] = makers[kind]()
    return detail


def _fields(rng: random.Random) -> _Fields:
    zone = timezone(timedelta(hours=rng.randrange(-12, 13)))
    return _Fields(
        uuid.UUID(int=rng.getrandbits(128)),
        datetime(2020, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.getrandbits(48)),
        rng.choice(STRINGS), rng.choice(STRINGS), rng.choice(STRINGS), rng.choice(STRINGS),
        rng.choice([None, uuid.UUID(int=rng.getrandbits(128))]),
        rng.choice(STRINGS), rng.choice(STRINGS), rng.choice(STRINGS), rng.choice(STRINGS),
        rng.choice(STRINGS), rng.choice(STRINGS), _detail(rng),
    )._replace(time=datetime(2021, 3, 4, 5, 6, 7, rng.randrange(10**6), tzinfo=zone))


def test_event_leaf_is_canonical_bytes():
    rng = random.Random(14)
    for _ in range(2000):
        fields = _fields(rng)
        expected = encoding.canonical_bytes(encoding.event_fields(fields))
        assert encoding.event_leaf(fields) == expected
        assert encoding.event_leaf(
            fields, time_text=encoding.format_time(fields.time),
            detail_text=encoding.detail_json(fields.detail)) == expected


def test_non_string_codes_are_encoded_as_json_would():
    """A field that is not text (never written so, but possible in an old row) still
    gives the canonical bytes."""
    fields = _fields(random.Random(1))._replace(actor_id=42, record_id=None, office=True)
    assert encoding.event_leaf(fields) == encoding.canonical_bytes(
        encoding.event_fields(fields))


def test_detail_json_is_the_leafs_own_detail():
    detail = {"b": [1, "ü"], "a": {"z": None, "y": True}}
    leaf = encoding.canonical_bytes({"detail": detail})
    assert encoding.detail_json(detail).encode("ascii") in leaf
