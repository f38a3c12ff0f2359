"""The check-in schedule of an enrolment: when windows open, how long they stay open, the
grace after them and the tries each allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caseledger.core.errors import ValidationError

from ..models import Enrolment, Schedule

#: Field -> (lowest, highest) value a schedule accepts.
LIMITS = {
    "every_days": (1, 31),
    "window_hours": (1, 72),
    "grace_minutes": (0, 720),
    "max_attempts": (1, 10),
}


@dataclass(frozen=True)
class ScheduleInput:
    first_window_at: datetime
    every_days: int = 7
    window_hours: int = 24
    grace_minutes: int = 60
    max_attempts: int = 3

    def check(self) -> None:
        """Refuse a first window without a time zone and any value outside `LIMITS`."""
        if self.first_window_at.tzinfo is None:
            raise ValidationError(
                "The first check-in time needs a time zone.", field="first_window_at"
            )
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise ValidationError(f"{name} must be between {low} and {high}.", field=name)


def create_schedule(enrolment: Enrolment, data: ScheduleInput) -> Schedule:
    """The enrolment's schedule (checked with `ScheduleInput.check` first); inside the
    enrolment's transaction. Its reminders are planned by the caller."""
    return Schedule.objects.create(
        enrolment=enrolment,
        first_window_at=data.first_window_at,
        every_days=data.every_days,
        window_hours=data.window_hours,
        grace_minutes=data.grace_minutes,
        max_attempts=data.max_attempts,
    )
