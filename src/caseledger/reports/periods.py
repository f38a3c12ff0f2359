"""Report periods: ISO weeks (`2026-W47`), quarters (`2026-Q4`), months (`2026-11`), years.

Every period is a half-open UTC interval [start, end), so that two runs over the same
period see the same events whatever the time of the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from caseledger.core.errors import ValidationError

_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})\Z")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])\Z")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})\Z")
_YEAR = re.compile(r"^([0-9]{4})\Z")
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    label: str
    kind: str
    start: datetime
    end: datetime


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _year(text: str, field: str) -> int:
    year = int(text)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            f"The year must be between {MIN_YEAR} and {MAX_YEAR}.", field=field, code="bad_year"
        )
    return year


def parse_week(value: str, *, field: str = "week") -> Period:
    text = (value or "").strip()
    match = _WEEK.match(text)
    if not match:
        raise ValidationError(
            "Give the week as an ISO week, for example 2026-W47.", field=field, code="bad_week"
        )
    year, week = _year(match[1], field), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValidationError(
            f"{year} has no ISO week {week}.", field=field, code="bad_week"
        ) from None
    start = _midnight(monday)
    return Period(f"{year}-W{week:02d}", "week", start, start + timedelta(days=7))


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_period(value: str, *, field: str = "period") -> Period:
    """A quarter `YYYY-Qn`, a month `YYYY-MM` or a year `YYYY`; anything else is refused."""
    text = (value or "").strip()
    if match := _QUARTER.match(text):
        year, quarter = _year(match[1], field), int(match[2])
        first = date(year, 3 * quarter - 2, 1)
        after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return Period(f"{year}-Q{quarter}", "quarter", _midnight(first), _midnight(after))
    if match := _MONTH.match(text):
        year, month = _year(match[1], field), int(match[2])
        if not 1 <= month <= 12:
            raise ValidationError("The month must be 01 to 12.", field=field, code="bad_period")
        after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Period(
            f"{year}-{month:02d}", "month", _midnight(date(year, month, 1)), _midnight(after)
        )
    if match := _YEAR.match(text):
        year = _year(match[1], field)
        return Period(
            str(year), "year", _midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1))
        )
    raise ValidationError(
        "Give the period as a quarter (2026-Q4), a month (2026-11) or a year (2026).",
        field=field,
        code="bad_period",
    )
