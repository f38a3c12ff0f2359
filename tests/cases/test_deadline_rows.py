"""The kept deadline rows (`cases.deadline_rows`) say what the rules say.

The dashboard reads deadlines from rows written by the case services, not by computing every
case's deadlines: these tests hold the rows to the rules (`deadlines_for_case` over the
case's decisions and status history) after changes through the services and after data
loaded around them, and hold the board read from them to the board computed case by case."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseledger.cases import selectors
from caseledger.cases import services as cases
from caseledger.cases.deadline_rows import DEADLINE_STATUSES, refresh_all
from caseledger.cases.models import Case, Decision, OpenDeadline, StatusChange
from tests.cases.test_deadline_board import _decided
from tests.conftest import context

pytestmark = pytest.mark.django_db

KINDS = ["removal_ordered", "voluntary_departure", "relief_granted", "terminated",
         "appeal_dismissed", "remanded"]


def _expected(case: Case) -> list[tuple[str, object, object]]:
    """The deadlines the rules give the case now, as the rows should hold them."""
    if case.status not in DEADLINE_STATUSES:
        return []
    proceedings = list(case.proceedings.select_related("court").order_by("started_on"))
    found = selectors.open_deadlines(case, proceedings, list(case.status_changes.all()))
    return [(d.rule, d.trigger, d.due) for d in found]


def _kept(case: Case) -> list[tuple[str, object, object]]:
    return [(r.rule, r.trigger, r.due) for r in case.deadline_rows.order_by("id")]


def _random_case(ctx, person, rng: random.Random) -> Case:
    today = timezone.localdate()
    case = cases.open_case(ctx=ctx, person_id=person.pk, case_type="removal",
                           court_code=rng.choice(["NYC", "LOS", "CHI"]),
                           opened_on=today - timedelta(days=500))
    for _ in range(rng.randint(0, 2)):
        oral = rng.random() < 0.6
        decided = today - timedelta(days=rng.randint(0, 150))
        cases.record_decision(
            ctx=ctx, case_id=case.pk, kind=rng.choice(KINDS), decided_on=decided, oral=oral,
            served_on=None if oral else decided + timedelta(days=rng.randint(0, 9)),
        )
    path = rng.choice([[], ["decided"], ["decided", "appealed"], ["decided", "final_order"],
                       ["decided", "appealed", "decided"], ["decided", "departed"],
                       ["decided", "final_order", "closed"]])
    for status in path:
        cases.transition_case(ctx=ctx, case_id=case.pk, to_status=status)
    case.refresh_from_db()
    return case


@pytest.fixture
def many(users, make_person):
    """Thirty cases of officer_east's caseload with random decisions and status paths."""
    ctx = context(users["officer_east"])
    rng = random.Random(6)
    made = [_random_case(ctx, make_person("officer_east", "Ana", f"Rows{i}"), rng)
            for i in range(30)]
    return ctx, made


def test_the_services_keep_each_cases_rows_equal_to_the_rules(many):
    _ctx, made = many
    with_rows = 0
    for case in made:
        assert _kept(case) == _expected(case), case.reference
        with_rows += bool(_kept(case))
    assert with_rows >= 5  # the fixture reaches cases that have deadlines


def _board_case_by_case(ctx, within_days: int = 7):
    """The board as it was computed before the rows: every case in reach, every deadline, each
    judged against today at its court (`as_of`, from the case's own deadlines)."""
    groups, lapsed = [], []
    for case in Case.objects.filter(person__caseload_assignments__officer=ctx.user,
                                    status__in=DEADLINE_STATUSES):
        deadlines = [d for d in selectors.open_deadlines(
            case, list(case.proceedings.select_related("court").order_by("started_on")),
            list(case.status_changes.all())) if d.due is not None]
        due = [(d.due, d.rule) for d in deadlines
               if -selectors.LAPSED_AFTER_DAYS <= d.days_left <= within_days]
        gone = [(d.due, d.rule) for d in deadlines
                if d.days_left < -selectors.LAPSED_AFTER_DAYS]
        if due:
            groups.append((sorted(due)[0][0], case.reference, case.pk, sorted(due)))
        if gone:
            lapsed.append((sorted(gone)[-1][0], case.reference, case.pk, sorted(gone)))
    groups.sort()
    lapsed.sort(reverse=True)
    return ([(pk, [r for _d, r in due]) for _f, _ref, pk, due in groups],
            [(pk, sorted(r for _d, r in gone)) for _l, _ref, pk, gone in lapsed])


def test_the_board_read_from_rows_is_the_board_computed_case_by_case(many):
    ctx, _made = many
    board = selectors.deadline_board(ctx=ctx, show_all=True, within_days=100)
    groups, lapsed = _board_case_by_case(ctx, within_days=100)
    assert len(groups) >= 3 and len(lapsed) >= 1  # the comparison has something to compare
    assert [(g.case.pk, sorted(d.rule for d in g.deadlines)) for g in board.groups] == [
        (pk, sorted(rules)) for pk, rules in groups]
    assert [(g.case.pk, sorted(d.rule for d in g.deadlines)) for g in board.lapsed] == lapsed
    assert (board.total, board.lapsed_total) == (len(groups), len(lapsed))
    shown = selectors.deadline_board(ctx=ctx, within_days=100, shown=2)
    assert [g.case.pk for g in shown.groups] == [pk for pk, _r in groups[:2]]
    assert shown.total == len(groups) and shown.lapsed == []


def test_data_loaded_around_the_services_is_caught_up_by_refresh(many, capsys):
    _ctx, made = many
    decided = next(c for c in made if c.status == "decided")
    Decision.objects.create(proceeding=decided.proceedings.first(), kind="removal_ordered",
                            decided_on=timezone.localdate() - timedelta(days=3))
    closed = next(c for c in made if c.status == "final_order")
    Case.objects.filter(pk=closed.pk).update(status="closed")
    StatusChange.objects.create(case=closed, from_status="final_order", to_status="closed",
                                changed_at=timezone.now())
    decided.refresh_from_db()
    closed.refresh_from_db()
    assert _kept(decided) != _expected(decided) and _kept(closed)  # stale until refreshed

    call_command("deadlines", "refresh", "--quiet")

    assert "deadline row(s) written" in capsys.readouterr().out
    assert _kept(decided) == _expected(decided)
    assert _kept(closed) == []
    for case in made:
        case.refresh_from_db()
        assert _kept(case) == _expected(case)
    assert refresh_all() == OpenDeadline.objects.count()  # idempotent


def test_another_office_sees_no_rows(many, users):
    ctx = context(users["officer_west"])
    assert selectors.deadline_board(ctx=ctx, show_all=True, within_days=100).total == 0
    assert selectors.deadlines_due(ctx=ctx, within_days=100) == []


def test_the_boards_statements_do_not_grow_with_the_cases(users, make_person):
    """Statements of the board's own reads (the ledger's integration of the list event is
    left out: it depends on the size of the log, not of the board)."""
    ctx = context(users["officer_east"])

    def board_reads() -> tuple[int, int, int]:
        with CaptureQueriesContext(connection) as seen:
            board = selectors.deadline_board(ctx=ctx, show_all=True)
        own = [q for q in seen.captured_queries if "ledger_" not in q["sql"]
                and "SAVEPOINT" not in q["sql"]]
        return len(own), len(board.groups), len(board.lapsed)

    def add(count: int) -> None:
        for i in range(count):
            person = make_person("officer_east", "Ana", f"Board{i}{count}")
            _decided(ctx, person, "removal_ordered", 27)  # appeal due in a few days
            _decided(ctx, person, "voluntary_departure", 70)  # bond and appeal lapsed

    add(2)
    few, groups, lapsed = board_reads()
    assert (groups, lapsed) == (4, 2)
    add(6)
    assert board_reads() == (few, 16, 8)


def test_a_large_office_walks_to_the_same_board(many, users, make_person, monkeypatch):
    """A supervisor's board of a large office is read by walking the rows in due order and
    checking the reach a chunk at a time: the same cases, in the same order, as grouping
    the office's rows; another office's cases (here: the west's) never show."""
    from caseledger.cases import selectors as case_selectors
    from caseledger.core import reuse

    west = context(users["officer_west"])
    rng = random.Random(9)
    for i in range(12):
        _random_case(west, make_person("officer_west", "Ana", f"West{i}"), rng)
    ctx = context(users["supervisor_east"])

    def board() -> tuple[list, int, int]:
        found = case_selectors.deadline_board(ctx=ctx, within_days=100, shown=4)
        return [g.case.pk for g in found.groups], found.total, found.lapsed_total

    grouped = board()
    monkeypatch.setattr(reuse, "LARGE", 1)
    monkeypatch.setattr(case_selectors, "WALK_BATCH", 2)
    walked = board()
    assert walked == grouped and len(walked[0]) == 4
    east = {c.pk for c in many[1]}
    assert set(walked[0]) <= east
