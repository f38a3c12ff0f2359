"""Writing to the ledger: append an event, integrate committed events into the chain.

The write path is lean on purpose: an audited write is the hot path of every read and change.
`record_event` checks the vocabulary (cached per code combination), encodes the leaf, and
inserts the row with one prepared `INSERT … RETURNING id` through the connection's cursor,
without the model's `save()` machinery; `record_events` writes the events of one transaction
(an import's chunk) with one COPY on PostgreSQL. Both build the leaf with the same code, so
an event has the same bytes whichever way it was written.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, Model, OuterRef
from psycopg.types.json import Jsonb

from caseledger.core import clock, copying
from caseledger.core.errors import LedgerUnavailable

from . import encoding, ids, tree, vocabulary
from .models import Entry, Event, EventSubject, Node, Outcome

log = logging.getLogger(__name__)

# Key of the PostgreSQL advisory lock that elects the single integrator.
INTEGRATOR_LOCK_KEY = 0x6361_7365_6C65  # "casele"

# The columns an event is inserted with (the key is made by the database), in the order of
# `_Fields` followed by the leaf and its hash.
EVENT_COLUMNS = (
    "uuid",
    "time",
    "actor_id",
    "actor_role",
    "office",
    "action",
    "subject_id",
    "record_type",
    "record_id",
    "data_category",
    "purpose",
    "outcome",
    "request_id",
    "detail",
    "leaf",
    "leaf_hash",
)


@dataclass(frozen=True)
class Actor:
    """Who acted, as the ledger records it (ids and codes, no names)."""

    id: str
    role: str
    office: str

    @classmethod
    def of(cls, user: Any) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return SYSTEM
        office = getattr(user, "office", None)
        return cls(
            id=str(user.pk), role=getattr(user, "role", ""), office=office.code if office else ""
        )


SYSTEM = Actor(id="", role="system", office="")


def _clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """Detail may hold ids, codes, counts and field names: str, int, bool, None and lists."""
    if not detail:
        return {}
    allowed = (str, int, bool, type(None))

    def check(value: Any) -> Any:
        if isinstance(value, allowed):
            return value
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [check(v) for v in value]
        if isinstance(value, Mapping):
            return {str(k): check(v) for k, v in value.items()}
        raise TypeError(f"ledger detail may not hold {type(value).__name__}")

    return {str(k): check(v) for k, v in detail.items()}


class _Fields(NamedTuple):
    """An event's fields, under the attribute names `encoding.event_fields` reads."""

    uuid: uuid.UUID
    time: datetime
    actor_id: str
    actor_role: str
    office: str
    action: str
    subject_id: uuid.UUID | None
    record_type: str
    record_id: str
    data_category: str
    purpose: str
    outcome: str
    request_id: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What a caller says of one event: the keyword arguments of `record_event` (and each
    row of `record_events`). Internal; callers keep passing keywords."""

    actor: Actor
    action: str
    category: str
    purpose: str
    outcome: str = Outcome.ALLOWED
    subject_id: uuid.UUID | str | None = None
    record_type: str = ""
    record_id: str | uuid.UUID = ""
    request_id: str = ""
    detail: Mapping[str, Any] | None = None
    task: str = ""
    subjects: Iterable[uuid.UUID | str] | None = None


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An event ready to insert: its fields, leaf bytes and leaf hash, the persons a search
    or list returned (the `EventSubject` rows), and its detail as JSON text (the leaf's own
    encoding of it, sent as the `jsonb` column on PostgreSQL instead of encoding it again)."""

    fields: _Fields
    leaf: bytes
    leaf_hash: bytes
    subjects: tuple[str, ...]
    detail_text: str

    def values(self) -> tuple[Any, ...]:
        """The values of `EVENT_COLUMNS`, as Python objects."""
        return (*self.fields, self.leaf, self.leaf_hash)

    def pg_values(self) -> tuple[Any, ...]:
        """The values of `EVENT_COLUMNS` for psycopg (the detail as its JSON text)."""
        return (*self.fields[:-1], Jsonb(self.detail_text, dumps=str), self.leaf,
                self.leaf_hash)


@functools.lru_cache(maxsize=4096)
def _record_type(action: str, category: str, purpose: str, outcome: str, record_type: str) -> str:
    """`vocabulary.check`, remembered per combination of codes (a refusal is not remembered:
    it raises every time)."""
    return vocabulary.check(action=action, category=category, purpose=purpose,
                            outcome=outcome, record_type=record_type)


def _prepare(spec: EventSpec, *, when: datetime | None = None, time_text: str | None = None
             ) -> _Prepared:
    """Check the codes and build the event's leaf: the one place an event's bytes are made.
    `when` (default: now) and `time_text` (its `encoding.format_time`) are given by a batch
    writer, whose events share the time of their transaction."""
    record_type = _record_type(spec.action, spec.category, spec.purpose, spec.outcome,
                               spec.record_type)
    subjects = spec.subjects
    subject_ids = tuple(sorted({str(uuid.UUID(str(s))) for s in subjects})) if subjects else ()
    detail = spec.detail
    if spec.task:
        detail = {**(detail or {}), "task": spec.task}
    if subject_ids:
        detail = {**(detail or {}), "subjects": list(subject_ids)}
    subject_id = spec.subject_id
    if subject_id and not isinstance(subject_id, uuid.UUID):
        subject_id = uuid.UUID(str(subject_id))
    actor = spec.actor
    when = clock.now() if when is None else when
    fields = _Fields(
        ids.new_event_id(when),
        when,
        actor.id,
        actor.role,
        actor.office,
        spec.action,
        subject_id or None,
        record_type,
        str(spec.record_id),
        spec.category,
        spec.purpose,
        spec.outcome,
        spec.request_id[:64],
        _clean_detail(detail),
    )
    detail_text = encoding.detail_json(fields.detail)
    leaf = encoding.event_leaf(fields, time_text=time_text, detail_text=detail_text)
    return _Prepared(fields, leaf, encoding.leaf_hash(leaf), subject_ids, detail_text)


# --- inserting rows without the model machinery (`core.copying`) ---------------------------


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(c) for c in columns)


def _db_values(model: type[Model], columns: tuple[str, ...], values: Sequence[Any]) -> list[Any]:
    """Values as the database takes them in a parameterised statement (what `save()` would
    send: hex UUIDs and text times on SQLite, JSON adapted, and so on)."""
    fields = copying.model_fields(model, columns)
    return [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]


@functools.cache
def _insert_event_sql(vendor: str) -> str:
    placeholders = ", ".join(["%s"] * len(EVENT_COLUMNS))
    return (
        f"INSERT INTO {connection.ops.quote_name(Event._meta.db_table)} "  # noqa: S608
        f"({_quoted(EVENT_COLUMNS)}) VALUES ({placeholders}) RETURNING "
        f"{connection.ops.quote_name('id')}"
    )


def _bound_cursor() -> Any:
    """On PostgreSQL, a cursor that sends parameters apart from the statement (server-side
    binding), so that psycopg prepares the event insert once per connection (after
    `prepare_threshold` uses; `OPTIONS["prepare_threshold"] = None` turns that off behind a
    pooler in transaction mode) instead of quoting 16 values into SQL text every time. It is
    wrapped like every Django cursor: execute wrappers, query logging and error mapping apply.
    Elsewhere, the connection's ordinary cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)
    return connection.make_cursor(raw)


def _insert_event(prepared: _Prepared) -> int:
    """One event row, one statement; returns its key."""
    if connection.vendor == "postgresql":  # psycopg adapts UUIDs, times and bytes itself
        params = list(prepared.pg_values())
    else:
        params = _db_values(Event, EVENT_COLUMNS, prepared.values())
    with _bound_cursor() as cursor:
        cursor.execute(_insert_event_sql(connection.vendor), params)
        return cursor.fetchone()[0]


def _insert_events(prepared: list[_Prepared]) -> list[int] | None:
    """Many event rows, in order, by one COPY on PostgreSQL (elsewhere one statement each).
    Returns their keys when some event has subject rows to point at them (on PostgreSQL the
    keys are then taken from the table's sequence first); otherwise the database gives
    the keys as it inserts, in row order, and None is returned."""
    if connection.vendor != "postgresql":
        return [_insert_event(p) for p in prepared]
    if not any(p.subjects for p in prepared):
        copying.copy_model_rows(Event, EVENT_COLUMNS, (p.pg_values() for p in prepared))
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Event._meta.db_table, len(prepared)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    copying.copy_model_rows(Event, ("id", *EVENT_COLUMNS),
                            ((i, *p.pg_values()) for i, p in zip(ids, prepared, strict=True)))
    return ids


def _insert_subjects(rows: list[tuple[int, str, datetime]]) -> None:
    """One row per (event key, person returned, the event's time)."""
    if rows:
        copying.copy_model_rows(EventSubject, ("event_id", "subject_id", "event_time"),
                                ((event_id, uuid.UUID(s), when) for event_id, s, when in rows))


# --- the public ways to write events -------------------------------------------------------


def record_event(
    *,
    actor: Actor,
    action: str,
    category: str,
    purpose: str,
    outcome: str = Outcome.ALLOWED,
    subject_id: uuid.UUID | str | None = None,
    record_type: str = "",
    record_id: str | uuid.UUID = "",
    request_id: str = "",
    detail: Mapping[str, Any] | None = None,
    task: str = "",
    subjects: Iterable[uuid.UUID | str] | None = None,
) -> Event:
    """Append one event. Call inside the transaction of the change it describes.

    `task` (named by the server, e.g. `disclosure:<id>`) is kept in the detail as `task`.
    `subjects` are the persons a search or list returned: kept in the leaf (`detail.subjects`,
    sorted) and as one `EventSubject` row each, so each of them can find the event."""
    prepared = _prepare(EventSpec(
        actor=actor, action=action, category=category, purpose=purpose, outcome=outcome,
        subject_id=subject_id, record_type=record_type, record_id=record_id,
        request_id=request_id, detail=detail, task=task, subjects=subjects,
    ))
    event_id = _insert_event(prepared)
    _insert_subjects([(event_id, s, prepared.fields.time) for s in prepared.subjects])
    if settings.LEDGER_INTEGRATE_INLINE:
        _integrate(limit=None)
    return Event.from_db(connection.alias, None, [event_id, *prepared.values()])


def record_events(rows: Iterable[Mapping[str, Any]]) -> list[uuid.UUID]:
    """Append many events of one transaction (each its own leaf, checked and encoded exactly as
    `record_event` does it) in one COPY on PostgreSQL; returns their public ids, in order.

    Each row holds the keyword arguments of `record_event`. The events share one time, that
    of the transaction writing them. Refused outside a transaction, like `record_write`: the
    events describe a change and commit with it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_events must run inside the transaction of the change")
    specs = [EventSpec(**row) for row in rows]
    if not specs:
        return []
    when = clock.now()
    time_text = encoding.format_time(when)
    prepared = [_prepare(spec, when=when, time_text=time_text) for spec in specs]
    ids = _insert_events(prepared)
    if ids is not None:
        _insert_subjects([(i, s, p.fields.time) for i, p in zip(ids, prepared, strict=True)
                          for s in p.subjects])
    if settings.LEDGER_INTEGRATE_INLINE:
        _integrate(limit=None)
    return [p.fields.uuid for p in prepared]


def record_write(**kwargs: Any) -> Event:
    """The event of a change, in the change's own transaction (refused outside one: an event
    that could commit without its change, or the change without it, would be a lie)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_write must run inside the transaction of the change")
    return record_event(**kwargs)


def record_refusal(**kwargs: Any) -> Event:
    """The event of a refused access or change, in a transaction of its own (fails closed like
    a read). Call it outside the transaction of what was refused, so it survives its rollback."""
    kwargs.setdefault("outcome", Outcome.DENIED)
    return record_read(**kwargs)


def record_read(**kwargs: Any) -> Event:
    """Record a read before its data is returned; if that fails, the read fails (closed)."""
    try:
        with transaction.atomic():
            return record_event(**kwargs)
    except DatabaseError as exc:
        log.exception("ledger write failed; refusing the read")
        raise LedgerUnavailable(
            "This access could not be recorded, so it was not allowed. Try again shortly."
        ) from exc


# --- integration: entries (the chain) and Merkle nodes -------------------------------------


def _pending(limit: int | None, after: int | None) -> list[tuple[int, bytes]]:
    """(id, leaf hash) of committed events without an entry, in insertion order.

    Inline (SQLite) every event is placed in the transaction that wrote it and writers are
    serialised, so everything up to the last placed event is placed: look only above it.
    Out of line (PostgreSQL) a transaction may commit an older id late, so look for any event
    without an entry (NOT EXISTS on the unique entry.event_id index); `after` narrows both
    sides to the ids above the last one placed, for the later batches of one run, so each of
    them reads only the new ids (an event that commits late below it is found by the next
    run, whose first batch looks at every id).
    """
    if settings.LEDGER_INTEGRATE_INLINE:
        last = Entry.objects.order_by("-position").values_list("event_id", flat=True).first()
        qs = Event.objects.filter(id__gt=last or 0)
    else:
        floor = after or 0
        placed = Entry.objects.filter(event_id=OuterRef("id"), event_id__gt=floor)
        qs = Event.objects.filter(id__gt=floor).filter(~Exists(placed))
    qs = qs.order_by("id").values_list("id", "leaf_hash")
    return [(i, bytes(h)) for i, h in (qs[:limit] if limit else qs)]


def _frontier(position: int) -> list[tuple[int, int]]:
    """The complete subtrees left of `position` (one per set bit): the stored nodes that
    appending at `position` combines with."""
    return [(level, (position >> level) - 1) for level in range(position.bit_length())
            if (position >> level) & 1]


def _integrate(limit: int | None, after: int | None = None) -> tuple[int, int | None]:
    """Place a batch of pending events; returns how many, and the last event id placed."""
    last = Entry.objects.order_by("-position").values_list("position", "chain_hash").first()
    first = position = last[0] + 1 if last else 0
    previous = bytes(last[1]) if last else encoding.CHAIN_START
    pending = _pending(limit, after)
    if not pending:
        return 0, None
    now = clock.now()
    entries = []
    for event_id, leaf_digest in pending:
        previous = encoding.chain_hash(previous, leaf_digest)
        entries.append((position, event_id, leaf_digest, previous, now))
        position += 1
    copying.copy_model_rows(
        Entry, ("position", "event_id", "leaf_hash", "chain_hash", "integrated_at"), entries
    )
    store = tree.NodeStore()
    store.prefetch(_frontier(first))
    copying.copy_model_rows(
        Node, ("level", "index", "hash"),
        tree.completed_nodes(first, [digest for _, digest in pending], store),
    )
    return len(entries), pending[-1][0]


def integrate_pending(*, batch_size: int = 5000) -> int:
    """Give committed events their place in the chain; returns how many were placed.

    Only one integrator runs at a time (on PostgreSQL a transaction-scoped advisory lock
    elects it; a second caller returns 0 at once). Pending events are those without an
    entry, taken in insertion order, so an event whose transaction committed late is placed
    when it becomes visible: never skipped, and the unique event column makes placing it
    twice impossible. Entries and nodes are written in bulk (COPY on PostgreSQL).
    """
    total = 0
    after: int | None = None
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [INTEGRATOR_LOCK_KEY])
                    if not cursor.fetchone()[0]:
                        return total
            placed, last_id = _integrate(limit=batch_size, after=after)
        total += placed
        if placed < batch_size:
            return total
        after = last_id
