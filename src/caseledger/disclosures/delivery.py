"""Delivering correction notices to earlier recipients, with a delivery log and retries.

Two adapters behind one function `send(notice, text) -> None` (raises DeliveryFailed):
- `email`: Django's mail API to the agency's address, when the agency has one;
- `outbox`: a text file per notice under `VAR_DIR/disclosure-outbox/` for agencies reached
  by post (an operator prints and mails it); the demo uses it.

Every attempt writes a DeliveryLog row (attempt, channel, status, short error code). A failed
attempt is retried with a growing delay (5 min, 30 min, 2 h, 12 h) and given up after
MAX_ATTEMPTS; `caseledger send_corrections` retries what is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q

from caseledger.core import clock
from caseledger.core.errors import Conflict
from caseledger.core.versioning import update_versioned

from .categories import label
from .models import Agency, CorrectionNotice, DeliveryLog, NoticeStatus

MAX_ATTEMPTS = 5
BACKOFF = [timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12)]


class DeliveryFailed(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def channel_for(agency: Agency) -> str:
    return "email" if agency.email else "outbox"


def outbox_dir() -> Path:
    return Path(settings.VAR_DIR) / "disclosure-outbox"


def render(notice: CorrectionNotice) -> tuple[str, str]:
    entry = notice.entry
    subject = f"Correction of a record disclosed to you (request {entry.request_id})"
    lines = [
        f"To: {notice.agency.name}",
        notice.agency.mailing_address,
        "",
        f"On {entry.disclosed_on.isoformat()} we disclosed a record to you under disclosure "
        f"request {entry.request_id} (authority: {entry.authority}).",
        "That record has since been corrected in these categories:",
        *[f"  - {label(c)}" for c in notice.categories],
        "",
        "What was corrected:",
        notice.reason,
        "",
        "Under 5 U.S.C. 552a(c)(4) we inform every earlier recipient of a corrected record. "
        "Please update your copy accordingly.",
        f"Notice reference: {notice.pk}",
    ]
    return subject, "\n".join(lines) + "\n"


def _send_email(notice: CorrectionNotice, subject: str, body: str) -> None:
    try:
        sent = EmailMessage(
            subject=subject,
            body=body,
            to=[notice.agency.email],
            headers={"X-Caseledger-Notice": str(notice.pk)},
        ).send()
    except (OSError, ValueError) as exc:
        raise DeliveryFailed(f"email_{type(exc).__name__.lower()}"[:60]) from exc
    if not sent:
        raise DeliveryFailed("email_not_sent")


def _send_outbox(notice: CorrectionNotice, subject: str, body: str) -> None:
    try:
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"correction-{notice.pk}.txt").write_text(
            f"Subject: {subject}\n\n{body}", encoding="utf-8"
        )
    except OSError as exc:
        raise DeliveryFailed(f"outbox_{type(exc).__name__.lower()}"[:60]) from exc


ADAPTERS = {"email": _send_email, "outbox": _send_outbox}


def send(notice: CorrectionNotice) -> None:
    subject, body = render(notice)
    ADAPTERS[notice.channel](notice, subject, body)


#: How long an attempt holds its notice; a sender that died gives it back after this.
CLAIM_SECONDS = 600


def _claim(notice: CorrectionNotice) -> bool:
    """Take the notice for one attempt (`update_versioned` on the version read, while it is
    still due and unsent). A second sender (the request's first attempt racing the retry
    loop, or another node) finds it taken and leaves it: a correction is sent once."""
    now = clock.now()
    due_now = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    try:
        update_versioned(
            notice, None, where=due_now & Q(status__in=[NoticeStatus.PENDING, NoticeStatus.RETRY]),
            what="correction notice", next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
        )
    except Conflict:
        return False
    return True


def _outcome(attempt: int, error: str, now: datetime) -> dict[str, Any]:
    """The notice's status after an attempt: sent, retried after a growing delay, or given up
    after MAX_ATTEMPTS."""
    if not error:
        return {"status": NoticeStatus.SENT, "sent_at": now, "next_attempt_at": None}
    if attempt >= MAX_ATTEMPTS:
        return {"status": NoticeStatus.FAILED, "next_attempt_at": None}
    return {"status": NoticeStatus.RETRY,
            "next_attempt_at": now + BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]}


def deliver(notice: CorrectionNotice) -> CorrectionNotice:
    """One attempt, if this caller claims the notice; the result and the log row are saved
    whatever happens."""
    notice = CorrectionNotice.objects.select_related("entry", "agency").get(pk=notice.pk)
    if notice.status in (NoticeStatus.SENT, NoticeStatus.FAILED) or not _claim(notice):
        return notice
    now = clock.now()
    attempt = notice.attempts + 1
    error = ""
    try:
        send(notice)
    except DeliveryFailed as exc:
        error = exc.code
    with transaction.atomic():
        update_versioned(notice, None, what="correction notice", attempts=attempt,
                         last_error=error, **_outcome(attempt, error, now))
        DeliveryLog.objects.create(
            notice=notice,
            attempt=attempt,
            at=now,
            channel=notice.channel,
            status="sent" if not error else "failed",
            error=error,
        )
    return notice


def due(limit: int = 500) -> list[Any]:
    return list(
        CorrectionNotice.objects.filter(
            status__in=[NoticeStatus.PENDING, NoticeStatus.RETRY], next_attempt_at__lte=clock.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def retry_due(limit: int = 500, progress: Any = None) -> dict[str, int]:
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for pk in due(limit):
        notice = deliver(CorrectionNotice(pk=pk))
        key = {NoticeStatus.SENT: "sent", NoticeStatus.FAILED: "failed"}.get(notice.status, "retry")
        counts[key] += 1
        if progress:
            progress()
    return counts
