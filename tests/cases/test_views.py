"""The case page and its status-change form."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from caseledger.access.gate import grant_break_glass
from caseledger.cases.models import Case, StatusChange
from caseledger.cases.services import open_case, record_decision, schedule_hearing
from caseledger.ledger.models import Event
from tests.conftest import context, last_event_id

REASON = "Detainee transferred overnight; verifying identity before the hearing"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _status_options(page_html: str) -> list[str]:
    select = re.search(r'<select name="to_status".*?</select>', page_html, re.S)
    assert select, "no status select on the page"
    return re.findall(r'<option value="([^"]+)"', select.group(0))


@pytest.fixture
def officer(users, web_client):
    return web_client(users["officer_east"])


@pytest.fixture
def case(users, make_person):
    person = make_person("officer_east", "Ana", "Ramirez")
    ctx = context(users["officer_east"])
    case = open_case(
        ctx=ctx,
        person_id=person.pk,
        case_type="removal",
        court_code="LOS",
        reference="CL-2024-ABC123",
    )
    schedule_hearing(
        ctx=ctx,
        case_id=case.pk,
        calendar="master",
        scheduled_at=datetime(2025, 1, 15, 17, 0, tzinfo=UTC),
        judge="Judge Ruiz",
        allow_past=True,
    )
    schedule_hearing(
        ctx=ctx,
        case_id=case.pk,
        calendar="individual",
        scheduled_at=datetime(2025, 7, 15, 17, 0, tzinfo=UTC),
        allow_past=True,
    )
    record_decision(
        ctx=ctx, case_id=case.pk, kind="relief_granted", decided_on=datetime(2025, 7, 15).date()
    )
    return case


def test_case_page_shows_the_case(users, officer, case):
    mark = last_event_id()
    response = officer.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    page = _text(response)
    assert "Case CL-2024-ABC123" in page
    assert "Removal proceedings (INA 240)" in page
    assert 'data-status="open"' in page
    assert "Los Angeles Immigration Court" in page
    assert '<time datetime="2025-01-15T17:00:00+00:00">' in page
    assert "Master calendar" in page and "Individual (merits)" in page
    assert "Judge Ruiz" in page
    assert "Relief granted" in page
    assert f'href="/persons/{case.person_id}/"' in page and "Ana Ramirez" in page
    assert 'data-purpose="caseload"' in page
    assert sorted(_status_options(page)) == ["closed", "decided", "departed"]
    assert 'name="row_version"' in page and 'value="1"' in page
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.record_id, event.outcome) == ("read", str(case.pk), "allowed")


def test_case_page_shows_hearing_times_in_the_courts_time_zone(officer, case):
    """The column is headed "When (court time)": a Los Angeles hearing at 17:00 UTC is
    09:00 PST in January and 10:00 PDT in July."""
    page = _text(officer.get(f"/cases/{case.pk}/"))
    shown = re.findall(r'<time datetime="2025-0[17]-15T17:00:00\+00:00">([^<]+)</time>', page)
    assert shown == ["2025-01-15 09:00 PST", "2025-07-15 10:00 PDT"]


def test_case_page_of_another_office_is_404(users, web_client, case):
    mark = last_event_id()
    response = web_client(users["officer_west"]).get(f"/cases/{case.pk}/")
    assert response.status_code == 404
    page = _text(response)
    assert "CL-2024-ABC123" not in page and "Ana Ramirez" not in page
    event = Event.objects.get(id__gt=mark)
    assert (event.outcome, event.subject_id) == ("denied", case.person_id)


def test_case_page_with_a_garbled_id_is_404(officer, db, users):
    assert officer.get("/cases/not-a-case/").status_code == 404


def test_case_page_under_break_glass_shows_the_banner(users, web_client, case):
    grant_break_glass(user=users["officer_west"], person_id=case.person_id, reason=REASON)
    response = web_client(users["officer_west"]).get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    assert 'data-purpose="break_glass"' in _text(response)


def test_transition_form_changes_the_status(users, officer, case):
    mark = last_event_id()
    response = officer.post(
        f"/cases/{case.pk}/transitions/",
        {"to_status": "decided", "reason": "oral decision", "row_version": "1"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert (case.status, case.row_version) == ("decided", 2)
    change = StatusChange.objects.get(case=case)
    assert (change.from_status, change.to_status, change.reason) == (
        "open",
        "decided",
        "oral decision",
    )
    event = Event.objects.get(id__gt=mark, action="transition")
    assert event.detail == {"from": "open", "to": "decided"}
    assert event.request_id  # ties the event to the HTTP request
    page = _text(officer.get(response["Location"]))
    assert "Status changed." in page
    assert 'data-status="decided"' in page
    assert "Open, in proceedings → Decided" in page
    assert '<span class="cl-timeline__note">oral decision</span>' in page
    assert sorted(_status_options(page)) == [
        "appealed", "departed", "final_order", "relief_granted"]


def test_illegal_transition_shows_the_error_message(users, officer, case):
    response = officer.post(
        f"/cases/{case.pk}/transitions/",
        {"to_status": "relief_granted", "row_version": "1"},
        follow=True,
    )
    assert response.status_code == 200
    page = _text(response)
    assert ("A case that is 'open' cannot become 'relief_granted'. "
            "Allowed next: closed, decided, departed.") in page
    assert "usa-alert--error" in page
    case.refresh_from_db()
    assert (case.status, case.row_version) == ("open", 1)
    assert not StatusChange.objects.exists()


def test_stale_transition_form_shows_the_conflict(users, officer, case):
    officer.post(f"/cases/{case.pk}/transitions/", {"to_status": "decided", "row_version": "1"})
    response = officer.post(
        f"/cases/{case.pk}/transitions/",
        {"to_status": "appealed", "row_version": "1"},
        follow=True,
    )
    page = _text(response)
    assert "This case changed since you read it" in page
    case.refresh_from_db()
    assert (case.status, case.row_version) == ("decided", 2)


def test_transition_form_without_a_status_asks_for_one(users, officer, case):
    response = officer.post(
        f"/cases/{case.pk}/transitions/", {"to_status": "bogus", "row_version": "1"}, follow=True
    )
    assert "Choose a new status." in _text(response)
    case.refresh_from_db()
    assert case.status == "open"


def test_closed_case_page_has_no_status_form(users, officer, case):
    Case.objects.filter(pk=case.pk).update(status="closed")
    page = _text(officer.get(f"/cases/{case.pk}/"))
    assert "This case is closed; its status cannot change." in page
    assert 'name="to_status"' not in page


def test_transition_of_another_offices_case_is_404(users, web_client, case):
    response = web_client(users["officer_west"]).post(
        f"/cases/{case.pk}/transitions/", {"to_status": "closed", "row_version": "1"}
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == "open"


def test_transition_requires_post(officer, case):
    assert officer.get(f"/cases/{case.pk}/transitions/").status_code == 405
