"""Plain words, in the page's language, for the codes that the participant's and the
representative's pages would otherwise show: the ledger's vocabulary (who accessed my record),
the choices of the rows on "My record" (level, review, case, hearing, decision), countries and
languages, and the authority of a disclosure.

Every code of the ledger's vocabulary and of the choices named here has a label (the tests
enumerate them), so a new code fails a test instead of reaching a page as `no_match` or
`disclose`. An unknown code still never shows: it reads as "Other".
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import pycountry
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from caseledger.accounts.labels import ROLE_LABELS
from caseledger.accounts.models import Office
from caseledger.disclosures.categories import CATEGORIES as DISCLOSED

OTHER = _("Other")

ROLES: dict[str, Promise] = {
    **ROLE_LABELS,
    "representative": _("Attorney of record"),
    "participant": _("The person themself"),
}

PURPOSES: dict[str, Promise] = {
    "caseload": _("Managing their caseload"),
    "office_supervision": _("Supervising the office's cases"),
    "privacy_review": _("Privacy review"),
    "break_glass": _("Emergency access"),
    "administration": _("System administration"),
    "self_service": _("The person's own use of their record"),
    "representation": _("Representing the person"),
    "notice": _("Sending you a reminder"),
    "authentication": _("Signing in"),
    "retention": _("Applying the rules on how long data is kept"),
    "supervision": _("Running the check-in schedule"),
    "declaration": _("A staff member's declaration about themselves"),
}

ACTIONS: dict[str, Promise] = {
    "read": _("Looked at"),
    "list": _("Saw in a list"),
    "search": _("Found in a search"),
    "export": _("Exported"),
    "download": _("Downloaded"),
    "create": _("Created"),
    "update": _("Changed"),
    "delete": _("Deleted"),
    "correct": _("Corrected"),
    "assign": _("Assigned"),
    "end": _("Ended"),
    "close": _("Finished work on"),
    "transition": _("Changed the status of"),
    "import": _("Imported"),
    "import_batch": _("Imported a file with"),
    "request": _("Asked for"),
    "acknowledge": _("Acknowledged"),
    "propose": _("Proposed a change to"),
    "approve": _("Approved"),
    "decide": _("Decided"),
    "decline": _("Declined"),
    "disagree": _("Filed a statement of disagreement about"),
    "disclose": _("Shared outside the agency"),
    "checkin": _("Recorded a check-in"),
    "login": _("Signed in"),
    "break_glass": _("Opened emergency access"),
    "grant": _("Opened access"),
    "revoke": _("Closed access"),
    "token_revoke": _("Withdrew an access key"),
    "password_change": _("Changed a password"),
    "deactivate": _("Switched off an account"),
    "reactivate": _("Switched an account back on"),
    "unlock": _("Unlocked an account"),
    "mfa_reset": _("Reset a sign-in code"),
    "notice": _("Prepared a reminder"),
    "notify": _("Notified"),
    "notify_correction": _("Told an earlier recipient about a correction"),
    "opt_in": _("Turned reminders on"),
    "opt_out": _("Turned reminders off"),
    "purge": _("Deleted, as the rules on keeping data require"),
    "purge_run": _("Ran the scheduled deletion"),
    "place_hold": _("Placed a legal hold on"),
    "release_hold": _("Released a legal hold on"),
    "backup": _("Backed up"),
    "restore": _("Restored from a backup"),
}

CATEGORIES: dict[str, Promise] = {
    "identity": _("Identity"),
    "address": _("Address"),
    "addresses": _("Addresses"),
    "contact": _("Contact details"),
    "contacts": _("Contact details"),
    "language": _("Languages"),
    "case": _("Cases"),
    "cases": _("Cases"),
    "hearing": _("Hearings"),
    "hearings": _("Hearings"),
    "decision": _("Decision"),
    "decisions": _("Decisions"),
    "check_ins": _("Check-ins"),
    "review_dispositions": _("Decisions on check-in reviews"),
    "notes": _("Notes"),
    "representation": _("Representation"),
    "caseload": _("Caseload"),
    "supervision": _("Check-ins"),
    "consent": _("Consent"),
    "biometric": _("Photo"),
    "calendar": _("Calendar"),
    "calendar_feed": _("Calendar link"),
    "notice": _("Reminders"),
    "notice_template": _("Reminder wording"),
    "office": _("Office"),
    "account": _("Account"),
    "access": _("Access permissions"),
    "ledger": _("Access history"),
    "record": _("Whole record"),
    "amendment": _("Amendment request"),
    "disclosure": _("Disclosure"),
    "retention": _("Data retention"),
    "import": _("Imported data"),
    "anomaly": _("Access review"),
    "household": _("Household declaration"),
    "system": _("System"),
}

OUTCOMES: dict[str, Promise] = {
    "allowed": _("Allowed"),
    "denied": _("Refused"),
    "failed": _("Failed"),
}

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
    return str(table.get(code, OTHER))


def choice(row: Any, field: str) -> str:
    """The person's words for the value of a choice field of a row ("My record")."""
    table = CHOICES.get(f"{row._meta.label_lower}.{field}", {})
    return say(table, getattr(row, field))


@cache
def _iso_catalogue(domain: str, language: str) -> gettext.NullTranslations:
    return gettext.translation(
        domain, pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def _iso_name(domain: str, record: Any) -> str | None:
    if record is None:
        return None
    language = (get_language() or "en")[:2]
    return _iso_catalogue(domain, language).gettext(record.name)


def country_name(code: str) -> str:
    """A country from its ISO 3166 code, in the page's language (pycountry's catalogues)."""
    code = (code or "").strip().upper()
    record = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    record = record or (pycountry.countries.get(alpha_3=code) if len(code) == 3 else None)
    return _iso_name("iso3166-1", record) or str(OTHER)


def language_name(code: str) -> str:
    """A language from its ISO 639 code (`es`, `spa`, `es-MX`), in the page's language."""
    base = (code or "").strip().lower().split("-")[0].split("_")[0]
    record = pycountry.languages.get(alpha_2=base) if len(base) == 2 else None
    record = record or (pycountry.languages.get(alpha_3=base) if len(base) == 3 else None)
    return _iso_name("iso639-3", record) or str(OTHER)


def office_names(codes: Iterable[str]) -> dict[str, str]:
    """The display names of offices by code (one query); offices are not personal data."""
    wanted = {c for c in codes if c}
    return dict(Office.objects.filter(code__in=wanted).values_list("code", "name"))


def access_rows(events: list[Any]) -> list[dict[str, Any]]:
    offices = office_names(e.office for e in events)
    return [
        {
            "time": e.time,
            "role": say(ROLES, e.actor_role),
            "office": offices.get(e.office, "—") if e.office else "—",
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


def short_reference(value: Any) -> str:
    """The first eight characters of an id, in capitals ("3F2A9C1B"): enough for a person to
    quote on the telephone and for staff to find the full id on their page."""
    return str(value).replace("-", "")[:8].upper()


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
