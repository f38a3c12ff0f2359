"""The JSON API: one person per request (422 with the explanation), decisions, packages,
the accounting for the person and their representative, other roles refused."""

from __future__ import annotations

import base64
import json

import pytest

from caseledger.disclosures.models import AccountingEntry, DisclosureRequest
from caseledger.ledger.models import Event
from tests.api.conftest import API, quiet, send
from tests.conftest import last_event_id
from tests.disclosures.conftest import LETTER

DISCLOSURES = f"{API}/disclosures"


def body(who, **overrides):
    values = {
        "person": str(who.pk),
        "agency": "FBI",
        "official_name": "Lee Park",
        "official_title": "Section Chief",
        "official_rank": "section_chief",
        "authority": "b7",
        "activity": "Investigation of document fraud, case 2026-NK-114",
        "categories": ["identity", "addresses"],
        "letter_base64": base64.b64encode(LETTER).decode(),
        "letter_content_type": "application/pdf",
    }
    values.update(overrides)
    return values


@pytest.fixture
def privacy(api_client, users):
    return quiet(api_client(users["privacy"]))


@pytest.fixture
def privacy_2(api_client, privacy2):
    return quiet(api_client(privacy2))


def _refused(client, payload, status, *, words=(), code=None):
    mark = last_event_id()
    response = send(client, "post", DISCLOSURES, payload)
    assert response.status_code == status, response.content
    error = response.json()
    for word in words:
        assert word.lower() in error["detail"].lower(), error
    if code:
        assert error["code"] == code, error
    assert DisclosureRequest.objects.count() == 0
    # Nothing created (a refused lookup is recorded, as a denial).
    assert not Event.objects.filter(id__gt=mark, action="create", outcome="allowed").exists()
    return error


def test_api_happy_path_and_package(privacy, privacy_2, subject):
    response = send(privacy, "post", DISCLOSURES, body(subject, withhold_from_subject=True))
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "pending" and created["authority"] == "b7"
    assert created["person"] == str(subject.pk)
    listed = send(privacy, "get", DISCLOSURES).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
    assert send(privacy, "get", f"{DISCLOSURES}/{created['id']}").json()["id"] == created["id"]
    # The enterer cannot decide.
    refused = send(
        privacy,
        "post",
        f"{DISCLOSURES}/{created['id']}/decision",
        {"decision": "approve", "reason": "Entered by me, approved by me."},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "four_eyes"
    decided = send(
        privacy_2,
        "post",
        f"{DISCLOSURES}/{created['id']}/decision",
        {"decision": "approve", "reason": "Head-of-section request, specific case."},
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "approved"
    package = send(privacy_2, "get", f"{DISCLOSURES}/{created['id']}/package")
    assert package.status_code == 200
    data = json.loads(package.content)
    assert set(data["data"]) == {"identity", "addresses"}
    assert data["package_sha256"] == decided.json()["package_sha256"]


@pytest.mark.parametrize(
    "payload",
    [
        "list",
        "persons",
        "person_list",
    ],
)
def test_api_refuses_more_than_one_person_with_an_explanation(
    privacy, subject, make_person, payload
):
    other = make_person("officer_east", "Luis", "Mora")
    if payload == "list":
        data = [body(subject), body(other)]
    elif payload == "persons":
        data = body(subject)
        data["persons"] = [str(subject.pk), str(other.pk)]
    else:
        data = body(subject, person=[str(subject.pk), str(other.pk)])
    error = _refused(
        privacy,
        data,
        422,
        words=("one person", "Privacy Act", "particular record"),
        code="one_person",
    )
    assert error["field"] in ("person", "persons")


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"letter_base64": ""}, ("letter",)),
        ({"letter_base64": "***"}, ("base64",)),
        ({"official_rank": "agent"}, ("section chief",)),
        ({"authority": "ICE-A"}, ("does not allow disclosure to FBI",)),
        ({"categories": ["identity", "notes"], "authority": "ICE-C"}, ("notes",)),
        ({"unknown": 1}, ("unknown",)),
        ({"categories": "identity"}, ("categories",)),
    ],
)
def test_api_bad_input_is_422_naming_the_rule(privacy, subject, overrides, words):
    _refused(privacy, body(subject, **overrides), 422, words=words)


def test_api_bad_json_and_unknown_person(privacy, subject):
    _refused(privacy, "{not json", 422, words=("JSON",))
    _refused(
        privacy,
        body(subject, person="00000000-0000-4000-8000-000000000000"),
        404,
        code="unknown_person",
    )


def test_api_other_roles_are_refused(api_client, users, subject):
    for role in ("officer_east", "admin", "participant", "representative"):
        client = quiet(api_client(users[role]))
        assert send(client, "post", DISCLOSURES, body(subject)).status_code == 403
        assert send(client, "get", DISCLOSURES).status_code == 403
    assert DisclosureRequest.objects.count() == 0


def test_api_supervisor_sees_only_their_office(api_client, users, subject, privacy):
    created = send(privacy, "post", DISCLOSURES, body(subject)).json()
    east = quiet(api_client(users["supervisor_east"]))
    west = quiet(api_client(users["supervisor_west"]))
    assert send(east, "get", DISCLOSURES).json()["total"] == 1
    assert send(west, "get", DISCLOSURES).json()["total"] == 0
    assert send(west, "get", f"{DISCLOSURES}/{created['id']}").status_code == 404
    # Supervisors never download packages or decide.
    assert send(east, "get", f"{DISCLOSURES}/{created['id']}/package").status_code == 403
    assert (
        send(
            east,
            "post",
            f"{DISCLOSURES}/{created['id']}/decision",
            {"decision": "approve", "reason": "Supervisor approval."},
        ).status_code
        == 403
    )


def test_accounting_for_person_and_representative_hides_withheld(
    api_client, users, subject, privacy, privacy_2
):
    routine = send(
        privacy,
        "post",
        DISCLOSURES,
        body(
            subject,
            agency="EOIR",
            authority="ICE-A",
            official_rank="agent",
            categories=["identity", "hearings"],
        ),
    ).json()
    withheld = send(privacy, "post", DISCLOSURES, body(subject, withhold_from_subject=True)).json()
    for created in (routine, withheld):
        response = send(
            privacy_2,
            "post",
            f"{DISCLOSURES}/{created['id']}/decision",
            {"decision": "approve", "reason": "Meets the rule for its authority."},
        )
        assert response.status_code == 200, response.content
    assert AccountingEntry.objects.count() == 2
    url = f"{API}/persons/{subject.pk}/accounting"
    for role in ("participant", "representative"):
        mark = last_event_id()
        response = send(quiet(api_client(users[role])), "get", url)
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["withheld_count"] == 1
        assert [e["request"] for e in data["entries"]] == [routine["id"]]
        entry = data["entries"][0]
        assert entry["recipient_address"].startswith("5107 Leesburg Pike")
        assert entry["categories"] == ["identity", "hearings"]
        assert "FBI" not in response.content.decode()
        read = Event.objects.filter(id__gt=mark, action="read", data_category="disclosure")
        assert read.count() == 1 and read.get().subject_id == subject.pk
    # Staff who may see the person see every entry.
    staff = send(quiet(api_client(users["officer_east"])), "get", url).json()
    assert staff["withheld_count"] == 0 and len(staff["entries"]) == 2
    # Others: not found, and the denial is recorded.
    for role in ("officer_west", "supervisor_west", "admin"):
        mark = last_event_id()
        assert send(quiet(api_client(users[role])), "get", url).status_code == 404
        assert Event.objects.filter(id__gt=mark, outcome="denied").exists()


def test_openapi_documents_one_person_and_no_list_of_persons(db):
    from django.test import Client

    schema = Client().get(f"{API}/openapi.json").json()
    create = schema["paths"][f"{API}/disclosures"]["post"]
    assert {"201", "403", "404", "422"} <= set(create["responses"])
    body_schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["additionalProperties"] is False
    assert body_schema["properties"]["person"]["type"] == "string"
    assert f"{API}/disclosures/{{request_id}}/decision" in schema["paths"]
    assert f"{API}/persons/{{person_id}}/accounting" in schema["paths"]
    # No request body anywhere in the disclosures API takes a list of persons.
    for path, ops in schema["paths"].items():
        if "disclosures" in path:
            for op in ops.values():
                text = json.dumps(op.get("requestBody", {}))
                assert '"persons"' not in text and '"person_ids"' not in text, path


def test_api_body_over_the_limit_is_413(privacy, subject):
    letter = base64.b64encode(LETTER + b"0" * 300_000).decode()
    _refused(privacy, body(subject, letter_base64=letter), 413, words=("too large",))


def test_api_decision_and_package_refused_to_other_roles(
    api_client, users, subject, privacy, make_person
):
    created = send(privacy, "post", DISCLOSURES, body(subject)).json()
    for role in ("officer_east", "admin", "participant", "representative"):
        client = quiet(api_client(users[role]))
        decision = send(
            client,
            "post",
            f"{DISCLOSURES}/{created['id']}/decision",
            {"decision": "approve", "reason": "Not my role to decide this."},
        )
        assert decision.status_code == 403, (role, decision.content)
        assert send(client, "get", f"{DISCLOSURES}/{created['id']}/package").status_code == 403
        assert send(client, "get", f"{DISCLOSURES}/{created['id']}").status_code == 403
    assert DisclosureRequest.objects.get().status == "pending"
    # The participant cannot read another person's accounting.
    other = make_person("officer_east", "Luis", "Mora")
    participant = quiet(api_client(users["participant"]))
    assert send(participant, "get", f"{API}/persons/{other.pk}/accounting").status_code == 404
    bad = send(
        privacy,
        "post",
        f"{DISCLOSURES}/{created['id']}/decision",
        {"decision": "approve", "reason": "x", "persons": []},
    )
    assert bad.status_code == 422
