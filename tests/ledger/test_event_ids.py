"""Event ids are UUIDv7 carrying the event's time, and a proof finds its event by that time
(one month's partition on PostgreSQL); ids without a time (version 4, written before) are
still found."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from uuid_utils import compat

from caseledger.core import clock
from caseledger.ledger import checkpoints, ids, proofs
from caseledger.ledger.models import Event
from caseledger.ledger.partitions import add_months, ensure_partitions, month_of, partition_name
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event, record_events

pytestmark = pytest.mark.django_db(transaction=False)


def event() -> Event:
    return record_event(actor=SYSTEM, action="read", category="identity", purpose="caseload",
                        record_type="people.person", record_id="r")


def signed() -> None:
    integrate_pending()
    checkpoints.sign_checkpoint(force=True)


def proof_of(event_id: object) -> tuple[int, dict]:
    response = Client().get(f"/api/v1/ledger/proofs/inclusion?event={event_id}")
    return response.status_code, response.json()


# --- the ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("when", [
    datetime(2026, 12, 6, 16, 41, 7, 123456, tzinfo=UTC),
    datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),  # the last microsecond of a month
    datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
])
def test_an_id_carries_its_time_to_the_millisecond(when):
    made = ids.new_event_id(when)
    assert made.version == 7 and made.variant == uuid.RFC_4122
    low, high = ids.time_range(made)
    assert low <= when < high
    assert high - low <= 2 * ids.SLACK + timedelta(milliseconds=1)
    truncated = when.replace(microsecond=when.microsecond // 1000 * 1000)
    assert (made.int >> 80) == (truncated - ids.EPOCH) // timedelta(milliseconds=1)


def test_ids_of_one_moment_differ_and_later_moments_sort_after():
    when = datetime(2026, 12, 6, 12, tzinfo=UTC)
    same = {ids.new_event_id(when) for _ in range(1000)}
    assert len(same) == 1000
    later = ids.new_event_id(when + timedelta(milliseconds=1))
    assert all(later.int > u.int for u in same)


@pytest.mark.parametrize("given", [
    uuid.UUID("3e3ec1ef-ccdd-4e49-a7ce-5ec366855391"),
    uuid.UUID(int=99),
    uuid.UUID("ffffffff-ffff-7fff-bfff-ffffffffffff"),  # version 7, a time past the year 9999
])
def test_an_id_without_a_usable_time_gives_no_range(given):
    assert ids.time_range(given) is None


# --- what the ledger writes ------------------------------------------------------------------


def test_written_events_have_ids_of_their_time(monkeypatch):
    when = clock.now() - timedelta(days=3, microseconds=417)
    monkeypatch.setattr("caseledger.core.clock.now", lambda: when)
    single = event()
    batch = record_events([{"actor": SYSTEM, "action": "read", "category": "identity",
                            "purpose": "caseload", "record_type": "people.person",
                            "record_id": str(k)} for k in range(3)])
    stored = list(Event.objects.filter(uuid__in=[single.uuid, *batch]))
    assert len(stored) == 4
    for e in stored:
        low, high = ids.time_range(e.uuid)
        assert e.time == when and low <= e.time < high
        assert f'"id":"{e.uuid}"'.encode() in bytes(e.leaf)


# --- the proof look-up -----------------------------------------------------------------------


def test_the_proof_of_a_new_event_is_found_by_its_time():
    e = event()
    signed()
    with CaptureQueriesContext(connection) as queries:
        found = proofs.locate(e.uuid)
    assert found is not None and bytes(found[1]) == bytes(e.leaf_hash)
    assert len(queries) == 1 and '"time" >=' in queries[0]["sql"]
    status, body = proof_of(e.uuid)
    assert status == 200 and body["leaf_index"] == found[0]


@pytest.mark.postgres_only
def test_on_postgresql_the_look_up_reads_one_months_partition(monkeypatch):
    months = [add_months(month_of(clock.now()), -k) for k in range(3)]
    ensure_partitions(since=months[-1])
    written = {}
    for month in months:
        moment = datetime(month.year, month.month, 10, 9, tzinfo=UTC)
        monkeypatch.setattr("caseledger.core.clock.now", lambda moment=moment: moment)
        written[month] = event()
    monkeypatch.undo()
    signed()
    for month, e in written.items():
        rows = Event.objects.filter(uuid=e.uuid)
        low, high = ids.time_range(e.uuid)
        plan = rows.filter(time__gte=low, time__lt=high).explain()
        scanned = {name for name in _partitions_named(plan)}
        assert scanned == {partition_name(month)}, plan
        assert proof_of(e.uuid)[0] == 200


def _partitions_named(plan: str) -> set[str]:
    import re

    return set(re.findall(r"\bon (ledger_event_(?:y\d{4}m\d{2}|default))\b", plan))


def test_an_event_with_a_version_4_id_is_still_found(monkeypatch):
    """Events written before the ids carried a time keep their random ids."""
    monkeypatch.setattr("caseledger.ledger.services.ids.new_event_id", lambda when: uuid.uuid4())
    old = event()
    monkeypatch.undo()
    assert old.uuid.version == 4
    signed()
    status, body = proof_of(old.uuid)
    assert status == 200
    assert proofs.locate(old.uuid) == (body["leaf_index"], bytes(old.leaf_hash))


def test_an_id_whose_time_is_not_the_events_is_still_found(monkeypatch):
    """A version-7 id made at another time (a clock that moved between id and row, a restored
    copy): the narrow look-up misses and the wide one finds it."""
    elsewhere = compat.uuid7(timestamp=int(datetime(2001, 9, 9, tzinfo=UTC).timestamp()))
    monkeypatch.setattr("caseledger.ledger.services.ids.new_event_id", lambda when: elsewhere)
    e = event()
    monkeypatch.undo()
    signed()
    with CaptureQueriesContext(connection) as queries:
        found = proofs.locate(e.uuid)
    assert len(queries) == 2 and found is not None
    assert proof_of(e.uuid)[0] == 200


@pytest.mark.parametrize("given", [
    "ffffffff-ffff-7fff-bfff-ffffffffffff",  # a time past the year 9999
    "now",  # a well-formed version-7 id of now that no event has
    "3e3ec1ef-ccdd-4e49-a7ce-5ec366855391",
])
def test_unknown_ids_are_a_clean_404(given):
    event()
    signed()
    status, _body = proof_of(str(compat.uuid7()) if given == "now" else given)
    assert status == 404


def test_the_benchmark_data_set_makes_the_same_ids():
    """The data set at scale writes its events' ids itself (seeded); they carry their time as
    the ledger's do, so the proof benchmark measures the look-up that production makes."""
    import random

    from bench.dataset import _uuid7_text

    rng = random.Random(7)
    for _ in range(500):
        when = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**13))
        millis = (when - ids.EPOCH) // timedelta(milliseconds=1)
        made = uuid.UUID(_uuid7_text(millis, rng.getrandbits(128)))
        low, high = ids.time_range(made)
        assert made.version == 7 and low <= when < high
        assert made.int >> 80 == ids.new_event_id(when).int >> 80
