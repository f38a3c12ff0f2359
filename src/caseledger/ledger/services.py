"""Writing to the ledger: append an event, integrate committed events into the chain."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from caseledger.core import clock
from caseledger.core.errors import LedgerUnavailable

from . import encoding, tree, vocabulary
from .models import Entry, Event, EventSubject, Node, Outcome

log = logging.getLogger(__name__)

# Key of the PostgreSQL advisory lock that elects the single integrator.
INTEGRATOR_LOCK_KEY = 0x6361_7365_6C65  # "casele"


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
    record_type = vocabulary.check(action=action, category=category, purpose=purpose,
                                   outcome=outcome, record_type=record_type)
    subject_ids = sorted({str(uuid.UUID(str(s))) for s in subjects or ()})
    if task:
        detail = {**(detail or {}), "task": task}
    if subject_ids:
        detail = {**(detail or {}), "subjects": subject_ids}
    event = Event(
        uuid=uuid.uuid4(),
        time=clock.now(),
        actor_id=actor.id,
        actor_role=actor.role,
        office=actor.office,
        action=action,
        subject_id=uuid.UUID(str(subject_id)) if subject_id else None,
        record_type=record_type,
        record_id=str(record_id),
        data_category=category,
        purpose=purpose,
        outcome=outcome,
        request_id=request_id[:64],
        detail=_clean_detail(detail),
    )
    event.leaf = encoding.canonical_bytes(encoding.event_fields(event))
    event.leaf_hash = encoding.leaf_hash(event.leaf)
    event.save()
    if subject_ids:
        EventSubject.objects.bulk_create(
            EventSubject(event=event, subject_id=uuid.UUID(sid)) for sid in subject_ids
        )
    if settings.LEDGER_INTEGRATE_INLINE:
        _integrate(limit=None)
    return event


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


def _pending(limit: int | None) -> Iterable[Event]:
    """Committed events without an entry, in insertion order.

    Inline (SQLite) every event is placed in the transaction that wrote it and writers are
    serialised, so everything up to the last placed event is placed: look only above it.
    Out of line (PostgreSQL) a transaction may commit an older id late, so look for any event
    without an entry (an anti-join on the unique entry.event_id index).
    """
    if settings.LEDGER_INTEGRATE_INLINE:
        last = Entry.objects.order_by("-position").values_list("event_id", flat=True).first()
        qs = Event.objects.filter(id__gt=last or 0)
    else:
        qs = Event.objects.filter(entry__isnull=True)
    qs = qs.order_by("id").only("id", "leaf_hash")
    return qs[:limit] if limit else qs


def _integrate(limit: int | None) -> int:
    last = Entry.objects.order_by("-position").only("position", "chain_hash").first()
    first = position = last.position + 1 if last else 0
    previous = bytes(last.chain_hash) if last else encoding.CHAIN_START
    now = clock.now()
    entries: list[Entry] = []
    for event in _pending(limit):
        leaf_digest = bytes(event.leaf_hash)
        previous = encoding.chain_hash(previous, leaf_digest)
        entries.append(
            Entry(
                position=position,
                event_id=event.id,
                leaf_hash=leaf_digest,
                chain_hash=previous,
                integrated_at=now,
            )
        )
        position += 1
    if entries:
        Entry.objects.bulk_create(entries)
        nodes = tree.completed_nodes(first, [bytes(e.leaf_hash) for e in entries],
                                     tree.NodeStore())
        Node.objects.bulk_create(nodes)
    return len(entries)


def integrate_pending(*, batch_size: int = 5000) -> int:
    """Give committed events their place in the chain; returns how many were placed.

    Only one integrator runs at a time (on PostgreSQL a transaction-scoped advisory lock
    elects it; a second caller returns 0 at once). Pending events are those without an
    entry, taken in insertion order, so an event whose transaction committed late is placed
    when it becomes visible: never skipped, and the unique event column makes placing it
    twice impossible.
    """
    total = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [INTEGRATOR_LOCK_KEY])
                    if not cursor.fetchone()[0]:
                        return total
            placed = _integrate(limit=batch_size)
        total += placed
        if placed < batch_size:
            return total
