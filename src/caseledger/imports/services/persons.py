"""A row of a persons file becomes a person.

Two paths give the same records and the same ledger events:

- `build_person` + `PersonWriter` (the set-wise path): each row is checked in Python with the
  checks `people.services.create_person` makes (the same validators, in the same order, so
  the same reasons and messages), then a whole chunk of persons is written table by table
  (COPY on PostgreSQL), with their names, addresses, contacts, caseload assignments, imported
  records, and the ledger events of each person (`create`, `assign` for a case officer,
  `import`) through `ledger.services.record_events`, in the chunk's transaction.
- `apply_person` (one row at a time, through `create_person` itself): used when a chunk's
  set-wise write is refused by the database (a constraint another writer got to first), so
  each of its rows is applied, or quarantined, alone.

`tests/imports/test_persons_bulk.py` checks that both paths give the same rows and events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.policies import Ability, Scope
from caseledger.accounts.models import CaseloadAssignment
from caseledger.core import clock
from caseledger.ledger.services import record_events
from caseledger.ledger.vocabulary import Action, Category, Purpose
from caseledger.people import validation
from caseledger.people.models import (
    Address,
    AddressSource,
    Contact,
    ContactKind,
    NameKind,
    Person,
    PersonName,
)
from caseledger.people.names import search_key, skeleton
from caseledger.people.services import (
    AddressInput,
    ContactInput,
    NameInput,
    PersonInput,
    create_person,
)

from ..models import ImportBatch, ImportedRecord, ImportKind, Reason
from .bulk import insert_rows, new_ids
from .lookups import Applied, Lookups
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
PERSON = "people.person"


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


def person_input(c: Cells) -> PersonInput:
    """The row's checks of its own (lengths, a name, a complete address, dates, booleans) and
    the input `create_person` takes."""
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
    return PersonInput(
        name=NameInput(given_names=given, family_names=family, full_name=c.text("full_name")),
        date_of_birth=c.date("date_of_birth"),
        a_number=c.text("a_number") or None,
        citizenship=c.codes("citizenship"),
        languages=c.codes("languages"),
        interpreter_needed=c.boolean("interpreter_needed"),
        address=address,
        contacts=contacts,
    )


def apply_person(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    """One row through `create_person` (its checks, its rows, its events)."""
    person = create_person(ctx=ctx, data=person_input(c))
    return Applied(PERSON, person.pk, person.pk)


# --- the set-wise path ---------------------------------------------------------------------


@dataclass(slots=True)
class NewPerson:
    """A checked row, as plain values: what `create_person` would insert for it."""

    a_number: str | None
    date_of_birth: date | None
    citizenship: list[str]
    languages: list[str]
    interpreter_needed: bool
    name: tuple[str, str, str, str, str]  # given, family, full, search key, skeleton
    address: tuple[str, str, str, str, date] | None  # line1, city, region, postal, from
    contacts: list[tuple[str, str, bool]]  # kind, value, preferred


def _contact_value(data: ContactInput) -> str:
    if data.kind == ContactKind.PHONE:
        return validation.normalize_phone(data.value)
    return validation.normalize_email(data.value)


def build_person(c: Cells, a_number: str | None = None) -> NewPerson:
    """Check a row as `person_input` and `create_person` do, in their order, without writing
    (raises `RowRejected`, or the validators' `ValidationError`). Whether the A-number is free
    is asked of the database set-wise (`StageTable.read`). `a_number`: the row's A-number as
    staging normalised it, if it did (else it is normalised here, or refused)."""
    data = person_input(c)
    if a_number is None:
        a_number = validation.normalize_a_number(data.a_number)
    date_of_birth = validation.check_date_of_birth(data.date_of_birth)
    citizenship = validation.check_countries(data.citizenship)
    languages = validation.check_languages(data.languages)
    given, family, joined = validation.check_name(data.name.given_names, data.name.family_names)
    full = (data.name.full_name or "").strip() or joined
    contacts = [(d.kind, _contact_value(d), d.preferred) for d in data.contacts]
    address = None
    if data.address:
        a = data.address
        address = (a.line1.strip(), a.city.strip(), a.region.strip(), a.postal_code.strip(),
                   a.valid_from)
    return NewPerson(a_number, date_of_birth, citizenship, languages,
                     bool(data.interpreter_needed),
                     (given, family, full, search_key(full), skeleton(full)), address, contacts)


def taken_message(a_number: str) -> str:
    """What `create_person` says of an A-number that is already recorded."""
    return (f"A-number {a_number} is already recorded for another person. "
            "Search by A-number to find the existing record.")


_BASE = ("id", "created_at", "updated_at", "row_version")
_PERSON = (*_BASE, "office_id", "a_number", "date_of_birth", "citizenship", "languages",
           "interpreter_needed")
_NAME = (*_BASE, "person_id", "kind", "given_names", "family_names", "full_name",
         "search_key", "skeleton")
_ADDRESS = (*_BASE, "person_id", "line1", "line2", "city", "region", "postal_code", "country",
            "valid_from", "source")
_CONTACT = (*_BASE, "person_id", "kind", "value", "preferred")
_CASELOAD = (*_BASE, "officer_id", "person_id", "started_at")
_IMPORTED = (*_BASE, "kind", "external_id", "record_type", "record_id", "first_batch_id",
             "line", "row_hash")


def may_write_in_bulk(ctx: AccessContext) -> bool:
    """Whether `create_person` would let this user create persons (then the set-wise path
    makes the same rows). Otherwise rows go one by one, each refusal recorded as it is."""
    return policies.allows(ctx.user, Ability.EDIT_PERSON) and ctx.user.office_id is not None


class PersonWriter:
    """Writes a chunk of checked persons with everything `create_person` and the importer
    write for each, table by table, and their ledger events in row order."""

    def __init__(self, ctx: AccessContext, batch: ImportBatch) -> None:
        self.ctx = ctx
        self.batch = batch
        self.caseload = policies.scope(ctx.user) is Scope.CASELOAD

    def write(self, items: list[tuple[Any, NewPerson]]) -> list[uuid.UUID]:
        """`items` are (staged row, person) in line order; returns the persons' ids."""
        now = clock.now()
        ids = list(new_ids(len(items) * 4))
        person_ids, name_ids = ids[0::4], ids[1::4]
        extra = iter(new_ids(sum(len(p.contacts) + 1 for _, p in items)))
        stamp = (now, now, 1)
        user = self.ctx.user
        insert_rows(Person, _PERSON, (
            (pid, *stamp, user.office_id, p.a_number, p.date_of_birth, p.citizenship,
             p.languages, p.interpreter_needed)
            for pid, (_, p) in zip(person_ids, items, strict=True)))
        insert_rows(PersonName, _NAME, (
            (nid, *stamp, pid, NameKind.PRIMARY.value, *p.name)
            for nid, pid, (_, p) in zip(name_ids, person_ids, items, strict=True)))
        insert_rows(Address, _ADDRESS, (
            (next(extra), *stamp, pid, a[0], "", a[1], a[2], a[3], "US", a[4],
             AddressSource.STAFF.value)
            for pid, (_, p) in zip(person_ids, items, strict=True) if (a := p.address)))
        insert_rows(Contact, _CONTACT, (
            (next(extra), *stamp, pid, kind, value, preferred)
            for pid, (_, p) in zip(person_ids, items, strict=True)
            for kind, value, preferred in p.contacts))
        assignments = ids[2::4] if self.caseload else [None] * len(items)
        if self.caseload:
            insert_rows(CaseloadAssignment, _CASELOAD, (
                (aid, *stamp, user.pk, pid, now)
                for aid, pid in zip(assignments, person_ids, strict=True)))
        insert_rows(ImportedRecord, _IMPORTED, (
            (rid, *stamp, ImportKind.PERSONS.value, s.external_id, PERSON, pid, self.batch.pk,
             s.line, s.row_hash)
            for rid, pid, (s, _) in zip(ids[3::4], person_ids, items, strict=True)))
        record_events(self._events(items, person_ids, assignments))
        return person_ids

    def _events(self, items: list[tuple[Any, NewPerson]], person_ids: list[uuid.UUID],
                assignments: list[uuid.UUID | None]) -> list[dict[str, Any]]:
        """Per person, in row order: `create` (as `create_person` writes it), `assign` (as
        `assign_caseload` writes it) for a case officer, and the importer's `import`."""
        ctx, events = self.ctx, []
        who = {"actor": ctx.actor, "request_id": ctx.request_id}
        for (s, p), pid, aid in zip(items, person_ids, assignments, strict=True):
            events.append({
                **who, "purpose": ctx.purpose, "action": Action.CREATE,
                "category": Category.IDENTITY, "subject_id": pid, "record_type": PERSON,
                "record_id": pid, "detail": {"names": 1, "contacts": len(p.contacts),
                                             "address": p.address is not None},
            })
            if aid is not None:
                events.append({
                    **who, "purpose": Purpose.CASELOAD, "action": Action.ASSIGN,
                    "category": Category.CASELOAD, "subject_id": pid,
                    "record_type": "accounts.caseloadassignment", "record_id": aid,
                    "detail": {"officer": str(ctx.user.pk)},
                })
            events.append({
                **who, "purpose": ctx.purpose, "action": Action.IMPORT,
                "category": Category.IDENTITY, "subject_id": pid, "record_type": PERSON,
                "record_id": pid, "detail": {"batch": str(self.batch.pk),
                                             "kind": ImportKind.PERSONS.value, "line": s.line},
            })
        return events
