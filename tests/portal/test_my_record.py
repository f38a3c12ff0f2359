"""My record: every section for the participant and the representative, nobody else; who
accessed it; the accounting of disclosures; the export (JSON and PDF hold the same data)."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.utils import timezone
from pypdf import PdfReader

from caseledger.core.errors import NotFound
from caseledger.ledger.models import Event
from caseledger.people.selectors import get_person
from caseledger.portal import selectors, services
from caseledger.portal.export import in_words
from caseledger.portal.labels import short_reference
from caseledger.retention.selectors import Deletion
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db

CERTIFICATE = uuid.UUID("6a1f0c1e-3f7e-4d6e-9a59-5d1f2b7c9e01")


@pytest.fixture
def disclosed(rosa, users):
    """One approved routine-use disclosure of Rosa's identity and hearings to EOIR, made
    through the disclosures services (entered by one privacy officer, approved by another)."""
    from caseledger.accounts.models import Role
    from caseledger.accounts.services import create_user
    from caseledger.disclosures import services as disclosures
    from caseledger.disclosures.models import AccountingEntry
    from tests.conftest import PASSWORD
    from tests.disclosures.conftest import request_input

    privacy2 = create_user(
        username="privacy2", password=PASSWORD, role=Role.PRIVACY_OFFICER, office=None
    )
    req = disclosures.create_request(context(users["privacy"]), request_input(rosa))
    disclosures.decide(
        context(privacy2),
        req.pk,
        decision="approve",
        reason="Routine use A applies; court proceedings pending.",
    )
    return AccountingEntry.objects.get(subject_id=rosa.pk)


@pytest.fixture
def refused_with_statement(rosa, users):
    request = services.request_amendment(
        ctx=context(users["participant"]),
        category="address",
        what_is_wrong="The street number is 21, not 12.",
        correction="21 Main St.",
    )
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="The lease on file says 12 Main St.",
    )
    services.file_statement(
        ctx=context(users["participant"]),
        request_id=request.pk,
        text="My lease was renewed at number 21 in January.",
    )
    return request


@pytest.fixture
def deleted():
    item = Deletion(
        "checkin_location",
        "Check-in location",
        3,
        datetime(2026, 10, 2, 3, 0, tzinfo=UTC),
        CERTIFICATE,
    )
    with mock.patch(
        "caseledger.retention.selectors.deletions_for_person", return_value=[item]
    ) as patched:
        yield patched


@pytest.fixture
def full_record(rosa, rosa_case, disclosed, refused_with_statement, deleted, users):
    # a staff read done now, which must show in "who accessed my record"
    get_person(ctx=context(users["supervisor_east"]), person_id=rosa.pk)
    return rosa


SECTIONS = [
    "The information we hold",
    "Cases and decisions",
    "Hearings and dates to keep",
    "Check-ins",
    "Who we shared the record with",
    "Information we deleted",
    "Requests to correct the record",
]


def _page_text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def assert_every_section(html: str, rosa, rosa_case) -> None:
    case, hearing, _decision = rosa_case
    for heading in SECTIONS:
        assert heading in html, heading
    assert "Rosa Diaz" in html and rosa.a_number in html and "17 May 1990" in html
    assert "12 Main St, Newark, NJ 07102" in html
    assert case.reference in html and "Relief granted" in html
    assert f'data-hearing="{hearing.pk}"' in html and "Newark Immigration Court" in html
    assert "Dana Cruz" in html  # the recipient named in the accounting
    # the parts shared and the rule, in words (never "identity", "b7" or a routine-use code
    # alone)
    assert "Identity (names, A-number, date of birth, citizenship), Hearings" in html
    assert "Routine use ICE-A, published in the notice of this system of records" in html
    # a deletion with its certificate's short reference, never the certificate's raw id
    assert "Check-in location: 3" in html and "deletion certificate no. 6A1F0C1E" in html
    assert str(CERTIFICATE) not in html
    assert "My lease was renewed at number 21 in January." in html  # statement attached
    assert "The lease on file says 12 Main St." in html


def test_participant_sees_every_section(full_record, rosa_case, users, web_client):
    html = _page_text(web_client(users["participant"]).get("/me/record/"))
    assert_every_section(html, full_record, rosa_case)
    assert "Who accessed my record" in html


def test_who_accessed_lists_the_staff_read_with_role_office_and_purpose(
    full_record, users, web_client
):
    mark = last_event_id()
    get_person(ctx=context(users["officer_east"]), person_id=full_record.pk)
    html = _page_text(web_client(users["participant"]).get("/me/record/"))
    rows = html.split("<tr data-access>")[1:]
    newest = rows[0]
    assert "Case officer" in newest and ">East office<" in newest  # the office's name
    assert "Managing their caseload" in newest and "Looked at: Identity" in newest
    assert any("Supervisor" in r and "Supervising the office&#x27;s cases" in r for r in rows)
    assert all("participant" not in r.lower() for r in rows)  # staff only, never the person
    # the staff read happened before the page was built; viewing the page is itself recorded
    viewing = Event.objects.filter(id__gt=mark, actor_role="participant", data_category="ledger")
    assert viewing.count() == 1 and viewing.get().subject_id == full_record.pk


def test_who_accessed_is_paginated(rosa, users, web_client):
    for _ in range(55):
        get_person(ctx=context(users["officer_east"]), person_id=rosa.pk)
    with mock.patch("caseledger.disclosures.selectors.accounting_for_person") as accounting:
        accounting.return_value.entries, accounting.return_value.withheld_count = [], 0
        first = _page_text(web_client(users["participant"]).get("/me/record/"))
        second = _page_text(web_client(users["participant"]).get("/me/record/?page=2"))
    assert first.count("<tr data-access>") == 50
    assert "Page 1 of 2" in first and "?page=2" in first
    assert 5 < second.count("<tr data-access>") < 50


def test_representative_chooses_a_client_and_sees_every_section(
    full_record, rosa_case, users, web_client
):
    client = web_client(users["representative"])
    chooser = _page_text(client.get("/me/record/"))
    assert f"/me/record/{full_record.pk}/" in chooser and "Rosa Diaz" in chooser
    html = _page_text(client.get(f"/me/record/{full_record.pk}/"))
    assert_every_section(html, full_record, rosa_case)
    assert "Who accessed this record" in html


def test_representative_of_someone_else_gets_not_found_and_a_denial(
    rosa, make_person, users, web_client
):
    other = make_person("officer_east", "Ana", "Lopez")
    mark = last_event_id()
    response = web_client(users["representative"]).get(f"/me/record/{other.pk}/")
    assert response.status_code == 404
    assert "Ana" not in response.content.decode()
    denial = Event.objects.get(id__gt=mark, outcome="denied")
    assert (denial.subject_id, denial.actor_role, denial.data_category) == (
        other.pk,
        "representative",
        "record",
    )


def test_another_participant_gets_not_found_and_a_denial(
    rosa, make_person, make_user, users, web_client
):
    from caseledger.accounts.models import Role
    from caseledger.people.models import Person

    stranger = make_user("stranger", Role.PARTICIPANT)
    own = make_person("officer_east", "Ana", "Lopez")
    Person.objects.filter(pk=own.pk).update(participant_account=stranger)
    mark = last_event_id()
    response = web_client(stranger).get(f"/me/record/{rosa.pk}/")
    assert response.status_code == 404
    assert "Rosa" not in response.content.decode()
    denial = Event.objects.get(id__gt=mark, outcome="denied")
    assert (denial.subject_id, denial.actor_role) == (rosa.pk, "participant")
    for path in (f"/me/record/{rosa.pk}/export.json", f"/me/record/{rosa.pk}/export.pdf"):
        assert web_client(stranger).get(path).status_code == 404
    with pytest.raises(NotFound):
        selectors.my_record(context(stranger), rosa.pk)


def test_staff_have_no_my_record_page(rosa, users, web_client):
    mark = last_event_id()
    response = web_client(users["officer_east"]).get(f"/me/record/{rosa.pk}/")
    assert response.status_code == 404
    assert Event.objects.filter(id__gt=mark, outcome="denied", actor_role="case_officer").exists()


def test_accounting_entry_is_on_the_page_and_in_both_exports(rosa, disclosed, users, web_client):
    client = web_client(users["participant"])
    html = _page_text(client.get("/me/record/"))
    assert disclosed.recipient_name in html and disclosed.recipient_address.split("\n")[0] in html
    assert "ICE-A" in html
    document = json.loads(client.get("/me/record/export.json").content)
    (entry,) = document["disclosures"]["entries"]
    assert entry == {
        "disclosed_at": disclosed.disclosed_on.isoformat(),
        "categories": ["identity", "hearings"],
        "purpose": disclosed.purpose,
        "recipient": disclosed.recipient_name,
        "recipient_address": disclosed.recipient_address,
        "authority": "ICE-A",
    }
    assert document["disclosures"]["withheld_count"] == 0
    pdf = _pdf_text(client.get("/me/record/export.pdf"))
    assert disclosed.recipient_name in pdf and "ICE-A" in pdf


def test_withheld_disclosures_are_shown_as_a_count(rosa, users, web_client):
    from caseledger.accounts.models import Role
    from caseledger.accounts.services import create_user
    from caseledger.disclosures import services as disclosures
    from tests.conftest import PASSWORD
    from tests.disclosures.conftest import b7_input

    privacy2 = create_user(
        username="privacy2", password=PASSWORD, role=Role.PRIVACY_OFFICER, office=None
    )
    req = disclosures.create_request(
        context(users["privacy"]), b7_input(rosa, withhold_from_subject=True)
    )
    disclosures.decide(
        context(privacy2),
        req.pk,
        decision="approve",
        reason="Written (b)(7) request from a section chief.",
    )
    html = _page_text(web_client(users["participant"]).get("/me/record/"))
    assert 'data-withheld="1"' in html and "552a(c)(3)" in html
    assert "Lee Park" not in html
    document = json.loads(web_client(users["participant"]).get("/me/record/export.json").content)
    assert document["disclosures"] == {"entries": [], "withheld_count": 1}


def _pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_export_json_and_pdf_hold_the_same_data_and_are_ledger_events(
    full_record, rosa_case, users, web_client
):
    client = web_client(users["participant"])
    mark = last_event_id()
    response = client.get("/me/record/export.json")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    document = json.loads(response.content)
    pdf = _pdf_text(client.get("/me/record/export.pdf"))
    exports = Event.objects.filter(id__gt=mark, action="export")
    assert [(e.detail["format"], e.subject_id, e.actor_role) for e in exports] == [
        ("json", full_record.pk, "participant"),
        ("pdf", full_record.pk, "participant"),
    ]

    assert document["format"] == "caseledger.my-record/1"
    person = document["person"]
    assert person["id"] == str(full_record.pk) and person["a_number"] == full_record.a_number
    assert [n["full_name"] for n in person["names"]] == ["Rosa Diaz"]
    case = document["cases"][0]
    assert case["proceedings"][0]["decisions"][0]["kind"] == "Relief granted"
    amendment = document["amendments"][0]
    assert amendment["status"] == "refused"
    assert amendment["statement_of_disagreement"]["text"].startswith("My lease was renewed")
    assert document["deletions"] == [
        {
            "data_class": "Check-in location",
            "count": 3,
            "date": "2026-10-02T03:00:00Z",
            "certificate": str(CERTIFICATE),
        }
    ]
    assert document["accesses"]["total"] == len(document["accesses"]["items"]) > 0
    # every value of these parts of the JSON is in the PDF, in words: dates written out, ids
    # as short references (never the JSON's ISO timestamps, codes or UUIDs)
    with timezone.override("America/New_York"):  # the participant's office's zone, as the page
        words = in_words(document)
    values = [
        person["a_number"],
        "May 17, 1990",
        "Rosa Diaz",
        document["addresses"][0]["address"],
        case["reference"],
        words["cases"][0]["opened_on"],
        words["cases"][0]["proceedings"][0]["hearings"][0]["when"],
        amendment["what_is_wrong"],
        amendment["statement_of_disagreement"]["text"],
        words["amendments"][0]["acknowledge_due"],
        words["amendments"][0]["decision_due"],
        document["disclosures"]["entries"][0]["recipient"],
        "6A1F0C1E",  # the deletion certificate's short reference
        short_reference(full_record.pk),
    ]
    values += [a["time"] for a in words["accesses"]["items"]]
    for value in values:
        assert value in pdf, value
    for raw in (person["date_of_birth"], case["opened_on"], document["deletions"][0]["certificate"],
                str(full_record.pk), "(UTC)"):
        assert raw not in pdf, raw
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", pdf)  # no ISO timestamp
    # the PDF is for reading: roles and acts in words, not the JSON's codes
    assert pdf.count("Case officer") + pdf.count("Supervisor") >= sum(
        a["role"] in ("case_officer", "supervisor") for a in document["accesses"]["items"]
    )
    assert "case_officer" not in pdf and "Looked at: Identity" in pdf


def test_representative_exports_their_clients_record(full_record, users, web_client):
    client = web_client(users["representative"])
    document = json.loads(client.get(f"/me/record/{full_record.pk}/export.json").content)
    assert document["person"]["id"] == str(full_record.pk)
    pdf = _pdf_text(client.get(f"/me/record/{full_record.pk}/export.pdf"))
    assert full_record.a_number in pdf


def test_api_record_for_participant_and_representative(full_record, users, api_client, make_person):
    mine = api_client(users["participant"]).get("/api/v1/me/record")
    assert mine.status_code == 200, mine.content[:300]
    body = mine.json()
    assert body["person"]["id"] == str(full_record.pk)
    assert body["disclosures"]["entries"][0]["authority"] == "ICE-A"
    rep = api_client(users["representative"])
    assert rep.get(f"/api/v1/me/record?person={full_record.pk}").json()["person"]["id"] == str(
        full_record.pk
    )
    other = make_person("officer_east", "Ana", "Lopez")
    for path in (
        f"/api/v1/me/record?person={other.pk}",
        "/api/v1/me/record",
        "/api/v1/me/record?person=not-an-id",
    ):
        response = rep.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    assert (
        api_client(users["officer_east"])
        .get(f"/api/v1/me/record?person={full_record.pk}")
        .status_code
        == 404
    )


def test_record_reads_go_through_the_gate_one_event_per_part(rosa, rosa_case, users):
    mark = last_event_id()
    with mock.patch("caseledger.disclosures.selectors.accounting_for_person") as accounting:
        accounting.return_value.entries, accounting.return_value.withheld_count = [], 0
        record = selectors.my_record(context(users["participant"]))
    assert record.person.pk == rosa.pk
    reads = Event.objects.filter(id__gt=mark, actor_role="participant")
    assert {e.data_category for e in reads} >= {
        "identity",
        "case",
        "ledger",
        "retention",
        "amendment",
    }
    assert all(e.subject_id == rosa.pk and e.purpose == "self_service" for e in reads)


def test_check_in_history_with_review_dispositions(enrolled, users, web_client):
    from caseledger.people.services import record_representation
    from caseledger.supervision import services as supervision
    from caseledger.supervision.models import Review
    from tests.supervision.conftest import ANA_SELFIE, STRANGER

    participant = enrolled.enrolment.person.participant_account
    person = enrolled.enrolment.person
    supervision.submit_check_in(
        user=participant, image=STRANGER, latitude="40.7", longitude="-74.0", accuracy="30"
    )
    supervision.submit_check_in(
        user=participant, image=ANA_SELFIE, latitude="40.7", longitude="-74.0", accuracy="30"
    )
    review = Review.objects.get(enrolment=enrolled.enrolment)
    supervision.dispose_review(
        ctx=context(users["officer_east"]),
        review_id=review.pk,
        disposition="technical_problem",
        note="Lighting was poor.",
    )
    record_representation(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        representative=users["representative"],
        form="G-28",
        filed_on=datetime(2026, 1, 5).date(),
    )
    for client, path in (
        (web_client(participant), "/me/record/"),
        (web_client(users["representative"]), f"/me/record/{person.pk}/"),
    ):
        client.cookies["django_language"] = "en"  # the participant prefers Spanish
        html = _page_text(client.get(path))
        assert html.count("data-checkin=") == 2
        assert "Checked in: the photo matched." in html
        assert "Sent to an officer to look at." in html
        assert f'data-review="{review.pk}"' in html
        assert "A technical problem; it does not count against you" in html
        assert "Lighting was poor." not in html  # the reviewer's note is not a disposition
    document = json.loads(web_client(participant).get("/me/record/export.json").content)
    reviews = document["supervision"][0]["reviews"]
    assert [r["disposition"] for r in reviews] == ["Technical problem"]
    assert {c["outcome"] for c in document["supervision"][0]["check_ins"]} == {"verified", "review"}
