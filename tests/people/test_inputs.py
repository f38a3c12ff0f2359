"""One input model per write (people/inputs.py): the API, the forms and the CSV importer give
the same verdict, in the same words, for the same bad value, because each of them checks it
with the same model."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.utils import translation

from caseledger.core.errors import ValidationError
from caseledger.core.inputs import parse
from caseledger.imports.formats import COLUMNS
from caseledger.imports.models import ImportKind, Reason
from caseledger.imports.services import Cells, RowRejected
from caseledger.imports.services.persons import person_input
from caseledger.people.forms import AddressForm, PersonForm
from caseledger.people.inputs import AddressIn, ContactIn, NameIn, PersonIn, PersonPatch
from caseledger.people.models import Person
from caseledger.people.services import ContactInput, NameInput

PERSONS = "/api/v1/persons"

# (API body change, form field change, CSV cell change, field, message), one bad value each.
CASES = [
    pytest.param({"name": {"given_names": "A" * 201, "family_names": "Lopez"}},
                 {"given_names": "A" * 201}, {"given_names": "A" * 201},
                 "given_names", "Too long: at most 200 characters.", id="too-long"),
    pytest.param({"citizenship": ["ZZ"]}, {"citizenship": "ZZ"}, {"citizenship": "ZZ"},
                 "citizenship", "'ZZ' is not an ISO 3166 country code (e.g. MX, HT, VE).",
                 id="unknown-country"),
    pytest.param({"languages": ["klingon"]}, {"languages": "klingon"},
                 {"languages": "klingon"}, "languages",
                 "'klingon' is not an ISO 639 language code (e.g. es, ht, ar).",
                 id="unknown-language"),
    pytest.param({"date_of_birth": "1850-06-01"}, {"date_of_birth": "1850-06-01"},
                 {"date_of_birth": "1850-06-01"}, "date_of_birth",
                 "A date of birth before 1900 is not plausible; check the year.",
                 id="implausible-date"),
    pytest.param({"date_of_birth": "2023-02-30"}, {"date_of_birth": "2023-02-30"},
                 {"date_of_birth": "2023-02-30"}, "date_of_birth",
                 "'2023-02-30' is not a date that exists (check the day and the month).",
                 id="date-that-does-not-exist"),
    pytest.param({"date_of_birth": "yesterday"}, {"date_of_birth": "yesterday"},
                 {"date_of_birth": "yesterday"}, "date_of_birth",
                 "'yesterday' is not a date in the form YYYY-MM-DD.", id="not-a-date"),
    pytest.param({"a_number": "A12"}, {"a_number": "A12"}, {"a_number": "A12"}, "a_number",
                 "An A-number is the letter A followed by 8 or 9 digits, for example "
                 "A123456789.", id="malformed-a-number"),
]


def _api_body(**change) -> dict:
    return {"name": {"given_names": "Ana", "family_names": "Lopez"}, "citizenship": ["MX"],
            "languages": ["es"], **change}


def _form_data(**change) -> dict:
    return {"given_names": "Ana", "family_names": "Lopez", "full_name": "",
            "date_of_birth": "", "a_number": "", "citizenship": "MX", "languages": "es",
            **change}


def _cells(**change) -> Cells:
    row = dict.fromkeys(COLUMNS[ImportKind.PERSONS], "")
    row.update({"external_id": "P-1", "given_names": "Ana", "family_names": "Lopez",
                "citizenship": "MX", "languages": "es", "interpreter_needed": "no", **change})
    return Cells(COLUMNS[ImportKind.PERSONS], list(row.values()))


def _api(client, body, url=PERSONS) -> dict:
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    return response.json()


def _csv(cells: Cells) -> RowRejected:
    with pytest.raises(RowRejected) as err:
        person_input(cells)
    return err.value


@pytest.mark.parametrize(("api", "form", "csv", "field", "message"), CASES)
def test_the_api_the_form_and_the_importer_say_the_same(users, api_client, api, form, csv,
                                                        field, message):
    client = api_client(users["officer_east"])
    error = _api(client, _api_body(**api))
    where = error["detail"].split(": ", 1)[0]
    assert error["detail"] == f"{where}: {message}"
    assert error["field"] == field and error["code"] == "invalid"

    page = PersonForm(data=_form_data(**form))
    assert not page.is_valid()
    assert page.errors[field] == [message]

    refused = _csv(_cells(**csv))
    assert refused.message == f"{field}: {message}"
    assert not Person.objects.exists()


def test_a_name_without_any_part_is_refused_alike(users, api_client):
    message = "A name needs a given name or a family name."
    error = _api(api_client(users["officer_east"]), _api_body(name={"given_names": " "}))
    assert (error["detail"], error["field"]) == (f"name: {message}", "names")
    page = PersonForm(data=_form_data(given_names=" ", family_names=""))
    assert not page.is_valid() and page.non_field_errors() == [message]
    refused = _csv(_cells(given_names="", family_names=""))
    assert (refused.reason, refused.message) == (
        Reason.MISSING_VALUE, f"given_names, family_names: {message}"
    )


def test_a_wrong_type_is_refused_alike_by_the_api_and_the_importer(users, api_client):
    """A form's checkbox can only send a boolean; JSON and a CSV cell can send anything."""
    error = _api(api_client(users["officer_east"]), _api_body(interpreter_needed="maybe"))
    assert error["detail"] == "interpreter_needed: Must be true or false."
    refused = _csv(_cells(interpreter_needed="maybe"))
    assert (refused.reason, refused.message) == (
        Reason.INVALID_VALUE, "interpreter_needed: Must be true or false."
    )


def test_an_extra_field_is_refused_by_the_model_and_the_api(users, api_client):
    error = _api(api_client(users["officer_east"]), _api_body(office="west"))
    assert (error["detail"], error["field"]) == ("office: Unknown field: leave it out.", "office")
    with pytest.raises(ValidationError) as err:
        parse(PersonIn, {**_api_body(), "office": "west"})
    assert err.value.message == error["detail"]
    # A form builds the model from its own fields only: what else is posted never reaches it.
    page = PersonForm(data=_form_data(office="west"))
    assert page.is_valid() and "office" not in page.input.model_dump()


def test_an_address_is_refused_alike(users, api_client, make_person):
    person = make_person("officer_east")
    url = f"{PERSONS}/{person.pk}/addresses"
    good = {"line1": "1 Elm St", "city": "Newark", "valid_from": "2025-02-01"}
    message = "An address needs a street line and a city."
    error = _api(api_client(users["officer_east"]), {**good, "city": "  "}, url)
    assert (error["detail"], error["field"]) == (f"request: {message}", "address")
    page = AddressForm(data={**good, "city": "  ", "country": "US"})
    assert not page.is_valid() and page.non_field_errors() == [message]
    refused = _csv(_cells(address_line1="1 Elm St", address_city="",
                          address_valid_from="2025-02-01"))
    assert refused.message == f"address_line1, address_city: {message}"

    bad_day = "'2025-02-30' is not a date that exists (check the day and the month)."
    error = _api(api_client(users["officer_east"]), {**good, "valid_from": "2025-02-30"}, url)
    assert (error["detail"], error["field"]) == (f"valid_from: {bad_day}", "valid_from")
    page = AddressForm(data={**good, "valid_from": "2025-02-30", "country": "US"})
    assert not page.is_valid() and page.errors["valid_from"] == [bad_day]
    refused = _csv(_cells(address_line1="1 Elm St", address_city="Newark",
                          address_valid_from="2025-02-30"))
    assert (refused.reason, refused.message) == (Reason.INVALID_DATE,
                                                 f"address_valid_from: {bad_day}")


def test_the_participants_form_speaks_spanish(settings):
    with translation.override("es"):
        page = AddressForm(data={"line1": "1 Elm St", "city": "Newark", "country": "US",
                                 "valid_from": "1850-01-01"})
        assert not page.is_valid()
        assert page.errors["valid_from"] == [
            "Una fecha anterior a 1900 no es verosímil; revise el año."
        ]
        page = AddressForm(data={"line1": "1 Elm St", "city": "Newark", "country": "US",
                                 "valid_from": "2025-01-01", "postal_code": "1" * 17})
        assert not page.is_valid()
        assert page.errors["postal_code"] == ["Demasiado largo: como máximo 16 caracteres."]


def test_the_model_holds_normalised_values():
    data = PersonIn.model_validate({
        "name": {"given_names": " Ana ", "family_names": "Lopez "},
        "a_number": "a-12-345-678", "citizenship": ["mx", "MX", " gt"], "languages": ["ES"],
        "date_of_birth": "1990-05-17",
        "contacts": [{"kind": "phone", "value": "(202) 555-0143"}],
        "address": {"line1": " 1 Elm St ", "city": "Newark", "country": "us",
                    "valid_from": "2024-01-01"},
    })
    assert (data.name.given_names, data.name.family_names, data.name.full) == (
        "Ana", "Lopez", "Ana Lopez")
    assert (data.a_number, data.citizenship, data.languages) == (
        "A012345678", ["MX", "GT"], ["es"])
    assert data.date_of_birth == date(1990, 5, 17)
    assert data.contacts[0].value == "+12025550143"
    assert (data.address.line1, data.address.country) == ("1 Elm St", "US")


def test_a_patch_refuses_null_where_a_value_is_needed():
    with pytest.raises(ValidationError) as err:
        parse(PersonPatch, {"row_version": 1, "languages": None})
    assert err.value.field == "languages"
    assert "cannot be null" in err.value.message
    patch = parse(PersonPatch, {"row_version": 1, "a_number": None})
    assert patch.changes() == {"a_number": None}


def test_python_callers_may_pass_dates_and_positional_fields():
    address = AddressIn(line1="1 Elm St", city="Newark", valid_from=date(2024, 1, 1))
    assert (address.line1, address.city, address.valid_from) == (
        "1 Elm St", "Newark", date(2024, 1, 1))
    name, contact = NameInput("Maria", "Gonzalez"), ContactInput("phone", "(202) 555-0143")
    assert (name.full, contact.value) == ("Maria Gonzalez", "+12025550143")
    assert isinstance(name, NameIn) and isinstance(contact, ContactIn)
    with pytest.raises(ValidationError):  # a date-time is not a date
        parse(AddressIn, {"line1": "1", "city": "X", "valid_from": "2024-01-01T00:00"})
