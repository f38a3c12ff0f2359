"""The amendment pages (participant, representative, staff) and the Spanish My record page."""

from __future__ import annotations

from unittest import mock

import pytest

from caseledger.ledger.models import Event
from caseledger.portal import services
from caseledger.portal.models import AmendmentRequest, AmendmentStatus, DisagreementStatement
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db

FORM = {
    "category": "contact",
    "what_is_wrong": "My phone number ends in 44, not 45.",
    "correction": "It should end in 44.",
}


@pytest.fixture(autouse=True)
def no_accounting():
    """These tests are about the amendment pages; the accounting part is tested elsewhere."""
    with mock.patch("caseledger.disclosures.selectors.accounting_for_person") as accounting:
        accounting.return_value.entries, accounting.return_value.withheld_count = [], 0
        yield


def test_participant_asks_for_a_correction_on_the_page(rosa, users, web_client):
    client = web_client(users["participant"])
    form = client.get("/me/record/amendments/new/")
    assert (
        form.status_code == 200 and "Which part of your record is wrong?" in form.content.decode()
    )
    response = client.post("/me/record/amendments/new/", FORM)
    assert response.status_code == 302 and response["Location"] == "/me/record/"
    request = AmendmentRequest.objects.get()
    assert (request.person_id, request.category, request.requester_role) == (
        rosa.pk,
        "contact",
        "participant",
    )
    html = client.get("/me/record/").content.decode()
    assert f'data-amendment="{request.pk}"' in html and "ends in 44, not 45" in html
    assert "Decision due by" in html


@pytest.mark.parametrize(
    "change,message",
    [
        ({"what_is_wrong": ""}, "This field is required."),
        ({"correction": "x" * 2001}, "at most 2000 characters"),
        ({"category": "biometrics"}, "Select a valid choice."),
    ],
)
def test_bad_form_input_is_refused_with_nothing_written(rosa, users, web_client, change, message):
    mark = last_event_id()
    response = web_client(users["participant"]).post(
        "/me/record/amendments/new/", {**FORM, **change}
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert AmendmentRequest.objects.count() == 0
    assert not Event.objects.filter(id__gt=mark, action="request").exists()


def test_representative_asks_for_a_client(rosa, users, web_client):
    client = web_client(users["representative"])
    response = client.post(f"/me/record/{rosa.pk}/amendments/new/", FORM)
    assert response.status_code == 302 and response["Location"] == f"/me/record/{rosa.pk}/"
    assert AmendmentRequest.objects.get().requester_role == "representative"


def test_representative_cannot_ask_for_someone_else(rosa, make_person, users, web_client):
    other = make_person("officer_east", "Ana", "Lopez")
    mark = last_event_id()
    response = web_client(users["representative"]).post(
        f"/me/record/{other.pk}/amendments/new/", FORM
    )
    assert response.status_code == 404
    assert AmendmentRequest.objects.count() == 0
    assert Event.objects.filter(id__gt=mark, outcome="denied", subject_id=other.pk).exists()


def test_statement_of_disagreement_has_a_confirmation_step(rosa, users, web_client):
    request = services.request_amendment(ctx=context(users["participant"]), **FORM)
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="The carrier confirms 45.",
    )
    client = web_client(users["participant"])
    html = client.get("/me/record/").content.decode()
    url = f"/me/record/amendments/{request.pk}/statement/"
    assert url in html
    checking = client.post(url, {"text": "I have the bill showing 44."})
    assert checking.status_code == 200 and "Check your statement" in checking.content.decode()
    assert DisagreementStatement.objects.count() == 0
    done = client.post(url, {"text": "I have the bill showing 44.", "confirmed": "yes"})
    assert done.status_code == 302
    assert DisagreementStatement.objects.get().text == "I have the bill showing 44."
    html = client.get("/me/record/").content.decode()
    assert "data-statement" in html and "I have the bill showing 44." in html
    again = client.post(url, {"text": "Twice.", "confirmed": "yes"})
    assert again.status_code == 422 and "already attached" in again.content.decode()


def test_staff_queue_and_decision_with_confirmation(rosa, users, web_client):
    request = services.request_amendment(ctx=context(users["participant"]), **FORM)
    privacy = web_client(users["privacy"])
    queue = privacy.get("/me/record/staff/amendments/")
    assert queue.status_code == 200
    assert f'data-request="{request.pk}"' in queue.content.decode()
    detail_url = f"/me/record/staff/amendments/{request.pk}/"
    detail = privacy.get(detail_url).content.decode()
    assert "ends in 44, not 45" in detail and "Acknowledge receipt" in detail
    assert privacy.post(detail_url, {"step": "acknowledge"}).status_code == 302
    request.refresh_from_db()
    assert request.status == AmendmentStatus.ACKNOWLEDGED
    body = {"step": "decide", "decision": "refuse", "reasons": "The carrier confirms 45."}
    confirm = privacy.post(detail_url, body)
    assert confirm.status_code == 200 and "Refuse this request?" in confirm.content.decode()
    request.refresh_from_db()
    assert request.status == AmendmentStatus.ACKNOWLEDGED  # nothing decided yet
    assert privacy.post(detail_url, {**body, "confirmed": "yes"}).status_code == 302
    request.refresh_from_db()
    assert request.status == AmendmentStatus.REFUSED
    twice = privacy.post(detail_url, {**body, "decision": "grant", "confirmed": "yes"})
    assert twice.status_code == 409 and "already decided" in twice.content.decode()
    # the case officer may look, not decide; an officer elsewhere gets not found
    officer_view = web_client(users["officer_east"]).get(detail_url)
    assert (
        officer_view.status_code == 200
        and "Confirm the decision" not in officer_view.content.decode()
        and 'name="decision"' not in officer_view.content.decode()
    )
    assert web_client(users["officer_west"]).get(detail_url).status_code == 404
    assert web_client(users["participant"]).get("/me/record/staff/amendments/").status_code == 403


def test_api_amendments(rosa, users, api_client, make_person):
    client = api_client(users["participant"])
    created = client.post("/api/v1/me/amendments", {**FORM}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "received" and body["person"] == str(rosa.pk)
    assert body["acknowledge_due"] < body["decision_due"]
    listed = client.get("/api/v1/me/amendments").json()
    assert [a["id"] for a in listed] == [body["id"]]
    rep = api_client(users["representative"])
    assert [a["id"] for a in rep.get(f"/api/v1/me/amendments?person={rosa.pk}").json()] == [
        body["id"]
    ]
    other = make_person("officer_east", "Ana", "Lopez")
    mark = last_event_id()
    refused = rep.post(
        "/api/v1/me/amendments", {**FORM, "person": str(other.pk)}, content_type="application/json"
    )
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    assert Event.objects.filter(id__gt=mark, outcome="denied", subject_id=other.pk).exists()


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({**FORM, "category": "fingerprints"}, 422, "category"),
        ({**FORM, "what_is_wrong": ""}, 422, "what_is_wrong"),
        ({**FORM, "correction": "x" * 2001}, 422, "correction"),
        ({**FORM, "surprise": 1}, 422, "surprise"),
        ({**FORM, "category": 7}, 422, "category"),
        ({"category": "contact"}, 422, None),
    ],
)
def test_api_bad_input_is_a_clear_422_with_nothing_written(
    rosa, users, api_client, body, status, field
):
    mark = last_event_id()
    response = api_client(users["participant"]).post(
        "/api/v1/me/amendments", body, content_type="application/json"
    )
    assert response.status_code == status, response.content
    error = response.json()
    if field:
        assert error["field"] == field, error
    assert error["detail"]
    assert AmendmentRequest.objects.count() == 0
    assert not Event.objects.filter(id__gt=mark, action="request").exists()


def test_my_record_in_spanish(rosa, users, web_client, record_catalogue):
    client = web_client(users["participant"])
    client.cookies["django_language"] = "es"
    response = client.get("/me/record/")
    assert response.status_code == 200
    assert response["Content-Language"] == "es"
    html = response.content.decode()
    assert 'lang="es"' in html
    for english in (
        "Who accessed my record",
        "The information we hold",
        "Ask to correct something",
        "Who we shared the record with",
    ):
        assert record_catalogue[english] in html, english
        assert english not in html, english
