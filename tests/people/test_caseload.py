"""The caseload list: who sees which persons, pagination, soonest hearing first.

Every test runs twice: with the whole caseload ranked in one statement (a caseload) and
walked by hearing time in small batches (how an office above `WALK_ABOVE` persons is read)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.cases.services import open_case, schedule_hearing, transition_case
from caseledger.ledger.models import Event
from caseledger.people import selectors
from caseledger.people.selectors import list_caseload
from tests.conftest import context, last_event_id


@pytest.fixture(autouse=True, params=["ranked", "walked"])
def reading(request, monkeypatch) -> str:
    if request.param == "walked":
        monkeypatch.setattr(selectors, "WALK_ABOVE", 0)
        monkeypatch.setattr(selectors, "WALK_BATCH", 2)  # small batches, doubling
    return request.param


def _names(rows) -> list[str]:
    return [str(row.person) for row in rows]


def _hearing(user, person, *, days: float, case=None):
    ctx = context(user)
    case = case or open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code="NEW")
    schedule_hearing(
        ctx=ctx,
        case_id=case.pk,
        calendar="master",
        scheduled_at=timezone.now() + timedelta(days=days),
        allow_past=days < 0,
    )
    return case


@pytest.fixture
def east_and_west(make_person):
    return {
        "mine": [
            make_person("officer_east", "Ana", "Ramirez"),
            make_person("officer_east", "Luis", "Fernandez"),
        ],
        "colleague": [make_person("officer_east2", "Jean", "Pierre")],
        "west": [make_person("officer_west", "Maria", "Gonzalez")],
    }


def test_officer_sees_only_their_own_caseload(users, east_and_west):
    rows, total = list_caseload(ctx=context(users["officer_east"]))
    assert total == 2
    assert {row.person.pk for row in rows} == {p.pk for p in east_and_west["mine"]}


def test_supervisor_sees_the_whole_office_and_nothing_else(users, east_and_west):
    rows, total = list_caseload(ctx=context(users["supervisor_east"]))
    expected = {p.pk for p in east_and_west["mine"] + east_and_west["colleague"]}
    assert total == 3
    assert {row.person.pk for row in rows} == expected
    rows, total = list_caseload(ctx=context(users["supervisor_west"]))
    assert total == 1 and rows[0].person.pk == east_and_west["west"][0].pk


@pytest.mark.parametrize("role", ["admin", "participant", "representative", "privacy"])
def test_roles_without_a_caseload_see_nobody(users, east_and_west, role):
    assert list_caseload(ctx=context(users[role])) == ([], 0)


def test_each_listing_is_one_event_with_the_ids_shown(users, east_and_west):
    mark = last_event_id()
    rows, _total = list_caseload(ctx=context(users["officer_east"]), per_page=1)
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.data_category, event.outcome) == ("list", "identity", "allowed")
    shown = str(rows[0].person.pk)
    assert event.detail == {"results": [shown], "page": 1, "subjects": [shown]}
    # One subject row per person shown, so that person finds the listing in their history.
    assert [str(s) for s in event.subject_rows.values_list("subject_id", flat=True)] == [shown]


def test_pagination(users, make_person):
    people = [make_person("officer_east", f"Person{i}", "Test") for i in range(5)]
    ctx = context(users["officer_east"])
    seen = []
    for page, size in ((1, 2), (2, 2), (3, 1)):
        rows, total = list_caseload(ctx=ctx, page=page, per_page=2)
        assert total == 5
        assert len(rows) == size
        seen += [row.person.pk for row in rows]
    assert sorted(seen) == sorted(p.pk for p in people)
    assert len(set(seen)) == 5
    assert list_caseload(ctx=ctx, page=4, per_page=2) == ([], 5)
    first, _ = list_caseload(ctx=ctx, page=1, per_page=2)
    clamped, _ = list_caseload(ctx=ctx, page=0, per_page=2)
    assert [r.person.pk for r in clamped] == [r.person.pk for r in first]


def test_soonest_upcoming_hearing_first_and_persons_without_one_last(users, make_person):
    officer = users["officer_east"]
    later = make_person("officer_east", "Later", "Hearing")
    none = make_person("officer_east", "No", "Hearing")
    soon = make_person("officer_east", "Soon", "Hearing")
    past_only = make_person("officer_east", "Past", "Hearing")
    _hearing(officer, later, days=30)
    _hearing(officer, soon, days=2)
    _hearing(officer, past_only, days=-3)
    rows, total = list_caseload(ctx=context(officer))
    assert total == 4
    assert _names(rows)[:2] == ["Soon Hearing", "Later Hearing"]
    assert set(_names(rows)[2:]) == {"No Hearing", "Past Hearing"}
    by_name = {str(r.person): r for r in rows}
    assert by_name["Past Hearing"].next_hearing is None  # a past hearing is not "next"
    assert by_name["No Hearing"].next_hearing is None
    assert by_name["Soon Hearing"].next_hearing > timezone.now()
    assert none.pk in {r.person.pk for r in rows}


def test_next_hearing_is_the_earliest_upcoming_across_cases(users, make_person):
    officer = users["officer_east"]
    person = make_person("officer_east", "Two", "Cases")
    other = make_person("officer_east", "One", "Case")
    case = _hearing(officer, person, days=20)
    _hearing(officer, person, days=10, case=case)
    _hearing(officer, person, days=5)  # a second case
    _hearing(officer, other, days=7)
    rows, _ = list_caseload(ctx=context(officer))
    assert _names(rows) == ["Two Cases", "One Case"]
    delta = rows[0].next_hearing - timezone.now()
    assert timedelta(days=4) < delta < timedelta(days=6)
    assert rows[0].open_cases == 2
    assert rows[1].open_cases == 1


def test_closed_cases_are_not_counted_as_open(users, make_person):
    officer = users["officer_east"]
    person = make_person("officer_east")
    ctx = context(officer)
    case = open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code="NEW")
    open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code="NEW")
    transition_case(ctx=ctx, case_id=case.pk, to_status="closed", reason="duplicate")
    rows, _ = list_caseload(ctx=ctx)
    assert rows[0].open_cases == 1

