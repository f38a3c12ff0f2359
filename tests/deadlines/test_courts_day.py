"""A deadline is due on a day at its court, so "today" is the court's day too: in New York's
evening UTC has already moved on to tomorrow, and a deadline due tomorrow in New York must not
read as due today (nor one due today as overdue). The clock is set to fixed moments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from caseledger.cases import services
from caseledger.cases.models import Court, OpenDeadline
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


def _appealable_case(users, make_person, court: str, decided: date = DECIDED):
    ctx = context(users["officer_east"])
    case = services.open_case(ctx=ctx, person_id=make_person("officer_east").pk,
                              case_type="removal", court_code=court,
                              opened_on=date(2026, 6, 1))
    services.record_decision(ctx=ctx, case_id=case.pk, kind="removal_ordered",
                             decided_on=decided)
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


def test_the_week_of_the_board_is_each_courts_week(clock_from, users, make_person):
    """At 05:30 UTC on 9 December an appeal due Wednesday 16 December is 7 days away in New
    York (00:30 on the 9th), so due this week, and 8 days away in Los Angeles (21:30 on the
    8th), so not yet: the window that picks the rows and the state shown agree."""
    clock_from(datetime(2026, 12, 9, 5, 30, tzinfo=UTC))
    ctx, east = _appealable_case(users, make_person, "NYC", decided=date(2026, 11, 16))
    _, west = _appealable_case(users, make_person, "LOS", decided=date(2026, 11, 16))
    assert {row.case_id: (row.due, row.time_zone) for row in OpenDeadline.objects.all()} == {
        east.pk: (date(2026, 12, 16), "America/New_York"),
        west.pk: (date(2026, 12, 16), "America/Los_Angeles"),
    }
    assert [(case.pk, d.days_left, d.state) for case, d in deadlines_due(ctx=ctx)] == [
        (east.pk, 7, "due_soon")]
    board = deadline_board(ctx=ctx)
    assert [(g.case.pk, g.next.days_left) for g in board.groups] == [(east.pk, 7)]
    assert board.total == 1


@pytest.mark.parametrize(("moment", "court", "opened_on"), [
    (EVENING, "NYC", date(2026, 12, 7)),  # UTC's date is the 8th
    # 01:00 on the 8th in New York, still 22:00 on the 7th in Los Angeles
    (datetime(2026, 12, 8, 6, 0, tzinfo=UTC), "NYC", date(2026, 12, 8)),
    (datetime(2026, 12, 8, 6, 0, tzinfo=UTC), "LOS", date(2026, 12, 7)),
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


@pytest.mark.parametrize(("first", "second"), [("LOS", "NYC"), ("NYC", "LOS")])
def test_of_two_cases_opened_on_one_day_the_one_entered_last_names_the_court(
        users, make_person, first, second):
    """The EOIR-33 is due at the court of the most recent open case; of two opened the same
    day, the one entered last is the more recent (`MOST_RECENT_FIRST`, which the planner and
    the departure service order by too)."""
    from caseledger.cases.selectors import address_change_deadline

    ctx = context(users["officer_east"])
    person = make_person("officer_east")
    for code in (first, second):
        services.open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code=code,
                           opened_on=date(2026, 6, 1))
    court = Court.objects.get(code=second)
    _due, named = address_change_deadline(person.pk, date(2026, 12, 1))
    assert named == court.name



def test_the_boards_counts_are_kept_for_one_set_of_court_days(clock_from):
    """The counts a large office reuses name every court's day: when Chicago's day turns (at
    06:00 UTC in December) while the set of days stays {7th, 8th}, they are counted anew;
    the name fits the 64 characters kept."""
    from caseledger.cases.selectors import _courts_today, _days_key

    clock_from(datetime(2026, 12, 8, 5, 30, tzinfo=UTC))
    before = _days_key(_courts_today())
    clock_from(datetime(2026, 12, 8, 6, 30, tzinfo=UTC))
    after = _days_key(_courts_today())
    # Chicago, Denver, Los Angeles, New York, Phoenix, Honolulu: days after the 7th
    assert (before, after) == ("2026-12-07:000100", "2026-12-07:100100")
    assert len(after) <= 64
