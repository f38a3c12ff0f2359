"""Secret calendar feeds: hearings in the court's time zone (TZID), check-in windows, deadlines
as all-day events; each fetch recorded; revoked or unknown tokens answer 404."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar
from tests.conftest import last_event_id
from tests.notices.conftest import LA

from caseledger.cases.services import record_decision
from caseledger.core.errors import PermissionDenied
from caseledger.ledger.models import Event
from caseledger.notices.calendars import create_feed, revoke_feed
from caseledger.notices.models import CalendarFeed
from caseledger.supervision.models import Enrolment, Schedule


@pytest.fixture
def obligations(notice_settings, ana, officer, officer_ctx, case, make_hearing):
    hearing = make_hearing(days=20, hour=9)
    now = timezone.now()
    enrolment = Enrolment.objects.create(person=ana, officer=officer, level="standard",
                                         started_at=now)
    first = datetime.combine(now.date() + timedelta(days=2), time(14, 0), tzinfo=now.tzinfo)
    schedule = Schedule.objects.create(enrolment=enrolment, first_window_at=first, every_days=7,
                                       window_hours=24)
    record_decision(ctx=officer_ctx, case_id=case.pk, kind="voluntary_departure",
                    decided_on=now.astimezone(LA).date())
    return hearing, schedule


def fetch(client: Client, token: str):
    return client.get(f"/calendar/{token}.ics")


def test_the_feed_has_hearings_windows_and_deadlines(obligations, users, ana, client):
    hearing, schedule = obligations
    token = create_feed(users["participant"])
    assert len(token) >= 32
    assert not CalendarFeed.objects.filter(token_hash__contains=token).exists()
    mark = last_event_id()
    response = fetch(client, token)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    raw = response.content.decode()
    assert "DTSTART;TZID=America/Los_Angeles:" in raw
    assert "BEGIN:VTIMEZONE" in raw and "TZID:America/Los_Angeles" in raw
    cal = Calendar.from_ical(response.content)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    h = events[f"hearing-{hearing.pk}@caseledger"]
    start = h.decoded("DTSTART")
    assert start == hearing.scheduled_at and str(start.tzinfo) == "America/Los_Angeles"
    assert start.hour == 9
    assert str(h["SUMMARY"]) == "Immigration court hearing"  # the participant reads English
    assert str(h["LOCATION"]) == "Los Angeles Immigration Court"
    assert str(h["STATUS"]) == "CONFIRMED"
    window = events[f"checkin-{schedule.pk}-0@caseledger"]
    assert window.decoded("DTSTART") == schedule.first_window_at
    assert window.decoded("DTEND") - window.decoded("DTSTART") == timedelta(hours=24)
    assert f"checkin-{schedule.pk}-1@caseledger" in events
    deadline = next(e for uid, e in events.items() if uid.startswith("deadline-"))
    due = deadline.decoded("DTSTART")
    assert not isinstance(due, datetime)  # an all-day event (VALUE=DATE)
    assert due == timezone.now().astimezone(LA).date() + timedelta(days=60)
    assert "DTSTART;VALUE=DATE:" in raw
    # the fetch is a read of Ana's data: one ledger event for her, by the feed's owner
    event = Event.objects.get(id__gt=mark, data_category="calendar")
    assert event.subject_id == ana.pk and event.actor_id == str(users["participant"].pk)
    assert event.purpose == "self_service" and event.action == "read"


def test_the_feed_speaks_the_users_language(obligations, users, client):
    user = users["participant"]
    user.preferred_language = "es"
    user.save(update_fields=["preferred_language"])
    body = fetch(client, create_feed(user)).content.decode()
    assert "Audiencia en la corte de inmigración" in body


def test_a_cancelled_hearing_stays_in_the_feed_as_cancelled(obligations, users, officer_ctx,
                                                            client):
    from caseledger.cases.services import cancel_hearing

    hearing, _schedule = obligations
    cancel_hearing(ctx=officer_ctx, hearing_id=hearing.pk)
    cal = Calendar.from_ical(fetch(client, create_feed(users["participant"])).content)
    event = next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith("hearing-"))
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 2


def test_revoked_and_unknown_tokens_are_404(obligations, users, client):
    user = users["participant"]
    old = create_feed(user)
    new = create_feed(user)  # a new link ends the old one
    assert fetch(client, old).status_code == 404
    assert fetch(client, new).status_code == 200
    revoke_feed(user)
    assert fetch(client, new).status_code == 404
    assert fetch(client, "A" * 43).status_code == 404
    assert client.get("/calendar/short.ics").status_code == 404
    live = create_feed(user)
    user.is_active = False  # a deactivated account's feed stops working, and it gets no new one
    user.save(update_fields=["is_active"])
    assert fetch(client, live).status_code == 404
    with pytest.raises(PermissionDenied):
        create_feed(user)


def test_staff_have_no_feeds(users):
    for role in ("officer_east", "supervisor_east", "privacy", "admin"):
        with pytest.raises(PermissionDenied):
            create_feed(users[role])


def test_a_feed_shows_only_what_its_owner_may_see(obligations, users, client, make_person):
    other = make_person("officer_east", "Bo", "Lee")
    from tests.conftest import context
    from tests.notices.conftest import local_time

    from caseledger.cases.services import open_case, schedule_hearing

    ctx = context(users["officer_east"])
    other_case = open_case(ctx=ctx, person_id=other.pk, case_type="removal", court_code="NYC")
    other_hearing = schedule_hearing(ctx=ctx, case_id=other_case.pk, calendar="master",
                                     scheduled_at=local_time(25))
    body = fetch(client, create_feed(users["participant"])).content.decode()
    assert f"hearing-{other_hearing.pk}" not in body
    # a representative with no clients of record gets an empty calendar
    rep = Calendar.from_ical(fetch(client, create_feed(users["representative"])).content)
    assert list(rep.walk("VEVENT")) == []


def test_the_calendar_page_creates_shows_once_and_revokes(obligations, users, web_client):
    client = web_client(users["participant"])
    page = client.get("/calendar/")
    assert page.status_code == 200 and "Make my calendar link" in page.content.decode()
    made = client.post("/calendar/", {"action": "create"}).content.decode()
    url = made.split('id="feed-url" type="text" readonly value="')[1].split('"')[0]
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
    again = client.get("/calendar/").content.decode()
    assert url not in again and "End my calendar link" in again
    client.post("/calendar/", {"action": "revoke"})
    assert Client().get(url.removeprefix("http://testserver")).status_code == 404
    assert web_client(users["officer_east"]).get("/calendar/").status_code == 403
