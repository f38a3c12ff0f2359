"""Nothing a client sends decides what anyone sees (DESIGN invariant 9).

- Request ids are the server's: a client's `X-Request-Id` (even one equal to the id of a
  withheld disclosure's events) never removes a read from the person's "who accessed my record".
- Purposes are a closed set: an unknown or overlong `X-Access-Purpose` is a 400 that is itself
  recorded, with the person named and a purpose from the closed set, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from caseledger.access.context import Purpose
from caseledger.access.history import access_history
from caseledger.access.models import Grant
from caseledger.disclosures import services as disclosures
from caseledger.ledger.models import Event, Outcome
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import b7_input

API = "/api/v1"


@pytest.fixture
def withheld(users: dict[str, Any], subject: Any, privacy2: Any) -> Any:
    """A (b)(7) disclosure of `subject`, withheld from them, entered and decided over HTTP-like
    contexts that carry request ids."""
    req = disclosures.create_request(
        context(users["privacy"], request_id="a" * 32),
        b7_input(subject, withhold_from_subject=True),
    )
    disclosures.decide(context(privacy2, request_id="b" * 32), req.pk, decision="approve",
                       reason="Written (b)(7) request.")
    return req


def _history_ids(users: dict[str, Any]) -> set[int]:
    rows, total = access_history(ctx=context(users["participant"]), page=1, per_page=1000)
    assert total == len(rows)
    return {e.pk for e in rows}


@pytest.mark.parametrize(
    "spoofed",
    ["demo-seed-disclosure-3", "disclosure-{req}", "a" * 32, "b" * 32, "{task}"],
)
def test_a_client_request_id_never_hides_a_read_from_the_person(
    users, subject, withheld, api_client, spoofed
):
    supervisor = api_client(users["supervisor_east"])
    value = spoofed.format(req=withheld.pk, task=f"disclosure:{withheld.pk}")
    mark = last_event_id()
    response = supervisor.get(f"{API}/persons/{subject.pk}", HTTP_X_REQUEST_ID=value)
    assert response.status_code == 200
    read = Event.objects.get(id__gt=mark, subject_id=subject.pk, action="read")
    # The id is the server's; the client's value is only echoed back for correlation.
    assert read.request_id == response["X-Request-Id"]
    assert read.request_id != value
    uuid.UUID(read.request_id)
    if len(value) <= 64 and all(c.isalnum() or c in "._-" for c in value):
        assert response["X-Correlation-Id"] == value
    assert "task" not in read.detail
    assert read.pk in _history_ids(users)


def test_the_withheld_disclosure_itself_stays_out_of_the_history(users, subject, withheld):
    rows, _total = access_history(ctx=context(users["participant"]), page=1, per_page=1000)
    key = str(withheld.pk)
    assert not [e for e in rows if e.record_id == key or e.detail.get("task", "").endswith(key)]
    # ... while staff see every one of its events.
    all_of_it = Event.objects.filter(subject_id=subject.pk, detail__task=f"disclosure:{key}")
    assert all_of_it.count() >= 4


def test_every_response_gets_a_fresh_server_request_id(users, api_client, subject):
    client = api_client(users["officer_east"])
    first = client.get(f"{API}/persons/{subject.pk}", HTTP_X_REQUEST_ID="same-id-every-time")
    second = client.get(f"{API}/persons/{subject.pk}", HTTP_X_REQUEST_ID="same-id-every-time")
    assert first["X-Request-Id"] != second["X-Request-Id"]
    assert first["X-Correlation-Id"] == second["X-Correlation-Id"] == "same-id-every-time"
    # An unsafe correlation value is dropped, not echoed.
    third = client.get(f"{API}/persons/{subject.pk}", HTTP_X_REQUEST_ID="bad value\twith tab")
    assert "X-Correlation-Id" not in third


@pytest.mark.parametrize(
    "purpose",
    ["x" * 40, "investigation", "break glass please", "self-service-and-more", "caseload\u0000"],
)
def test_an_unknown_purpose_is_400_and_recorded_with_its_subject(
    users, subject, api_client, purpose
):
    officer = api_client(users["officer_west"])  # another office: the probe of issue 10
    mark = last_event_id()
    response = officer.get(f"{API}/persons/{subject.pk}", HTTP_X_ACCESS_PURPOSE=purpose)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_purpose"
    assert body["field"] == "X-Access-Purpose"
    assert "caseload" in body["detail"]
    refused = Event.objects.get(id__gt=mark)
    assert refused.outcome == Outcome.DENIED
    assert refused.subject_id == subject.pk
    assert refused.purpose == Purpose.CASELOAD  # from the closed set, never the client's text
    assert refused.detail == {"reason": "unknown_purpose"}
    assert purpose.encode() not in bytes(refused.leaf)
    # The person sees the refused attempt in "who accessed my record".
    assert refused.pk in _history_ids(users)


def test_an_unknown_purpose_for_an_unknown_id_is_recorded_without_a_subject(users, api_client):
    officer = api_client(users["officer_east"])
    mark = last_event_id()
    invented = uuid.uuid4()
    response = officer.get(f"{API}/persons/{invented}", HTTP_X_ACCESS_PURPOSE="nosy")
    assert response.status_code == 400
    refused = Event.objects.get(id__gt=mark)
    assert refused.subject_id is None
    assert refused.record_id == str(invented)


def test_a_purpose_of_the_closed_set_is_still_accepted_in_any_spelling(
    users, subject, api_client
):
    supervisor = api_client(users["supervisor_east"])
    for spelling in ("office_supervision", "Office-Supervision", " caseload "):
        response = supervisor.get(f"{API}/persons/{subject.pk}", HTTP_X_ACCESS_PURPOSE=spelling)
        assert response.status_code == 200, spelling


def test_an_overlong_reason_is_400_and_recorded(users, subject, api_client):
    officer = api_client(users["officer_west"])
    mark = last_event_id()
    response = officer.get(
        f"{API}/persons/{subject.pk}",
        HTTP_X_ACCESS_PURPOSE="break-glass",
        HTTP_X_ACCESS_REASON="r" * 5000,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "reason_too_long"
    refused = Event.objects.get(id__gt=mark)
    assert refused.subject_id == subject.pk and refused.outcome == Outcome.DENIED
    assert not Grant.objects.filter(person=subject).exists()
