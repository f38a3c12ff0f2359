"""The fixed list of data categories a disclosure may name, and how each is extracted.

Each extractor returns plain JSON-able data for ONE person. The caller (the decision service)
has already passed the access gate with a privacy-review context and records one ledger read
per category before calling it. There is deliberately no category for biometric images or
face templates, for check-in locations, or for anything about other people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


def _d(value: Any) -> str | None:
    return value.isoformat() if value else None


def identity(person: Any) -> dict[str, Any]:
    names = [
        {
            "kind": n.kind,
            "given_names": n.given_names,
            "family_names": n.family_names,
            "full_name": n.full_name,
        }
        for n in person.names.order_by("kind", "full_name")
    ]
    return {
        "person_id": str(person.pk),
        "a_number": person.a_number,
        "date_of_birth": _d(person.date_of_birth),
        "citizenship": list(person.citizenship or []),
        "languages": list(person.languages or []),
        "names": names,
    }


def addresses(person: Any) -> list[dict[str, Any]]:
    return [
        {
            "line1": a.line1,
            "line2": a.line2,
            "city": a.city,
            "region": a.region,
            "postal_code": a.postal_code,
            "country": a.country,
            "valid_from": _d(a.valid_from),
            "valid_to": _d(a.valid_to),
        }
        for a in person.addresses.order_by("-valid_from")
    ]


def contacts(person: Any) -> list[dict[str, Any]]:
    return [
        {"kind": c.kind, "value": c.value, "preferred": c.preferred}
        for c in person.contacts.order_by("kind", "-preferred", "value")
    ]


def cases(person: Any) -> list[dict[str, Any]]:
    return [
        {
            "reference": c.reference,
            "type": c.case_type,
            "status": c.status,
            "opened_on": _d(c.opened_on),
        }
        for c in person.cases.order_by("opened_on", "reference")
    ]


def hearings(person: Any) -> list[dict[str, Any]]:
    from caseledger.cases.models import Hearing

    rows = (
        Hearing.objects.filter(proceeding__case__person=person)
        .select_related("court", "proceeding__case")
        .order_by("scheduled_at")
    )
    return [
        {
            "case": h.proceeding.case.reference,
            "court": h.court.code,
            "calendar": h.calendar,
            "scheduled_at": _d(h.scheduled_at),
            "status": h.status,
        }
        for h in rows
    ]


def decisions(person: Any) -> list[dict[str, Any]]:
    from caseledger.cases.models import Decision

    rows = (
        Decision.objects.filter(proceeding__case__person=person)
        .select_related("proceeding__case")
        .order_by("decided_on")
    )
    return [
        {
            "case": d.proceeding.case.reference,
            "kind": d.kind,
            "decided_on": _d(d.decided_on),
            "oral": d.oral,
            "served_on": _d(d.served_on),
        }
        for d in rows
    ]


def check_ins(person: Any) -> list[dict[str, Any]]:
    """Dates and outcomes only: never the photo, the face measures or the location."""
    from caseledger.supervision.models import CheckIn

    rows = CheckIn.objects.filter(enrolment__person=person).order_by("submitted_at")
    return [{"submitted_at": _d(c.submitted_at), "outcome": c.outcome} for c in rows]


def review_dispositions(person: Any) -> list[dict[str, Any]]:
    """The kind and outcome of each review, without the reviewer's note (see `notes`)."""
    from caseledger.supervision.models import Review

    rows = Review.objects.filter(enrolment__person=person).order_by("opened_at")
    return [
        {
            "kind": r.kind,
            "opened_at": _d(r.opened_at),
            "disposition": r.disposition,
            "decided_at": _d(r.decided_at),
        }
        for r in rows
    ]


def notes(person: Any) -> list[dict[str, Any]]:
    """Free text written by staff: review notes and case status-change reasons."""
    from caseledger.cases.models import StatusChange
    from caseledger.supervision.models import Review

    out = [
        {"source": "review", "at": _d(r.decided_at or r.opened_at), "text": r.note}
        for r in Review.objects.filter(enrolment__person=person)
        .exclude(note="")
        .order_by("opened_at")
    ]
    out += [
        {"source": "case_status", "at": _d(s.changed_at), "text": s.reason}
        for s in StatusChange.objects.filter(case__person=person)
        .exclude(reason="")
        .order_by("changed_at")
    ]
    return out


@dataclass(frozen=True)
class Category:
    code: str
    label: Any
    extract: Callable[[Any], Any]
    free_text: bool = False


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("identity", _("Identity (names, A-number, date of birth, citizenship)"), identity),
        Category("addresses", _("Addresses"), addresses),
        Category("contacts", _("Phone numbers and email addresses"), contacts),
        Category("cases", _("Cases"), cases),
        Category("hearings", _("Hearings"), hearings),
        Category("decisions", _("Decisions"), decisions),
        Category("check_ins", _("Check-in dates and outcomes"), check_ins),
        Category("review_dispositions", _("Review dispositions"), review_dispositions),
        Category("notes", _("Free-text notes"), notes, free_text=True),
    )
}

CODES: tuple[str, ...] = tuple(CATEGORIES)


def label(code: str) -> str:
    category = CATEGORIES.get(code)
    return str(category.label) if category else code


def choices() -> list[tuple[str, str]]:
    return [(c.code, str(c.label)) for c in CATEGORIES.values()]
