"""A deadline is due on a day at its court, so "today" is the court's day too: in New York's
evening UTC has already moved on to tomorrow, and a deadline due tomorrow in New York must not
read as due today (nor one due today as overdue). The clock is set to fixed moments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from caseledger.cases import services
from caseledger.cases.selectors import deadline_board, deadlines_due, get_case
from tests.conftest import context

pytestmark = pytest.mark.django_db

#: Monday 7 December 2026, 20:30 in New York and 17:30 in Los Angeles; Tuesday 8 in UTC.
EVENING = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
#: Tuesday 8 December 2026, 10:00 in New York; the same day everywhere here.
MORNING = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
#: An oral removal order of Sunday 8 November: the appeal is due 30 days on, Tuesday 8 December.
DECIDED = date(2026, 11, 8)
APPEAL_DUE = date(2026, 12, 8)


def _appealable_case(users, make_person, court: str):
    ctx = context(users["officer_east"])
    case = services.open_case(ctx=ctx, person_id=make_person("officer_east").pk,
                              case_type="removal", court_code=court,
                              opened_on=date(2026, 6, 1))
    services.record_decision(ctx=ctx, case_id=case.pk, kind="removal_ordered",
                             decided_on=DECIDED)
    services.transition_case(ctx=ctx, case_id=case.pk, to_status="decided")
    return ctx, case


@pytest.mark.parametrize(("moment", "as_of", "days_left", "state"), [
    (EVENING, date(2026, 12, 7), 1, "due_soon"),  # UTC's date would say 0: due today
    (MORNING, date(2026, 12, 8), 0, "due_soon"),
    (datetime(2026, 12, 9, 4, 59, tzinfo=UTC), date(2026, 12, 8), 0, "due_soon"),  # 23:59 EST
    (datetime(2026, 12, 9, 5, 0, tzinfo=UTC), date(2026, 12, 9), -1, "overdue"),  # midnight
])
def test_a_cases_deadline_counts_from_the_courts_day(clock_from, users, make_person, moment,
                                                     as_of, days_left, state):
    clock_from(moment)
    ctx, case = _appealable_case(users, make_person, "NYC")
    [appeal] = get_case(ctx=ctx, case_id=case.pk).deadlines
    assert (appeal.rule, appeal.due) == ("bia-appeal", APPEAL_DUE)
    assert (appeal.as_of, appeal.days_left, appeal.state) == (as_of, days_left, state)


def test_the_boards_deadlines_count_from_each_courts_day(clock_from, users, make_person):
    """At 05:30 UTC on 9 December New York's day is the 9th (00:30) and its appeal, due the
    8th, is overdue; in Los Angeles it is still the 8th (21:30) and the same appeal is due
    today. One list, each deadline judged at its own court."""
    clock_from(datetime(2026, 12, 9, 5, 30, tzinfo=UTC))
    ctx, east = _appealable_case(users, make_person, "NYC")
    _, west = _appealable_case(users, make_person, "LOS")
    found = {case.pk: deadline for case, deadline in deadlines_due(ctx=ctx)}
    assert {pk: (d.as_of, d.days_left, d.state) for pk, d in found.items()} == {
        east.pk: (date(2026, 12, 9), -1, "overdue"),
        west.pk: (date(2026, 12, 8), 0, "due_soon"),
    }
    board = {group.case.pk: group.next for group in deadline_board(ctx=ctx).groups}
    assert {pk: (d.days_left, d.state) for pk, d in board.items()} == {
        east.pk: (-1, "overdue"), west.pk: (0, "due_soon")}


@pytest.mark.parametrize(("moment", "court", "opened_on"), [
    (EVENING, "NYC", date(2026, 12, 7)),  # UTC's date is the 8th
    (EVENING, "LOS", date(2026, 12, 7)),
    (MORNING, "NYC", date(2026, 12, 8)),
])
def test_a_case_opened_without_a_date_opens_on_the_courts_day(clock_from, users, make_person,
                                                              moment, court, opened_on):
    clock_from(moment)
    case = services.open_case(ctx=context(users["officer_east"]),
                              person_id=make_person("officer_east").pk, case_type="removal",
                              court_code=court)
    case.refresh_from_db()
    assert case.opened_on == opened_on


@pytest.mark.parametrize(("los_reference", "nyc_reference", "court"), [
    ("CL-2026-AAAAAA", "CL-2026-BBBBBB", "Los Angeles Immigration Court"),
    ("CL-2026-BBBBBB", "CL-2026-AAAAAA", "New York - Broadway Immigration Court"),
])
def test_two_cases_opened_on_one_day_give_one_court_for_an_address_change(
        users, make_person, los_reference, nyc_reference, court):
    """The EOIR-33 is due at the court of the most recent open case; two opened the same day
    are told apart by reference, so every page and reminder names the same court."""
    from caseledger.cases.selectors import address_change_deadline

    ctx = context(users["officer_east"])
    person = make_person("officer_east")
    for code, reference in (("LOS", los_reference), ("NYC", nyc_reference)):
        services.open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code=code,
                           opened_on=date(2026, 6, 1), reference=reference)
    _due, named = address_change_deadline(person.pk, date(2026, 12, 1))
    assert named == court
