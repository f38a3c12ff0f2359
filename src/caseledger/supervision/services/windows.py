"""The window a try belongs to: the one open now, and whether a new try in it makes sense."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from caseledger.core.errors import Conflict, ValidationError

from ..models import CheckIn, CheckInOutcome, Enrolment, Schedule


def open_window(schedule: Schedule, now: datetime) -> datetime:
    """When the window open now opened; refused when none is open."""
    window = schedule.current_window(now)
    if window is None:
        opens, _closes, _until = schedule.next_window(now)
        raise ValidationError(
            _("Check-in is not open now. Your next check-in opens on %(when)s.")
            % {"when": opens.strftime("%Y-%m-%d %H:%M UTC")},
            code="outside_window",
        )
    return window[0]


def tries_used(enrolment: Enrolment, schedule: Schedule, opens: datetime) -> int:
    """The tries stored in the window that opened at `opens`; refuses a window already
    verified and a window whose tries are used (a new try, or a new challenge, would be
    pointless)."""
    in_window = CheckIn.objects.filter(enrolment=enrolment, window_opens_at=opens)
    if in_window.filter(outcome=CheckInOutcome.VERIFIED).exists():
        raise Conflict(
            _("You have already checked in for this period. Thank you."),
            code="already_checked_in",
        )
    attempts = in_window.count()
    if attempts >= schedule.max_attempts:
        raise Conflict(
            _(
                "You have used all your tries for this check-in. Your officer will "
                "contact you; this is not a violation."
            ),
            code="attempts_used",
        )
    return attempts
