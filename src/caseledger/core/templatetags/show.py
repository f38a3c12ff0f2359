"""How values are shown to people: one place for dates, times and codes, so no page prints an
ISO timestamp, a UTC time without saying so, or a code where a word belongs.

    {% load show %}
    {{ report.from|day }}          Oct. 1, 2026 / 1 de octubre de 2026 (the page's language)
    {{ event.time|when }}          Dec. 6, 2026, 9:14 a.m. EST (the viewer's time zone, named)
    {{ p.citizenship|label:"country" }}     Mexico, Guatemala / México, Guatemala
    {{ p.languages|label:"language" }}      Spanish, English / Español, Inglés
    {{ office_code|label:"office" }}        West Field Office (Los Angeles)
    {{ c.face_outcome|label:"face" }}       face did not match
    {{ e.action|label:"action" }}           Looked at (and "category", "purpose", "outcome",
                                            "role": the ledger's vocabulary in words)
    {{ e.actor_id|account }}       the username of a staff account; "The system" for none
    {{ person|person }}            the primary name; never the record's id
    {{ hearing|hearing_status }}   "Awaiting its outcome" for a past hearing still scheduled

A code nobody wrote a label for is shown as it is (a wrong label is worse than a code), and
a list of codes is joined with commas.
"""

from __future__ import annotations

import gettext
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pycountry
from django import template
from django.apps import apps
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caseledger.core import clock

register = template.Library()


def _as_datetime(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value:
        return parse_datetime(value) or parse_date(value[:10])
    return None


@register.filter(expects_localtime=True)
def day(value: Any) -> str:
    """A date (or the date of an ISO timestamp, as written; of a moment, in the viewer's time
    zone) in words of the page's language; the value unchanged when it is not a date."""
    parsed = _as_datetime(value)
    if parsed is None:
        return "" if value is None else str(value)
    if isinstance(parsed, datetime):
        parsed = parsed.date()
    return formats.date_format(parsed, "DATE_FORMAT")


@register.filter
def when(value: Any) -> str:
    """A moment in the viewer's time zone (the one the page activated), with the zone named,
    so two pages never disagree about the day without saying why."""
    parsed = _as_datetime(value)
    if not isinstance(parsed, datetime):
        return day(value)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_fixed_timezone(0))
    local = timezone.localtime(parsed)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"


# --- codes -> words ---------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _iso_catalogue(domain: str, language: str) -> gettext.NullTranslations:
    """pycountry's own translations of the ISO names (country and language names in Spanish
    and many other languages), for the page's language."""
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[language], fallback=True)


def _page_language() -> str:
    return (translation.get_language() or "en").split("-")[0]


def _iso_code(code: Any, *, upper: bool) -> str:
    """A code as pycountry looks it up: trimmed, without a region (`es-MX` -> `es`)."""
    base = str(code or "").strip().replace("_", "-").split("-")[0]
    return base.upper() if upper else base.lower()


def country_name(code: str, unknown: str | None = None) -> str:
    """An ISO 3166-1 code (two or three letters) as the country's common name in the page's
    language; an unknown code as `unknown` (the code itself when not given)."""
    key = _iso_code(code, upper=True)
    lookup = {2: "alpha_2", 3: "alpha_3"}.get(len(key))
    country = pycountry.countries.get(**{lookup: key}) if lookup else None
    if country is None:
        return str(code or "") if unknown is None else unknown
    name = getattr(country, "common_name", None) or country.name
    return _iso_catalogue("iso3166-1", _page_language()).gettext(name)


def language_name(code: str, unknown: str | None = None) -> str:
    """An ISO 639 code (two or three letters, `es-MX` read as `es`) as the language's name in
    the page's language; an unknown code as `unknown` (the code itself when not given)."""
    key = _iso_code(code, upper=False)
    lookup = {2: "alpha_2", 3: "alpha_3"}.get(len(key))
    found = pycountry.languages.get(**{lookup: key}) if lookup else None
    if found is None:
        return str(code or "") if unknown is None else unknown
    return _iso_catalogue("iso639-3", _page_language()).gettext(found.name)


_OFFICE_NAMES: dict[str, Any] = {"names": {}, "read_at": 0.0}
OFFICE_NAMES_TTL_SECONDS = 60.0


def office_name(code: str) -> str:
    """An office's code (as the ledger keeps it) as the office's name. Offices are few and
    change rarely: their names are read once a minute at most (or when a code is new), not
    once per row; the table is replaced whole, so a concurrent reader never sees it empty."""
    now = time.monotonic()
    names = _OFFICE_NAMES["names"]
    if code not in names or now - _OFFICE_NAMES["read_at"] > OFFICE_NAMES_TTL_SECONDS:
        office = apps.get_model("accounts", "Office")
        names = dict(office.objects.values_list("code", "name"))
        _OFFICE_NAMES.update(names=names, read_at=now)
    return names.get(code, code)


#: What the face comparison of one check-in found (biometrics.verifier's outcomes).
FACE_OUTCOMES = {
    "match": gettext_lazy("face matched"),
    "no_match": gettext_lazy("face did not match"),
    "no_face": gettext_lazy("no face found in the photo"),
    "multiple_faces": gettext_lazy("more than one face in the photo"),
    "face_too_small": gettext_lazy("face too small in the photo"),
    "poor_quality": gettext_lazy("photo too dark or blurred"),
}

# --- the ledger's vocabulary (ledger/vocabulary.py: Action, Category, Purpose; Outcome) ------
# Written as what someone did, to what, and why, so that the same words serve the person's
# "who accessed my record" (portal/labels.py) and the privacy officer's audit pages. Kept here,
# below the ledger, by code; tests/ledger/test_event_pages.py proves every code has words.

#: The role of an event's actor ("system": background work).
ROLES: dict[str, Promise] = {
    "case_officer": gettext_lazy("Case officer"),
    "supervisor": gettext_lazy("Supervisor"),
    "privacy_officer": gettext_lazy("Privacy officer"),
    "administrator": gettext_lazy("System administrator"),
    "representative": gettext_lazy("Attorney of record"),
    "participant": gettext_lazy("The person themself"),
    "system": gettext_lazy("The system"),
}

PURPOSES: dict[str, Promise] = {
    "caseload": gettext_lazy("Managing their caseload"),
    "office_supervision": gettext_lazy("Supervising the office's cases"),
    "privacy_review": gettext_lazy("Privacy review"),
    "break_glass": gettext_lazy("Emergency access"),
    "administration": gettext_lazy("System administration"),
    "self_service": gettext_lazy("The person's own use of their record"),
    "representation": gettext_lazy("Representing the person"),
    "notice": gettext_lazy("Sending the person a reminder"),
    "authentication": gettext_lazy("Signing in"),
    "retention": gettext_lazy("Applying the rules on how long data is kept"),
    "supervision": gettext_lazy("Running the check-in schedule"),
    "declaration": gettext_lazy("A staff member's declaration about themselves"),
}

ACTIONS: dict[str, Promise] = {
    "read": gettext_lazy("Looked at"),
    "list": gettext_lazy("Saw in a list"),
    "search": gettext_lazy("Found in a search"),
    "export": gettext_lazy("Exported"),
    "download": gettext_lazy("Downloaded"),
    "create": gettext_lazy("Created"),
    "update": gettext_lazy("Changed"),
    "delete": gettext_lazy("Deleted"),
    "correct": gettext_lazy("Corrected"),
    "assign": gettext_lazy("Assigned"),
    "end": gettext_lazy("Ended"),
    "close": gettext_lazy("Finished work on"),
    "transition": gettext_lazy("Changed the status of"),
    "import": gettext_lazy("Imported"),
    "import_batch": gettext_lazy("Imported a file with"),
    "request": gettext_lazy("Asked for"),
    "acknowledge": gettext_lazy("Acknowledged"),
    "propose": gettext_lazy("Proposed a change to"),
    "approve": gettext_lazy("Approved"),
    "decide": gettext_lazy("Decided"),
    "decline": gettext_lazy("Declined"),
    "disagree": gettext_lazy("Filed a statement of disagreement about"),
    "disclose": gettext_lazy("Shared outside the agency"),
    "checkin": gettext_lazy("Recorded a check-in"),
    "login": gettext_lazy("Signed in"),
    "break_glass": gettext_lazy("Opened emergency access"),
    "grant": gettext_lazy("Opened access"),
    "revoke": gettext_lazy("Closed access"),
    "token_revoke": gettext_lazy("Withdrew an access key"),
    "password_change": gettext_lazy("Changed a password"),
    "deactivate": gettext_lazy("Switched off an account"),
    "reactivate": gettext_lazy("Switched an account back on"),
    "unlock": gettext_lazy("Unlocked an account"),
    "mfa_reset": gettext_lazy("Reset a sign-in code"),
    "notice": gettext_lazy("Prepared a reminder"),
    "notify": gettext_lazy("Notified"),
    "notify_correction": gettext_lazy("Told an earlier recipient about a correction"),
    "opt_in": gettext_lazy("Turned reminders on"),
    "opt_out": gettext_lazy("Turned reminders off"),
    "purge": gettext_lazy("Deleted, as the rules on keeping data require"),
    "purge_run": gettext_lazy("Ran the scheduled deletion"),
    "place_hold": gettext_lazy("Placed a legal hold on"),
    "release_hold": gettext_lazy("Released a legal hold on"),
    "backup": gettext_lazy("Backed up"),
    "restore": gettext_lazy("Restored from a backup"),
}

CATEGORIES: dict[str, Promise] = {
    "identity": gettext_lazy("Identity"),
    "address": gettext_lazy("Address"),
    "addresses": gettext_lazy("Addresses"),
    "contact": gettext_lazy("Contact details"),
    "contacts": gettext_lazy("Contact details"),
    "language": gettext_lazy("Languages"),
    "case": gettext_lazy("Cases"),
    "cases": gettext_lazy("Cases"),
    "hearing": gettext_lazy("Hearings"),
    "hearings": gettext_lazy("Hearings"),
    "decision": gettext_lazy("Decision"),
    "decisions": gettext_lazy("Decisions"),
    "check_ins": gettext_lazy("Check-ins"),
    "review_dispositions": gettext_lazy("Decisions on check-in reviews"),
    "notes": gettext_lazy("Notes"),
    "representation": gettext_lazy("Representation"),
    "caseload": gettext_lazy("Caseload"),
    "supervision": gettext_lazy("Check-ins"),
    "consent": gettext_lazy("Consent"),
    "biometric": gettext_lazy("Photo"),
    "calendar": gettext_lazy("Calendar"),
    "calendar_feed": gettext_lazy("Calendar link"),
    "notice": gettext_lazy("Reminders"),
    "notice_template": gettext_lazy("Reminder wording"),
    "office": gettext_lazy("Office"),
    "account": gettext_lazy("Account"),
    "access": gettext_lazy("Access permissions"),
    "ledger": gettext_lazy("Access history"),
    "record": gettext_lazy("Whole record"),
    "amendment": gettext_lazy("Amendment request"),
    "disclosure": gettext_lazy("Disclosure"),
    "retention": gettext_lazy("Data retention"),
    "import": gettext_lazy("Imported data"),
    "anomaly": gettext_lazy("Access review"),
    "household": gettext_lazy("Household declaration"),
    "system": gettext_lazy("System"),
}

OUTCOMES: dict[str, Promise] = {
    "allowed": gettext_lazy("Allowed"),
    "denied": gettext_lazy("Refused"),
    "failed": gettext_lazy("Failed"),
}


def say(table: Mapping[str, Promise], code: Any, unknown: str | None = None) -> str:
    """The words of `code` in `table`, in the page's language; an unknown code as `unknown`
    (the code itself when not given)."""
    words = table.get(str(code))
    if words is None:
        return str(code) if unknown is None else unknown
    return str(words)


def record_type_name(code: str) -> str:
    """A record type (a model label, `people.person`) as the model's name ("Person")."""
    try:
        model = apps.get_model(code)
    except (LookupError, ValueError):
        return code
    return capfirst(str(model._meta.verbose_name))


_VOCABULARIES: dict[str, Callable[[str], str]] = {
    "country": country_name,
    "language": language_name,
    "office": office_name,
    "face": lambda code: str(FACE_OUTCOMES.get(code, code)),
    "role": lambda code: say(ROLES, code),
    "purpose": lambda code: say(PURPOSES, code),
    "action": lambda code: say(ACTIONS, code),
    "category": lambda code: say(CATEGORIES, code),
    "outcome": lambda code: say(OUTCOMES, code),
    "record": record_type_name,
}


@register.filter
def label(value: Any, kind: str) -> str:
    """A code (or a list of codes, joined with commas) in words: `kind` is one of
    country, language, office, face, role, purpose, action, category, outcome, record."""
    words = _VOCABULARIES[kind]
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return words(value)
    if isinstance(value, Iterable):
        return ", ".join(words(str(code)) for code in value if code)
    return words(str(value))


# --- an event's (or an anomaly item's) detail -> words -----------------------------------------
#: The keys the ledger's events and the anomaly review keep in `detail` (ids, codes, counts).
DETAIL_KEYS: dict[str, Promise] = {
    "caseload": gettext_lazy("Persons on the caseload"),
    "usual_weekly": gettext_lazy("Usual number of persons a week"),
    "history_weeks": gettext_lazy("Weeks compared"),
    "weeks_left_out": gettext_lazy("Weeks left out of the comparison"),
    "denied": gettext_lazy("Refused accesses"),
    "unusual_purpose": gettext_lazy("Accesses for a purpose not the role's own"),
    "persons": gettext_lazy("Persons reached"),
    "time_zone": gettext_lazy("Office time zone"),
    "local_hour": gettext_lazy("Hour (office time)"),
    "local_date": gettext_lazy("Date (office time)"),
    "event": gettext_lazy("Event"),
    "outcome": gettext_lazy("Outcome"),
    "declarations": gettext_lazy("Household declarations matched"),
    "match": gettext_lazy("How the name matched"),
    "reason": gettext_lazy("Reason"),
    "format": gettext_lazy("Format"),
    "view": gettext_lazy("Seen on"),
    "subjects": gettext_lazy("Persons named"),
    "count": gettext_lazy("How many"),
    "role": gettext_lazy("Role"),
    "from_role": gettext_lazy("Role before"),
    "office": gettext_lazy("Office"),
    "from_office": gettext_lazy("Office before"),
    "channel": gettext_lazy("Signed in through"),
}
#: Keys whose value is a code of a vocabulary above.
DETAIL_CODES: dict[str, str] = {"outcome": "outcome", "role": "role", "from_role": "role",
                                "office": "office", "from_office": "office"}
DETAIL_WORDS: dict[str, Promise] = {
    "exact": gettext_lazy("the same name"),
    "spelling": gettext_lazy("a name spelled alike"),
    "words": gettext_lazy("the same words of a name"),
    "web": gettext_lazy("the web pages"),
    "api": gettext_lazy("the API"),
}


def _is_id(value: Any) -> bool:
    text = str(value)
    return len(text) == 36 and text.count("-") == 4


def _detail_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        if value and all(_is_id(v) for v in value):
            return str(len(value))  # ids: how many (the raw list is in the ledger's fields)
        return ", ".join(_detail_value(key, v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_detail_value(k, v)}" for k, v in value.items())
    if key in DETAIL_CODES and value:
        return _VOCABULARIES[DETAIL_CODES[key]](str(value))
    if _is_id(value):
        return short_reference(value)
    return say(DETAIL_WORDS, value)


@register.filter
def detail_rows(detail: Any) -> list[tuple[str, str]]:
    """`{% for name, value in event.detail|detail_rows %}`: the detail of an event or an
    anomaly item as (name, value) in words; ids as short references, lists of ids counted."""
    if not isinstance(detail, dict):
        return []
    return [
        (say(DETAIL_KEYS, key, unknown=capfirst(str(key).replace("_", " "))),
         _detail_value(str(key), value))
        for key, value in detail.items()
    ]


# --- records -> words -------------------------------------------------------------------------
_ACCOUNT_NAMES: dict[str, tuple[str | None, float]] = {}
ACCOUNT_NAMES_MAX = 2_000


def account_name(user_id: Any) -> str:
    """A staff account's id (an event's actor) as its username, "The system" for none. Each
    id is read once a minute at most; usernames are not personal data of a person."""
    key = str(user_id or "")
    if not key:
        return str(ROLES["system"])
    now = time.monotonic()
    cached = _ACCOUNT_NAMES.get(key)
    if cached is None or now - cached[1] > OFFICE_NAMES_TTL_SECONDS:
        user = apps.get_model("accounts", "User")
        name = user.objects.filter(pk=key).values_list("username", flat=True).first()
        if len(_ACCOUNT_NAMES) >= ACCOUNT_NAMES_MAX:
            _ACCOUNT_NAMES.clear()
        cached = (name, now)
        _ACCOUNT_NAMES[key] = cached
    return cached[0] or _("An account that no longer exists")


@register.filter
def account(value: Any) -> str:
    """`{{ event.actor_id|account }}`: who acted, by username, never by the account's id."""
    return account_name(value)


def short_reference(value: Any) -> str:
    """The first eight characters of an id, in capitals ("3F2A9C1B"): enough for a person to
    quote on the telephone and for staff to find the full id on their page."""
    return str(value).replace("-", "")[:8].upper()


@register.filter
def reference(value: Any) -> str:
    """`{{ id|reference }}`: an id as its short reference; empty for none."""
    return short_reference(value) if value else ""


@register.filter
def person(value: Any) -> str:
    """A person as people know them: their primary name, else their A-number; never the
    record's id (`str(person)` falls back to it)."""
    if value is None:
        return ""
    primary = value.primary_name() if hasattr(value, "primary_name") else None
    if primary is not None and primary.full_name:
        return primary.full_name
    if getattr(value, "a_number", None):
        return _("Person with A-number %(a_number)s") % {"a_number": value.a_number}
    return _("Person with no name on record")


@register.filter
def hearing_status(hearing: Any) -> str:
    """What a hearing's record says, except that a hearing still marked scheduled after its
    time has passed is awaiting its outcome (the court's result has not been entered), never
    "Scheduled"."""
    if hearing.status == "scheduled" and hearing.scheduled_at < clock.now():
        return _("Awaiting its outcome")
    return str(hearing.get_status_display())
