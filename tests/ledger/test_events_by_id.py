"""`ledger.models.events_by_id`: the verifier's and the export's batch read gives exactly the
events asked for, whether it reads them as an id range (dense) or by list (sparse)."""

from __future__ import annotations

import pytest

from caseledger.ledger.models import Event, events_by_id
from caseledger.ledger.services import SYSTEM, record_event

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[int]:
    for i in range(n):
        record_event(actor=SYSTEM, action="read", category="identity",
                     purpose="caseload", record_id=str(i))
    return list(Event.objects.order_by("id").values_list("id", flat=True))[-n:]


def test_a_dense_batch_with_holes_gives_only_the_ids_asked_for():
    ids = _events(12)
    asked = ids[:5] + ids[6:11]  # one id of the range not asked for, and one past it
    found = events_by_id(asked)
    assert sorted(found) == sorted(asked)
    assert all(found[i].id == i for i in asked)


def test_a_sparse_batch_and_unknown_ids():
    ids = _events(12)
    asked = [ids[0], ids[-1], ids[-1] + 10_000]  # far apart, and one that does not exist
    assert sorted(events_by_id(asked)) == [ids[0], ids[-1]]
    assert events_by_id([]) == {}
