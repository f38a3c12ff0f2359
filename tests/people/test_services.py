"""Writes to person records: rows, ledger events, refusals that leave nothing behind."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction

from caseledger.accounts.models import CaseloadAssignment
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from caseledger.people.models import Address, Contact, NameKind, Person, PersonName
from caseledger.people.services import (
    AddressInput,
    ContactInput,
    NameInput,
    PersonInput,
    add_contact,
    add_name,
    create_person,
    record_address,
    update_person,
)
from tests.conftest import context, last_event_id


def _counts() -> dict[str, int]:
    return {
        "person": Person.objects.count(),
        "name": PersonName.objects.count(),
        "address": Address.objects.count(),
        "contact": Contact.objects.count(),
        "caseload": CaseloadAssignment.objects.count(),
        "event": Event.objects.count(),
    }


def _full_input(**overrides) -> dict:
    """The data of a `PersonInput` (checked by `create_person`, so a bad value is refused
    there, with the service's error)."""
    values = {
        "name": {"given_names": "Maria", "family_names": "Gonzalez"},
        "aliases": [{"given_names": "María", "family_names": "González López"}],
        "a_number": "A-012-345-678",
        "date_of_birth": date(1988, 3, 2),
        "citizenship": ["mx", "gt"],
        "languages": ["ES", "en"],
        "interpreter_needed": True,
        "address": {
            "line1": " 12 Main St ",
            "city": "Newark",
            "region": "NJ",
            "postal_code": "07102",
            "valid_from": date(2024, 1, 1),
        },
        "contacts": [
            {"kind": "phone", "value": "(202) 555-0143", "preferred": True},
            {"kind": "email", "value": "Maria@Example.org"},
        ],
    }
    values.update(overrides)
    return values


# --- create_person ---------------------------------------------------------------------------


def test_create_person_writes_person_names_address_contacts(users):
    officer = users["officer_east"]
    person = create_person(ctx=context(officer), data=_full_input())

    person.refresh_from_db()
    assert person.office_id == officer.office_id
    assert person.a_number == "A012345678"
    assert person.date_of_birth == date(1988, 3, 2)
    assert person.citizenship == ["MX", "GT"]
    assert person.languages == ["es", "en"]
    assert person.interpreter_needed is True
    assert person.row_version == 1

    names = {n.kind: n for n in person.names.all()}
    assert set(names) == {NameKind.PRIMARY, NameKind.ALIAS}
    assert names[NameKind.PRIMARY].full_name == "Maria Gonzalez"
    assert names[NameKind.PRIMARY].search_key == "maria gonzalez"
    assert names[NameKind.PRIMARY].skeleton == "mr gnsls"
    assert names[NameKind.ALIAS].full_name == "María González López"
    assert names[NameKind.ALIAS].search_key == "maria gonzalez lopez"
    assert str(person) == "Maria Gonzalez"

    address = person.addresses.get()
    assert (address.line1, address.city, address.country) == ("12 Main St", "Newark", "US")
    assert address.valid_to is None and address.is_of_record

    contacts = {c.kind: c for c in person.contacts.all()}
    assert contacts["phone"].value == "+12025550143"
    assert contacts["phone"].preferred is True
    assert contacts["email"].value == "maria@example.org"


def test_create_person_records_identity_and_caseload_events(users):
    officer = users["officer_east"]
    mark = last_event_id()
    person = create_person(ctx=context(officer, request_id="req-create-1"), data=_full_input())

    events = list(Event.objects.filter(id__gt=mark).order_by("id"))
    assert [(e.action, e.data_category) for e in events] == [
        ("create", "identity"),
        ("assign", "caseload"),
    ]
    create, assign = events
    assert create.subject_id == person.pk
    assert (create.record_type, create.record_id) == ("people.person", str(person.pk))
    assert create.actor_id == str(officer.pk)
    assert (create.actor_role, create.office, create.purpose) == (
        "case_officer",
        "east",
        "caseload",
    )
    assert create.request_id == "req-create-1"
    assert create.detail == {"names": 2, "contacts": 2, "address": True}
    assert assign.subject_id == person.pk
    assert assign.detail == {"officer": str(officer.pk)}
    # Ids and counts only: no name, A-number or phone number in the hashed bytes.
    for event in events:
        leaf = bytes(event.leaf)
        for secret in (b"Maria", b"Gonzalez", b"012345678", b"5550143", b"Newark"):
            assert secret not in leaf


def test_creating_officer_takes_the_person_on_their_caseload(users):
    officer = users["officer_east"]
    person = create_person(ctx=context(officer), data=_full_input())
    assignment = CaseloadAssignment.objects.get(person=person)
    assert assignment.officer == officer
    assert assignment.ended_at is None


def test_supervisor_creates_in_their_office_without_a_caseload(users):
    supervisor = users["supervisor_west"]
    mark = last_event_id()
    person = create_person(ctx=context(supervisor), data=_full_input())
    assert person.office.code == "west"
    assert not CaseloadAssignment.objects.filter(person=person).exists()
    assert [e.action for e in Event.objects.filter(id__gt=mark)] == ["create"]


def test_minimal_person_needs_only_a_name(users):
    person = create_person(
        ctx=context(users["officer_east"]), data=PersonInput(name=NameInput(family_names="Nguyen"))
    )
    assert person.a_number is None
    assert str(person) == "Nguyen"
    assert not person.addresses.exists() and not person.contacts.exists()


def test_two_persons_without_a_number_are_allowed(users):
    ctx = context(users["officer_east"])
    create_person(ctx=ctx, data=PersonInput(name=NameInput(family_names="Nguyen")))
    create_person(ctx=ctx, data=PersonInput(name=NameInput(family_names="Tran"), a_number=""))
    assert Person.objects.filter(a_number__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"date_of_birth": date(1899, 12, 31)}, ValidationError, "date_of_birth"),
        ({"date_of_birth": date.today() + timedelta(days=2)}, ValidationError, "date_of_birth"),
        ({"contacts": [{"kind": "phone", "value": "555-0143"}]}, ValidationError, "contacts"),
        ({"contacts": [{"kind": "email", "value": "maria@"}]}, ValidationError, "contacts"),
        ({"contacts": [{"kind": "fax", "value": "1"}]}, ValidationError, "kind"),
        ({"citizenship": ["MX", "XX"]}, ValidationError, "citizenship"),
        ({"languages": ["klingon"]}, ValidationError, "languages"),
        ({"a_number": "A123"}, ValidationError, "a_number"),
        ({"name": {}}, ValidationError, "names"),
        ({"aliases": [{"given_names": " "}]}, ValidationError, "names"),
        (
            {"address": {"line1": "1 Main", "city": "X", "valid_from": date(2024, 1, 1),
                         "country": "ZZ"}},
            ValidationError,
            "country",
        ),
        (
            {"address": {"line1": " ", "city": "Newark", "valid_from": date(2024, 1, 1)}},
            ValidationError,
            "address",
        ),
    ],
)
def test_bad_input_leaves_no_rows(users, overrides, error, field):
    before = _counts()
    with pytest.raises(error) as err:
        create_person(ctx=context(users["officer_east"]), data=_full_input(**overrides))
    assert err.value.field == field
    assert _counts() == before


def test_duplicate_a_number_is_a_conflict_and_leaves_no_rows(users, make_person):
    make_person("officer_west", "Ana", "Ramirez", a_number="A012345678")
    before = _counts()
    with pytest.raises(Conflict) as err:
        create_person(ctx=context(users["officer_east"]), data=_full_input(a_number="a-0123-45678"))
    assert err.value.field == "a_number"
    assert "A012345678" in err.value.message
    assert "Search by A-number" in err.value.message
    assert err.value.status_code == 409
    assert _counts() == before


def test_duplicate_a_number_in_other_digits_is_a_conflict(users, make_person):
    """The same A-number typed with Arabic-Indic digits is still the same A-number."""
    make_person("officer_east", "Ana", "Ramirez", a_number="A123456789")
    before = _counts()
    with pytest.raises((Conflict, ValidationError)):
        create_person(ctx=context(users["officer_east"]), data=_full_input(a_number="A١٢٣٤٥٦٧٨٩"))
    assert _counts() == before


@pytest.mark.parametrize("role", ["participant", "admin", "privacy", "representative"])
def test_roles_that_do_not_create_persons_are_refused(users, role):
    before = _counts()
    with pytest.raises(PermissionDenied) as err:
        create_person(ctx=context(users[role]), data=_full_input())
    assert err.value.status_code == 403
    assert "case officers and supervisors" in err.value.message
    # Nothing is written but the refusal's own event.
    assert _counts() == {**before, "event": before["event"] + 1}
    refusal = Event.objects.order_by("-id").first()
    assert (refusal.action, refusal.outcome, refusal.subject_id) == ("create", "denied", None)


# --- update_person ---------------------------------------------------------------------------


def test_update_changes_fields_bumps_version_and_records_the_fields(users, make_person):
    person = make_person("officer_east")
    mark = last_event_id()
    updated = update_person(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        row_version=1,
        changes={
            "date_of_birth": date(1991, 1, 2),
            "languages": ["ES", "en"],
            "citizenship": ["MX"],
        },
    )
    assert updated.row_version == 2
    assert updated.date_of_birth == date(1991, 1, 2)
    assert updated.languages == ["es", "en"]
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.data_category, event.subject_id) == (
        "update",
        "identity",
        person.pk,
    )
    # Citizenship was already ["MX"]: only what really changed is listed.
    assert event.detail == {"fields": ["date_of_birth", "languages"], "version": 2}


def test_update_with_a_stale_version_is_a_conflict_and_changes_nothing(users, make_person):
    person = make_person("officer_east", date_of_birth=date(1990, 5, 17))
    ctx = context(users["officer_east"])
    update_person(ctx=ctx, person_id=person.pk, row_version=1, changes={"languages": ["fr"]})
    mark = last_event_id()
    with pytest.raises(Conflict) as err:
        update_person(
            ctx=ctx,
            person_id=person.pk,
            row_version=1,
            changes={"date_of_birth": date(1970, 1, 1), "name": NameInput("Other", "Name")},
        )
    assert err.value.code == "stale_version"
    assert "version 1" in err.value.message and "now 2" in err.value.message
    person.refresh_from_db()
    assert person.row_version == 2
    assert person.date_of_birth == date(1990, 5, 17)
    assert person.languages == ["fr"]
    assert list(person.names.values_list("full_name", flat=True)) == ["Maria Gonzalez"]
    # Only the access check of the attempt is recorded; no update event.
    assert not Event.objects.filter(id__gt=mark, action="update", outcome="allowed").exists()


def test_update_of_another_offices_person_is_not_found_and_recorded(users, make_person):
    person = make_person("officer_west", date_of_birth=date(1990, 5, 17))
    mark = last_event_id()
    with pytest.raises(NotFound):
        update_person(
            ctx=context(users["officer_east"]),
            person_id=person.pk,
            row_version=1,
            changes={"date_of_birth": date(1970, 1, 1)},
        )
    person.refresh_from_db()
    assert person.date_of_birth == date(1990, 5, 17) and person.row_version == 1
    event = Event.objects.get(id__gt=mark)
    assert (event.outcome, event.action, event.subject_id) == ("denied", "update", person.pk)
    assert event.actor_id == str(users["officer_east"].pk)


def test_update_of_same_office_person_of_another_officer_is_not_found(users, make_person):
    person = make_person("officer_east2")
    with pytest.raises(NotFound):
        update_person(
            ctx=context(users["officer_east"]), person_id=person.pk, row_version=1, changes={}
        )


def test_supervisor_may_update_a_person_of_the_office(users, make_person):
    person = make_person("officer_east")
    updated = update_person(
        ctx=context(users["supervisor_east"]),
        person_id=person.pk,
        row_version=1,
        changes={"interpreter_needed": True},
    )
    assert updated.interpreter_needed is True and updated.row_version == 2


def test_name_change_keeps_the_old_name_as_an_alias(users, make_person):
    person = make_person("officer_east", "Maria", "Gonzalez")
    mark = last_event_id()
    update_person(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        row_version=1,
        changes={"name": NameInput(given_names="Maria", family_names="Ramirez")},
    )
    names = {n.full_name: n.kind for n in person.names.all()}
    assert names == {"Maria Ramirez": NameKind.PRIMARY, "Maria Gonzalez": NameKind.ALIAS}
    new_primary = person.names.get(kind=NameKind.PRIMARY)
    assert new_primary.search_key == "maria ramirez"
    assert Event.objects.get(id__gt=mark, action="update").detail["fields"] == ["name"]


def test_unchanged_name_is_not_duplicated(users, make_person):
    person = make_person("officer_east", "Maria", "Gonzalez")
    update_person(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        row_version=1,
        changes={"name": NameInput(given_names="Maria", family_names="Gonzalez")},
    )
    assert person.names.count() == 1


def test_update_to_an_a_number_in_use_is_a_conflict(users, make_person):
    make_person("officer_west", a_number="A000000001")
    person = make_person("officer_east", a_number="A000000002")
    with pytest.raises(Conflict) as err:
        update_person(
            ctx=context(users["officer_east"]),
            person_id=person.pk,
            row_version=1,
            changes={"a_number": "A-0000-00001"},
        )
    assert err.value.field == "a_number"
    person.refresh_from_db()
    assert person.a_number == "A000000002" and person.row_version == 1


def test_update_refuses_fields_that_are_not_editable(users, make_person):
    person = make_person("officer_east")
    with pytest.raises(ValidationError) as err:
        update_person(
            ctx=context(users["officer_east"]),
            person_id=person.pk,
            row_version=1,
            changes={"office": "west", "participant_account": None},
        )
    assert "office" in err.value.message and "participant_account" in err.value.message


# --- add_name / add_contact ------------------------------------------------------------------


def test_add_name_is_an_alias_even_if_asked_for_primary(users, make_person):
    person = make_person("officer_east", "Mohammed", "Haddad")
    mark = last_event_id()
    name = add_name(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=NameInput(full_name="محمد حداد", given_names="محمد", family_names="حداد"),
    )
    assert name.kind == NameKind.ALIAS
    assert name.full_name == "محمد حداد"
    assert name.search_key == "mhmd hdd"
    assert person.names.filter(kind=NameKind.PRIMARY).get().full_name == "Mohammed Haddad"
    event = Event.objects.get(id__gt=mark)
    assert (event.record_type, event.record_id) == ("people.personname", str(name.pk))
    assert "محمد".encode() not in bytes(event.leaf) and b"mhmd" not in bytes(event.leaf)


def test_add_contact_normalises_and_records(users, make_person):
    person = make_person("officer_east")
    contact = add_contact(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=ContactInput(kind="phone", value="+52 55 1234 5678"),
    )
    assert contact.value == "+525512345678"
    with pytest.raises(ValidationError):
        add_contact(
            ctx=context(users["officer_east"]),
            person_id=person.pk,
            data={"kind": "phone", "value": "12"},
        )
    assert person.contacts.count() == 1


# --- record_address --------------------------------------------------------------------------


def _address(valid_from: date, city: str = "Paterson") -> AddressInput:
    return AddressInput(line1="5 Elm St", city=city, region="NJ", valid_from=valid_from)


def test_new_address_becomes_of_record_and_previous_ends_the_day_before(users, make_person):
    person = make_person("officer_east")  # address of record from 2024-01-01
    old = person.addresses.get()
    mark = last_event_id()
    new = record_address(
        ctx=context(users["officer_east"]), person_id=person.pk, data=_address(date(2024, 6, 1))
    )
    old.refresh_from_db()
    assert new.valid_to is None and new.is_of_record
    assert old.valid_to == date(2024, 5, 31)
    assert not old.is_of_record
    assert old.row_version == 2
    assert list(person.addresses.filter(valid_to__isnull=True)) == [new]
    event = Event.objects.get(id__gt=mark)
    assert (event.data_category, event.record_id) == ("address", str(new.pk))
    assert event.detail == {"previous": str(old.pk), "source": "staff"}


def test_address_starting_the_day_after_the_current_one_is_accepted(users, make_person):
    person = make_person("officer_east")
    record_address(
        ctx=context(users["officer_east"]), person_id=person.pk, data=_address(date(2024, 1, 2))
    )
    old = person.addresses.get(valid_from=date(2024, 1, 1))
    assert old.valid_to == date(2024, 1, 1)


@pytest.mark.parametrize("start", [date(2024, 1, 1), date(2023, 12, 31), date(2020, 1, 1)])
def test_address_starting_on_or_before_the_current_one_is_refused(users, make_person, start):
    person = make_person("officer_east")
    mark = last_event_id()
    with pytest.raises(ValidationError) as err:
        record_address(
            ctx=context(users["officer_east"]), person_id=person.pk, data=_address(start)
        )
    assert err.value.field == "valid_from"
    assert "2024-01-01" in err.value.message
    current = person.addresses.get()
    assert current.valid_to is None and current.city == "Newark"
    assert not Event.objects.filter(id__gt=mark, action="create").exists()


def test_first_address_of_a_person_without_one(users):
    ctx = context(users["officer_east"])
    person = create_person(ctx=ctx, data=PersonInput(name=NameInput(family_names="Nguyen")))
    address = record_address(ctx=ctx, person_id=person.pk, data=_address(date(2020, 1, 1)))
    assert address.is_of_record


def test_address_of_another_offices_person_is_not_found(users, make_person):
    person = make_person("officer_west")
    with pytest.raises(NotFound):
        record_address(
            ctx=context(users["officer_east"]), person_id=person.pk, data=_address(date(2025, 1, 1))
        )
    assert person.addresses.count() == 1


def test_only_one_address_of_record_at_a_time(make_person):
    person = make_person("officer_east")
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(
            person=person, line1="9 Oak Ave", city="Trenton", valid_from=date(2025, 1, 1)
        )
    assert person.addresses.count() == 1


def test_address_cannot_end_before_it_starts(make_person):
    person = make_person("officer_east")
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(
            person=person,
            line1="9 Oak Ave",
            city="Trenton",
            valid_from=date(2022, 1, 2),
            valid_to=date(2022, 1, 1),
        )


def test_only_one_primary_name(make_person):
    person = make_person("officer_east")
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonName.objects.create(
            person=person, kind=NameKind.PRIMARY, full_name="X", search_key="x", skeleton="x"
        )
