"""One place to ask for the time, so tests can move it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def today() -> date:
    """Today's date in UTC. A date that belongs to a place (a court's due date, an office's
    day) is compared with `today_in` that place's zone instead."""
    return timezone.now().date()


def today_in(name: str | None) -> date:
    """Today's date in the time zone called `name` (a court's or an office's; see `zone`):
    in New York's evening it is still today there while UTC has moved on to tomorrow."""
    return timezone.now().astimezone(zone(name)).date()


def zone(name: str | None) -> ZoneInfo:
    """The time zone called `name` (an office's or a court's), or the site's default; UTC
    when the name is unknown."""
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
