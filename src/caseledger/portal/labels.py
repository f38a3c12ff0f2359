"""Plain words, in the page's language, for the codes that the participant's and the
representative's pages would otherwise show: the ledger's vocabulary (who accessed my record),
the choices of the rows on "My record" (level, review, case, hearing, decision), countries and
languages, and the authority of a disclosure.

Every code of the ledger's vocabulary and of the choices named here has a label (the tests
enumerate them), so a new code fails a test instead of reaching a page as `no_match` or
`disclose`. An unknown code still never shows: it reads as "Other".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from caseledger.core.templatetags import show
from caseledger.disclosures.categories import CATEGORIES as DISCLOSED

OTHER = _("Other")

# The ledger's vocabulary in words: one table each, in the formatting layer (core show.py),
# shared with the staff pages; only the reminder's purpose is said to the person as "you".
ROLES: dict[str, Promise] = show.ROLES
PURPOSES: dict[str, Promise] = {**show.PURPOSES, "notice": _("Sending you a reminder")}
ACTIONS: dict[str, Promise] = show.ACTIONS
CATEGORIES: dict[str, Promise] = show.CATEGORIES
OUTCOMES: dict[str, Promise] = show.OUTCOMES

#: The choices of the rows "My record" shows, by "app.model.field": what the person reads.
CHOICES: dict[str, dict[str, Promise]] = {
    "supervision.enrolment.level": {
        "intensive": _("Intensive (check-in twice a week)"),
        "standard": _("Standard (weekly check-in)"),
        "reduced": _("Reduced (monthly check-in)"),
    },
    "supervision.enrolment.status": {
        "active": _("Supervision active"),
        "ended": _("Supervision ended"),
    },
    "supervision.review.kind": {
        "failed_check": _("Your photo did not match"),
        "uncertain": _("Your photo could not be checked"),
        "missed_window": _("Missed check-in"),
        "not_live": _("We could not tell that the photo was taken live"),
    },
    "supervision.review.disposition": {
        "verified_by_review": _("An officer confirmed it was you"),
        "technical_problem": _("A technical problem; it does not count against you"),
        "needs_contact": _("Your officer will contact you"),
        "suspected_impersonation": _("The officer believes the photo shows someone else"),
    },
    "cases.case.case_type": {
        "removal": _("Removal proceedings (INA 240)"),
        "expedited_removal": _("Expedited removal"),
        "reinstatement": _("Reinstatement of removal"),
        "withholding_only": _("Withholding-only proceedings"),
        "asylum_affirmative": _("Affirmative asylum"),
    },
    "cases.case.status": {
        "open": _("Open, in proceedings"),
        "decided": _("Decided by the judge"),
        "appealed": _("Appealed"),
        "final_order": _("Final order"),
        "relief_granted": _("Relief granted"),
        "departed": _("Departed"),
        "closed": _("Case closed"),
    },
    "cases.proceeding.kind": {
        "removal": _("Removal"),
        "bond": _("Bond redetermination"),
        "appeal": _("Appeal (BIA)"),
        "motion": _("Motion to reopen or reconsider"),
    },
    "cases.hearing.calendar": {
        "master": _("Master calendar"),
        "individual": _("Individual (merits)"),
        "custody": _("Custody"),
    },
    "cases.hearing.status": {
        "scheduled": _("Scheduled"),
        "held": _("Held"),
        "adjourned": _("Adjourned"),
        "cancelled": _("Cancelled"),
    },
    "cases.decision.kind": {
        "removal_ordered": _("Removal ordered"),
        "relief_granted": _("Relief granted"),
        "voluntary_departure": _("Voluntary departure granted"),
        "terminated": _("Proceedings terminated"),
        "appeal_dismissed": _("Appeal dismissed"),
        "remanded": _("Remanded"),
    },
}

B7 = _("A written request from a law-enforcement agency (5 U.S.C. 552a(b)(7))")
ROUTINE_USE = _(
    "Routine use %(code)s, published in the notice of this system of records "
    "(5 U.S.C. 552a(b)(3))"
)


def say(table: Mapping[str, Promise], code: str) -> str:
    """The label of `code` in the page's language; never the code itself."""
    return show.say(table, code, unknown=str(OTHER))


def choice(row: Any, field: str) -> str:
    """The person's words for the value of a choice field of a row ("My record")."""
    table = CHOICES.get(f"{row._meta.label_lower}.{field}", {})
    return say(table, getattr(row, field))


def country_name(code: str) -> str:
    """A country from its ISO 3166 code, in the page's language; "Other" when unknown."""
    return show.country_name(code, unknown=str(OTHER))


def language_name(code: str) -> str:
    """A language from its ISO 639 code (`es`, `spa`, `es-MX`), in the page's language;
    "Other" when unknown."""
    return show.language_name(code, unknown=str(OTHER))


def office(code: str) -> str:
    """An office's name (the formatting layer's cached table); "—" for none or an unknown
    code (never the code)."""
    name = show.office_name(code) if code else ""
    return name if name and name != code else "—"


def access_rows(events: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "time": e.time,
            "role": say(ROLES, e.actor_role),
            "office": office(e.office),
            "purpose": say(PURPOSES, e.purpose),
            "action": say(ACTIONS, e.action),
            "category": say(CATEGORIES, e.data_category),
            "outcome": say(OUTCOMES, e.outcome),
            "denied": e.outcome != "allowed",
        }
        for e in events
    ]


def authority(code: str) -> str:
    """Under which rule of the Privacy Act a disclosure was made, in words."""
    if code == "b7":
        return str(B7)
    return str(ROUTINE_USE) % {"code": code}


def disclosure_rows(entries: list[Any]) -> list[dict[str, Any]]:
    """The accounting of disclosures in words: the date, the recipient, why, under which rule
    and which parts of the record (the export keeps the codes)."""
    parts = {code: c.label for code, c in DISCLOSED.items()}
    return [
        {
            "date": e.disclosed_on,
            "recipient": e.recipient_name,
            "recipient_address": e.recipient_address,
            "purpose": e.purpose,
            "authority": authority(e.authority),
            "categories": [say(parts, c) for c in e.categories or []],
        }
        for e in entries
    ]


short_reference = show.short_reference


def deletion_rows(items: list[Any]) -> list[dict[str, Any]]:
    """What was deleted of the person's data, when, and the certificate's short reference
    (the person can ask the privacy officer about a deletion by it)."""
    return [
        {
            "what": str(x.label),
            "count": int(x.count),
            "date": x.date,
            "certificate": short_reference(x.certificate_id),
        }
        for x in items
    ]
