"""Recording that a hearing took place: only a scheduled hearing whose time has come, only by
those who change hearings, one ledger event, and its reminders retired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.cases.models import Hearing, HearingStatus
from caseledger.cases.services import (
    cancel_hearing,
    open_case,
    record_hearing_held,
    schedule_hearing,
)
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event, Outcome
from tests.conftest import context, last_event_id


@pytest.fixture
def officer_ctx(users):
    return context(users["officer_east"])


@pytest.fixture
def hearing_at(officer_ctx, make_person):
    person = make_person("officer_east", "Ana", "Ramirez")
    case = open_case(ctx=officer_ctx, person_id=person.pk, case_type="removal", court_code="NYC")

    def make(when) -> Hearing:
        return schedule_hearing(ctx=officer_ctx, case_id=case.pk, calendar="master",
                                scheduled_at=when, allow_past=True)

    return make


def test_a_past_hearing_is_recorded_as_held_with_one_event(officer_ctx, hearing_at):
    hearing = hearing_at(timezone.now() - timedelta(hours=3))
    mark = last_event_id()

    record_hearing_held(ctx=officer_ctx, hearing_id=hearing.pk)

    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.HELD
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.record_type, event.record_id) == (
        "update", "cases.hearing", str(hearing.pk))
    assert event.detail == {"change": "held", "status": "held"}
    assert event.subject_id == hearing.proceeding.case.person_id


def test_a_future_hearing_cannot_be_recorded_as_held(officer_ctx, hearing_at):
    hearing = hearing_at(timezone.now() + timedelta(days=2))
    with pytest.raises(ValidationError) as err:
        record_hearing_held(ctx=officer_ctx, hearing_id=hearing.pk)
    assert "once its time has come" in err.value.message
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.SCHEDULED


def test_a_cancelled_or_held_hearing_is_a_conflict(officer_ctx, hearing_at):
    cancelled = hearing_at(timezone.now() - timedelta(days=1))
    cancel_hearing(ctx=officer_ctx, hearing_id=cancelled.pk)
    with pytest.raises(Conflict) as err:
        record_hearing_held(ctx=officer_ctx, hearing_id=cancelled.pk)
    assert err.value.code == "illegal_transition"
    held = hearing_at(timezone.now() - timedelta(days=1))
    record_hearing_held(ctx=officer_ctx, hearing_id=held.pk)
    with pytest.raises(Conflict):
        record_hearing_held(ctx=officer_ctx, hearing_id=held.pk)


def test_roles_and_reach_are_refused_and_recorded(users, hearing_at):
    hearing = hearing_at(timezone.now() - timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        record_hearing_held(ctx=context(users["privacy"]), hearing_id=hearing.pk)
    with pytest.raises(NotFound):
        record_hearing_held(ctx=context(users["officer_west"]), hearing_id=hearing.pk)
    refusals = Event.objects.filter(record_id=str(hearing.pk)).exclude(outcome=Outcome.ALLOWED)
    assert refusals.count() == 2
    assert set(refusals.values_list("subject_id", flat=True)) == {
        hearing.proceeding.case.person_id}
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.SCHEDULED
