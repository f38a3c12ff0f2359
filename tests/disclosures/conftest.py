from __future__ import annotations

from datetime import date

import pytest

from caseledger.disclosures.services import RequestInput
from caseledger.people.models import Person, Representation

LETTER = b"%PDF-1.4\n% signed request letter\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def request_input(who, **overrides) -> RequestInput:
    values = dict(
        person=str(who.pk),
        agency="EOIR",
        official_name="Dana Cruz",
        official_title="Court Administrator",
        official_rank="supervisor",
        authority="ICE-A",
        activity="Removal proceedings before the Newark immigration court",
        categories=["identity", "hearings"],
        letter=LETTER,
        letter_content_type="application/pdf",
    )
    values.update(overrides)
    return RequestInput(**values)


def b7_input(who, **overrides) -> RequestInput:
    values = dict(
        agency="FBI",
        official_name="Lee Park",
        official_title="Section Chief",
        official_rank="section_chief",
        authority="b7",
        activity="Investigation of document fraud, case 2026-NK-114",
        categories=["identity", "addresses"],
    )
    values.update(overrides)
    return request_input(who, **values)


@pytest.fixture
def person(make_person) -> Person:
    """On officer_east's caseload (east office), the participant's own record, represented
    by the representative."""
    p = make_person("officer_east", "Ana", "Ramirez")
    return p


@pytest.fixture
def subject(person, users) -> Person:
    Person.objects.filter(pk=person.pk).update(participant_account=users["participant"])
    Representation.objects.create(
        person=person,
        representative=users["representative"],
        form="G-28",
        filed_on=date(2025, 1, 1),
    )
    person.refresh_from_db()
    return person


@pytest.fixture
def privacy2(make_user):
    from caseledger.accounts.models import Role

    return make_user("privacy2", Role.PRIVACY_OFFICER)
