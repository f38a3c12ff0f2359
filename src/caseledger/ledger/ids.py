"""Public event ids: UUIDv7 whose 48-bit timestamp is the event's time, to the millisecond.

An event is found by its public id when a proof is asked for. On PostgreSQL the ledger is
partitioned by month on `time`, and the id alone would make the look-up probe every month's
UUID index (one probe per month kept). An id that carries its time names its month: the look-up
adds a narrow time range and the planner prunes to one partition.

Events written before these ids (version 4, random) carry no time; they are still found, by the
probe of every partition. The id reveals nothing the leaf does not: the event's time is a field
of its leaf, and everyone shown an event's id is shown its time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from uuid_utils import compat

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The id's timestamp is the event's time truncated to the millisecond; the look-up range is a
# little wider, so that it never depends on rounding.
SLACK = timedelta(seconds=1)


def new_event_id(when: datetime) -> uuid.UUID:
    """A version-7 id whose timestamp is `when` (aware), with 74 random bits."""
    micros = (when - EPOCH) // timedelta(microseconds=1)
    seconds, micro = divmod(micros, 1_000_000)
    return compat.uuid7(timestamp=seconds, nanos=micro * 1000)


def now_event_id() -> uuid.UUID:
    """The model's default (events are written by `services`, which pass their time)."""
    return new_event_id(datetime.now(UTC))


def time_range(event_id: uuid.UUID) -> tuple[datetime, datetime] | None:
    """The range of times an event with this id was written in; None for an id that carries no
    time (not version 7)."""
    if event_id.version != 7 or event_id.variant != uuid.RFC_4122:
        return None
    millis = event_id.int >> 80
    try:
        moment = EPOCH + timedelta(milliseconds=millis)
        return moment - SLACK, moment + SLACK
    except OverflowError:  # a forged id past the year 9999
        return None
