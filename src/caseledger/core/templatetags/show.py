"""How values are shown to people: one place for dates, times and codes, so no page prints an
ISO timestamp, a UTC time without saying so, or a code where a word belongs.

    {% load show %}
    {{ report.from|day }}          Oct. 1, 2026 / 1 de octubre de 2026 (the page's language)
    {{ event.time|when }}          Dec. 6, 2026, 9:14 a.m. EST (the viewer's time zone, named)
    {{ p.citizenship|label:"country" }}     Mexico, Guatemala / México, Guatemala
    {{ p.languages|label:"language" }}      Spanish, English / Español, Inglés
    {{ office_code|label:"office" }}        West Field Office (Los Angeles)
    {{ c.face_outcome|label:"face" }}       face did not match
    {{ person|person }}            the primary name; never the record's id
    {{ hearing|hearing_status }}   "Awaiting its outcome" for a past hearing still scheduled

A code nobody wrote a label for is shown as it is (a wrong label is worse than a code), and
a list of codes is joined with commas.
"""

from __future__ import annotations

import gettext
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pycountry
from django import template
from django.apps import apps
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
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


def country_name(code: str) -> str:
    """An ISO 3166-1 alpha-2 code as the country's common name in the page's language."""
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    return _iso_catalogue("iso3166-1", _page_language()).gettext(name)


def language_name(code: str) -> str:
    """An ISO 639 code (two or three letters) as the language's name in the page's language."""
    lookup = {2: "alpha_2", 3: "alpha_3"}.get(len(code))
    found = pycountry.languages.get(**{lookup: code.lower()}) if lookup else None
    if found is None:
        return code
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

_VOCABULARIES: dict[str, Callable[[str], str]] = {
    "country": country_name,
    "language": language_name,
    "office": office_name,
    "face": lambda code: str(FACE_OUTCOMES.get(code, code)),
}


@register.filter
def label(value: Any, kind: str) -> str:
    """A code (or a list of codes, joined with commas) in words: `kind` is one of
    country, language, office, face."""
    words = _VOCABULARIES[kind]
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return words(value)
    if isinstance(value, Iterable):
        return ", ".join(words(str(code)) for code in value if code)
    return words(str(value))


# --- records -> words -------------------------------------------------------------------------
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
