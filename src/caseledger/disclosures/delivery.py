"""Correction notices to earlier recipients, as one kind of item on the delivery engine
(`caseledger.notices.engine`).

The engine claims a notice (one sender sends it), retries a failed attempt on the one
back-off schedule (5 min, 30 min, 2 h, 12 h) and gives up after the 5th attempt. What is the
corrections' own is here:

- the text: `render`, the corrected categories and what was corrected, for the agency;
- the address, by the channel chosen when the notice was made (`channel_for`):
  - `email`: the notices' email channel to the agency's address;
  - `outbox`: a text file per notice under `VAR_DIR/disclosure-outbox/` for agencies reached
    by post (an operator prints and mails it); the demo uses it;
- the log: one `DeliveryLog` row per attempt (attempt, channel, status, short error code).

`caseledger send_corrections` retries what is due. No ledger event per attempt: the notice's
`notify_correction` event is written when it is made (`services.notify_prior_recipients`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from caseledger.core import clock
from caseledger.notices import engine
from caseledger.notices.channels import (
    PERMANENT,
    SENT,
    TRANSIENT,
    DeliveryResult,
    EmailChannel,
    Message,
)

from .categories import label
from .models import Agency, CorrectionNotice, DeliveryLog, NoticeStatus


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


def _send_email(notice: CorrectionNotice, subject: str, body: str) -> DeliveryResult:
    if not notice.agency.email:  # the agency's address was removed after the notice was made
        return DeliveryResult(PERMANENT, error="no_email_address", detail="agency has no email")
    return EmailChannel().send(Message(
        to=notice.agency.email, medium="email", subject=subject, body=body,
        reference=str(notice.pk), headers={"X-Caseledger-Notice": str(notice.pk)},
    ))


def _send_outbox(notice: CorrectionNotice, subject: str, body: str) -> DeliveryResult:
    path = outbox_dir() / f"correction-{notice.pk}.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Subject: {subject}\n\n{body}", encoding="utf-8")
    except OSError as exc:
        return DeliveryResult(TRANSIENT, error=f"outbox_{type(exc).__name__.lower()}"[:40],
                              detail=type(exc).__name__[:120])
    return DeliveryResult(SENT, provider_id=path.name)


#: How a notice reaches its agency, by `CorrectionNotice.channel`.
CHANNELS: dict[str, Callable[[CorrectionNotice, str, str], DeliveryResult]] = {
    "email": _send_email,
    "outbox": _send_outbox,
}


class CorrectionNotices(engine.Kind):
    """Correction notices on the delivery engine. A claimed notice keeps its status; its
    `next_attempt_at` moves past the claim timeout while it is held."""

    what = "correction notice"
    model = CorrectionNotice
    statuses = engine.Statuses(waiting=(NoticeStatus.PENDING, NoticeStatus.RETRY),
                               sent=NoticeStatus.SENT, retry=NoticeStatus.RETRY,
                               failed=NoticeStatus.FAILED)

    def load(self, pk: Any) -> CorrectionNotice:
        return CorrectionNotice.objects.select_related("entry", "agency").get(pk=pk)

    def attempt(self, item: Any, now: datetime) -> engine.Attempt:
        subject, body = render(item)
        return engine.Attempt(result=CHANNELS[item.channel](item, subject, body))

    def record(self, item: Any, now: datetime, attempt: engine.Attempt,
               outcome: engine.Outcome) -> None:
        result = attempt.result
        DeliveryLog.objects.create(
            notice=item,
            attempt=outcome.attempts,
            at=now,
            channel=item.channel,
            status="sent" if result is not None and result.status == SENT else "failed",
            error=result.error if result is not None else outcome.error,
        )
        return None


CORRECTIONS = CorrectionNotices()


def deliver(notice: CorrectionNotice) -> CorrectionNotice:
    """One attempt, if this caller claims the notice (another sender may hold it, or it is
    not due); the notice as it is afterwards."""
    engine.deliver(CORRECTIONS, notice.pk, now=clock.now())
    return CorrectionNotice.objects.select_related("entry", "agency").get(pk=notice.pk)


def due(limit: int = 500) -> list[Any]:
    """The ids of the notices due now."""
    return engine.due_ids(CORRECTIONS, now=clock.now(), limit=limit)


def retry_due(limit: int = 500, progress: Callable[[], None] | None = None) -> dict[str, int]:
    """An attempt at every notice due now: how many were sent, will be retried, gave up."""
    settled = engine.deliver_due(CORRECTIONS, now=clock.now(), limit=limit, progress=progress)
    names = {NoticeStatus.SENT: "sent", NoticeStatus.RETRY: "retry", NoticeStatus.FAILED: "failed"}
    counts = dict.fromkeys(names.values(), 0)
    for status in settled.values():
        counts[names[status]] += 1
    return counts
