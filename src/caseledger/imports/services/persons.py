"""A row of a persons file becomes a person.

Two paths give the same records and the same ledger events:

- `build_person` + `PersonWriter` (the set-wise path): each row is checked in Python by the
  input model `people.services.create_person` takes (`people.inputs.PersonIn`, also the API's
  request body and the form's check: the same rules and messages), then a whole chunk of
  persons is written table by table (COPY on PostgreSQL), with their names, addresses,
  contacts, caseload assignments, imported records, and the ledger events of each person
  (`create`, `assign` for a case officer, `import`) through `ledger.services.record_events`,
  in the chunk's transaction.
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

import pydantic

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.policies import Ability, Scope
from caseledger.accounts.models import CaseloadAssignment
from caseledger.core import clock
from caseledger.ledger.services import record_events
from caseledger.ledger.vocabulary import Action, Category, Purpose
from caseledger.people.inputs import PersonIn
from caseledger.people.models import (
    Address,
    AddressSource,
    Contact,
    NameKind,
    Person,
    PersonName,
)
from caseledger.people.names import search_key, skeleton
from caseledger.people.services import create_person

from ..models import ImportBatch, ImportedRecord, ImportKind
from .bulk import insert_rows, new_ids
from .lookups import Applied, Lookups
from .validation import Cells, rejected

_ADDRESS_COLUMNS = (
    "address_line1",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_valid_from",
)
# Columns whose length the input model checks (None), in its words; the others are bounded
# by `validation.MAX_CELL` before anything looks at them.
PERSON_LIMITS: dict[str, int | None] = dict.fromkeys(
    ("given_names", "family_names", "full_name", *_ADDRESS_COLUMNS[:4], "phone", "email")
)
PERSON = "people.person"


def _address(c: Cells) -> dict[str, Any] | None:
    if not any(c.text(col) for col in _ADDRESS_COLUMNS):
        return None
    return {
        "line1": c.text("address_line1"),
        "city": c.text("address_city"),
        "region": c.text("address_region"),
        "postal_code": c.text("address_postal_code"),
        "valid_from": c.text("address_valid_from"),
    }


def _contacts(c: Cells) -> list[dict[str, Any]]:
    contacts: list[dict[str, Any]] = []
    if c.text("phone"):
        contacts.append({"kind": "phone", "value": c.text("phone"), "preferred": True})
    if c.text("email"):
        contacts.append({"kind": "email", "value": c.text("email"), "preferred": not contacts})
    return contacts


def person_data(c: Cells) -> dict[str, Any]:
    """The row as the data of `PersonIn`: lists split, yes/no read, empty cells left out."""
    return {
        "name": {"given_names": c.text("given_names"), "family_names": c.text("family_names"),
                 "full_name": c.text("full_name"), "kind": "primary"},
        "date_of_birth": c.text("date_of_birth") or None,
        "a_number": c.text("a_number") or None,
        "citizenship": c.codes("citizenship"),
        "languages": c.codes("languages"),
        "interpreter_needed": c.boolean("interpreter_needed"),
        "address": _address(c),
        "contacts": _contacts(c),
    }


def _column(data: dict[str, Any]) -> Any:
    """The CSV column of a location in `PersonIn` (`name.given_names` -> `given_names`)."""
    def column(loc: Any) -> str:
        head, rest = (loc[0], loc[1:]) if loc else ("", ())
        if head == "name":
            return str(rest[0]) if rest else "given_names, family_names"
        if head == "address":
            return f"address_{rest[0]}" if rest else "address_line1, address_city"
        if head == "contacts" and rest and isinstance(rest[0], int):
            return str(data["contacts"][rest[0]]["kind"])
        return str(head or "row")
    return column


def person_input(c: Cells) -> PersonIn:
    """The row checked by `PersonIn`: the input `create_person` takes (raises `RowRejected`
    with the model's message, named by column)."""
    data = person_data(c)
    try:
        return PersonIn.model_validate(data)
    except pydantic.ValidationError as exc:
        raise rejected(exc, _column(data)) from None


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


def build_person(c: Cells, a_number: str | None = None) -> NewPerson:
    """Check a row as `create_person` does (its input model), without writing (raises
    `RowRejected`). Whether the A-number is free is asked of the database set-wise
    (`StageTable.read`). `a_number`: the row's A-number as staging normalised it (the model
    normalises it the same way)."""
    data = person_input(c)
    name = data.name
    full = name.full
    address = None
    if a := data.address:
        address = (a.line1, a.city, a.region, a.postal_code, a.valid_from)
    return NewPerson(data.a_number, data.date_of_birth, data.citizenship, data.languages,
                     data.interpreter_needed,
                     (name.given_names, name.family_names, full, search_key(full),
                      skeleton(full)),
                     address, [(d.kind, d.value, d.preferred) for d in data.contacts])


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
