"""The demo's data: a small demo seeded through the services has every kind of history, a
ledger that verifies and reads in time order, and exactly the transparency figures its plan
predicts; the plan of the full-size demo (no database) gives the transparency report bars.

Why two halves: seeding the full demo (200 persons, 40 participants, eight weeks) takes about
a minute, too long for the suite. Everything the history does is decided first by the plan
(`caseledger.demo.plan`, pure Python), and the seeded small demo is checked against its plan
figure by figure (with the seeding in strict mode: any step that goes otherwise fails). The
full-size plan is then enough to show that the full demo's figures clear the suppression
threshold, for any day the demo is started on.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from caseledger import demo
from caseledger.access.models import Grant, GrantKind
from caseledger.accounts.models import User
from caseledger.cases.models import CaseStatus, Hearing, HearingStatus
from caseledger.demo import plan as planning
from caseledger.disclosures.models import DisclosureRequest, RequestStatus
from caseledger.ledger.models import Event, EventSubject
from caseledger.ledger.verify import verify_ledger
from caseledger.reports import transparency
from caseledger.reports.models import AnomalyItem
from caseledger.reports.periods import Period
from caseledger.supervision.models import (
    ChangeDecision,
    ChangeRequest,
    CheckIn,
    Departure,
    Enrolment,
    EnrolmentStatus,
    Review,
)

#: Five weeks: long enough for failed-check images to pass their 28 days and be purged.
SMALL = {"persons": 20, "participants": 8, "weeks": 5, "random_seed": 16}
NOW = datetime(2026, 11, 18, 16, 20, tzinfo=UTC)  # a Wednesday; the history crosses DST's end
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Charts that show bars in the full demo. The declined requests stay fewer than 10 (a few
#: declines in eight weeks), so that chart shows "fewer than 10" rows by design.
CHARTS_WITH_BARS = {
    "checkins-outcome", "checkins-refused", "failed-face", "reviews-kind",
    "reviews-disposition", "disclosures-authority", "disclosures-agency", "deletions-class",
}  # fmt: skip


def small_plan() -> planning.Plan:
    return planning.build(participants=SMALL["participants"], persons=SMALL["persons"],
                          weeks=SMALL["weeks"], end=NOW,
                          rng=random.Random(SMALL["random_seed"]))


def test_small_demo_seeded_through_the_services(db):
    """One seeding (it takes a while), every check on it."""
    summary = demo.seed(**SMALL, now=NOW, progress=False, strict=True)
    plan = small_plan()
    check_every_kind_of_history(summary)
    check_hearings()
    check_oversight(plan)
    check_ledger(plan)
    check_transparency(plan)
    check_summary(summary)


def check_every_kind_of_history(summary: demo.Summary) -> None:
    assert summary.surprises == []
    assert summary.offices == 2 and summary.participants == SMALL["participants"]
    participant = User.objects.get(username=demo.PARTICIPANT)
    assert participant.check_password(demo.DEMO_PASSWORD)
    assert Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE).count() == 7
    departure = Departure.objects.get()
    assert departure.evidence_kind == "checkin_abroad" and departure.checkin is not None
    assert departure.case.status == CaseStatus.CLOSED
    assert set(CheckIn.objects.values_list("outcome", flat=True)) == {"verified", "review"}
    assert set(Review.objects.values_list("kind", flat=True)) == {"failed_check",
                                                                 "missed_window"}
    assert {"verified_by_review", "technical_problem", "needs_contact",
            "suspected_impersonation"} <= set(Review.objects.values_list("disposition",
                                                                         flat=True))
    open_reviews = Review.objects.filter(disposition="")
    assert open_reviews.filter(due_at__lt=NOW).exists()  # overdue
    assert open_reviews.filter(due_at__gte=NOW).exists()  # open, not yet overdue
    assert sorted(ChangeRequest.objects.values_list("decision", flat=True)) == sorted(
        [ChangeDecision.PENDING, ChangeDecision.APPROVED, ChangeDecision.DECLINED])


def check_hearings() -> None:
    """Past hearings were held, adjourned or cancelled; future ones are scheduled."""
    assert not Hearing.objects.filter(status=HearingStatus.SCHEDULED, scheduled_at__lt=NOW)
    statuses = set(Hearing.objects.values_list("status", flat=True))
    assert statuses == {HearingStatus.HELD, HearingStatus.ADJOURNED, HearingStatus.CANCELLED,
                        HearingStatus.SCHEDULED}
    assert Hearing.objects.filter(status=HearingStatus.SCHEDULED, scheduled_at__gt=NOW).exists()


def check_oversight(plan: planning.Plan) -> None:
    assert set(DisclosureRequest.objects.values_list("status", flat=True)) == set(
        RequestStatus.values)
    assert Grant.objects.filter(kind=GrantKind.BREAK_GLASS).count() == len(plan.break_glass)
    rules = set(AnomalyItem.objects.values_list("rule", flat=True))
    assert {"break_glass", "after_hours", "outside_policy", "household"} <= rules
    assert AnomalyItem.objects.filter(closed_at__isnull=False).exists()
    assert AnomalyItem.objects.filter(closed_at__isnull=True).exists()


def check_ledger(plan: planning.Plan) -> None:
    result = verify_ledger()
    assert result.ok, result.summary()
    assert result.pending == 0
    times = list(Event.objects.order_by("id").values_list("time", flat=True))
    assert times == sorted(times)
    assert plan.setup_start <= times[0] and times[-1] <= NOW
    assert times[-1] - times[0] > timedelta(weeks=SMALL["weeks"])
    # the staff's lists and searches name each person they showed (who accessed my record)
    assert EventSubject.objects.exists()


def check_transparency(plan: planning.Plan) -> None:
    period = Period("demo", "custom", plan.setup_start - timedelta(days=1),
                    NOW + timedelta(minutes=1))
    figures = transparency.raw_figures(period)
    assert figures == planning.expected_figures(plan)
    assert figures["checkins"]["refused"] and figures["failed_verifications"]["review_decisions"]
    assert figures["deletions"]["records_deleted"] and figures["disclosures"]["declined"]


def check_summary(summary: demo.Summary) -> None:
    text = "\n".join(summary.lines())
    assert "8 enrolled in supervision (1 departed)" in text
    assert "level change waiting for a supervisor" in text
    assert text.startswith("Seeded in ")
    assert not UUID.search(text) and "PlanResult" not in text and "Result(" not in text


@pytest.mark.parametrize("end", [
    datetime(2026, 12, 6, 8, 30, tzinfo=UTC) + timedelta(days=9 * n, hours=7 * n)
    for n in range(0, 40, 3)
])
def test_full_demo_plan_gives_the_transparency_report_bars(end):
    full = planning.build(participants=demo.DEFAULT_PARTICIPANTS, persons=demo.DEFAULT_PERSONS,
                          weeks=demo.DEFAULT_WEEKS, end=end,
                          rng=random.Random(demo.DEFAULT_SEED))
    figures = planning.expected_figures(full)
    tables = transparency.tables({"figures": transparency.published(figures)})
    with_bars = {t["id"] for t in tables if any(bar is not None for _l, _v, bar in t["rows"])}
    assert with_bars == CHARTS_WITH_BARS
    assert figures["enrolments"] == 40
    assert figures["break_glass"]["granted"] >= transparency.SUPPRESSION_THRESHOLD


def test_plan_refuses_too_few_participants():
    with pytest.raises(ValueError, match="at least 8"):
        planning.build(participants=5, persons=20, weeks=3, end=timezone.now(),
                       rng=random.Random(1))


def test_seed_refuses_too_few_other_persons(db):
    with pytest.raises(ValueError, match="12 persons besides"):
        demo.seed(persons=10, participants=8, weeks=3, progress=False)
    assert not User.objects.exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--participants", "5"], "--participants must be at least 8"),
    (["--weeks", "1"], "--weeks must be at least 2"),
    (["--persons", "30", "--participants", "20"], "--persons must be at least 32"),
])
def test_demo_command_refuses_bad_sizes_before_touching_the_database(settings, argv, message):
    settings.DEMO = True
    with pytest.raises(CommandError, match=message):
        call_command("demo", "--no-serve", *argv)


def test_demo_command_needs_the_demo_setting(settings):
    settings.DEMO = False
    with pytest.raises(CommandError, match="CASELEDGER_DEMO=1"):
        call_command("demo", "--no-serve")


def test_participants_default_to_a_fifth_of_the_persons():
    from caseledger.core.management.commands.demo import participants_for

    assert [participants_for(n) for n in (20, 100, 200, 320)] == [8, 20, 40, 40]
