"""How values are shown to people: one place for dates, times and codes, so no page prints an
ISO timestamp, a UTC time without saying so, or a code where a word belongs.

    {% load show %}
    {{ report.from|day }}          Oct. 1, 2026 / 1 de octubre de 2026 (the page's language)
    {{ event.time|when }}          Dec. 6, 2026, 9:14 a.m. EST (the viewer's time zone, named)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime

register = template.Library()


def _as_datetime(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value:
        return parse_datetime(value) or parse_date(value[:10])
    return None


@register.filter
def day(value: Any) -> str:
    """A date (or the date of an ISO timestamp, as written) in words of the page's language;
    the value unchanged when it is not a date."""
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
