"""Planning many hearings at once (`plan_hearings`, as `notices plan-all` runs it): chunk by
chunk, a fixed number of statements per chunk, and the same plan as one hearing at a time —
idempotent, a move or a cancellation made behind the planner re-plans, a postponement
alerts the officer once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.notices.conftest import LA

from caseledger.cases.models import Hearing, HearingStatus
from caseledger.notices import planner
from caseledger.notices.models import Alert, AlertKind, Reminder, ReminderStatus
from caseledger.notices.planner import plan_for_hearing, plan_hearings


def plan(hearings: list[Hearing], **kwargs):
    return plan_hearings(Hearing.objects.filter(pk__in=[h.pk for h in hearings])
                         .order_by("scheduled_at"), **kwargs)


def snapshot() -> set[tuple]:
    """What is planned, without ids or creation times."""
    return set(Reminder.objects.values_list("obligation_id", "kind", "status", "due_at",
                                            "obligation_at", "previous_at", "last_error"))


@pytest.fixture
def unplanned(make_hearing):
    """Seven hearings 10 to 40 days ahead, with no reminders yet."""
    def make(n: int = 7) -> list[Hearing]:
        hearings = [make_hearing(days=10 + 5 * i, hour=9 + i % 5) for i in range(n)]
        Reminder.objects.all().delete()
        return hearings

    return make


def test_a_chunked_run_plans_what_one_hearing_at_a_time_plans(notice_settings, unplanned):
    hearings = unplanned()
    now = timezone.now()
    for hearing in hearings:
        plan_for_hearing(hearing, now=now)
    one_by_one = snapshot()
    Reminder.objects.all().delete()
    for chunk in (1, 3, 900):  # chunk boundaries inside, at and beyond the run
        result = plan(hearings, chunk=chunk, now=now)
        assert (result.obligations, result.created) == (7, 28)
        assert snapshot() == one_by_one
        Reminder.objects.all().delete()


def test_planning_again_changes_nothing(notice_settings, unplanned):
    hearings = unplanned()
    first = plan(hearings, chunk=3)
    planned = {(r.pk, r.row_version, r.status) for r in Reminder.objects.all()}
    again = plan(hearings, chunk=3)
    assert first.created == 28
    assert again.as_dict() == {"obligations": 7, "created": 0, "superseded": 0, "cancelled": 0}
    assert {(r.pk, r.row_version, r.status) for r in Reminder.objects.all()} == planned


def test_a_move_made_behind_the_planner_is_replanned(notice_settings, unplanned):
    hearings = unplanned()
    plan(hearings, chunk=3)
    moved = hearings[4]
    Hearing.objects.filter(pk=moved.pk).update(scheduled_at=F("scheduled_at") + timedelta(days=7),
                                               row_version=F("row_version") + 1)
    result = plan(hearings, chunk=3)
    assert (result.superseded, result.created, result.cancelled) == (4, 4, 0)
    new_time = Hearing.objects.get(pk=moved.pk).scheduled_at
    rows = Reminder.objects.filter(obligation_id=str(moved.pk))
    old = rows.exclude(obligation_at=new_time)
    assert {(r.status, r.last_error) for r in old} == {(ReminderStatus.SUPERSEDED,
                                                        "obligation_moved")}
    # nothing had gone out: a first notice of the new time, not a "moved" one
    assert sorted(r.kind for r in rows.filter(obligation_at=new_time)) == [
        "1d", "3d", "7d", "scheduled"]
    assert plan(hearings, chunk=3).created == 0


def test_a_cancellation_made_behind_the_planner_retires_and_tells(notice_settings, unplanned):
    hearings = unplanned()
    plan(hearings, chunk=2)
    gone = hearings[1]
    Hearing.objects.filter(pk=gone.pk).update(status=HearingStatus.CANCELLED)
    result = plan(hearings, chunk=2)
    assert (result.cancelled, result.created, result.superseded) == (4, 1, 0)
    rows = Reminder.objects.filter(obligation_id=str(gone.pk))
    assert {(r.kind, r.status) for r in rows.filter(status=ReminderStatus.PLANNED)} == {
        ("cancelled", ReminderStatus.PLANNED)}
    assert {r.last_error for r in rows.exclude(kind="cancelled")} == {"obligation_cancelled"}
    assert plan(hearings, chunk=2).as_dict()["cancelled"] == 0


def test_a_postponement_alerts_the_officer_once(notice_settings, unplanned, officer):
    hearings = unplanned(3)
    plan(hearings)
    Hearing.objects.filter(pk=hearings[0].pk).update(status=HearingStatus.ADJOURNED)
    plan(hearings)
    plan(hearings)
    postponed = Reminder.objects.get(obligation_id=str(hearings[0].pk), kind="postponed")
    alert = Alert.objects.get(kind=AlertKind.HEARING_DATE_UNKNOWN)
    assert (alert.user, alert.reminder, alert.person_id) == (officer, postponed,
                                                              postponed.person_id)


def test_a_reminder_changed_since_it_was_read_is_left_alone(notice_settings, unplanned):
    """The version read is checked row by row, also when retirements are written together."""
    hearings = unplanned(2)
    plan(hearings)
    rows = list(Reminder.objects.filter(obligation_id=str(hearings[0].pk),
                                        kind__in=["7d", "3d"]))
    touched = rows[0]
    Reminder.objects.filter(pk=touched.pk).update(row_version=F("row_version") + 1,
                                                  status=ReminderStatus.RETRYING)
    changed = planner._retire_rows(rows, ReminderStatus.SUPERSEDED, "obligation_moved")
    assert changed == len(rows) - 1
    touched.refresh_from_db()
    assert touched.status == ReminderStatus.RETRYING
    assert {r.status for r in Reminder.objects.filter(pk__in=[r.pk for r in rows[1:]])} == {
        ReminderStatus.SUPERSEDED}


def test_a_concurrent_planner_s_reminders_are_not_doubled(notice_settings, unplanned):
    """Rows another planner wrote between this one's read and write collide with the unique
    constraint: the chunk's bulk write is undone and the rest are written one by one."""
    hearings = unplanned(2)
    plan(hearings[:1])
    keep = snapshot()
    existing = planner._existing
    result = None
    try:
        planner._existing = lambda kind, ids: {}  # as if read before the other run wrote
        result = plan(hearings)
    finally:
        planner._existing = existing
    # the first hearing's announcement has no unique key and is written again; its 7/3/1-day
    # reminders are refused; the second hearing's four are written
    assert result.created == 1 + 4
    assert keep <= snapshot()
    assert Reminder.objects.filter(obligation_id=str(hearings[0].pk),
                                   kind__in=["7d", "3d", "1d"],
                                   status=ReminderStatus.PLANNED).count() == 3


def statements(hearings: list[Hearing], chunk: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        plan(hearings, chunk=chunk)
    return len(captured.captured_queries)


def test_statements_per_chunk_do_not_grow_with_the_hearings(notice_settings, unplanned):
    hearings = unplanned(8)
    few = statements(hearings[:2], chunk=2)
    Reminder.objects.all().delete()
    many = statements(hearings, chunk=8)
    assert many == few
    Reminder.objects.all().delete()
    two_chunks = statements(hearings, chunk=4)
    Reminder.objects.all().delete()
    one_chunk = statements(hearings[:4], chunk=4)
    assert 0 < two_chunks - one_chunk < one_chunk  # the second chunk adds its own few
    # the idempotent pass: no writes, still a fixed number of statements per chunk
    plan(hearings, chunk=8)
    assert statements(hearings, chunk=8) == statements(hearings[:2], chunk=2) < few


def test_the_statistics_step_runs_once_on_postgresql_and_never_elsewhere(
        notice_settings, unplanned, monkeypatch):
    hearings = unplanned(4)
    monkeypatch.setattr(planner, "ANALYZE_AFTER", 1)
    monkeypatch.setattr(planner, "_estimated_reminders", lambda: 0.0)  # as if empty
    with CaptureQueriesContext(connection) as captured:
        result = plan(hearings, chunk=1)
    analyses = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("ANALYZE")]
    assert result.created == 16
    assert analyses == (['ANALYZE "notices_reminder"'] if connection.vendor == "postgresql"
                        else [])


# --- deadlines and check-in windows, as `plan_upcoming` plans them in chunks -----------------
#: Wednesday 9 December 2026, 10:00 in Los Angeles (the cases' court). Which deadlines are
#: still ahead depends on the weekday and the hour: a bond is due 5 business days after the
#: grant, at 17:00 court time, so a grant 5 days before a Friday (a Sunday) has its bond due
#: that Friday, already past on the Friday evening.
PLANNED_AT = datetime(2026, 12, 9, 18, tzinfo=UTC)


@pytest.fixture
def planned_at(clock_from):
    """The clock at `PLANNED_AT`, set before anything is written."""
    return clock_from(PLANNED_AT)


@pytest.fixture
def decided_cases(planned_at, officer_ctx, ana):
    """Three decided cases of Ana, voluntary departure granted 0, 5 and 10 days before
    `PLANNED_AT` (so departure, bond and appeal deadlines): granted Wednesday 9 December,
    Friday 4 December and Sunday 29 November, their bonds due Wednesday 16 and Friday 11
    December (ahead) and Friday 4 December (past)."""
    from caseledger.cases.services import open_case, record_decision, transition_case

    today = timezone.now().astimezone(LA).date()
    cases = []
    for i in range(3):
        case = open_case(ctx=officer_ctx, person_id=ana.pk, case_type="removal",
                         court_code="LOS")
        record_decision(ctx=officer_ctx, case_id=case.pk, kind="voluntary_departure",
                        decided_on=today - timedelta(days=5 * i))
        transition_case(ctx=officer_ctx, case_id=case.pk, to_status="decided")
        case.refresh_from_db()
        cases.append(case)
    return cases


def test_deadlines_planned_in_chunks_match_case_by_case(notice_settings, decided_cases,
                                                        monkeypatch):
    now = timezone.now()
    Reminder.objects.all().delete()
    for case in decided_cases:
        planner.plan_for_case_deadlines(case, now=now)
    case_by_case = snapshot()
    assert {k.split(":")[1] for k, *_ in case_by_case} == {"vd-post", "vd-bond", "bia-appeal"}
    Reminder.objects.all().delete()
    monkeypatch.setattr(planner, "CASE_CHUNK", 2)
    result = planner.plan_upcoming(now=now)
    assert snapshot() == case_by_case
    assert result.created == len(case_by_case)
    assert planner.plan_upcoming(now=now).as_dict()["created"] == 0


def test_a_deadline_that_closed_behind_the_planner_is_cancelled(notice_settings,
                                                                decided_cases):
    from caseledger.cases.models import Case

    appealed = decided_cases[1]
    Case.objects.filter(pk=appealed.pk).update(status="appealed")
    result = planner.plan_upcoming()
    waiting = Reminder.objects.filter(obligation_id__startswith=f"{appealed.pk}:",
                                      status=ReminderStatus.PLANNED)
    assert not waiting.filter(obligation_id__endswith=":bia-appeal").exists()
    assert not waiting.filter(obligation_id__endswith=":vd-bond").exists()
    closed = Reminder.objects.filter(obligation_id__startswith=f"{appealed.pk}:",
                                     last_error="deadline_closed")
    assert {r.obligation_id.split(":")[1] for r in closed} == {"bia-appeal", "vd-bond"}
    assert result.cancelled >= closed.count() > 0


def test_two_deadlines_of_one_rule_are_planned_in_turn(notice_settings, officer_ctx, case):
    """Two voluntary-departure decisions: each plans over the other, the later-due last (as
    when each deadline was planned on its own)."""
    from caseledger.cases.services import record_decision

    today = timezone.now().astimezone(LA).date()
    for days_ago in (0, 10):
        record_decision(ctx=officer_ctx, case_id=case.pk, kind="voluntary_departure",
                        decided_on=today - timedelta(days=days_ago))
    planner.plan_upcoming()
    live = Reminder.objects.filter(obligation_id=f"{case.pk}:vd-post",
                                   status=ReminderStatus.PLANNED)
    assert {r.obligation_at.astimezone(LA).date() for r in live} == {today + timedelta(days=60)}


def test_check_in_windows_planned_in_chunks_match_schedule_by_schedule(
        notice_settings, make_person, officer, monkeypatch):
    from datetime import datetime, time

    from caseledger.supervision.models import Enrolment, Schedule

    now = timezone.now()
    schedules = []
    for i in range(3):
        person = make_person("officer_east", "Window", f"Person{i}")
        enrolment = Enrolment.objects.create(person=person, officer=officer, level="standard",
                                             started_at=now)
        first = datetime.combine(now.date() + timedelta(days=2 + i), time(15, 0),
                                 tzinfo=now.tzinfo)
        schedules.append(Schedule.objects.create(enrolment=enrolment, first_window_at=first,
                                                 every_days=7))
    for schedule in schedules:
        planner.plan_for_schedule(schedule, now=now)
    one_by_one = snapshot()
    assert sum(1 for _k, kind, *_ in one_by_one if kind == "scheduled") == 3
    Reminder.objects.all().delete()
    monkeypatch.setattr(planner, "CASE_CHUNK", 2)
    planner.plan_upcoming(now=now)
    assert snapshot() == one_by_one
    # again: nothing new, and no "was anything ever planned?" question per schedule
    with CaptureQueriesContext(connection) as captured:
        assert planner.plan_upcoming(now=now).created == 0
    assert not [q for q in captured.captured_queries if "LIKE" in q["sql"]]


def test_statements_for_deadlines_do_not_grow_with_the_cases(notice_settings, decided_cases,
                                                             monkeypatch):
    monkeypatch.setattr(planner, "CASE_CHUNK", 3)
    from caseledger.cases.models import Case

    def count(cases: list) -> int:
        with CaptureQueriesContext(connection) as captured:
            planner._plan_case_ids([c.pk for c in cases], timezone.now())
        return len(captured.captured_queries)

    assert Case.objects.filter(pk__in=[c.pk for c in decided_cases]).count() == 3
    assert count(decided_cases[:1]) == count(decided_cases)
