"""The lean write path: `record_event` inserts without `save()`, `record_events` writes the
events of one transaction in one go (COPY on PostgreSQL). Each event is still its own leaf,
with the bytes `ledger.encoding` gives its fields, and the ledger verifies."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from caseledger.ledger import encoding
from caseledger.ledger.models import Entry, Event, EventSubject
from caseledger.ledger.services import SYSTEM, Actor, integrate_pending, record_event, record_events
from caseledger.ledger.verify import verify_ledger
from tests.conftest import last_event_id

pytestmark = pytest.mark.django_db

ACTOR = Actor(id="42", role="case_officer", office="east")


def _row(i: int, **extra: object) -> dict[str, object]:
    return {"actor": ACTOR, "action": "import", "category": "identity", "purpose": "caseload",
            "subject_id": uuid.UUID(int=i + 1), "record_type": "people.person",
            "record_id": uuid.UUID(int=i + 1), "request_id": "import-test",
            "detail": {"line": i + 2, "kind": "persons"}, **extra}


def test_each_event_is_its_own_leaf_in_row_order():
    mark = last_event_id()
    with transaction.atomic():
        ids = record_events([_row(i) for i in range(7)])

    events = list(Event.objects.filter(id__gt=mark).order_by("id"))
    assert [e.uuid for e in events] == ids
    assert [e.detail["line"] for e in events] == list(range(2, 9))
    for event in events:
        assert bytes(event.leaf) == encoding.canonical_bytes(encoding.event_fields(event))
        assert bytes(event.leaf_hash) == encoding.leaf_hash(bytes(event.leaf))
        assert (event.actor_id, event.actor_role, event.office) == ("42", "case_officer", "east")
    integrate_pending()
    assert Entry.objects.filter(event__in=events).count() == 7
    assert verify_ledger().ok


class _Undo(Exception):
    pass


def test_the_same_event_has_the_same_bytes_either_way(monkeypatch):
    """One event, with the same id and time, written by `record_events` (then rolled back)
    and by `record_event`: the same leaf."""
    monkeypatch.setattr("caseledger.ledger.services.ids.new_event_id",
                        lambda when: uuid.UUID(int=99))
    from caseledger.core import clock

    when = clock.now()
    monkeypatch.setattr("caseledger.ledger.services.clock.now", lambda: when)
    leaves = []
    with pytest.raises(_Undo), transaction.atomic():
        [written] = record_events([_row(0)])
        leaves.append(bytes(Event.objects.get(uuid=written).leaf))
        raise _Undo
    single = record_event(**_row(0))
    leaves.append(bytes(Event.objects.get(pk=single.pk).leaf))
    assert leaves[0] == leaves[1]
    assert b'"id":"00000000-0000-0000-0000-000000000063"' in leaves[0]


def test_subjects_become_rows_and_the_leaf_names_them():
    found = [uuid.UUID(int=5), uuid.UUID(int=3)]
    with transaction.atomic():
        [search, _other] = record_events([
            {"actor": ACTOR, "action": "search", "category": "identity", "purpose": "caseload",
             "subjects": found},
            _row(1),
        ])
    event = Event.objects.get(uuid=search)
    assert event.detail["subjects"] == sorted(str(s) for s in found)
    assert set(EventSubject.objects.filter(event=event).values_list("subject_id", flat=True)) \
        == set(found)
    integrate_pending()
    assert verify_ledger().ok


def test_a_bad_code_anywhere_writes_none_of_them():
    mark = last_event_id()
    with transaction.atomic(), pytest.raises(ValueError, match="not a ledger action"):
        record_events([_row(0), _row(1, action="peek")])
    assert not Event.objects.filter(id__gt=mark).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record_events([_row(0)])
    assert not Event.objects.exists()


def test_nothing_to_write_is_nothing():
    with transaction.atomic():
        assert record_events([]) == []


def test_record_event_returns_the_stored_row_and_it_cannot_be_changed():
    event = record_event(actor=SYSTEM, action="read", category="identity", purpose="caseload",
                         record_id="r1", detail={"n": 1})
    stored = Event.objects.get(pk=event.pk)
    assert (stored.uuid, stored.time, bytes(stored.leaf), stored.detail) == (
        event.uuid, event.time, event.leaf, event.detail)
    with pytest.raises(TypeError, match="append-only"):
        event.save()


def test_integration_in_small_batches_places_every_event_once_in_order():
    with transaction.atomic():
        record_events([_row(i) for i in range(23)])
    integrate_pending(batch_size=5)
    integrate_pending(batch_size=5)
    entries = list(Entry.objects.order_by("position").values_list("position", "event_id"))
    assert [p for p, _ in entries] == list(range(len(entries)))
    assert [e for _, e in entries] == sorted(e for _, e in entries)
    assert len(entries) == Event.objects.count()
    assert verify_ledger().ok
