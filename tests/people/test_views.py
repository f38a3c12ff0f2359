"""Person pages through a signed-in browser-like client."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from caseledger.access.models import Grant
from caseledger.cases.services import open_case, schedule_hearing
from caseledger.ledger.models import Event
from caseledger.people.models import Address, NameKind, Person
from caseledger.people.services import ContactInput, NameInput, add_contact, add_name
from tests.conftest import context, last_event_id

REASON = "Detainee transferred overnight; verifying identity before the hearing"


def _text(response) -> str:
    return response.content.decode()


def _banner_purpose(response) -> str | None:
    match = re.search(r'data-purpose="([^"]+)"', _text(response))
    return match.group(1) if match else None


@pytest.fixture
def officer(users, web_client):
    return web_client(users["officer_east"])


# --- dashboard and search --------------------------------------------------------------------


def test_sign_in_is_required(client, db):
    response = client.get("/persons/")
    assert response.status_code == 302
    assert "/accounts/" in response["Location"]


def test_dashboard_lists_the_caseload(users, officer, make_person):
    mine = make_person("officer_east", "Ana", "Ramirez", a_number="A000000101")
    make_person("officer_east2", "Luis", "Fernandez")
    make_person("officer_west", "Maria", "Gonzalez")
    mark = last_event_id()
    response = officer.get("/persons/")
    assert response.status_code == 200
    html = _text(response)
    assert "Ana Ramirez" in html
    assert f'href="/persons/{mine.pk}/"' in html
    assert "A000000101" in html
    assert "Luis Fernandez" not in html and "Maria Gonzalez" not in html
    assert "1 person" in html
    assert _banner_purpose(response) == "caseload"
    event = Event.objects.get(id__gt=mark, data_category="identity")  # + the deadlines read
    assert event.action == "list" and event.detail["results"] == [str(mine.pk)]


def test_dashboard_shows_the_next_hearing(users, officer, make_person):
    person = make_person("officer_east", "Ana", "Ramirez")
    ctx = context(users["officer_east"])
    case = open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code="NEW")
    when = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    schedule_hearing(ctx=ctx, case_id=case.pk, calendar="master", scheduled_at=when)
    html = _text(officer.get("/persons/"))
    assert f'<time datetime="{when.isoformat()}' in html


def test_supervisor_dashboard_lists_the_office(users, web_client, make_person):
    make_person("officer_east", "Ana", "Ramirez")
    make_person("officer_east2", "Luis", "Fernandez")
    make_person("officer_west", "Maria", "Gonzalez")
    response = web_client(users["supervisor_east"]).get("/persons/")
    html = _text(response)
    assert "My office" in html
    assert "Ana Ramirez" in html and "Luis Fernandez" in html
    assert "Maria Gonzalez" not in html
    assert _banner_purpose(response) == "office_supervision"


def test_dashboard_paginates(users, officer, make_person):
    for i in range(27):
        make_person("officer_east", f"Person{i:02d}", "Test")
    first = _text(officer.get("/persons/"))
    second = _text(officer.get("/persons/?page=2"))
    assert "27 persons" in first
    names_first = set(re.findall(r"Person\d\d Test", first))
    names_second = set(re.findall(r"Person\d\d Test", second))
    assert len(names_first) == 25 and len(names_second) == 2
    assert not names_first & names_second
    assert officer.get("/persons/?page=abc").status_code == 200
    # A page past 10,000 (or past a 64-bit integer) is page 10,000 asked of the database, not
    # a 500 (the walk of a large office stops there too): past the end, nobody is listed.
    for huge in ("10001", "99999999999999999999999"):
        response = officer.get(f"/persons/?page={huge}")
        assert response.status_code == 200
        assert "27 persons" in _text(response) and "Person00 Test" not in _text(response)


def test_search_page_shows_results(users, officer, make_person):
    person = make_person("officer_east", "Mohammed", "Haddad", a_number="A000000202")
    make_person("officer_west", "Muhammad", "Haddad")
    mark = last_event_id()
    response = officer.get("/persons/search/", {"q": "Muhammad Haddad"})
    assert response.status_code == 200
    html = _text(response)
    assert "1 match among the persons you can see" in html
    assert f'href="/persons/{person.pk}/"' in html
    assert "Mohammed Haddad" in html
    assert "A000000202" in html
    event = Event.objects.get(id__gt=mark)
    assert event.action == "search" and event.detail["results"] == [str(person.pk)]
    assert b"Muhammad" not in bytes(event.leaf)


def test_search_page_htmx_returns_only_the_results(users, officer, make_person):
    make_person("officer_east", "Mohammed", "Haddad")
    response = officer.get("/persons/search/", {"q": "Mohammed"}, HTTP_HX_REQUEST="true")
    html = _text(response)
    assert "Mohammed Haddad" in html
    assert "<html" not in html


def test_search_page_without_a_query_searches_nothing(users, officer, make_person):
    make_person("officer_east", "Mohammed", "Haddad")
    mark = last_event_id()
    response = officer.get("/persons/search/")
    assert response.status_code == 200
    assert "Mohammed Haddad" not in _text(response)
    assert last_event_id() == mark


def test_search_page_refuses_an_overlong_query(users, officer, make_person):
    response = officer.get("/persons/search/", {"q": "x" * 201})
    assert response.status_code == 422
    assert "at most 200 characters" in _text(response)


# --- person page -----------------------------------------------------------------------------


def test_person_page_shows_identity_addresses_cases_and_purpose(users, officer, make_person):
    person = make_person(
        "officer_east",
        "Mohammed",
        "Haddad",
        a_number="A000000303",
        citizenship=["SY"],
        languages=["ar", "en"],
    )
    ctx = context(users["officer_east"])
    add_name(
        ctx=ctx, person_id=person.pk, data=NameInput(full_name="محمد حداد", family_names="حداد")
    )
    add_contact(ctx=ctx, person_id=person.pk, data=ContactInput(kind="phone", value="2025550143"))
    case = open_case(
        ctx=ctx, person_id=person.pk, case_type="removal", court_code="NEW", reference="CL-T-0001"
    )
    mark = last_event_id()
    response = officer.get(f"/persons/{person.pk}/")
    assert response.status_code == 200
    html = _text(response)
    assert "<h1>Mohammed Haddad</h1>" in html
    assert "A000000303" in html
    assert "May 17, 1990" in html  # dates and codes in words (core/templatetags/show.py)
    assert re.search(r"<dd data-citizenship>\s*Syria\s*</dd>", html)
    assert re.search(r"<dd data-languages>\s*Arabic, English", html)
    assert "محمد حداد" in html
    assert "12 Main St, Newark, NJ 07102" in html and "of record" in html
    assert "+12025550143" in html
    assert "CL-T-0001" in html and f'href="/cases/{case.pk}/"' in html
    assert _banner_purpose(response) == "caseload"
    assert "Managing my caseload" in html
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.subject_id, event.outcome) == ("read", person.pk, "allowed")


def test_another_offices_person_is_a_404_offering_break_glass(users, officer, make_person):
    person = make_person("officer_west", "Maria", "Gonzalez")
    mark = last_event_id()
    response = officer.get(f"/persons/{person.pk}/")
    assert response.status_code == 404
    html = _text(response)
    assert "Maria Gonzalez" not in html
    assert "Record not found" in html
    assert f'href="/persons/{person.pk}/break-glass/"' in html
    event = Event.objects.get(id__gt=mark)
    assert (event.outcome, event.subject_id) == ("denied", person.pk)


def test_404_for_a_participant_does_not_offer_break_glass(users, web_client, make_person):
    person = make_person("officer_west", "Maria", "Gonzalez")
    response = web_client(users["participant"]).get(f"/persons/{person.pk}/")
    assert response.status_code == 404
    assert "break-glass" not in _text(response)


def test_break_glass_refuses_a_short_reason(users, officer, make_person):
    person = make_person("officer_west", "Maria", "Gonzalez")
    assert officer.get(f"/persons/{person.pk}/break-glass/").status_code == 200
    response = officer.post(f"/persons/{person.pk}/break-glass/", {"reason": "need it"})
    assert response.status_code == 422
    assert "usa-error-message" in _text(response)
    assert not Grant.objects.exists()
    assert officer.get(f"/persons/{person.pk}/").status_code == 404


def test_break_glass_with_a_reason_opens_the_person_page_with_the_banner(
    users, officer, make_person
):
    person = make_person("officer_west", "Maria", "Gonzalez")
    response = officer.post(f"/persons/{person.pk}/break-glass/", {"reason": REASON})
    assert response.status_code == 302
    assert response["Location"] == f"/persons/{person.pk}/"
    grant = Grant.objects.get(person=person, user=users["officer_east"])
    assert grant.reason == REASON
    mark = last_event_id()
    page = officer.get(response["Location"])
    assert page.status_code == 200
    html = _text(page)
    assert _banner_purpose(page) == "break_glass"
    assert "Maria Gonzalez" in html
    assert "Detainee transferred overnight" in html
    event = Event.objects.get(id__gt=mark)
    assert (event.purpose, event.subject_id, event.outcome) == ("break_glass", person.pk, "allowed")


def test_break_glass_is_refused_to_roles_without_it(users, web_client, make_person):
    person = make_person("officer_west", "Maria", "Gonzalez")
    response = web_client(users["admin"]).post(
        f"/persons/{person.pk}/break-glass/", {"reason": REASON}
    )
    assert response.status_code == 403
    assert not Grant.objects.exists()


# --- create / edit / address -----------------------------------------------------------------


def _person_form(**overrides) -> dict[str, str]:
    data = {
        "given_names": "Oleksandr",
        "family_names": "Kovalenko",
        "full_name": "",
        "date_of_birth": "1985-02-03",
        "a_number": "a-0123-45678",
        "citizenship": "ua, pl",
        "languages": "uk; ru",
        "address-line1": "77 River Rd",
        "address-city": "Newark",
        "address-region": "NJ",
        "address-postal_code": "07105",
        "address-country": "US",
        "address-valid_from": "2024-03-01",
    }
    data.update(overrides)
    return data


def test_create_person_form_happy_path(users, officer):
    assert officer.get("/persons/new/").status_code == 200
    response = officer.post("/persons/new/", _person_form())
    assert response.status_code == 302
    person = Person.objects.get()
    assert response["Location"] == f"/persons/{person.pk}/"
    assert person.a_number == "A012345678"
    assert person.citizenship == ["UA", "PL"]
    assert person.languages == ["uk", "ru"]
    assert person.office.code == "east"
    assert str(person) == "Oleksandr Kovalenko"
    assert person.addresses.get().city == "Newark"
    page = officer.get(response["Location"])
    assert "Person record created." in _text(page)
    assert "Oleksandr Kovalenko" in _text(page)


def test_create_person_form_without_address(users, officer):
    data = {k: v for k, v in _person_form().items() if not k.startswith("address-")}
    response = officer.post("/persons/new/", data)
    assert response.status_code == 302
    assert not Address.objects.exists()


def test_create_person_form_with_a_bad_a_number_shows_the_error(users, officer):
    response = officer.post("/persons/new/", _person_form(a_number="A12-34"))
    assert response.status_code == 422
    html = _text(response)
    assert "An A-number is the letter A followed by 8 or 9 digits" in html
    assert "usa-form-group--error" in html
    assert not Person.objects.exists()


def test_create_person_form_with_an_incomplete_address_is_refused(users, officer):
    """Bad input is a 4xx with the field's error shown, and nothing is written."""
    response = officer.post(
        "/persons/new/", _person_form(**{"address-city": "", "address-valid_from": ""})
    )
    assert "usa-error-message" in _text(response)
    assert not Person.objects.exists()
    assert response.status_code == 422


def test_create_person_form_with_a_duplicate_a_number(users, officer, make_person):
    make_person("officer_west", a_number="A012345678")
    response = officer.post("/persons/new/", _person_form())
    assert response.status_code == 422
    assert "already recorded for another person" in _text(response)
    assert Person.objects.count() == 1


def test_create_person_form_refused_to_an_administrator(users, web_client):
    response = web_client(users["admin"]).post("/persons/new/", _person_form())
    assert response.status_code == 403
    assert "Only case officers and supervisors" in _text(response)
    assert not Person.objects.exists()


def _edit_form(person, **overrides) -> dict[str, str]:
    data = {
        "given_names": "Maria",
        "family_names": "Gonzalez",
        "full_name": "Maria Gonzalez",
        "date_of_birth": "1990-05-17",
        "a_number": person.a_number or "",
        "citizenship": "MX",
        "languages": "es",
        "row_version": str(person.row_version),
    }
    data.update(overrides)
    return data


def test_edit_form_saves_and_bumps_the_version(users, officer, make_person):
    person = make_person("officer_east", "Maria", "Gonzalez")
    page = officer.get(f"/persons/{person.pk}/edit/")
    assert page.status_code == 200
    assert 'name="row_version" value="1"' in _text(page)
    response = officer.post(
        f"/persons/{person.pk}/edit/", _edit_form(person, date_of_birth="1991-06-18")
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.date_of_birth == date(1991, 6, 18)
    assert person.row_version == 2


def test_edit_form_with_a_stale_version_shows_the_conflict(users, officer, make_person):
    person = make_person("officer_east", "Maria", "Gonzalez")
    officer.post(f"/persons/{person.pk}/edit/", _edit_form(person, languages="es, en"))
    response = officer.post(
        f"/persons/{person.pk}/edit/",
        _edit_form(person, row_version="1", date_of_birth="1970-01-01"),
    )
    assert response.status_code == 422
    html = _text(response)
    assert "This record changed since you read it" in html
    assert "Reload it and apply your change again" in html
    person.refresh_from_db()
    assert person.row_version == 2
    assert person.date_of_birth == date(1990, 5, 17)


def test_edit_form_with_a_garbled_version_is_refused(users, officer, make_person):
    person = make_person("officer_east", "Maria", "Gonzalez")
    response = officer.post(f"/persons/{person.pk}/edit/", _edit_form(person, row_version="x"))
    assert response.status_code == 422
    assert "out of date" in _text(response)


def test_edit_form_name_change_keeps_the_old_name_as_alias(users, officer, make_person):
    """An officer changes the family name in the edit form and leaves the prefilled
    "full name as written" as it was shown: the new name must become the name of record
    (and be searchable), the old one kept as an alias."""
    person = make_person("officer_east", "Maria", "Gonzalez")
    response = officer.post(
        f"/persons/{person.pk}/edit/", _edit_form(person, family_names="Ramirez")
    )
    assert response.status_code == 302
    primary = person.names.get(kind=NameKind.PRIMARY)
    assert primary.family_names == "Ramirez"
    assert primary.full_name == "Maria Ramirez"
    assert primary.search_key == "maria ramirez"
    assert person.names.filter(kind=NameKind.ALIAS, full_name="Maria Gonzalez").exists()


def test_edit_form_name_change_with_full_name_cleared(users, officer, make_person):
    person = make_person("officer_east", "Maria", "Gonzalez")
    response = officer.post(
        f"/persons/{person.pk}/edit/",
        _edit_form(person, family_names="Ramirez", full_name=""),
    )
    assert response.status_code == 302
    names = {n.full_name: n.kind for n in person.names.all()}
    assert names == {"Maria Ramirez": NameKind.PRIMARY, "Maria Gonzalez": NameKind.ALIAS}


def test_edit_page_of_another_offices_person_is_404(users, officer, make_person):
    person = make_person("officer_west", "Maria", "Gonzalez")
    response = officer.post(f"/persons/{person.pk}/edit/", _edit_form(person))
    assert response.status_code == 404
    person.refresh_from_db()
    assert person.row_version == 1


def _address_form(**overrides) -> dict[str, str]:
    data = {
        "line1": "5 Elm St",
        "line2": "Apt 2",
        "city": "Paterson",
        "region": "NJ",
        "postal_code": "07501",
        "country": "US",
        "valid_from": "2024-09-01",
    }
    data.update(overrides)
    return data


def test_address_form_makes_the_new_address_of_record(users, officer, make_person):
    person = make_person("officer_east")
    assert officer.get(f"/persons/{person.pk}/addresses/new/").status_code == 200
    response = officer.post(f"/persons/{person.pk}/addresses/new/", _address_form())
    assert response.status_code == 302
    assert response["Location"] == f"/persons/{person.pk}/"
    current = person.addresses.get(valid_to__isnull=True)
    assert current.one_line() == "5 Elm St, Apt 2, Paterson, NJ 07501"
    old = person.addresses.get(valid_from=date(2024, 1, 1))
    assert old.valid_to == date(2024, 8, 31)
    html = _text(officer.get(response["Location"]))
    assert "previous one is kept in the history" in html
    assert "Aug. 31, 2024" in html


def test_address_form_refuses_a_start_before_the_current_one(users, officer, make_person):
    person = make_person("officer_east")
    response = officer.post(
        f"/persons/{person.pk}/addresses/new/", _address_form(valid_from="2023-12-01")
    )
    assert response.status_code == 422
    assert "must start after the current one" in _text(response)
    assert person.addresses.count() == 1


def test_address_form_requires_street_and_city(users, officer, make_person):
    person = make_person("officer_east")
    response = officer.post(
        f"/persons/{person.pk}/addresses/new/", _address_form(line1="", city="")
    )
    assert response.status_code == 422
    assert person.addresses.count() == 1


def test_open_case_form(users, officer, make_person):
    person = make_person("officer_east")
    assert officer.get(f"/persons/{person.pk}/cases/new/").status_code == 200
    response = officer.post(
        f"/persons/{person.pk}/cases/new/",
        {"case_type": "removal", "court": "LOS", "opened_on": "2024-02-01"},
    )
    assert response.status_code == 302
    case = person.cases.get()
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.proceedings.get().court.code == "LOS"
    future = (timezone.now().date() + timedelta(days=5)).isoformat()
    response = officer.post(
        f"/persons/{person.pk}/cases/new/",
        {"case_type": "removal", "court": "LOS", "opened_on": future},
    )
    assert response.status_code == 422
    assert "cannot be opened in the future" in _text(response)
    assert person.cases.count() == 1
