"""GET /api/v1/ledger/events?subject=<person id>: a person's access history (privacy officers)."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from caseledger.ledger.models import Event
from caseledger.ledger.services import SYSTEM, record_event
from tests.api.conftest import API, quiet
from tests.conftest import last_event_id

EVENTS = f"{API}/ledger/events"


@pytest.fixture
def privacy(users, api_client):
    return api_client(users["privacy"])


def test_privacy_officer_lists_a_persons_events_newest_first(users, privacy, east, make_person):
    person = make_person("officer_east")
    other = make_person("officer_east")
    assert east.get(f"{API}/persons/{person.pk}").status_code == 200
    expected = list(Event.objects.filter(subject_id=person.pk).order_by("-time", "-id"))
    assert len(expected) >= 3  # create, assign, read
    mark = last_event_id()
    response = privacy.get(EVENTS, {"subject": str(person.pk)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == len(expected) and body["page"] == 1
    assert [e["id"] for e in body["items"]] == [str(e.uuid) for e in expected]
    assert all(e["subject"] == str(person.pk) for e in body["items"])
    assert str(other.pk) not in response.content.decode()
    times = [datetime.fromisoformat(e["time"]) for e in body["items"]]
    assert times == sorted(times, reverse=True)
    newest = body["items"][0]
    assert (newest["action"], newest["actor"], newest["role"], newest["office"]) == (
        "read",
        str(users["officer_east"].pk),
        "case_officer",
        "east",
    )
    assert {e["action"] for e in body["items"]} >= {"create", "assign", "read"}
    # The read of the ledger is itself in the ledger, about the same person.
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.data_category, event.outcome) == ("read", "ledger", "allowed")
    assert event.subject_id == person.pk
    assert event.actor_id == str(users["privacy"].pk)
    assert event.purpose == "privacy_review"
    assert event.detail == {"page": 1, "returned": len(expected)}


def test_the_next_read_sees_the_previous_ledger_read(users, privacy, make_person):
    person = make_person("officer_east")
    first = privacy.get(EVENTS, {"subject": str(person.pk)}).json()
    second = privacy.get(EVENTS, {"subject": str(person.pk)}).json()
    assert second["total"] == first["total"] + 1
    newest = second["items"][0]
    assert (newest["action"], newest["category"], newest["actor"]) == (
        "read",
        "ledger",
        str(users["privacy"].pk),
    )


def test_denials_show_in_the_persons_history(users, privacy, west, make_person):
    person = make_person("officer_east")
    assert west.get(f"{API}/persons/{person.pk}").status_code == 404
    items = privacy.get(EVENTS, {"subject": str(person.pk)}).json()["items"]
    denied = [e for e in items if e["outcome"] == "denied"]
    assert len(denied) == 1
    assert denied[0]["actor"] == str(users["officer_west"].pk)


def test_events_are_paginated_by_50(users, privacy, make_person):
    person = make_person("officer_east")
    for i in range(60):
        record_event(
            actor=SYSTEM,
            action="notice",
            category="notice",
            purpose="caseload",
            subject_id=person.pk,
            detail={"n": i},
        )
    total = Event.objects.filter(subject_id=person.pk).count()
    first = privacy.get(EVENTS, {"subject": str(person.pk)}).json()
    second = privacy.get(EVENTS, {"subject": str(person.pk), "page": 2}).json()
    assert len(first["items"]) == 50
    assert second["page"] == 2
    # The first read added one event about this person before the second was made.
    assert first["total"] == total and second["total"] == total + 1
    assert len(second["items"]) == total + 1 - 50
    assert first["items"][0]["detail"] == {"n": 59}
    ids_first = {e["id"] for e in first["items"]}
    ids_second = {e["id"] for e in second["items"]}
    # One new event shifted the pages by one: only that boundary event is on both.
    assert len(ids_first & ids_second) == 1
    beyond = privacy.get(EVENTS, {"subject": str(person.pk), "page": 50}).json()
    assert beyond["items"] == [] and beyond["page"] == 50


def test_a_person_with_no_events_gives_an_empty_page(users, privacy):
    response = privacy.get(EVENTS, {"subject": str(uuid.uuid4())})
    assert response.status_code == 200
    assert response.json()["items"] == [] and response.json()["total"] == 0


@pytest.mark.parametrize("role", ["officer_east", "supervisor_east", "admin", "participant"])
def test_other_roles_get_404(users, api_client, make_person, error_of, role):
    person = make_person("officer_east")
    client = api_client(users[role])
    response = client.get(EVENTS, {"subject": str(person.pk)})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert str(person.pk) not in response.content.decode()


def test_a_refused_ledger_read_is_recorded_as_denied(users, east, make_person):
    """Invariant 1: denials are recorded, with outcome 'denied'."""
    person = make_person("officer_east")
    mark = last_event_id()
    assert east.get(EVENTS, {"subject": str(person.pk)}).status_code == 404
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.data_category) == ("read", "ledger")
    assert event.actor_id == str(users["officer_east"].pk)
    assert event.outcome == "denied"


@pytest.mark.parametrize("subject", ["not-a-uuid", "12345", "' OR 1=1 --", "x" * 65])
def test_bad_subject_is_422(users, privacy, error_of, subject):
    mark = last_event_id()
    response = quiet(privacy).get(EVENTS, {"subject": subject})
    assert response.status_code == 422, response.content
    assert error_of(response)["field"] == "subject"
    assert not Event.objects.filter(id__gt=mark, outcome="allowed").exists()


def test_missing_subject_is_422(users, privacy, error_of):
    response = privacy.get(EVENTS)
    assert response.status_code == 422
    assert error_of(response)["field"] == "subject"


@pytest.mark.parametrize("page", ["0", "-3", "two"])
def test_bad_page_is_422(users, privacy, error_of, page):
    response = privacy.get(EVENTS, {"subject": str(uuid.uuid4()), "page": page})
    assert response.status_code == 422
    assert error_of(response)["field"] == "page"


def test_ledger_needs_a_token(db, error_of):
    from django.test import Client

    response = Client().get(EVENTS, {"subject": str(uuid.uuid4())})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


def test_each_event_carries_its_position_in_the_log(privacy, east, make_person):
    from caseledger.ledger.models import Entry
    from caseledger.ledger.services import integrate_pending

    person = make_person("officer_east")
    assert east.get(f"{API}/persons/{person.pk}").status_code == 200
    integrate_pending()
    items = privacy.get(EVENTS, {"subject": str(person.pk)}).json()["items"]
    placed = dict(
        Entry.objects.filter(event__subject_id=person.pk).values_list("event__uuid", "position")
    )
    assert len(items) >= 3 and len(placed) >= len(items)
    assert [e["position"] for e in items] == [placed[uuid.UUID(e["id"])] for e in items]
    assert len({e["position"] for e in items}) == len(items)  # one leaf each
