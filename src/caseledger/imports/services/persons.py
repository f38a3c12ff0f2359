"""A row of a persons file becomes a person, through `people.services.create_person` (the
service the screens use, with its checks and its ledger events)."""

from __future__ import annotations

from caseledger.access.context import AccessContext
from caseledger.people.services import (
    AddressInput,
    ContactInput,
    NameInput,
    PersonInput,
    create_person,
)

from ..models import Reason
from .staging import Applied, Lookups
from .validation import EARLIEST_DATE, Cells, RowRejected, max_length, not_before

# Longest value each column may hold (the width of the field it is stored in).
PERSON_LIMITS = {
    "given_names": 200,
    "family_names": 200,
    "full_name": 400,
    "address_line1": 200,
    "address_city": 120,
    "address_region": 64,
    "address_postal_code": 16,
    "phone": 40,
    "email": 254,
}
_ADDRESS_COLUMNS = (
    "address_line1",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_valid_from",
)
_ADDRESS_REQUIRED = ("address_line1", "address_city", "address_valid_from")


def _address(c: Cells) -> AddressInput | None:
    if not any(c.text(col) for col in _ADDRESS_COLUMNS):
        return None
    missing = [col for col in _ADDRESS_REQUIRED if not c.text(col)]
    if missing:
        raise RowRejected(
            Reason.MISSING_VALUE,
            f"An address needs address_line1, address_city and address_valid_from; "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty.",
        )
    return AddressInput(
        line1=c.text("address_line1"),
        city=c.text("address_city"),
        region=c.text("address_region"),
        postal_code=c.text("address_postal_code"),
        valid_from=not_before(
            "address_valid_from", c.date("address_valid_from", required=True), EARLIEST_DATE
        ),
    )


def _contacts(c: Cells) -> list[ContactInput]:
    contacts = []
    if c.text("phone"):
        contacts.append(ContactInput(kind="phone", value=c.text("phone"), preferred=True))
    if c.text("email"):
        contacts.append(ContactInput(kind="email", value=c.text("email"), preferred=not contacts))
    return contacts


def apply_person(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    for column, limit in PERSON_LIMITS.items():
        max_length(column, c.text(column), limit)
    given, family = c.text("given_names"), c.text("family_names")
    if not given and not family:
        raise RowRejected(
            Reason.MISSING_VALUE, "given_names and family_names are both empty; give at least one."
        )
    if not c.text("full_name") and len(given) + len(family) >= PERSON_LIMITS["full_name"]:
        raise RowRejected(
            Reason.INVALID_VALUE,
            f"given_names and family_names together are longer than "
            f"{PERSON_LIMITS['full_name']} characters.",
        )
    address = _address(c)
    contacts = _contacts(c)
    data = PersonInput(
        name=NameInput(given_names=given, family_names=family, full_name=c.text("full_name")),
        date_of_birth=c.date("date_of_birth"),
        a_number=c.text("a_number") or None,
        citizenship=c.codes("citizenship"),
        languages=c.codes("languages"),
        interpreter_needed=c.boolean("interpreter_needed"),
        address=address,
        contacts=contacts,
    )
    person = create_person(ctx=ctx, data=data)
    return Applied("people.person", person.pk, person.pk)
