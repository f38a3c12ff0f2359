"""Scheduling, moving, adjourning and cancelling a hearing from the case pages and the API:
the services behind them re-plan reminders; here the pages and endpoints are exercised."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.utils import timezone
from tests.conftest import last_event_id
from tests.notices.conftest import LA, local_time

from caseledger.cases.models import Hearing, HearingStatus
from caseledger.ledger.models import Event
from caseledger.notices.models import Reminder, ReminderStatus


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _local(days: int, hour: int = 10) -> str:
    """A datetime-local value in court time (Los Angeles), as the browser sends it."""
    return local_time(days, hour).strftime("%Y-%m-%dT%H:%M")


def _waiting(hearing) -> list[Reminder]:
    return list(
        Reminder.objects.filter(obligation_id=str(hearing.pk), status=ReminderStatus.PLANNED)
    )


@pytest.fixture
def officer_web(web_client, officer):
    return web_client(officer)


def test_case_page_links_each_hearing_and_offers_scheduling(officer_web, case, make_hearing):
    hearing = make_hearing(30)
    page = _text(officer_web.get(f"/cases/{case.pk}/"))
    assert f'href="/cases/{case.pk}/hearings/{hearing.pk}/"' in page
    assert f'href="/cases/{case.pk}/hearings/new/"' in page


def test_schedule_from_the_page_in_court_time(officer_web, case):
    response = officer_web.post(
        f"/cases/{case.pk}/hearings/new/",
        {"calendar": "individual", "scheduled_at": _local(40, 13), "judge": "Judge Ortiz"},
    )
    assert response.status_code == 302
    hearing = Hearing.objects.get(proceeding__case=case)
    assert hearing.scheduled_at.astimezone(LA).hour == 13
    assert hearing.judge == "Judge Ortiz"
    assert _waiting(hearing), "scheduling plans reminders"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2027-02-30T09:00", "February 2027 has no day 30"),
        ("next tuesday", "is not a date and time"),
    ],
)
def test_schedule_refuses_bad_dates(officer_web, case, value, message):
    response = officer_web.post(
        f"/cases/{case.pk}/hearings/new/", {"calendar": "master", "scheduled_at": value}
    )
    assert response.status_code == 422
    assert message in _text(response)
    assert not Hearing.objects.filter(proceeding__case=case).exists()


def test_schedule_refuses_the_past(officer_web, case):
    response = officer_web.post(
        f"/cases/{case.pk}/hearings/new/", {"calendar": "master", "scheduled_at": _local(-2)}
    )
    assert response.status_code == 422
    assert "cannot be scheduled in the past" in _text(response)


def test_move_from_the_page_replans(officer_web, case, make_hearing):
    hearing = make_hearing(30)
    old = {r.pk for r in _waiting(hearing)}
    response = officer_web.post(
        f"/cases/{case.pk}/hearings/{hearing.pk}/move/",
        {"scheduled_at": _local(45, 9), "row_version": hearing.row_version},
    )
    assert response.status_code == 302
    hearing.refresh_from_db()
    assert hearing.scheduled_at.astimezone(LA).date() == local_time(45).date()
    new = {r.pk for r in _waiting(hearing)}
    assert new and not (new & old), "the old reminders are replaced by new ones"


def test_move_with_a_stale_version_is_refused(officer_web, case, make_hearing):
    hearing = make_hearing(30)
    response = officer_web.post(
        f"/cases/{case.pk}/hearings/{hearing.pk}/move/",
        {"scheduled_at": _local(45), "row_version": hearing.row_version + 5},
    )
    assert response.status_code == 422
    assert "changed since you read it" in _text(response)
    hearing.refresh_from_db()
    assert hearing.scheduled_at.astimezone(LA).date() == local_time(30).date()


def test_cancel_needs_a_confirmation_step(officer_web, case, make_hearing):
    hearing = make_hearing(30)
    url = f"/cases/{case.pk}/hearings/{hearing.pk}/cancel/"
    page = _text(officer_web.get(url))
    assert "This cannot be undone" in page
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.SCHEDULED, "showing the confirmation changes nothing"
    response = officer_web.post(url, {"row_version": hearing.row_version})
    assert response.status_code == 302
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.CANCELLED
    # Only the cancellation notice waits to be sent: the reminders are gone.
    assert [r.kind for r in _waiting(hearing)] == ["cancelled"]
    # Cancelling twice is refused clearly.
    again = officer_web.post(url, {"row_version": hearing.row_version})
    assert again.status_code == 409
    assert "cannot be cancelled" in _text(again)


def test_adjourn_then_enter_the_new_date(officer_web, case, make_hearing):
    hearing = make_hearing(30)
    response = officer_web.post(
        f"/cases/{case.pk}/hearings/{hearing.pk}/adjourn/", {"row_version": hearing.row_version}
    )
    assert response.status_code == 302
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.ADJOURNED
    page = _text(officer_web.get(f"/cases/{case.pk}/hearings/{hearing.pk}/"))
    assert "Enter the new date" in page
    officer_web.post(
        f"/cases/{case.pk}/hearings/{hearing.pk}/move/",
        {"scheduled_at": _local(60), "row_version": hearing.row_version},
    )
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.SCHEDULED
    assert _waiting(hearing)


def test_unknown_action_and_other_offices_hearing_are_not_found(
    web_client, users, case, make_hearing
):
    hearing = make_hearing(30)
    west = web_client(users["officer_west"])
    mark = last_event_id()
    response = west.get(f"/cases/{case.pk}/hearings/{hearing.pk}/")
    assert response.status_code == 404
    denial = Event.objects.filter(id__gt=mark, outcome="denied").get()
    assert denial.record_type == "cases.hearing" and denial.subject_id == case.person_id
    response = west.post(
        f"/cases/{case.pk}/hearings/{hearing.pk}/cancel/", {"row_version": hearing.row_version}
    )
    assert response.status_code == 404
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.SCHEDULED
    mine = web_client(users["officer_east"])
    assert mine.get(f"/cases/{case.pk}/hearings/{hearing.pk}/explode/").status_code == 404


def test_participant_sees_no_change_forms_and_cannot_cancel(web_client, users, case, make_hearing):
    hearing = make_hearing(30)
    client = web_client(users["participant"])
    response = client.post(
        f"/cases/{case.pk}/hearings/{hearing.pk}/cancel/", {"row_version": hearing.row_version}
    )
    assert response.status_code in (403, 409)
    hearing.refresh_from_db()
    assert hearing.status == HearingStatus.SCHEDULED


# --- API --------------------------------------------------------------------------------------
def test_api_schedule_move_adjourn_cancel(api_client, officer, case):
    api = api_client(officer)
    when = (timezone.now() + timedelta(days=20)).astimezone(LA).strftime("%Y-%m-%d 09:30")
    response = api.post(
        f"/api/v1/cases/{case.pk}/hearings",
        {"calendar": "master", "scheduled_at": when},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["local_time"].startswith(when.replace(" ", "T"))
    hid = body["id"]
    later = (timezone.now() + timedelta(days=25)).astimezone(LA).strftime("%Y-%m-%d 11:00")
    moved = api.post(
        f"/api/v1/hearings/{hid}/move",
        {"scheduled_at": later, "row_version": body["row_version"]},
        content_type="application/json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["local_time"].startswith(later.replace(" ", "T"))
    adjourned = api.post(
        f"/api/v1/hearings/{hid}/adjourn",
        {"row_version": moved.json()["row_version"]},
        content_type="application/json",
    )
    assert adjourned.json()["status"] == "adjourned"
    cancelled = api.post(f"/api/v1/hearings/{hid}/cancel", {}, content_type="application/json")
    assert cancelled.json()["status"] == "cancelled"
    again = api.post(f"/api/v1/hearings/{hid}/cancel", {}, content_type="application/json")
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"scheduled_at": ""}, 422, "scheduled_at"),
        ({"scheduled_at": "2027-13-01 09:00"}, 422, "scheduled_at"),
        ({"scheduled_at": 20270101}, 422, "scheduled_at"),
        ({"scheduled_at": "2027-03-10 09:00", "row_version": "1"}, 422, "row_version"),
    ],
)
def test_api_move_bad_input(api_client, officer, make_hearing, payload, status, field):
    hearing = make_hearing(30)
    response = api_client(officer).post(
        f"/api/v1/hearings/{hearing.pk}/move", payload, content_type="application/json"
    )
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    hearing.refresh_from_db()
    assert hearing.row_version == 1


def test_api_hearing_of_another_office_is_not_found(api_client, users, make_hearing):
    hearing = make_hearing(30)
    west = api_client(users["officer_west"])
    assert west.get(f"/api/v1/hearings/{hearing.pk}").status_code == 404
    response = west.post(
        f"/api/v1/hearings/{hearing.pk}/cancel", {}, content_type="application/json"
    )
    assert response.status_code == 404
    assert west.get("/api/v1/hearings/not-a-uuid").status_code == 404


def test_api_participant_cannot_schedule(api_client, users, case):
    response = api_client(users["participant"]).post(
        f"/api/v1/cases/{case.pk}/hearings",
        {"calendar": "master", "scheduled_at": "2030-01-10 09:00"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not Hearing.objects.filter(proceeding__case=case).exists()
