"""'Who accessed my record': the person (and their representative) see every staff access."""

from __future__ import annotations

from datetime import date

import pytest

from caseledger.core.errors import NotFound
from caseledger.ledger.models import Event
from caseledger.ledger.selectors import access_history
from caseledger.people.selectors import get_person
from caseledger.people.services import record_representation
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def person_with_login(make_person, users):
    person = make_person("officer_east", "Rosa", "Diaz")
    person.participant_account = users["participant"]
    person.save()
    return person


def test_participant_sees_staff_accesses_with_role_office_and_purpose(users, person_with_login):
    get_person(ctx=context(users["officer_east"]), person_id=person_with_login.pk)
    get_person(ctx=context(users["supervisor_east"]), person_id=person_with_login.pk)
    mark = last_event_id()
    rows, total = access_history(ctx=context(users["participant"]))
    assert total >= 3  # created, assigned, two reads
    seen = {(e.actor_role, e.office, e.purpose, e.action) for e in rows}
    assert ("case_officer", "east", "caseload", "read") in seen
    assert ("supervisor", "east", "office_supervision", "read") in seen
    assert all(e.actor_role != "participant" for e in rows)
    viewing = Event.objects.get(id__gt=mark)
    assert (viewing.actor_role, viewing.data_category, viewing.subject_id) == (
        "participant", "ledger", person_with_login.pk)


def test_denied_attempts_are_shown_too(users, person_with_login):
    with pytest.raises(NotFound):
        get_person(ctx=context(users["officer_west"]), person_id=person_with_login.pk)
    rows, _ = access_history(ctx=context(users["participant"]))
    assert any(e.office == "west" and e.outcome == "denied" for e in rows)


def test_representative_sees_their_client_only(users, person_with_login, make_person):
    other = make_person("officer_east", "Ana", "Lopez")
    record_representation(ctx=context(users["officer_east"]), person_id=person_with_login.pk,
                          representative=users["representative"], form="EOIR-28",
                          filed_on=date(2026, 2, 1))
    rows, total = access_history(ctx=context(users["representative"]),
                                 person_id=person_with_login.pk)
    assert total > 0 and {e.subject_id for e in rows} == {person_with_login.pk}
    with pytest.raises(NotFound):
        access_history(ctx=context(users["representative"]), person_id=other.pk)


def test_officer_cannot_use_it_for_persons_outside_the_caseload(users, make_person):
    west = make_person("officer_west")
    with pytest.raises(NotFound):
        access_history(ctx=context(users["officer_east"]), person_id=west.pk)


def test_api(users, person_with_login, api_client):
    get_person(ctx=context(users["officer_east"]), person_id=person_with_login.pk)
    body = api_client(users["participant"]).get("/api/v1/me/accesses").json()
    assert body["total"] >= 1
    assert {"time", "role", "office", "purpose", "action", "category", "outcome"} <= set(
        body["items"][0])
    assert "actor" not in body["items"][0]  # roles and offices, not staff identities
