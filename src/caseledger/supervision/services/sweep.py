"""The background sweep: a window that closed without a good check-in opens a review. A job
of the system (no user), run every few minutes by `caseledger supervision sweep`."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from caseledger.core import clock
from caseledger.ledger.services import SYSTEM

from ..models import CheckIn, CheckInOutcome, EnrolmentStatus, ReviewKind, Schedule
from .limits import purge_upload_attempts
from .reviews import open_review


def sweep_missed_windows(*, now: datetime | None = None) -> int:
    """Open a review for every window that closed (with its grace) without a check-in that
    was verified or is already under review. Idempotent; run every few minutes. Also removes
    the upload records the rate limits no longer count."""
    now = now or clock.now()
    purge_upload_attempts(now=now)
    opened = 0
    for schedule in Schedule.objects.select_related("enrolment").filter(
        enrolment__status=EnrolmentStatus.ACTIVE, first_window_at__lte=now
    ):
        enrolment = schedule.enrolment
        latest = schedule.window_index(now)
        for index in range(max(0, latest - 1), latest + 1):
            opens, _closes, until = schedule.window(index)
            if until >= now or opens < enrolment.started_at - timedelta(days=schedule.every_days):
                continue
            if CheckIn.objects.filter(
                enrolment=enrolment, window_opens_at=opens, outcome=CheckInOutcome.VERIFIED
            ).exists():
                continue
            with transaction.atomic():
                if open_review(enrolment, opens, ReviewKind.MISSED_WINDOW, None, now, SYSTEM):
                    opened += 1
    return opened
