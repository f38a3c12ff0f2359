"""The background sweep: a window that closed without a good check-in opens a review (with the
window's last try when there was one: a participant asked for a retake who did not send it). A
job of the system (no user), run every few minutes by `caseledger supervision sweep`."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from caseledger.core import clock
from caseledger.ledger.services import SYSTEM

from ..models import CheckIn, CheckInOutcome, EnrolmentStatus, ReviewKind, Schedule
from .bursts import purge_challenges
from .limits import purge_upload_attempts
from .reviews import open_review


def sweep_missed_windows(*, now: datetime | None = None) -> int:
    """Open a review for every window that closed (with its grace) without a check-in that
    was verified or is already under review. Idempotent; run every few minutes. Also removes
    the upload records the rate limits no longer count and the challenges past their use."""
    now = now or clock.now()
    purge_upload_attempts(now=now)
    purge_challenges(now=now)
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
            last = (
                CheckIn.objects.filter(enrolment=enrolment, window_opens_at=opens)
                .order_by("-attempt")
                .first()
            )
            kind = ReviewKind.MISSED_WINDOW if last is None else _kind_of(last)
            with transaction.atomic():
                if open_review(enrolment, opens, kind, last, now, SYSTEM):
                    opened += 1
    return opened


def _kind_of(checkin: CheckIn) -> str:
    """The review kind of a window whose last try was not verified (a retake not sent)."""
    if checkin.liveness_outcome == "not_live":
        return ReviewKind.NOT_LIVE
    return ReviewKind.FAILED_CHECK
