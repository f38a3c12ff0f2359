"""One input model per write to cases and hearings: the API's request bodies, what the forms
build from their cleaned data, and what the CSV importer builds from a row. The rules of each
field live here; what needs the database (a court code that exists, the case's state) or the
court's time zone (a local time skipped or repeated at a clock change, a time in the past) is
checked by the service.

| write                                         | model              |
| --------------------------------------------- | ------------------ |
| `services.open_case`                          | `OpenCaseIn`       |
| `services.schedule_hearing`                   | `ScheduleHearingIn`|
| `services.reschedule_hearing` (move)          | `MoveHearingIn`    |
| `services.adjourn_hearing`, `cancel_hearing`, |                    |
| `record_hearing_held`                         | `HearingVersionIn` |
| `services.record_decision`                    | `DecisionIn`       |
| `services.transition_case`                    | `TransitionIn`     |
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator

from caseledger.core import clock
from caseledger.core.api_common import text_pattern
from caseledger.core.errors import ValidationError
from caseledger.core.inputs import Day, Input, RowVersion, checked, plausible, refuse

from .models import CalendarType, CaseStatus, CaseType, DecisionKind

HEARING_HORIZON_YEARS = 5
MAX_REFERENCE = 32
MAX_JUDGE = 120
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")


def _one_of(field: str, choices: Any, label: str) -> Any:
    """The validator of a field that takes one of `choices` (a Django `TextChoices`): any
    other value is refused, naming the field as `label` and listing the choices."""

    def check(cls: type, value: str) -> str:
        if isinstance(value, str) and value not in choices.values:
            refuse(f"Unknown {label} '{value}'. Use one of: {', '.join(choices.values)}.")
        return value

    return field_validator(field)(check)


def _not_future(field: str, message: str) -> Any:
    """The validator of a day that cannot be after today (`message` says so) and must be
    plausible (`core.inputs.plausible`); a day left out stays out."""

    def check(cls: type, value: date | None) -> date | None:
        if value is not None and value > clock.today():
            refuse(message)
        return plausible(value)

    return field_validator(field)(check)


def local_time(value: datetime | str, field: str = "scheduled_at") -> datetime:
    """A hearing time as written: an aware datetime (with its UTC offset), or a naive one, a
    local time in the court's zone (`services.hearing_time` places it). Strings are ISO 8601
    ('2027-03-10 09:00', '2027-03-10T09:00-05:00'); a date that does not exist is named."""
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        match = _ISO_DATE.match(text)
        if match:
            year, month, day = (int(g) for g in match.groups())
            if not 1 <= month <= 12:
                raise ValidationError(
                    f"'{text}': there is no month {month}.", field=field
                ) from None
            last = calendar.monthrange(year, month)[1]
            if not 1 <= day <= last:
                raise ValidationError(
                    f"'{text}': {calendar.month_name[month]} {year} has no day {day} "
                    f"(it has {last} days).", field=field,
                ) from None
        raise ValidationError(
            f"'{text[:40]}' is not a date and time. Write it as YYYY-MM-DD HH:MM in the "
            "court's time, for example 2027-03-10 09:00.", field=field,
        ) from None
    if parsed.year > clock.today().year + HEARING_HORIZON_YEARS:
        raise ValidationError(
            f"'{text}' is more than {HEARING_HORIZON_YEARS} years ahead; check the year.",
            field=field,
        )
    return parsed


def _hearing_time(value: Any) -> Any:
    if not isinstance(value, (str, datetime)):
        refuse("Must be a date and time written YYYY-MM-DD HH:MM.")
    return checked(local_time, value)


#: A hearing time: in the schema a string (ISO 8601 with an offset, or a local time in the
#: court's zone); checked and held as a datetime (naive: the court's local time).
HearingTime = Annotated[
    datetime,
    BeforeValidator(_hearing_time),
    WithJsonSchema({"type": "string", "maxLength": 40, **text_pattern()}),
]


class OpenCaseIn(Input):
    case_type: str = Field(max_length=32, json_schema_extra={"enum": CaseType.values})
    court: str = Field(max_length=16, description="The court's code")
    opened_on: Day | None = Field(default=None, description="Today when left out")
    reference: str | None = Field(default=None, max_length=MAX_REFERENCE)

    _case_type = _one_of("case_type", CaseType, "case type")

    @field_validator("court")
    @classmethod
    def _court(cls, value: str) -> str:
        if not value.strip():
            refuse(_("This field is required."))
        return value.strip()

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    _opened_on = _not_future("opened_on", "A case cannot be opened in the future.")


class ScheduleHearingIn(Input):
    calendar: str = Field(max_length=32, json_schema_extra={"enum": CalendarType.values})
    scheduled_at: HearingTime = Field(
        description="ISO 8601 with an offset, or a local time 'YYYY-MM-DD HH:MM' in the "
        "court's time zone",
    )
    judge: str = Field(default="", max_length=MAX_JUDGE)
    court: str | None = Field(default=None, max_length=16)

    _calendar = _one_of("calendar", CalendarType, "calendar type")

    @field_validator("judge")
    @classmethod
    def _judge(cls, value: str) -> str:
        return value.strip()


def _new_time(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        refuse(
            "Give the new date and time. If it is not known yet, adjourn the hearing instead: "
            "the person is told that it is postponed and you are reminded to enter the date. "
            "Reminders are never cancelled silently."
        )
    return value


class MoveHearingIn(Input):
    scheduled_at: Annotated[HearingTime, BeforeValidator(_new_time)] = Field(
        description="The new time, as for scheduling; an empty one is refused (adjourn instead)",
    )
    row_version: RowVersion | None = None


class HearingVersionIn(Input):
    row_version: RowVersion | None = None


class TransitionIn(Input):
    # The status is checked with its own message; the schema lists them.
    to_status: str = Field(max_length=32, json_schema_extra={"enum": CaseStatus.values})
    reason: str = Field(default="", max_length=500)
    row_version: RowVersion | None = None

    @field_validator("to_status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in CaseStatus.values:
            refuse(f"'{value}' is not a case status. Statuses: {', '.join(CaseStatus.values)}.")
        return value


class DecisionIn(Input):
    kind: str = Field(max_length=32, json_schema_extra={"enum": DecisionKind.values})
    decided_on: Day
    oral: bool = True
    served_on: Day | None = None

    _kind = _one_of("kind", DecisionKind, "decision kind")

    _decided_on = _not_future("decided_on", "A decision date cannot be in the future.")


__all__ = [
    "DecisionIn",
    "HearingTime",
    "HearingVersionIn",
    "MoveHearingIn",
    "OpenCaseIn",
    "ScheduleHearingIn",
    "TransitionIn",
    "local_time",
]
