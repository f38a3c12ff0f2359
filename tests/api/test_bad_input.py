"""Bad input to POST /api/v1/persons: a clear 4xx, never a 500, never a half-written row."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from caseledger.ledger.models import Event
from tests.api.conftest import API, person_body, quiet, row_counts, send
from tests.conftest import last_event_id

PERSONS = f"{API}/persons"


@pytest.fixture
def client(east):
    """officer_east's API client; a server error comes back as a 500 response."""
    return quiet(east)


def assert_refused(client, body, status, error_of, *, field=None, words=()):
    before = row_counts()
    mark = last_event_id()
    response = send(client, "post", PERSONS, body)
    assert response.status_code == status, (response.status_code, response.content[:500])
    error = error_of(response)
    if field is not None:
        assert error["field"] == field, error
    for word in words:
        assert word.lower() in error["detail"].lower(), error
    assert row_counts() == before
    assert not Event.objects.filter(id__gt=mark, action__in=["create", "assign"]).exists()
    return error


@pytest.mark.parametrize("a_number", ["B123", "A12", "A1234567", "A1234567890", "AB12345678", "42"])
def test_malformed_a_number_is_422(users, client, error_of, a_number):
    error = assert_refused(client, person_body(a_number=a_number), 422, error_of, field="a_number")
    assert "A123456789" in error["detail"]  # says what a good one looks like


def test_duplicate_a_number_is_409(users, client, error_of, make_person):
    make_person("officer_west", a_number="A123456789")
    error = assert_refused(
        client, person_body(a_number="A-123-456-789"), 409, error_of, field="a_number"
    )
    assert error["code"] == "conflict"
    assert "already" in error["detail"]


def test_duplicate_a_number_written_without_leading_zero_is_409(
    users, client, error_of, make_person
):
    make_person("officer_east", a_number="A012345678")
    assert_refused(client, person_body(a_number="A12345678"), 409, error_of, field="a_number")


def test_future_date_of_birth_is_422(users, client, error_of):
    tomorrow = (timezone.now().date() + timedelta(days=2)).isoformat()
    assert_refused(
        client,
        person_body(date_of_birth=tomorrow),
        422,
        error_of,
        field="date_of_birth",
        words=["future"],
    )


@pytest.mark.parametrize(
    "value", ["2023-02-30", "2023-13-01", "1990-00-10", "yesterday", "", 19900517]
)
def test_impossible_date_of_birth_is_422(users, client, error_of, value):
    assert_refused(client, person_body(date_of_birth=value), 422, error_of, field="date_of_birth")


@pytest.mark.parametrize("value", ["1899-12-31", "0001-01-01", "1066-10-14"])
def test_date_of_birth_before_1900_is_422(users, client, error_of, value):
    assert_refused(
        client,
        person_body(date_of_birth=value),
        422,
        error_of,
        field="date_of_birth",
        words=["1900"],
    )


def test_date_of_birth_in_1900_is_accepted(users, client):
    response = send(client, "post", PERSONS, person_body(date_of_birth="1900-01-01"))
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("codes", [["ZZ"], ["MX", "QQ"], ["Mexico"], ["M"], [""]])
def test_unknown_country_code_is_422(users, client, error_of, codes):
    assert_refused(client, person_body(citizenship=codes), 422, error_of, field="citizenship")


def test_unknown_address_country_is_422(users, client, error_of):
    body = person_body()
    body["address"]["country"] = "ZZ"
    assert_refused(client, body, 422, error_of, words=["ZZ"])


@pytest.mark.parametrize("codes", [["zz"], ["es", "qq"], ["spanish"], ["e"], ["xyzw"]])
def test_unknown_language_code_is_422(users, client, error_of, codes):
    assert_refused(client, person_body(languages=codes), 422, error_of, field="languages")


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+1 000 000 0000", "+999 1234"])
def test_invalid_phone_is_422(users, client, error_of, phone):
    body = person_body(contacts=[{"kind": "phone", "value": phone}])
    assert_refused(client, body, 422, error_of, field="contacts", words=["phone"])


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.org", "a b@example.org"])
def test_invalid_email_is_422(users, client, error_of, email):
    body = person_body(contacts=[{"kind": "email", "value": email}])
    assert_refused(client, body, 422, error_of, field="contacts", words=["email"])


def test_a_bad_contact_after_good_ones_writes_nothing(users, client, error_of):
    body = person_body(
        contacts=[
            {"kind": "phone", "value": "+1 212 736 5000"},
            {"kind": "email", "value": "ok@example.org"},
            {"kind": "email", "value": "broken@"},
        ]
    )
    assert_refused(client, body, 422, error_of, field="contacts")


def test_unknown_contact_kind_is_422(users, client, error_of):
    body = person_body(contacts=[{"kind": "fax", "value": "+1 212 736 5000"}])
    assert_refused(client, body, 422, error_of)


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": {"given_names": 123, "family_names": "Lopez"}},
        {"name": "Ana Lopez"},
        {"name": ["Ana", "Lopez"]},
        {"interpreter_needed": "yes"},
        {"interpreter_needed": 1},
        {"citizenship": "MX"},
        {"languages": [1, 2]},
        {"a_number": 123456789},
        {"aliases": {"given_names": "X"}},
        {"contacts": [{"kind": "phone", "value": 2127365000}]},
        {"address": {"line1": "1 Main", "city": "Newark", "valid_from": 20240101}},
    ],
    ids=[
        "name-number",
        "name-string",
        "name-list",
        "interpreter-yes",
        "interpreter-1",
        "citizenship-str",
        "languages-ints",
        "a-number-int",
        "aliases-object",
        "phone-int",
        "valid-from-int",
    ],
)
def test_wrong_typed_field_is_422(users, client, error_of, overrides):
    error = assert_refused(client, person_body(**overrides), 422, error_of)
    assert error["code"] == "invalid"


def test_wrong_type_error_names_the_field(users, client, error_of):
    error = assert_refused(client, person_body(interpreter_needed="yes"), 422, error_of)
    assert error["field"] == "interpreter_needed"
    assert "interpreter_needed" in error["detail"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": {}},
        {"name": {"given_names": "  ", "family_names": ""}},
        {"aliases": [{"given_names": "", "family_names": ""}]},
    ],
    ids=["empty-name", "blank-name", "blank-alias"],
)
def test_a_name_without_any_part_is_422(users, client, error_of, overrides):
    assert_refused(client, person_body(**overrides), 422, error_of, field="names")


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": {"given_names": "Ana\x00", "family_names": "Lopez"}},
        {"aliases": [{"given_names": "A", "family_names": "B\x00C"}]},
        {"address": {"line1": "1 Main\x00", "city": "Newark", "valid_from": "2024-01-01"}},
        {"contacts": [{"kind": "email", "value": "ana\x00@example.org"}]},
    ],
    ids=["name", "alias", "address", "email"],
)
def test_nul_byte_in_text_is_422(users, client, error_of, overrides):
    """NUL is not text: refused on every database (PostgreSQL cannot even store it)."""
    assert_refused(client, person_body(**overrides), 422, error_of)


def test_missing_name_is_422(users, client, error_of):
    body = person_body()
    del body["name"]
    assert_refused(client, body, 422, error_of, field="name")


def test_unknown_field_is_422(users, client, error_of):
    error = assert_refused(client, person_body(office="west"), 422, error_of)
    assert error["field"] == "office"


def test_unknown_nested_field_is_422(users, client, error_of):
    body = person_body()
    body["address"]["planet"] = "Earth"
    assert_refused(client, body, 422, error_of)


def test_too_many_aliases_is_422(users, client, error_of):
    aliases = [{"given_names": f"Alias{i}", "family_names": "X"} for i in range(21)]
    assert_refused(client, person_body(aliases=aliases), 422, error_of)


def test_over_long_string_is_422(users, client, error_of):
    assert_refused(
        client, person_body(name={"given_names": "A" * 201, "family_names": "B"}), 422, error_of
    )


def test_body_over_the_upload_limit_is_413(users, client, error_of):
    body = person_body(name={"given_names": "Ana", "family_names": "Lopez", "full_name": "x"})
    raw = json.dumps(body)
    padding = " " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1 - len(raw) + 10)
    big = raw[:-1] + padding + "}"
    assert len(big.encode()) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 256 * 1024
    error = assert_refused(client, big, 413, error_of)
    assert error["code"] == "too_large"


def test_body_just_under_the_limit_is_read(users, client, error_of):
    """A large but allowed body is parsed (here, refused as invalid for its content)."""
    body = person_body(notes="x" * 1000)
    assert len(json.dumps(body)) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert_refused(client, body, 422, error_of)


@pytest.mark.parametrize(
    "raw",
    ['{"name": {"given_names": "Ana"', "{'name': 'Ana'}", "not json at all", "{,}", "\x00\x01"],
    ids=["truncated", "single-quotes", "text", "comma", "binary"],
)
def test_malformed_json_is_4xx(users, client, raw):
    before = row_counts()
    response = send(client, "post", PERSONS, raw)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert row_counts() == before


def test_invalid_utf8_is_4xx(users, client):
    before = row_counts()
    response = client.post(
        PERSONS, data=b'{"name": {"given_names": "\xff\xfe"}}', content_type="application/json"
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert row_counts() == before


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps([person_body()]),
        "[]",
        '"Ana Lopez"',
        "123",
        "null",
        "true",
    ],
    ids=["list-of-person", "empty-list", "string", "number", "null", "bool"],
)
def test_a_body_that_is_not_an_object_is_422(users, client, error_of, raw):
    assert_refused(client, raw, 422, error_of)


def test_empty_body_is_4xx(users, client):
    before = row_counts()
    response = client.post(PERSONS, data="", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert row_counts() == before


def test_form_encoded_body_is_4xx(users, client):
    before = row_counts()
    response = client.post(PERSONS, data={"name": "Ana"})
    assert 400 <= response.status_code < 500, response.content[:300]
    assert row_counts() == before


def test_good_body_after_bad_ones_still_works(users, client):
    """The refusals above leave no state behind that blocks a correct request."""
    send(client, "post", PERSONS, person_body(a_number="B123"))
    send(client, "post", PERSONS, person_body(date_of_birth="2023-02-30"))
    response = send(client, "post", PERSONS, person_body(a_number="A-222-333-444"))
    assert response.status_code == 201, response.content
    assert response.json()["a_number"] == "A222333444"
