"""Writes to person records. Each runs in one transaction with its ledger event."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import refuse_role, require_person, require_related
from caseledger.access.policies import Ability, Scope
from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.core.inputs import Positional, parse
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .inputs import (
    AddressIn,
    ContactIn,
    EndRepresentationIn,
    NameIn,
    PersonIn,
    PersonPatch,
    RepresentationIn,
)
from .models import (
    Address,
    AddressSource,
    Contact,
    NameKind,
    Person,
    PersonName,
    Representation,
)
from .names import search_key, skeleton

# The input models of these writes (people/inputs.py), under the names the services took
# before they were pydantic models (names and contacts also by position, as then).


class NameInput(Positional, NameIn):
    """`NameIn`, built by Python callers: `NameInput("Maria", "Gonzalez")`."""


class ContactInput(Positional, ContactIn):
    """`ContactIn`, built by Python callers: `ContactInput("phone", "+1 212 736 5000")`."""


AddressInput = AddressIn
PersonInput = PersonIn


def _make_name(person: Person, data: NameIn, kind: str) -> PersonName:
    """A name row from a checked `NameIn` (its parts are stripped, one of them present)."""
    full = data.full
    return PersonName(
        person=person,
        kind=kind,
        given_names=data.given_names,
        family_names=data.family_names,
        full_name=full,
        search_key=search_key(full),
        skeleton=skeleton(full),
    )


def _check_a_number_free(a_number: str | None, *, exclude: Any = None) -> None:
    if a_number and Person.objects.filter(a_number=a_number).exclude(pk=exclude).exists():
        raise Conflict(
            f"A-number {a_number} is already recorded for another person. "
            "Search by A-number to find the existing record.",
            field="a_number",
        )


def _contact(person: Person, data: ContactIn) -> Contact:
    """A contact row from a checked `ContactIn` (its value is normalised)."""
    return Contact(person=person, kind=data.kind, value=data.value, preferred=data.preferred)


def _address(person: Person, data: AddressIn) -> Address:
    """An address row from a checked `AddressIn`."""
    return Address(
        person=person,
        line1=data.line1,
        line2=data.line2,
        city=data.city,
        region=data.region,
        postal_code=data.postal_code,
        country=data.country,
        valid_from=data.valid_from,
    )


def create_person(*, ctx: AccessContext, data: PersonIn | dict[str, Any]) -> Person:
    """Create a person in the creator's office; a case officer takes them on their caseload.
    `data` is checked by its model (`PersonIn`) before anything else."""
    from caseledger.accounts.services import assign_caseload

    data = parse(PersonIn, data)
    user = ctx.user
    message = "Only case officers and supervisors create person records."
    policies.require(ctx, Ability.EDIT_PERSON, action=Action.CREATE, category=Category.IDENTITY,
                     record_type=record_type_of(Person), message=message)
    if user.office_id is None:  # a person belongs to the office of the one who creates it
        raise refuse_role(ctx, action=Action.CREATE, category=Category.IDENTITY,
                          record_type=record_type_of(Person), message=message)
    a_number = data.a_number
    person = Person(
        office_id=user.office_id,
        a_number=a_number,
        date_of_birth=data.date_of_birth,
        citizenship=data.citizenship,
        languages=data.languages,
        interpreter_needed=data.interpreter_needed,
    )
    names = [_make_name(person, data.name, NameKind.PRIMARY)]
    names += [
        _make_name(person, alias, alias.kind if alias.kind != NameKind.PRIMARY else NameKind.ALIAS)
        for alias in data.aliases
    ]
    contacts = [_contact(person, c) for c in data.contacts]
    address = _address(person, data.address) if data.address else None
    try:
        with transaction.atomic():
            _check_a_number_free(a_number)
            person.save(force_insert=True)
            PersonName.objects.bulk_create(names)
            Contact.objects.bulk_create(contacts)
            if address:
                address.save(force_insert=True)
            record_write(
                actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                action=Action.CREATE, category=Category.IDENTITY, subject_id=person.pk,
                record_type=record_type_of(person), record_id=person.pk,
                detail={
                    "names": len(names),
                    "contacts": len(contacts),
                    "address": address is not None,
                },
            )
            if policies.scope(user) is Scope.CASELOAD:  # the creator keeps them on their caseload
                assign_caseload(
                    officer=user, person=person, actor=ctx.actor, request_id=ctx.request_id
                )
    except IntegrityError as exc:
        raise Conflict(
            "The record conflicts with an existing one (A-number already in use?).",
            field="a_number",
        ) from exc
    return person


UPDATABLE_FIELDS = ("a_number", "date_of_birth", "citizenship", "languages", "interpreter_needed")


def _require_staff_writer(ctx: AccessContext, person_id: Any, category: str) -> None:
    """Identity, address and contact records are kept by officers and supervisors; a
    participant or representative asks for a change (correction request), never writes.
    A refusal is recorded, naming the person."""
    policies.require(ctx, Ability.EDIT_PERSON, action=Action.UPDATE, category=category,
                     record_type=record_type_of(Person), record_id=person_id,
                     subject_id=person_id,
                     message="Only case officers and supervisors change person records.")


def update_person(
    *,
    ctx: AccessContext,
    person_id: Any,
    data: PersonPatch | None = None,
    row_version: int | None = None,
    changes: dict[str, Any] | None = None,
) -> Person:
    """Change identity fields: `data` (or `row_version` and `changes`, checked as a
    `PersonPatch`); the version must be the one the caller read (else 409)."""
    _require_staff_writer(ctx, person_id, Category.IDENTITY)
    if data is None:
        data = parse(PersonPatch, {**(changes or {}), "row_version": row_version})
    row_version, changes = data.row_version, data.changes()
    person = require_person(ctx, person_id, category=Category.IDENTITY, action=Action.UPDATE)
    with transaction.atomic():
        if person.row_version != row_version:  # said before any change, in the form's words
            raise Conflict(
                f"This record changed since you read it (you had version {row_version}, it is "
                f"now {person.row_version}). Reload it and apply your change again.",
                code="stale_version",
            )
        values = {k: v for k, v in changes.items() if k in UPDATABLE_FIELDS}
        if "a_number" in values:
            _check_a_number_free(values["a_number"], exclude=person.pk)
        changed = sorted(k for k, v in values.items() if getattr(person, k) != v)
        if "name" in changes:
            new = _make_name(person, changes["name"], NameKind.PRIMARY)
            old = person.names.get(kind=NameKind.PRIMARY)
            if (old.given_names, old.family_names, old.full_name) != (
                new.given_names,
                new.family_names,
                new.full_name,
            ):
                old.kind = NameKind.ALIAS if old.full_name != new.full_name else old.kind
                if old.kind == NameKind.ALIAS:
                    old.save(update_fields=["kind", "updated_at"])
                    new.save(force_insert=True)
                else:
                    PersonName.objects.filter(pk=old.pk).update(
                        given_names=new.given_names, family_names=new.family_names
                    )
                changed.append("name")
        update_versioned(
            person, row_version, what="record",
            conflict_message="This record changed while you were saving. Reload and try again.",
            **values,
        )
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.UPDATE, category=Category.IDENTITY, subject_id=person.pk,
            record_type=record_type_of(person), record_id=person.pk,
            detail={"fields": changed, "version": person.row_version},
        )
    if changed:
        # A correction of the identity record reaches every earlier recipient of it
        # (5 U.S.C. 552a(c)(4)); nothing is sent when it was never disclosed.
        from caseledger.disclosures.services import notify_prior_recipients

        notify_prior_recipients(
            ctx,
            person_id=person.pk,
            categories=["identity"],
            reason=f"Identity record corrected: {', '.join(changed)}",
        )
    return person


def add_name(*, ctx: AccessContext, person_id: Any, data: NameIn | dict[str, Any]) -> PersonName:
    _require_staff_writer(ctx, person_id, Category.IDENTITY)
    data = parse(NameIn, data)
    person = require_person(ctx, person_id, category=Category.IDENTITY, action=Action.UPDATE)
    with transaction.atomic():
        kind = data.kind if data.kind != NameKind.PRIMARY else NameKind.ALIAS
        name = _make_name(person, data, kind)
        name.save(force_insert=True)
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.CREATE, category=Category.IDENTITY, subject_id=person.pk,
            record_type=record_type_of(name), record_id=name.pk, detail={"kind": kind},
        )
    return name


#: Who reported an address, by how far the reporter's view reaches: the person themself, or
#: the persons they represent (those with REPORT_OWN_ADDRESS; staff record it: STAFF).
ADDRESS_REPORTERS = {
    Scope.SELF: AddressSource.PERSON,
    Scope.REPRESENTED: AddressSource.REPRESENTATIVE,
}
# How far ahead a person may report a move (the date they will live there from).
SELF_REPORT_MAX_DAYS_AHEAD = 60


def _address_source(ctx: AccessContext, person_id: Any) -> str:
    if policies.allows(ctx.user, Ability.EDIT_PERSON):
        return AddressSource.STAFF
    policies.require(
        ctx, Ability.REPORT_OWN_ADDRESS, action=Action.UPDATE, category=Category.ADDRESS,
        record_type=record_type_of(Person), record_id=person_id, subject_id=person_id,
        message="A change of address is recorded by the person's officer or supervisor, or "
        "reported by the person or their representative.",
    )
    return ADDRESS_REPORTERS[policies.scope(ctx.user)]


def record_address(
    *, ctx: AccessContext, person_id: Any, data: AddressIn | dict[str, Any]
) -> Address:
    """Make `data` the address of record; the previous one ends the day before it starts.

    Officers and supervisors record it; the person (the EOIR-33 duty is theirs) or their
    representative reports it themselves. The officer and the representative are alerted
    (never the one who made the change), and the EOIR-33 reminder is planned."""
    data = parse(AddressIn, data)
    source = _address_source(ctx, person_id)
    person = require_person(ctx, person_id, category=Category.ADDRESS, action=Action.UPDATE)
    if source != AddressSource.STAFF:
        latest = clock.today() + timedelta(days=SELF_REPORT_MAX_DAYS_AHEAD)
        if data.valid_from > latest:
            raise ValidationError(
                _("Report a move at most %(days)s days ahead (by %(latest)s).")
                % {"days": SELF_REPORT_MAX_DAYS_AHEAD, "latest": latest.isoformat()},
                field="valid_from",
            )
    with transaction.atomic():
        current = (
            Address.objects.select_for_update().filter(person=person, valid_to__isnull=True).first()
        )
        if current and data.valid_from <= current.valid_from:
            raise ValidationError(
                _("The new address must start after the current one (which started %(date)s).")
                % {"date": current.valid_from.isoformat()},
                field="valid_from",
            )
        address = _address(person, data)
        address.source = source
        if current:  # locked above: the version read is the version ended
            update_versioned(current, None, what="address",
                             valid_to=data.valid_from - timedelta(days=1))
        address.save(force_insert=True)
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.CREATE, category=Category.ADDRESS, subject_id=person.pk,
            record_type=record_type_of(address), record_id=address.pk,
            detail={"previous": str(current.pk) if current else None, "source": source},
        )
        if current is not None:  # a change of address: the EOIR-33 is due in 5 business days
            from caseledger.notices.services import plan_for_address_change

            plan_for_address_change(person, data.valid_from)
        if current is not None or source != AddressSource.STAFF:
            from caseledger.notices.alerts import raise_alert
            from caseledger.notices.models import AlertKind

            raise_alert(person.pk, AlertKind.ADDRESS_CHANGED, exclude_user_id=ctx.user.pk)
    return address


def add_contact(*, ctx: AccessContext, person_id: Any, data: ContactIn | dict[str, Any]) -> Contact:
    _require_staff_writer(ctx, person_id, Category.CONTACT)
    data = parse(ContactIn, data)
    person = require_person(ctx, person_id, category=Category.CONTACT, action=Action.UPDATE)
    with transaction.atomic():
        contact = _contact(person, data)
        contact.save(force_insert=True)
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.CREATE, category=Category.CONTACT, subject_id=person.pk,
            record_type=record_type_of(contact), record_id=contact.pk,
            detail={"kind": contact.kind},
        )
    return contact


def record_representation(
    *,
    ctx: AccessContext,
    person_id: Any,
    representative: Any,
    data: RepresentationIn | None = None,
    form: str | None = None,
    filed_on: date | str | None = None,
) -> Any:
    """Record an attorney or representative of record (G-28 / EOIR-28 / EOIR-27): `data`, or
    `form` and `filed_on` (checked as a `RepresentationIn`)."""
    from caseledger.accounts.models import User

    policies.require(ctx, Ability.EDIT_PERSON, action=Action.CREATE,
                     category=Category.REPRESENTATION, record_type=record_type_of(Person),
                     record_id=person_id, subject_id=person_id,
                     message="Only case officers and supervisors record representation.")
    if data is None:
        data = parse(RepresentationIn, {"form": form, "filed_on": filed_on})
    form, filed_on = data.form, data.filed_on
    rep = (
        User.objects.filter(pk=representative, is_active=True).first()
        if isinstance(representative, (str, uuid.UUID))
        else representative
    )
    if rep is None or policies.scope(rep) is not Scope.REPRESENTED:  # an active representative
        raise ValidationError("Choose an active representative account.", field="representative")
    person = require_person(ctx, person_id, category=Category.REPRESENTATION,
                            action=Action.CREATE)
    try:
        with transaction.atomic():
            record = Representation.objects.create(
                person=person, representative=rep, form=form, filed_on=filed_on
            )
            record_write(
                actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                action=Action.CREATE, category=Category.REPRESENTATION, subject_id=person.pk,
                record_type=record_type_of(record), record_id=record.pk,
                detail={"representative": str(rep.pk), "form": form},
            )
    except IntegrityError as exc:
        raise Conflict(
            "This representative is already of record for the person.", code="already_representing"
        ) from exc
    return record


def end_representation(
    *, ctx: AccessContext, representation_id: Any, reason: str | EndRepresentationIn = ""
) -> Any:
    """End an open representation (a closed one is "not found", recorded like any refusal);
    the representative's access ends with it. `reason`: text, or its checked model."""
    reason = parse(EndRepresentationIn, reason if isinstance(reason, EndRepresentationIn)
                   else {"reason": reason}).reason
    if not policies.allows(ctx.user, Ability.EDIT_PERSON):
        policies.require(ctx, Ability.EDIT_PERSON, action=Action.UPDATE,
                         category=Category.REPRESENTATION,
                         record_type=record_type_of(Representation), record_id=representation_id,
                         subject_id=policies.person_of(Representation, representation_id),
                         message="Only case officers and supervisors end representation.")
    record = require_related(
        ctx, Representation, representation_id, person_path=policies.person_path(Representation),
        record_type=record_type_of(Representation), category=Category.REPRESENTATION,
        action=Action.UPDATE, related=("person__office",),
    )
    with transaction.atomic():
        update_versioned(
            record, None, where=Q(ended_on__isnull=True), what="representation",
            conflict_message="This representation has already ended.", conflict_code="ended",
            ended_on=clock.today_in(record.person.office.time_zone),  # the person's office's day
            end_reason=reason,
        )
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.END, category=Category.REPRESENTATION, subject_id=record.person_id,
            record_type=record_type_of(record), record_id=record.pk,
        )
    return record
