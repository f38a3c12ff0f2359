"""What the Schemathesis run (`scripts/api_fuzz.py`) found, kept as regression tests: the API
refuses what its schema refuses, takes what its schema allows, and documents its limits."""

from __future__ import annotations

import json
import re
from itertools import product

import pytest
from axes.models import AccessAttempt
from django.test import Client

from caseledger.accounts.models import ApiToken
from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from caseledger.people.models import Address, Person
from caseledger.reports.api import PERIOD, WEEK
from caseledger.reports.periods import MAX_YEAR, MIN_YEAR, parse_period, parse_week
from caseledger.retention.models import DataClass, LegalHold
from tests.api.conftest import API, person_body, quiet, row_counts, send
from tests.conftest import PASSWORD

HOLD_REASON = "Litigation hold: pending federal court case."


def spec() -> dict:
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()


# --- a number is not a date ---------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 86400, 0.0, "2024-06-01T00:00:00", "20240601", "2024-02-30"])
def test_a_date_of_birth_that_is_not_yyyy_mm_dd_is_422_and_nothing_is_stored(
    users, east, error_of, value
):
    """Pydantic's lax date took `0` as a Unix time and stored 1970-01-01."""
    before = row_counts()
    response = send(quiet(east), "post", f"{API}/persons", person_body(date_of_birth=value))
    assert response.status_code == 422, response.content[:300]
    assert error_of(response)["field"] == "date_of_birth"
    assert row_counts() == before


def test_an_address_valid_from_a_number_is_422(users, east, error_of, make_person):
    person = make_person("officer_east")
    body = {"line1": "1 Elm St", "city": "Newark", "valid_from": 0}
    response = send(quiet(east), "post", f"{API}/persons/{person.pk}/addresses", body)
    assert response.status_code == 422, response.content[:300]
    assert error_of(response)["field"] == "valid_from"
    assert not Address.objects.filter(person=person, valid_from__year=1970).exists()


def test_an_iso_date_is_still_taken(users, east):
    response = send(east, "post", f"{API}/persons", person_body(date_of_birth="1988-03-14"))
    assert response.status_code == 201, response.content[:300]
    assert Person.objects.get(pk=response.json()["id"]).date_of_birth.isoformat() == "1988-03-14"


# --- integers as JSON Schema means them ---------------------------------------------------


def test_a_row_version_written_as_a_whole_float_is_the_same_integer(users, east, make_person):
    """OpenAPI 3.1 counts `1.0` as an integer; the strict model refused it (422)."""
    person = make_person("officer_east")
    body = {"row_version": float(person.row_version), "interpreter_needed": True}
    response = send(east, "patch", f"{API}/persons/{person.pk}", body)
    assert response.status_code == 200, response.content[:300]
    assert response.json()["row_version"] == person.row_version + 1


@pytest.mark.parametrize("value", [1.5, "1", True])
def test_a_row_version_that_is_no_integer_is_still_422(users, east, make_person, error_of, value):
    person = make_person("officer_east")
    body = {"row_version": value, "interpreter_needed": True}
    response = send(quiet(east), "patch", f"{API}/persons/{person.pk}", body)
    assert response.status_code == 422, response.content[:300]
    assert error_of(response)["field"] == "row_version"
    person.refresh_from_db()
    assert person.interpreter_needed is False


# --- the schema says what the validators enforce ------------------------------------------


def _request_bodies(doc: dict) -> dict[str, dict]:
    schemas = doc["components"]["schemas"]
    return {name: s for name, s in schemas.items() if s.get("additionalProperties") is False}


def _strings(prop: dict) -> list[dict]:
    if prop.get("type") == "string":
        return [prop]
    found = [n for branch in prop.get("anyOf", ()) for n in _strings(branch)]
    return found + (_strings(prop["items"]) if isinstance(prop.get("items"), dict) else [])


def test_every_free_text_of_a_request_body_documents_its_limits(db):
    """Control characters are refused in every string (StrictIn): the schema says so with a
    pattern, and says the length limit of the model's config."""
    bodies = _request_bodies(spec())
    assert {"PersonIn", "TokenIn", "HoldIn", "AmendmentIn", "FindingIn"} <= set(bodies)
    for name, body in bodies.items():
        for field, prop in body["properties"].items():
            for node in _strings(prop):
                if {"enum", "const", "format"} & node.keys():
                    continue
                where = f"{name}.{field}"
                assert "maxLength" in node, where
                assert not re.search(node["pattern"], "0123456789 abcdefghij\x00"), where
                assert not re.search(node["pattern"], "0123456789 abcdefghij\x1b"), where


def test_a_patch_cannot_send_null_where_the_schema_offers_none(users, east, make_person, error_of):
    doc = spec()
    patch = doc["components"]["schemas"]["PersonPatch"]["properties"]
    for field in ("name", "citizenship", "languages", "interpreter_needed"):
        assert "null" not in str(patch[field]), field
    assert "null" in str(patch["date_of_birth"]) and "null" in str(patch["a_number"])
    person = make_person("officer_east")
    body = {"row_version": person.row_version, "name": None}
    response = send(quiet(east), "patch", f"{API}/persons/{person.pk}", body)
    assert response.status_code == 422
    assert error_of(response)["field"] == "name"


def test_the_hold_schema_lists_exactly_the_classes_a_hold_takes(users, api_client, make_person):
    doc = spec()
    listed = set(doc["components"]["schemas"]["HoldIn"]["properties"]["data_class"]["enum"])
    person = make_person("officer_east")
    client = quiet(api_client(users["privacy"]))
    for code in ["", *DataClass.values]:
        body = {"person": str(person.pk), "reason": HOLD_REASON, "data_class": code}
        response = send(client, "post", f"{API}/retention/holds", body)
        assert response.status_code == (201 if code in listed else 422), (code, response.content)
    assert LegalHold.objects.filter(person=person).count() == len(listed)


def _accepts(parse, text: str) -> bool:
    try:
        parse(text)
    except ValidationError:
        return False
    return True


def test_the_week_and_period_patterns_say_what_the_parsers_take():
    week, period = re.compile(WEEK["pattern"]), re.compile(PERIOD["pattern"])
    years = [MIN_YEAR - 1, MIN_YEAR, 2026, 2020, MAX_YEAR, MAX_YEAR + 1, 1999, 2200]
    for year, n in product(years, range(0, 55)):
        text = f"{year}-W{n:02d}"
        # Week 53 exists in some years only: the pattern allows it, the parser decides.
        if n != 53:
            assert bool(week.match(text)) == _accepts(parse_week, text), text
        elif _accepts(parse_week, text):
            assert week.match(text), text
    suffixes = ["", "-Q0", "-Q1", "-Q4", "-Q5", "-00", "-01", "-12", "-13"]
    for year, suffix in product(years, suffixes):
        text = f"{year}{suffix}"
        assert bool(period.match(text)) == _accepts(parse_period, text), text
    assert week.match("") and not period.match("")  # no week: the latest reports


def test_every_link_leads_to_an_operation_that_takes_the_parameter(db):
    """The OpenAPI links (followed by the stateful phase) name operations by id, by hand."""
    doc = spec()
    operations = {
        op["operationId"]: {p["name"] for p in op.get("parameters", ())}
        for path in doc["paths"].values()
        for op in path.values()
    }
    seen = 0
    for path in doc["paths"].values():
        for op in path.values():
            for answer in op["responses"].values():
                for name, link in answer.get("links", {}).items():
                    assert link["operationId"] in operations, name
                    assert set(link["parameters"]) <= operations[link["operationId"]], name
                    sources = link["parameters"].values()
                    assert all(v.startswith("$response.body#/") for v in sources), name
                    seen += 1
    assert seen >= 20


# --- a JSON body must say it is JSON ------------------------------------------------------

NO_BOUNDARY = "multipart/form-data"  # a multipart Content-Type that Django cannot read


def test_a_sign_in_whose_body_is_not_labelled_json_is_415_and_tries_no_password(users, error_of):
    """A JSON body sent as multipart/form-data without a boundary reached the sign-in view:
    the right password got a token, a wrong one a 400 page, and django-axes (reading the same
    request as a form) failed before it counted the attempt, so that there was no lockout."""
    user = users["officer_east"]
    client = Client()
    for password in ["wrong-1", "wrong-2", "wrong-3", "wrong-4", "wrong-5", "wrong-6", PASSWORD]:
        body = json.dumps({"username": user.username, "password": password})
        response = client.post(f"{API}/auth/token", body, content_type=NO_BOUNDARY)
        assert response.status_code == 415, response.content[:300]
        assert error_of(response)["code"] == "unsupported_media_type"
    assert not ApiToken.objects.filter(user=user).exists()
    assert not AccessAttempt.objects.filter(username=user.username).exists()
    assert not Event.objects.filter(action="login").exists()
    wrong = {"username": user.username, "password": "wrong"}
    statuses = [send(client, "post", f"{API}/auth/token", wrong).status_code for _ in range(5)]
    assert statuses == [403] * 4 + [429]  # the lockout counts what is sent as JSON


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_every_json_body_must_say_so(users, east, make_person, error_of, content_type):
    person = make_person("officer_east")
    body = json.dumps({"row_version": person.row_version, "interpreter_needed": True})
    response = east.patch(f"{API}/persons/{person.pk}", body, content_type=content_type)
    assert response.status_code == 415, response.content[:300]
    assert error_of(response)["code"] == "unsupported_media_type"
    person.refresh_from_db()
    assert person.interpreter_needed is False


def test_a_disclosure_request_must_be_sent_as_json(users, api_client, error_of):
    client = api_client(users["privacy"])
    response = client.post(f"{API}/disclosures", '{"person": "x"}', content_type="text/plain")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_an_unreadable_multipart_body_is_a_json_400(users, api_client, error_of):
    """Django answered a broken multipart body with its HTML 400 page."""
    client = api_client(users["participant"])
    response = client.post(f"{API}/checkins", b"--x\r\n", content_type=NO_BOUNDARY)
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_multipart"


# --- /auth/token: the lockout's 429 is documented -----------------------------------------


def test_the_lockout_answer_is_a_documented_429(users, error_of):
    token = spec()["paths"][f"{API}/auth/token"]["post"]["responses"]
    assert "locked" in token["429"]["description"]
    assert token["429"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    client = Client()
    body = {"username": users["officer_east"].username, "password": "not-the-password"}
    statuses = [send(client, "post", f"{API}/auth/token", body).status_code for _ in range(5)]
    assert statuses == [403] * 4 + [429]
    locked = send(client, "post", f"{API}/auth/token", body)
    assert locked.status_code == 429
    assert error_of(locked)["code"] == "locked"
    assert set(locked.json()) == {"detail", "code", "field"}
    assert locked["Retry-After"] == "900"  # the 15-minute lock
