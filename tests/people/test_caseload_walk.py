"""An office's caseload page read by walking the upcoming hearings in time order
(`people.selectors._ranked_by_walk`) is the page of ranking every person."""

from __future__ import annotations

import random

import pytest

from caseledger.people import selectors
from caseledger.people.selectors import list_caseload
from tests.conftest import context
from tests.people.test_caseload import _hearing

pytestmark = pytest.mark.django_db


def test_walking_by_hearing_time_gives_the_pages_of_ranking_everyone(users, make_person,
                                                                     monkeypatch):
    """Random hearings (shared times, past ones, several per person, none): every page of a
    supervisor's office walked equals the page ranked whole, persons without one last."""
    rng = random.Random(14)
    base = rng.randint(3, 9)
    for i in range(23):
        officer = rng.choice(["officer_east", "officer_east2"])
        person = make_person(officer, f"Walk{i}", "Test")
        case = None
        for _ in range(rng.randint(0, 3)):
            days = rng.choice([base, base, -2, rng.randint(1, 40)])
            case = _hearing(users[officer], person, days=days, case=case)
    ctx = context(users["supervisor_east"])

    def pages() -> list[list[tuple]]:
        return [[(r.person.pk, r.next_hearing, r.open_cases)
                 for r in list_caseload(ctx=ctx, page=n, per_page=4)[0]] for n in range(1, 8)]

    ranked = pages()
    monkeypatch.setattr(selectors, "WALK_ABOVE", 0)
    monkeypatch.setattr(selectors, "WALK_BATCH", 3)
    assert pages() == ranked
    assert sum(len(p) for p in ranked) == 23 and ranked[-1] == []


def test_a_large_offices_page_costs_the_same_statements_at_twice_the_size(
        users, make_person, web_client, monkeypatch):
    """The supervisor's caseload page of a large office (walked, counts reused): as many
    statements for 60 persons as for 30 (the ledger's own integration left out: it depends on
    the log, not the page)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from caseledger.core import reuse

    monkeypatch.setattr(reuse, "LARGE", 1)
    monkeypatch.setattr(selectors, "WALK_ABOVE", 0)
    client = web_client(users["supervisor_east"])
    officer = users["officer_east"]

    def grow(n: int) -> None:
        for i in range(n):
            _hearing(officer, make_person("officer_east", f"Big{i}", "Office"), days=3 + i % 9)

    def statements() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get("/persons/").status_code == 200
        return len([q for q in seen.captured_queries if "ledger_" not in q["sql"]
                    and "SAVEPOINT" not in q["sql"]])

    grow(30)
    client.get("/persons/")  # the session's first request fills its caches
    few = statements()
    grow(30)
    assert statements() == few
