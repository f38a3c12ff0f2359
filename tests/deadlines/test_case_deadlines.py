"""Deadlines that follow from a case's decisions, as shown on the case page and API."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseledger.cases import services
from caseledger.cases.models import StatusChange
from caseledger.cases.selectors import get_case
from tests.conftest import context

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")  # the NYC court's zone, in which a change has its day


def _noon_in_new_york(days_ago: int) -> datetime:
    """Noon in New York, `days_ago` days before today there. A status change counts on its
    day in the court's zone; at noon that day does not depend on the hour the test runs, nor
    on a change of clocks between two such moments (at 23:30 EST, 25 days back across the
    November change is 00:30 EDT the next day)."""
    day = timezone.now().astimezone(NEW_YORK).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), NEW_YORK)


#: Wednesday 9 December 2026, 10:00 in New York (the NYC court's zone): due dates land on
#: weekdays and holidays as the day puts them, and states count from New York's day, so each
#: test here runs at this moment, whenever it is run.
RUN_AT = datetime(2026, 12, 9, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def run_at(clock_from):
    return clock_from(RUN_AT)


@pytest.fixture
def case(users, make_person):
    person = make_person("officer_east")
    ctx = context(users["officer_east"])
    today = timezone.localdate()
    return ctx, services.open_case(ctx=ctx, person_id=person.pk, case_type="removal",
                                   court_code="NYC", opened_on=today - timedelta(days=200))


def _deadlines(ctx, case):
    return {d.rule: d for d in get_case(ctx=ctx, case_id=case.pk).deadlines}


def test_oral_removal_order_opens_the_appeal_window(case):
    ctx, c = case
    decided = timezone.localdate() - timedelta(days=3)
    services.record_decision(ctx=ctx, case_id=c.pk, kind="removal_ordered", decided_on=decided)
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    found = _deadlines(ctx, c)
    assert set(found) == {"bia-appeal"}
    assert found["bia-appeal"].trigger == decided
    assert found["bia-appeal"].due >= decided + timedelta(days=30)
    assert found["bia-appeal"].state == "upcoming"


def test_written_decision_counts_from_service(case):
    ctx, c = case
    today = timezone.localdate()
    decision = services.record_decision(ctx=ctx, case_id=c.pk, kind="removal_ordered",
                                        decided_on=today - timedelta(days=40), oral=False)
    decision.served_on = today - timedelta(days=10)
    decision.save()
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    assert _deadlines(ctx, c)["bia-appeal"].trigger == today - timedelta(days=10)


def test_voluntary_departure_and_bond_and_overdue(case):
    ctx, c = case
    decided = timezone.localdate() - timedelta(days=70)
    services.record_decision(ctx=ctx, case_id=c.pk, kind="voluntary_departure",
                             decided_on=decided)
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    found = _deadlines(ctx, c)
    assert found["vd-post"].due == decided + timedelta(days=60)
    assert found["vd-post"].state == "overdue"
    assert found["vd-bond"].state == "overdue"
    assert found["bia-appeal"].state == "overdue"


def test_pending_appeal_pauses_the_departure_clock(case):
    ctx, c = case
    decided = timezone.localdate() - timedelta(days=40)
    services.record_decision(ctx=ctx, case_id=c.pk, kind="voluntary_departure",
                             decided_on=decided)
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="appealed")
    found = _deadlines(ctx, c)
    assert found["vd-post"].due is None and found["vd-post"].state == "paused"
    assert "bia-appeal" not in found and "vd-bond" not in found
    # the appeal ends 20 days after it was filed: the departure date moves by 20 days
    appealed = StatusChange.objects.get(case=c, to_status="appealed")
    appealed.changed_at = _noon_in_new_york(25)
    appealed.save()
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    decided_again = StatusChange.objects.filter(case=c, to_status="decided").latest("changed_at")
    decided_again.changed_at = _noon_in_new_york(5)
    decided_again.save()
    assert _deadlines(ctx, c)["vd-post"].due == decided + timedelta(days=60 + 20)


def test_final_order_opens_the_motion_to_reopen_window(case):
    ctx, c = case
    services.record_decision(ctx=ctx, case_id=c.pk, kind="removal_ordered",
                             decided_on=timezone.localdate() - timedelta(days=40))
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="final_order")
    found = _deadlines(ctx, c)
    assert set(found) == {"motion-reopen"}
    assert found["motion-reopen"].due >= timezone.localdate() + timedelta(days=89)


def test_case_api_lists_deadlines(case, api_client, users):
    ctx, c = case
    services.record_decision(ctx=ctx, case_id=c.pk, kind="removal_ordered",
                             decided_on=timezone.localdate() - timedelta(days=1))
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    body = api_client(users["officer_east"]).get(f"/api/v1/cases/{c.pk}").json()
    assert [d["rule"] for d in body["deadlines"]] == ["bia-appeal"]
    assert body["deadlines"][0]["state"] == "upcoming"


def test_case_page_shows_the_deadlines(case, users, web_client):
    ctx, c = case
    services.record_decision(ctx=ctx, case_id=c.pk, kind="voluntary_departure",
                             decided_on=timezone.localdate() - timedelta(days=70))
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    page = web_client(users["officer_east"]).get(f"/cases/{c.pk}/").content.decode()
    assert 'data-deadline="vd-post"' in page and 'data-deadline="bia-appeal"' in page
    assert "cl-deadline--overdue" in page


def test_dashboard_lists_deadlines_due_this_week_and_overdue(case, users, web_client,
                                                             make_person):
    from caseledger.cases.selectors import deadlines_due

    ctx, c = case
    services.record_decision(ctx=ctx, case_id=c.pk, kind="removal_ordered",
                             decided_on=timezone.localdate() - timedelta(days=26))
    services.transition_case(ctx=ctx, case_id=c.pk, to_status="decided")
    due = deadlines_due(ctx=ctx)
    assert [(case.pk, d.rule) for case, d in due] == [(c.pk, "bia-appeal")]
    assert deadlines_due(ctx=context(users["officer_west"])) == []
    page = web_client(users["officer_east"]).get("/persons/").content.decode()
    assert "Deadlines overdue or due this week" in page and c.reference in page
