"""Reading and checking the cells of one row: each problem is a `RowRejected` with the reason
code the row is quarantined under and a message naming the column (never the file's content
beyond the value itself).

A row's values are checked by the input model of the write it becomes (`people.inputs`,
`cases.inputs`: the API's request bodies and the forms' checks): `rejected` turns the model's
first error into the quarantine's reason and message (`column: the model's message`). What is
checked here is the CSV's own: a cell's size, required cells, lists and yes/no values."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pydantic

from caseledger.core import clock
from caseledger.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from caseledger.core.inputs import describe

from ..formats import LIST_SEPARATOR
from ..models import Reason

EARLIEST_DATE = date(1900, 1, 1)
# The longest value any column takes (the widest is a name of 400 characters): a longer value
# is refused by its size alone, before anything could quote it back.
MAX_CELL = 1000
HEARING_HORIZON_YEARS = 5
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})

# Which reason a service's error becomes, by the field it names.
_FIELD_REASONS = {
    "a_number": Reason.INVALID_A_NUMBER,
    "date_of_birth": Reason.INVALID_DATE,
    "opened_on": Reason.INVALID_DATE,
    "valid_from": Reason.INVALID_DATE,
    "decided_on": Reason.INVALID_DATE,
    "citizenship": Reason.UNKNOWN_CODE,
    "languages": Reason.UNKNOWN_CODE,
    "country": Reason.UNKNOWN_CODE,
    "case_type": Reason.UNKNOWN_CODE,
    "calendar": Reason.UNKNOWN_CODE,
    "court": Reason.UNKNOWN_CODE,
    "contacts": Reason.INVALID_CONTACT,
    "scheduled_at": Reason.INVALID_TIME,
    # A required part left empty: a name without any part, an address without street or city.
    "names": Reason.MISSING_VALUE,
    "address": Reason.MISSING_VALUE,
}
# Which reason an error of an input model's own check becomes, by its type.
_TYPE_REASONS = {"missing": Reason.MISSING_VALUE, "blank": Reason.MISSING_VALUE}
# Which reason a service's refusal becomes, by its code.
_CODE_REASONS = {"past": Reason.PAST_HEARING}


class RowRejected(Exception):
    """A row cannot be applied; it is quarantined with `reason` and `message`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def reason_for(exc: DomainError) -> str:
    """The quarantine reason of an error raised by the service a row was applied through."""
    if isinstance(exc, NotFound):
        return Reason.NOT_FOUND
    if isinstance(exc, PermissionDenied):
        return Reason.FORBIDDEN
    if isinstance(exc, Conflict):
        return Reason.ALREADY_EXISTS
    if exc.code in _CODE_REASONS:
        return _CODE_REASONS[exc.code]
    return _FIELD_REASONS.get(exc.field or "", Reason.INVALID_VALUE)


def rejected(exc: pydantic.ValidationError,
             column: Callable[[Sequence[str | int]], str]) -> RowRejected:
    """The quarantine of a row its input model refused: the first error, as the column it
    came from (`column(location)`) and the model's message, with its reason."""
    error = exc.errors(include_url=False)[0]
    _where, field, message = describe(error)
    reason = _TYPE_REASONS.get(error["type"]) or _FIELD_REASONS.get(field or "",
                                                                     Reason.INVALID_VALUE)
    return RowRejected(reason, f"{column(error['loc'])}: {message}")


class Cells:
    def __init__(self, columns: tuple[str, ...], cells: list[str]) -> None:
        self.values = {c: v.strip() for c, v in zip(columns, cells, strict=True)}

    def text(self, column: str) -> str:
        return self.values[column]

    def required(self, column: str) -> str:
        value = self.values[column]
        if not value:
            raise RowRejected(Reason.MISSING_VALUE, f"{column} is empty; it is required.")
        return value

    def date(self, column: str, *, required: bool = False) -> date | None:
        value = self.required(column) if required else self.values[column]
        if not value:
            return None
        return parse_date(column, value)

    def codes(self, column: str) -> list[str]:
        return [p.strip() for p in self.values[column].split(LIST_SEPARATOR) if p.strip()]

    def boolean(self, column: str) -> bool | str:
        """True or false as a CSV writes them (yes/no, 1/0); any other text as it is, for
        the input model to refuse."""
        value = self.values[column].lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        return self.values[column]


def parse_date(column: str, value: str) -> date:
    if not _DATE.fullmatch(value):
        raise RowRejected(
            Reason.INVALID_DATE, f"{column} '{value}' is not a date in the form YYYY-MM-DD."
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowRejected(
            Reason.INVALID_DATE,
            f"{column} '{value}' is not a date that exists (check the day and the month).",
        ) from None


def parse_local_time(column: str, value: str, time_zone: str) -> datetime:
    """`YYYY-MM-DDTHH:MM` on the wall clock of `time_zone`, as an aware datetime.

    A time skipped when clocks go forward does not exist, and one repeated when they go back
    is ambiguous: both are refused rather than guessed."""
    match = _LOCAL_TIME.fullmatch(value)
    if not match:
        raise RowRejected(
            Reason.INVALID_TIME,
            f"{column} '{value}' is not a local time in the form YYYY-MM-DDTHH:MM "
            "(for example 2026-09-14T08:30).",
        )
    day = parse_date(column, match.group(1))
    if day.year > clock.today().year + HEARING_HORIZON_YEARS:
        raise RowRejected(
            Reason.INVALID_DATE,
            f"{column} '{value}' is more than {HEARING_HORIZON_YEARS} years ahead; check the "
            "year.",
        )
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise RowRejected(Reason.INVALID_TIME, f"{column} '{value}' is not a time of day.")
    zone = ZoneInfo(time_zone)
    naive = datetime(day.year, day.month, day.day, hour, minute)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise RowRejected(
            Reason.INVALID_TIME,
            f"{column} '{value}' does not exist in {time_zone} (the clocks skip that hour).",
        )
    if aware.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        raise RowRejected(
            Reason.INVALID_TIME,
            f"{column} '{value}' happens twice in {time_zone} (the clocks go back that hour); "
            "give another time.",
        )
    return aware


def check_code(value: str, choices: Any, label: str) -> str:
    """`value` if it is one of the `choices` (a TextChoices), else the row is rejected."""
    if value not in choices.values:
        raise RowRejected(
            Reason.UNKNOWN_CODE,
            f"Unknown {label} '{value}'. Use one of: {', '.join(choices.values)}.",
        )
    return value


def max_length(column: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise RowRejected(
            Reason.INVALID_VALUE, f"{column} is {len(value):,} characters long; at most {limit}."
        )
    return value


def check_sizes(c: Cells, limits: Mapping[str, int | None]) -> None:
    """Every value at most its column's limit (`limits`, else `MAX_CELL`; None: the input
    model checks its length, in its words), in column order: the message gives the size,
    never the value (a huge field may be anything)."""
    for column, value in c.values.items():
        limit = limits.get(column, MAX_CELL)
        if limit is not None:
            max_length(column, value, limit)


def not_before(column: str, value: date | None, earliest: date) -> date | None:
    if value is not None and value < earliest:
        raise RowRejected(
            Reason.INVALID_DATE,
            f"{column} {value.isoformat()} is before {earliest.isoformat()}, which is not "
            "plausible; check the year.",
        )
    return value
