"""A change of address reported by the person (portal and API) or their representative:
the old address stays in the history, the officer and representative are alerted, the
EOIR-33 reminder is planned and the person gets a receipt with its due date."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest

from caseledger.cases.deadlines import compute
from caseledger.cases.services import open_case
from caseledger.core import clock
from caseledger.ledger.models import Event
from caseledger.notices.models import Alert, AlertKind, Reminder
from caseledger.people.models import Address, AddressSource
from caseledger.people.services import record_representation
from tests.conftest import context, last_event_id

NEW = {
    "line1": "480 Ocean Ave",
    "line2": "Apt 3",
    "city": "Brooklyn",
    "region": "NY",
    "postal_code": "11226",
    "country": "US",
}


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def ana(make_person, users):
    person = make_person("officer_east", "Ana", "Ramirez", languages=["es", "en"])
    person.participant_account = users["participant"]
    person.save(update_fields=["participant_account"])
    record_representation(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        representative=users["representative"],
        form="EOIR-28",
        filed_on=date(2026, 1, 5),
    )
    open_case(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        case_type="removal",
        court_code="NYC",
    )
    return person


def _alerted(person) -> set[str]:
    return set(
        Alert.objects.filter(person=person, kind=AlertKind.ADDRESS_CHANGED).values_list(
            "user__username", flat=True
        )
    )


def test_participant_reports_a_move_on_the_portal(web_client, users, ana):
    client = web_client(users["participant"])
    page = _text(client.get("/me/address/"))
    assert "12 Main St" in page, "the current address is shown"
    moved = clock.today() - timedelta(days=1)
    mark = last_event_id()
    response = client.post("/me/address/", {**NEW, "valid_from": moved.isoformat()})
    assert response.status_code == 302, _text(response)
    new = Address.objects.get(person=ana, valid_to__isnull=True)
    assert (new.line1, new.source) == ("480 Ocean Ave", AddressSource.PERSON)
    old = Address.objects.get(person=ana, line1="12 Main St")
    assert old.valid_to == moved - timedelta(days=1), "the old address is kept, ended"
    write = Event.objects.get(id__gt=mark, action="create", record_type="people.address")
    assert write.actor_role == "participant" and write.detail["source"] == "person"
    # The officer and the representative are told; the participant is not alerted about
    # their own change.
    assert _alerted(ana) == {users["officer_east"].username, users["representative"].username}
    # The EOIR-33 reminder is planned.
    assert Reminder.objects.filter(obligation_id__endswith=":address-change").exists()

    receipt = client.get(response["Location"])
    assert receipt.status_code == 200
    text = _text(receipt)
    due = compute("address-change", moved, time_zone="America/New_York")
    assert f'data-eoir33-due="{due.isoformat()}"' in text
    assert "New York - Broadway Immigration Court" in text
    # plain words for the person: no ledger event id, no raw record id
    assert str(write.uuid) not in text and f">{write.record_id}<" not in text


def test_portal_page_in_spanish(web_client, users, ana, settings):
    client = web_client(users["participant"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = client.get("/me/address/")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "es"
    text = _text(response)
    assert "Informar una nueva dirección" in text
    assert "EOIR-33" in text


def test_officer_change_alerts_the_representative_not_the_officer(users, ana):
    from caseledger.people.services import AddressInput, record_address

    record_address(
        ctx=context(users["officer_east"]),
        person_id=ana.pk,
        data=AddressInput(**{k: v for k, v in NEW.items()}, valid_from=clock.today()),
    )
    assert _alerted(ana) == {users["representative"].username}
    assert Address.objects.get(person=ana, valid_to__isnull=True).source == AddressSource.STAFF


def test_representative_reports_through_the_api(api_client, users, ana):
    api = api_client(users["representative"])
    moved = clock.today()
    response = api.post(
        f"/api/v1/persons/{ana.pk}/addresses",
        {**NEW, "valid_from": moved.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "representative"
    assert (
        body["eoir33_due"]
        == compute("address-change", moved, time_zone="America/New_York").isoformat()
    )
    assert body["address"]["city"] == "Brooklyn"
    assert _alerted(ana) == {users["officer_east"].username}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"valid_from": "2023-06-01"}, "valid_from", "must start after the current one"),
        ({"valid_from": "2099-01-01"}, "valid_from", "at most 60 days ahead"),
        ({"city": "  "}, "address", "needs a street line and a city"),
        ({"country": "ZZ"}, None, "ZZ"),
        ({"valid_from": "2026-02-30"}, "valid_from", None),
        ({"line1": 12}, "line1", None),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_written(
    api_client, users, ana, change, field, message
):
    before = list(Address.objects.filter(person=ana).values_list("pk", "valid_to"))
    response = api_client(users["participant"]).post(
        f"/api/v1/persons/{ana.pk}/addresses",
        {**NEW, "valid_from": clock.today().isoformat(), **change},
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    body = response.json()
    if field:
        assert body["field"] == field
    if message:
        assert message in body["detail"]
    assert list(Address.objects.filter(person=ana).values_list("pk", "valid_to")) == before
    assert not _alerted(ana)


def test_participant_cannot_report_for_someone_else(api_client, users, ana, make_person):
    other = make_person("officer_east", "Luis", "Perez")
    api = api_client(users["participant"])
    mark = last_event_id()
    response = api.post(
        f"/api/v1/persons/{other.pk}/addresses",
        {**NEW, "valid_from": clock.today().isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 404
    denial = Event.objects.get(id__gt=mark)
    assert denial.outcome == "denied" and denial.subject_id == other.pk
    assert Address.objects.filter(person=other).count() == 1


def test_other_roles_cannot_record_an_address(api_client, users, ana):
    response = api_client(users["admin"]).post(
        f"/api/v1/persons/{ana.pk}/addresses",
        {**NEW, "valid_from": clock.today().isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Address.objects.filter(person=ana).count() == 1


def test_receipt_of_someone_elses_address_is_not_found(web_client, users, ana, make_person):
    other = make_person("officer_east", "Luis", "Perez")
    theirs = Address.objects.get(person=other)
    client = web_client(users["participant"])
    assert client.get(f"/me/address/{theirs.pk}/receipt/").status_code == 404
    assert client.get("/me/address/not-an-id/receipt/").status_code == 404


def test_staff_cannot_use_the_portal_page(web_client, users, ana):
    assert web_client(users["officer_east"]).get("/me/address/").status_code == 403
