"""The cases API: read a case, move it along its workflow."""

from __future__ import annotations

import uuid

import pytest

from caseledger.cases.models import Case, StatusChange
from caseledger.cases.services import open_case
from caseledger.ledger.models import Event
from tests.api.conftest import API, quiet, send
from tests.conftest import context, last_event_id

CASES = f"{API}/cases"


@pytest.fixture
def make_case(users, make_person):
    def make(officer: str = "officer_east", **person_kwargs) -> Case:
        person = make_person(officer, **person_kwargs)
        return open_case(
            ctx=context(users[officer]),
            person_id=person.pk,
            case_type="removal",
            court_code="NYC",
        )

    return make


def transition(client, case, body):
    return send(client, "post", f"{CASES}/{case.pk}/transitions", body)


def test_read_own_case(users, east, make_case):
    case = make_case()
    mark = last_event_id()
    response = east.get(f"{CASES}/{case.pk}")
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["id"] == str(case.pk) and out["person"] == str(case.person_id)
    assert out["reference"] == case.reference and out["reference"].startswith("CL-")
    assert (out["case_type"], out["status"], out["row_version"]) == ("removal", "open", 1)
    assert out["allowed_transitions"] == ["closed", "decided", "departed"]
    [proceeding] = out["proceedings"]
    assert proceeding["court"] == "NYC" and proceeding["kind"] == "removal"
    assert out["status_changes"] == []
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.data_category, event.outcome) == ("read", "case", "allowed")
    assert event.subject_id == case.person_id and event.record_id == str(case.pk)


def test_the_case_shows_on_the_persons_record(users, east, make_case):
    case = make_case()
    out = east.get(f"{API}/persons/{case.person_id}").json()
    assert [c["id"] for c in out["cases"]] == [str(case.pk)]


def test_another_offices_case_is_404_and_recorded(users, east, make_case, error_of):
    case = make_case("officer_west")
    mark = last_event_id()
    response = east.get(f"{CASES}/{case.pk}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert case.reference not in response.content.decode()
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.outcome, event.subject_id) == ("read", "denied", case.person_id)


@pytest.mark.parametrize("case_id", ["not-a-case", "1", str(uuid.UUID(int=0))])
def test_unknown_or_garbage_case_id_is_404(users, east, case_id):
    response = quiet(east).get(f"{CASES}/{case_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_legal_transition(users, east, make_case):
    case = make_case()
    mark = last_event_id()
    response = transition(
        east, case, {"to_status": "decided", "reason": "IJ decision", "row_version": 1}
    )
    assert response.status_code == 200, response.content
    out = response.json()
    assert out["status"] == "decided" and out["row_version"] == 2
    assert out["allowed_transitions"] == [
        "appealed", "departed", "final_order", "relief_granted"]
    [change] = out["status_changes"]
    assert (change["from_status"], change["to_status"], change["reason"]) == (
        "open",
        "decided",
        "IJ decision",
    )
    row = StatusChange.objects.get(case=case)
    assert (row.from_status, row.to_status, row.changed_by) == (
        "open",
        "decided",
        users["officer_east"],
    )
    case.refresh_from_db()
    assert case.status == "decided" and case.row_version == 2
    moved = Event.objects.get(id__gt=mark, action="transition")
    assert moved.detail == {"from": "open", "to": "decided"}
    assert moved.subject_id == case.person_id and moved.record_id == str(case.pk)
    assert moved.actor_id == str(users["officer_east"].pk)


def test_transition_without_row_version_is_allowed(users, east, make_case):
    case = make_case()
    response = transition(east, case, {"to_status": "closed", "reason": "terminated"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    assert response.json()["allowed_transitions"] == []


def test_illegal_transition_is_409_listing_the_allowed_ones(users, east, make_case, error_of):
    case = make_case()
    mark = last_event_id()
    response = transition(east, case, {"to_status": "final_order", "row_version": 1})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "illegal_transition" and error["field"] == "to_status"
    assert "final_order" in error["detail"]
    assert "Allowed next: closed, decided, departed" in error["detail"]
    case.refresh_from_db()
    assert case.status == "open" and case.row_version == 1
    assert not StatusChange.objects.exists()
    assert not Event.objects.filter(id__gt=mark, action="transition").exists()


def test_a_closed_case_says_nothing_is_allowed(users, east, make_case, error_of):
    case = make_case()
    assert transition(east, case, {"to_status": "closed"}).status_code == 200
    response = transition(east, case, {"to_status": "open"})
    assert response.status_code == 409
    assert "none" in error_of(response)["detail"]


@pytest.mark.parametrize("status", ["deported", "OPEN", "", "decided ", "final order"])
def test_unknown_status_is_422(users, east, make_case, error_of, status):
    case = make_case()
    response = transition(east, case, {"to_status": status})
    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == "to_status"
    case.refresh_from_db()
    assert case.status == "open" and case.row_version == 1
    assert not StatusChange.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"to_status": "decided", "row_version": "1"},
        {"to_status": 3},
        {"to_status": "decided", "when": "now"},
        {"reason": "no status"},
        {"to_status": "decided", "row_version": 0},
        {"to_status": "decided", "reason": "r" * 501},
    ],
    ids=["version-str", "status-int", "unknown-field", "no-status", "version-zero", "long-reason"],
)
def test_malformed_transition_is_422(users, east, make_case, error_of, body):
    case = make_case()
    response = transition(east, case, body)
    assert response.status_code == 422
    error_of(response)
    case.refresh_from_db()
    assert case.status == "open"


def test_stale_row_version_is_409_and_changes_nothing(users, east, make_case, error_of):
    case = make_case()
    assert transition(east, case, {"to_status": "decided", "row_version": 1}).status_code == 200
    mark = last_event_id()
    response = transition(east, case, {"to_status": "appealed", "row_version": 1})
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "stale_version"
    assert "reload" in error["detail"].lower()
    case.refresh_from_db()
    assert (case.status, case.row_version) == ("decided", 2)
    assert StatusChange.objects.filter(case=case).count() == 1
    assert not Event.objects.filter(id__gt=mark, action="transition").exists()


def test_transition_of_another_offices_case_is_404(users, east, make_case):
    case = make_case("officer_west")
    response = transition(east, case, {"to_status": "decided"})
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == "open"
    assert not StatusChange.objects.exists()


def test_supervisor_of_the_office_can_read_the_case(users, api_client, make_case):
    case = make_case("officer_east")
    assert api_client(users["supervisor_east"]).get(f"{CASES}/{case.pk}").status_code == 200
    assert api_client(users["supervisor_west"]).get(f"{CASES}/{case.pk}").status_code == 404
