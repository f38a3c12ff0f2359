"""People's writes and pages ask the access policy, not a role: ending a representation
passes the gate (a refusal is one denied event naming the person), a representative of record
is chosen by the reach of their account, and the pages show what the policy allows."""

from __future__ import annotations

import html
from datetime import date

import pytest

from caseledger.access.gate import grant_break_glass
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.people.models import Representation
from caseledger.people.services import end_representation, record_representation
from tests.conftest import context, last_event_id

REASON = "Detainee transferred overnight; verifying identity before the hearing"


@pytest.fixture
def client(make_person):
    return make_person("officer_east", "Rosa", "Diaz")


@pytest.fixture
def representation(users, client) -> Representation:
    return record_representation(ctx=context(users["officer_east"]), person_id=client.pk,
                                 representative=users["representative"], form="G-28",
                                 filed_on=date(2026, 1, 5))


def test_ending_a_representation_twice_is_a_conflict_and_writes_once(
        users, representation, events_since):
    officer = context(users["officer_east"])
    end_representation(ctx=officer, representation_id=representation.pk, reason="Withdrew")
    mark = last_event_id()
    with pytest.raises(Conflict) as err:
        end_representation(ctx=officer, representation_id=representation.pk, reason="Again")
    assert (err.value.code, err.value.message) == (
        "ended", "This representation has already ended.")
    assert events_since(mark) == []
    representation.refresh_from_db()
    assert (representation.end_reason, representation.row_version) == ("Withdrew", 2)


def test_ending_another_offices_representation_is_refused_naming_the_person(
        users, client, representation, events_since):
    mark = last_event_id()
    with pytest.raises(NotFound):
        end_representation(ctx=context(users["officer_west"]),
                           representation_id=representation.pk, reason="Not mine")
    [event] = events_since(mark)
    assert (event.action, event.outcome, event.subject_id) == ("update", "denied", client.pk)
    assert (event.record_type, event.record_id) == (
        "people.representation", str(representation.pk))
    representation.refresh_from_db()
    assert representation.ended_on is None


@pytest.mark.parametrize("representation_id",
                         ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_ending_no_representation_is_a_recorded_not_found(users, db, representation_id,
                                                          events_since):
    mark = last_event_id()
    with pytest.raises(NotFound):
        end_representation(ctx=context(users["officer_east"]),
                           representation_id=representation_id, reason="Nothing")
    [event] = events_since(mark)
    assert (event.outcome, event.subject_id) == ("denied", None)


def test_a_participant_may_not_end_a_representation(users, client, representation,
                                                    events_since):
    mark = last_event_id()
    with pytest.raises(PermissionDenied):
        end_representation(ctx=context(users["participant"]),
                           representation_id=representation.pk, reason="Let me")
    [event] = events_since(mark)
    assert (event.action, event.outcome, event.subject_id) == ("update", "denied", client.pk)


@pytest.mark.parametrize("account", ["privacy", "participant", "officer_east"])
def test_only_a_representatives_account_can_be_of_record(users, client, account):
    with pytest.raises(ValidationError) as err:
        record_representation(ctx=context(users["officer_east"]), person_id=client.pk,
                              representative=str(users[account].pk), form="G-28",
                              filed_on=date(2026, 1, 5))
    assert err.value.field == "representative"


def test_an_inactive_representative_cannot_be_of_record(users, client):
    rep = users["representative"]
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    with pytest.raises(ValidationError):
        record_representation(ctx=context(users["officer_east"]), person_id=client.pk,
                              representative=rep, form="G-28", filed_on=date(2026, 1, 5))


@pytest.mark.parametrize(("account", "title", "can_create"), [
    ("officer_east", "My caseload", True),
    ("supervisor_east", "My office", True),
    ("privacy", "My caseload", False),
])
def test_dashboard_title_and_new_person_button_follow_the_policy(
        users, web_client, account, title, can_create):
    page = html.unescape(web_client(users[account]).get("/persons/").content.decode())
    assert f"<h1>{title}</h1>" in page
    assert ('class="usa-button" href="/persons/new/"' in page) is can_create


def test_participant_dashboard_is_the_portal(users, web_client):
    response = web_client(users["participant"]).get("/persons/")
    assert (response.status_code, response["Location"]) == (302, "/me/")


def test_enrol_button_only_for_those_who_supervise(users, web_client, client):
    officer_page = web_client(users["officer_east"]).get(f"/persons/{client.pk}/")
    assert "Enrol in supervision" in officer_page.content.decode()
    grant_break_glass(user=users["privacy"], person_id=client.pk, reason=REASON)
    privacy_page = web_client(users["privacy"]).get(f"/persons/{client.pk}/")
    assert privacy_page.status_code == 200
    assert "Enrol in supervision" not in privacy_page.content.decode()
