"""The dashboard's "Deadlines overdue or due this week": open obligations only (a window that
closed more than LAPSED_AFTER_DAYS ago is not one), one entry per case with its next deadline
first, the soonest case at the top, at most a page unless all are asked for; and hearings
whose time has passed never read "Scheduled"."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from caseledger.cases import selectors
from caseledger.cases import services as cases
from caseledger.cases.selectors import LAPSED_AFTER_DAYS, deadline_board, deadlines_due
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db


def _decided(ctx, person, kind: str, days_ago: int):
    case = cases.open_case(ctx=ctx, person_id=person.pk, case_type="removal",
                           court_code="NYC",
                           opened_on=timezone.localdate() - timedelta(days=days_ago + 100))
    cases.record_decision(ctx=ctx, case_id=case.pk, kind=kind,
                          decided_on=timezone.localdate() - timedelta(days=days_ago))
    cases.transition_case(ctx=ctx, case_id=case.pk, to_status="decided")
    return case


#: Wednesday 9 December 2026, 10:00 in New York. The cases' due dates fall on weekdays and
#: holidays as the clock's day puts them, and their days left count from New York's day:
#: a fixed moment keeps both the same whenever the test runs.
BOARD_AT = datetime(2026, 12, 9, 15, tzinfo=UTC)


@pytest.fixture
def world(clock_from, users, make_person):
    """Five cases of officer_east's caseload:
    - appeal: an appeal window that closes in a few days (due this week);
    - departure: a departure date 4 days past (overdue, open), its bond and appeal lapsed;
    - both: an appeal deadline past (open) and a departure date in 2 days: one entry;
    - old: a 2023-style appeal deadline, long lapsed: not an obligation;
    - later: an appeal window that closes in weeks: not due this week."""
    clock_from(BOARD_AT)
    ctx = context(users["officer_east"])
    made = {}
    for key, family, kind, days_ago in [
        ("appeal", "Appeal", "removal_ordered", 26),
        ("departure", "Departure", "voluntary_departure", 64),
        ("both", "Both", "voluntary_departure", 58),
        ("old", "Old", "removal_ordered", 400),
        ("later", "Later", "removal_ordered", 5),
    ]:
        person = make_person("officer_east", "Ana", family)
        made[key] = _decided(ctx, person, kind, days_ago)
    return ctx, made


def _rules(group) -> list[str]:
    return [d.rule for d in group.deadlines]


def test_open_obligations_only_grouped_by_case_next_first(world):
    ctx, made = world
    board = deadline_board(ctx=ctx)
    by_case = {g.case.pk: g for g in board.groups}
    assert set(by_case) == {made["appeal"].pk, made["departure"].pk, made["both"].pk}
    assert _rules(by_case[made["departure"].pk]) == ["vd-post"]  # bond and appeal lapsed
    both = by_case[made["both"].pk]
    assert _rules(both) == ["bia-appeal", "vd-post"]  # the overdue one first, then the next
    assert both.next.state == "overdue" and both.later[0].days_left == 2
    # The case whose next deadline comes first is at the top.
    dues = [g.next.due for g in board.groups]
    assert dues == sorted(dues)
    assert [g.case.pk for g in board.groups] == [made["both"].pk, made["departure"].pk,
                                                 made["appeal"].pk]
    assert (board.total, board.more) == (3, 0)
    for group in board.groups:  # nothing shown has lapsed
        assert all((d.due - timezone.localdate()).days >= -LAPSED_AFTER_DAYS
                   for d in group.deadlines)


def test_lapsed_deadlines_are_counted_and_listed_only_when_all_are_asked_for(world):
    ctx, made = world
    board = deadline_board(ctx=ctx)
    assert board.lapsed == [] and board.lapsed_total == 3  # departure, both (bond), old
    everything = deadline_board(ctx=ctx, show_all=True)
    lapsed = {g.case.pk: _rules(g) for g in everything.lapsed}
    assert lapsed[made["old"].pk] == ["bia-appeal"]
    assert sorted(lapsed[made["departure"].pk]) == ["bia-appeal", "vd-bond"]
    assert made["later"].pk not in lapsed


def test_at_most_a_page_unless_all_are_asked_for(world, events_since):
    ctx, made = world
    mark = last_event_id()
    board = deadline_board(ctx=ctx, shown=2)
    assert len(board.groups) == 2 and (board.total, board.more) == (3, 1)
    [event] = events_since(mark)
    # The list names the persons it returned, and no one else.
    assert (event.action, event.data_category) == ("list", "case")
    assert sorted(event.detail["subjects"]) == sorted(
        str(g.case.person_id) for g in board.groups)
    assert event.detail["shown"] == 2 and event.detail["total"] == 3
    assert len(deadline_board(ctx=ctx, shown=2, show_all=True).groups) == 3


def test_another_office_sees_none_of_them(world, users):
    board = deadline_board(ctx=context(users["officer_west"]), show_all=True)
    assert (board.groups, board.lapsed, board.total, board.lapsed_total) == ([], [], 0, 0)


def test_the_flat_list_leaves_lapsed_deadlines_out(world):
    ctx, made = world
    found = {(c.pk, d.rule) for c, d in deadlines_due(ctx=ctx)}
    assert found == {(made["appeal"].pk, "bia-appeal"), (made["departure"].pk, "vd-post"),
                     (made["both"].pk, "bia-appeal"), (made["both"].pk, "vd-post")}


def _page(client, url: str = "/persons/") -> str:
    return html.unescape(client.get(url).content.decode())


def test_the_dashboard_shows_one_row_per_case_and_offers_the_rest(world, users, web_client,
                                                                  monkeypatch):
    ctx, made = world
    officer = web_client(users["officer_east"])
    page = _page(officer)
    section = re.search(r"<section[^>]*data-deadlines.*?</section>", page, re.S).group(0)
    for key in ("appeal", "departure", "both"):
        assert section.count(f'data-case="{made[key].pk}"') == 1
    assert made["old"].reference not in section and made["later"].reference not in section
    assert 'data-later="vd-post"' in section  # the second deadline of one case, under it
    assert "passed more than 30 days ago, nothing recorded since: 3." in section
    assert "data-show-all" not in section  # all of them fit

    monkeypatch.setattr(selectors, "DEADLINE_CASES_SHOWN", 2)
    section = re.search(r"<section[^>]*data-deadlines.*?</section>", _page(officer), re.S).group(0)
    assert section.count("data-case=") == 2
    assert "Show all cases with a deadline (3)" in section

    everything = _page(officer, "/persons/?deadlines=all")
    section = re.search(r"<section[^>]*data-deadlines.*?</section>", everything, re.S).group(0)
    assert section.count("data-case=") == 3
    assert made["old"].reference in section  # among the lapsed, with what to do about them
    assert "Passed more than 30 days ago, nothing recorded since" in section


def test_a_dashboard_without_deadlines_has_no_deadline_section(users, web_client, make_person):
    page = _page(web_client(users["officer_east"]))
    assert "data-deadlines" not in page


def test_a_past_hearing_never_reads_scheduled_on_staff_pages(users, web_client, make_person):
    ctx = context(users["officer_east"])
    person = make_person("officer_east", "Ana", "Ramirez")
    case = cases.open_case(ctx=ctx, person_id=person.pk, case_type="removal",
                           court_code="NYC")
    past = cases.schedule_hearing(ctx=ctx, case_id=case.pk, calendar="master",
                                  scheduled_at=timezone.now() - timedelta(days=700),
                                  allow_past=True)
    cases.schedule_hearing(ctx=ctx, case_id=case.pk, calendar="individual",
                           scheduled_at=timezone.now() + timedelta(days=30))
    officer = web_client(users["officer_east"])
    page = _page(officer, f"/cases/{case.pk}/")
    statuses = re.findall(r'data-hearing-status="scheduled">([^<]+)</td>', page)
    assert statuses == ["Awaiting its outcome", "Scheduled"]  # oldest first
    hearing = _page(officer, f"/cases/{case.pk}/hearings/{past.pk}/")
    assert "Awaiting its outcome" in hearing
    assert not re.search(r">\s*Scheduled\s*<", hearing)


def test_show_all_lists_at_most_a_bounded_number_of_each_and_says_so(
        world, users, web_client, events_since, monkeypatch):
    """An office of 10^6 persons has ~10^5 cases with a lapsed deadline: "show all" lists the
    first DEADLINE_CASES_ALL of each list (soonest due, latest lapsed), names only those in
    its event, and says how many there are."""
    ctx, made = world
    monkeypatch.setattr(selectors, "DEADLINE_CASES_ALL", 2)
    mark = last_event_id()
    board = deadline_board(ctx=ctx, show_all=True)
    assert [g.case.pk for g in board.groups] == [made["both"].pk, made["departure"].pk]
    assert (board.total, board.unlisted, board.more) == (3, 1, 0)
    assert len(board.lapsed) == 2 and (board.lapsed_total, board.lapsed_unlisted) == (3, 1)
    assert made["old"].pk not in {g.case.pk for g in board.lapsed}  # lapsed longest ago
    [event] = events_since(mark)
    assert sorted(event.detail["subjects"]) == sorted(
        {str(g.case.person_id) for g in board.groups + board.lapsed})
    short = deadline_board(ctx=ctx)
    assert (short.unlisted, short.lapsed_unlisted) == (0, 0)

    page = _page(web_client(users["officer_east"]), "/persons/?deadlines=all")
    section = re.search(r"<section[^>]*data-deadlines.*?</section>", page, re.S).group(0)
    assert section.count("data-case=") == 2 and "data-show-all" not in section
    assert "The 2 cases whose next deadline comes first are listed, of 3." in section
    assert "The 2 cases whose deadline passed most recently are listed, of 3." in section
