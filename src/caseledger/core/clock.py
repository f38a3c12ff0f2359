"""One place to ask for the time, so tests can move it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def today() -> date:
    return timezone.now().date()


def zone(name: str | None) -> ZoneInfo:
    """The time zone called `name` (an office's or a court's), or the site's default; UTC
    when the name is unknown."""
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
