"""Case and hearing pages and writes reach a record only through the access policy: the page
context is chosen without reading a record the user may not see, a refusal is one denied event
naming the person, and the hearing's optimistic lock keeps its messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.access.context import AccessContext, Purpose
from caseledger.access.gate import grant_break_glass
from caseledger.cases.models import Case, Hearing
from caseledger.cases.selectors import person_within_reach
from caseledger.cases.services import (
    adjourn_hearing,
    open_case,
    reschedule_hearing,
    schedule_hearing,
    transition_case,
)
from caseledger.core.errors import Conflict, NotFound, PermissionDenied
from tests.conftest import context, last_event_id

REASON = "Detainee transferred overnight; verifying identity before the hearing"


@pytest.fixture
def hearing(users, make_person) -> Hearing:
    person = make_person("officer_east", "Ana", "Ramirez")
    ctx = context(users["officer_east"])
    case = open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code="LOS")
    return schedule_hearing(ctx=ctx, case_id=case.pk, calendar="master",
                            scheduled_at=timezone.now() + timedelta(days=20))


def _glass(user) -> AccessContext:
    return AccessContext(user=user, purpose=Purpose.BREAK_GLASS)


def _person(hearing: Hearing):
    return Case.objects.get(proceedings__hearings=hearing).person_id


@pytest.mark.parametrize("model", [Case, Hearing])
def test_page_context_finds_no_person_outside_the_break_glass_policy(users, hearing, model):
    record = hearing if model is Hearing else hearing.proceeding.case
    west = users["officer_west"]
    assert person_within_reach(_glass(west), model, record.pk) is None
    assert person_within_reach(_glass(west), model, "not-a-uuid") is None
    grant_break_glass(user=west, person_id=_person(hearing), reason=REASON)
    assert person_within_reach(_glass(west), model, record.pk) == _person(hearing)
    # The ordinary context of another office reaches nothing, whatever the id.
    assert person_within_reach(context(west), model, record.pk) is None


def test_hearing_page_of_another_office_is_one_denial_naming_the_person(
        users, web_client, hearing, events_since):
    mark = last_event_id()
    case_id = hearing.proceeding.case_id
    response = web_client(users["officer_west"]).get(f"/cases/{case_id}/hearings/{hearing.pk}/")
    assert response.status_code == 404
    [event] = events_since(mark)
    assert (event.action, event.outcome, event.subject_id) == ("read", "denied", _person(hearing))
    assert (event.record_type, event.record_id) == ("cases.hearing", str(hearing.pk))


def test_hearing_page_under_break_glass_is_read_with_that_purpose(
        users, web_client, hearing, events_since):
    grant_break_glass(user=users["officer_west"], person_id=_person(hearing), reason=REASON)
    mark = last_event_id()
    case_id = hearing.proceeding.case_id
    response = web_client(users["officer_west"]).get(f"/cases/{case_id}/hearings/{hearing.pk}/")
    assert response.status_code == 200
    [event] = events_since(mark)
    assert (event.outcome, event.purpose, event.subject_id) == (
        "allowed", "break_glass", _person(hearing))


def test_hearing_page_shows_the_change_buttons_only_to_hearing_editors(
        users, web_client, hearing):
    url = f"/cases/{hearing.proceeding.case_id}/hearings/{hearing.pk}/"
    officer_page = web_client(users["officer_east"]).get(url).content.decode()
    assert "/move/" in officer_page
    grant_break_glass(user=users["privacy"], person_id=_person(hearing), reason=REASON)
    privacy_page = web_client(users["privacy"]).get(url)
    assert privacy_page.status_code == 200
    assert "/move/" not in privacy_page.content.decode()


def test_moving_another_offices_hearing_is_refused_naming_the_person(users, hearing,
                                                                    events_since):
    mark = last_event_id()
    with pytest.raises(NotFound):
        reschedule_hearing(ctx=context(users["officer_west"]), hearing_id=hearing.pk,
                           scheduled_at=timezone.now() + timedelta(days=30))
    [event] = events_since(mark)
    assert (event.action, event.outcome, event.subject_id) == (
        "update", "denied", _person(hearing))
    assert (event.record_type, event.record_id) == ("cases.hearing", str(hearing.pk))
    hearing.refresh_from_db()
    assert hearing.row_version == 1


@pytest.mark.parametrize("hearing_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_moving_no_hearing_is_refused_naming_nobody(users, db, hearing_id, events_since):
    mark = last_event_id()
    with pytest.raises(NotFound):
        adjourn_hearing(ctx=context(users["officer_east"]), hearing_id=hearing_id)
    [event] = events_since(mark)
    assert (event.outcome, event.subject_id, event.record_type) == (
        "denied", None, "cases.hearing")


def test_participant_may_not_move_a_hearing_and_the_refusal_names_the_person(
        users, hearing, events_since):
    mark = last_event_id()
    with pytest.raises(PermissionDenied):
        adjourn_hearing(ctx=context(users["participant"]), hearing_id=hearing.pk)
    [event] = events_since(mark)
    assert (event.action, event.outcome, event.subject_id) == (
        "update", "denied", _person(hearing))


def test_stale_hearing_version_is_a_conflict_that_names_both_versions(users, hearing):
    ctx = context(users["officer_east"])
    adjourn_hearing(ctx=ctx, hearing_id=hearing.pk, row_version=1)
    with pytest.raises(Conflict) as err:
        reschedule_hearing(ctx=ctx, hearing_id=hearing.pk, row_version=1,
                           scheduled_at=timezone.now() + timedelta(days=30))
    assert err.value.code == "stale_version"
    assert err.value.message == (
        "This hearing changed since you read it (version 1, now 2). Reload it and try again.")
    hearing.refresh_from_db()
    assert (hearing.status, hearing.row_version) == ("adjourned", 2)


def test_transition_bumps_the_version_and_keeps_the_closing_reason(users, hearing):
    ctx = context(users["officer_east"])
    case = transition_case(ctx=ctx, case_id=hearing.proceeding.case_id, to_status="closed",
                           reason="withdrawn", row_version=1)
    assert (case.status, case.row_version, case.closed_reason) == ("closed", 2, "withdrawn")
