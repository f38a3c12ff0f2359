"""Sending due reminders: one reminder, one person, one approved text, one channel.

`send_due(now)` claims the reminders that are due (row locks with SKIP LOCKED on
PostgreSQL, so several workers never send the same one), and for each:

1. checks that its obligation is still what the reminder says (else: superseded, re-planned);
2. picks the person's preferred contact whose channel is enabled and not opted out (an
   invalid address is logged, alerted and skipped; an opted-out person gets nothing);
3. renders the approved template of the person's language (English as the fallback);
4. sends it, logs a `Delivery`, writes one ledger event (ids and codes only), and
   - sent: done;
   - transient failure (SMTP timeout or 4xx, gateway 5xx/timeout): retried with exponential
     back-off (NOTICE_RETRY_BASE_SECONDS x 2^(n-1), at most NOTICE_MAX_ATTEMPTS attempts);
   - permanent failure, or retries exhausted: failed, and the officer and representative are
     alerted (see alerts.py).

A reminder in `sending` for longer than NOTICE_CLAIM_TIMEOUT_SECONDS (a worker died) is
put back to be retried: delivery is at least once, never silently lost.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse

from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.core.versioning import update_versioned
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import SYSTEM, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose

from . import channels as channel_mod
from . import templating
from .alerts import email_copies, raise_alert, site_url
from .models import (
    WAITING_STATUSES,
    Alert,
    AlertKind,
    Delivery,
    DeliveryStatus,
    Medium,
    NoticeTemplate,
    ObligationType,
    OptOut,
    Reminder,
    ReminderStatus,
    TemplateKind,
)
from .planner import case_time_zone, sync_obligation
from .templating import find_template

log = logging.getLogger(__name__)

CLAIM_BATCH = 20
OPT_OUT_SALT = "caseledger.notices.opt-out"
OFFICER_FALLBACK = {"en": "the duty officer", "es": "el oficial de turno"}


def max_attempts() -> int:
    return int(getattr(settings, "NOTICE_MAX_ATTEMPTS", 5))


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the `attempts`-th failed attempt: base x 2^(attempts-1), capped."""
    base = float(getattr(settings, "NOTICE_RETRY_BASE_SECONDS", 60))
    cap = float(getattr(settings, "NOTICE_RETRY_MAX_SECONDS", 6 * 3600))
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def claim_timeout() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "NOTICE_CLAIM_TIMEOUT_SECONDS", 900)))


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    cancelled: int = 0
    superseded: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)

    def count(self, reminder_id: Any, status: str) -> None:
        self.outcomes[str(reminder_id)] = status
        if hasattr(self, status):
            setattr(self, status, getattr(self, status) + 1)

    def as_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "suppressed": self.suppressed,
            "cancelled": self.cancelled,
            "superseded": self.superseded,
        }


# --- the queue -------------------------------------------------------------------------------
def _reclaim_stale(now: datetime) -> int:
    return Reminder.objects.filter(
        status=ReminderStatus.SENDING, claimed_at__lt=now - claim_timeout()
    ).update(status=ReminderStatus.RETRYING, next_attempt_at=now, last_error="interrupted",
             updated_at=now)


def _claim(now: datetime, limit: int, only: Iterable[Any] | None = None) -> list[Any]:
    with transaction.atomic():
        qs = Reminder.objects.filter(
            status__in=WAITING_STATUSES, next_attempt_at__lte=now
        ).order_by("next_attempt_at")
        if only is not None:
            qs = qs.filter(pk__in=list(only))
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        ids = list(qs.values_list("pk", flat=True)[:limit])
        if ids:
            Reminder.objects.filter(pk__in=ids).update(
                status=ReminderStatus.SENDING, claimed_at=now, updated_at=now
            )
    return ids


def send_due(*, now: datetime | None = None, limit: int = 200) -> SendReport:
    """Send every reminder that is due (at most `limit`), each to its own person."""
    now = now or clock.now()
    _reclaim_stale(now)
    report = SendReport()
    done = 0
    while done < limit:
        # Claim a few at a time, so that a slow server never leaves a long tail of claimed
        # reminders that another worker could take for abandoned.
        ids = _claim(now, min(CLAIM_BATCH, limit - done))
        if not ids:
            break
        for reminder_id in ids:
            report.count(reminder_id, _process(reminder_id, now))
        done += len(ids)
    return report


def send_reminder(reminder_id: Any, *, now: datetime | None = None) -> str:
    """Send one reminder now if it is due; its resulting status (or its current one)."""
    now = now or clock.now()
    ids = _claim(now, 1, only=[reminder_id])
    if not ids:
        return Reminder.objects.filter(pk=reminder_id).values_list("status", flat=True).first()
    return _process(ids[0], now)


# --- one reminder -----------------------------------------------------------------------------
def _process(reminder_id: Any, now: datetime) -> str:
    reminder = Reminder.objects.select_related("person__office").get(pk=reminder_id)
    if reminder.status != ReminderStatus.SENDING or reminder.claimed_at != now:
        return "skipped"  # reclaimed by another worker meanwhile: theirs now
    try:
        return _send(reminder, now)
    except Exception:
        log.exception("sending reminder %s failed unexpectedly", reminder_id)
        return _finish(reminder, now, result=channel_mod.DeliveryResult(
            channel_mod.TRANSIENT, error="internal_error", detail="see server log"))


@dataclass
class _Obligation:
    current: bool
    obj: Any = None
    time_zone: str = "America/New_York"


def _obligation(reminder: Reminder) -> _Obligation:
    from caseledger.cases.models import Case, CaseStatus, Hearing, HearingStatus
    from caseledger.supervision.models import EnrolmentStatus, Schedule

    if reminder.obligation_type == ObligationType.HEARING:
        hearing = Hearing.objects.select_related("court").filter(pk=reminder.obligation_id).first()
        if hearing is None:
            return _Obligation(False)
        expected = {"cancelled": HearingStatus.CANCELLED, "postponed": HearingStatus.ADJOURNED}
        status_ok = hearing.status == expected.get(reminder.kind, HearingStatus.SCHEDULED)
        return _Obligation(status_ok and hearing.scheduled_at == reminder.obligation_at, hearing,
                           hearing.court.time_zone)
    if reminder.obligation_type == ObligationType.CHECKIN:
        schedule_id, _sep, index = reminder.obligation_id.partition(":")
        schedule = Schedule.objects.select_related("enrolment__person__office").filter(
            pk=schedule_id).first()
        if schedule is None or schedule.enrolment.status != EnrolmentStatus.ACTIVE:
            return _Obligation(False)
        window = schedule.window(int(index))
        return _Obligation(window[0] == reminder.obligation_at, (schedule, window),
                           schedule.enrolment.person.office.time_zone)
    case_id, _sep, rule = reminder.obligation_id.partition(":")
    case = Case.objects.filter(pk=case_id).first()
    if case is None or case.status in (CaseStatus.CLOSED, CaseStatus.DEPARTED):
        return _Obligation(False)
    return _Obligation(True, (case, rule), case_time_zone(case))


def template_kind(reminder: Reminder) -> str:
    if reminder.obligation_type == ObligationType.HEARING:
        return {
            "moved": TemplateKind.HEARING_MOVED,
            "cancelled": TemplateKind.HEARING_CANCELLED,
            "postponed": TemplateKind.HEARING_POSTPONED,
        }.get(reminder.kind, TemplateKind.HEARING)
    if reminder.obligation_type == ObligationType.CHECKIN:
        return TemplateKind.CHECKIN
    if reminder.obligation_id.endswith(":address-change"):
        return TemplateKind.ADDRESS_CHANGE
    return TemplateKind.DEADLINE


def recipient_hash(medium: str, address: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{medium}:{address}".encode(), hashlib.sha256).hexdigest()


def opt_out_token(reminder: Reminder, medium: str = Medium.EMAIL) -> str:
    return signing.dumps({"r": str(reminder.pk), "m": medium}, salt=OPT_OUT_SALT, compress=True)


def _officer_name(person_id: Any, language: str) -> str:
    from caseledger.accounts.models import CaseloadAssignment

    assignment = (
        CaseloadAssignment.objects.filter(person_id=person_id, ended_at__isnull=True)
        .select_related("officer")
        .first()
    )
    name = assignment.officer.get_full_name().strip() if assignment else ""
    return name or OFFICER_FALLBACK.get(templating.base_language(language), OFFICER_FALLBACK["en"])


def _values(reminder: Reminder, ob: _Obligation, language: str, medium: str, now: datetime
            ) -> dict[str, str]:
    from .models import OfficeContact

    person = reminder.person
    name = person.primary_name()
    office = person.office
    office_contact = OfficeContact.objects.filter(office=office).first()
    lang = templating.base_language(language)
    values = {
        "given_name": (name.given_names or name.full_name) if name else "",
        "office_name": office.name,
        "office_phone": office_contact.phone if office_contact else templating.OFFICE_PHONE_FALLBACK
        .get(lang, templating.OFFICE_PHONE_FALLBACK["en"]),
        "officer_name": _officer_name(person.pk, lang),
    }
    tz = ZoneInfo(ob.time_zone)
    at = reminder.obligation_at.astimezone(tz)
    days = templating.days_until(reminder.obligation_at, now, ob.time_zone)
    values.update(
        date=templating.format_date(at, lang),
        time=templating.format_time(at, lang),
        time_zone=at.tzname() or ob.time_zone,
        when=templating.when_phrase(days, lang),
    )
    previous = (reminder.previous_at or reminder.obligation_at).astimezone(tz)
    values.update(old_date=templating.format_date(previous, lang),
                  old_time=templating.format_time(previous, lang))
    if reminder.obligation_type == ObligationType.HEARING:
        values["court_name"] = ob.obj.court.name
    elif reminder.obligation_type == ObligationType.CHECKIN:
        _schedule, (_opens, closes, _until) = ob.obj
        closes = closes.astimezone(tz)
        values.update(closes_date=templating.format_date(closes, lang),
                      closes_time=templating.format_time(closes, lang))
    else:
        _case, rule = ob.obj
        values["deadline_label"] = templating.deadline_label(rule, lang)
    if medium == Medium.EMAIL:
        values["opt_out_url"] = site_url(
            reverse("notices:opt_out", kwargs={"token": opt_out_token(reminder)})
        )
    return values


def _send(reminder: Reminder, now: datetime) -> str:
    from caseledger.people.models import ContactKind

    if reminder.obligation_at <= now:
        return _finish(reminder, now, status=ReminderStatus.CANCELLED, error="too_late")
    ob = _obligation(reminder)
    if not ob.current:
        status = _finish(reminder, now, status=ReminderStatus.SUPERSEDED,
                         error="obligation_changed")
        sync_obligation(reminder.obligation_type, reminder.obligation_id, now=now)
        return status
    person = reminder.person
    enabled = channel_mod.enabled_channels()
    opted = set(
        OptOut.objects.filter(person=person, revoked_at__isnull=True).values_list(
            "channel", flat=True)
    )
    opted_out_any = False
    invalid: list[tuple[Any, str]] = []
    choice = None
    for contact in person.contacts.order_by("-preferred", "created_at"):
        medium = Medium.EMAIL if contact.kind == ContactKind.EMAIL else Medium.SMS
        if medium in opted:
            opted_out_any = True
            continue
        if "file" in enabled:
            transport = "file"
        elif medium in enabled and (
            medium != Medium.SMS or channel_mod.SmsGatewayChannel().available
        ):
            transport = medium
        else:
            continue
        try:
            address = channel_mod.check_address(medium, contact.value)
        except ValidationError:
            invalid.append((contact, medium))
            continue
        choice = (contact, medium, transport, address)
        break
    for contact, medium in invalid:
        _log_delivery(reminder, now, contact=contact, channel="", medium=medium,
                      address=contact.value, status=DeliveryStatus.PERMANENT,
                      error="invalid_address", detail=f"{medium} address not valid")
        email_copies(raise_alert(person.pk, AlertKind.INVALID_CONTACT, error="invalid_address",
                                 now=now))
    if choice is None:
        if opted_out_any:
            return _finish(reminder, now, status=ReminderStatus.SUPPRESSED, error="opted_out",
                           delivery_status=DeliveryStatus.SUPPRESSED)
        return _finish(reminder, now, status=ReminderStatus.FAILED,
                       error="invalid_address" if invalid else "no_contact",
                       alert=AlertKind.INVALID_CONTACT if invalid else AlertKind.NO_CONTACT,
                       alert_per_person=True)
    contact, medium, transport, address = choice
    languages = list(person.languages or [])
    template = find_template(template_kind(reminder), languages, medium)
    if template is None:
        return _finish(reminder, now, status=ReminderStatus.FAILED, error="no_template",
                       alert=AlertKind.NO_TEMPLATE)
    values = _values(reminder, ob, template.language, medium, now)
    message = channel_mod.Message(
        to=address,
        medium=medium,
        subject=templating.render(template.subject, values) if medium == Medium.EMAIL else "",
        body=templating.render(template.body, values),
        reference=str(reminder.pk),
        headers={
            "Auto-Submitted": "auto-generated",
            "Content-Language": template.language,
            "List-Unsubscribe": f"<{values['opt_out_url']}>",
        } if medium == Medium.EMAIL else {},
    )
    result = channel_mod.channel_for(transport).send(message)
    return _finish(reminder, now, result=result, contact=contact, channel=transport,
                   medium=medium, address=address, template=template)


def _log_delivery(reminder: Reminder, now: datetime, *, contact: Any = None, channel: str = "",
                  medium: str = "", address: str = "", status: str, error: str = "",
                  detail: str = "", provider_id: str = "", template: Any = None) -> Delivery:
    return Delivery.objects.create(
        reminder=reminder,
        attempt=reminder.attempts + 1,
        channel=channel,
        contact=contact,
        recipient_hash=recipient_hash(medium, address) if address else "",
        language=template.language if template else "",
        template=template,
        provider_id=provider_id,
        status=status,
        error=error,
        detail=detail[:120],
        at=now,
    )


def _settle(reminder: Reminder, now: datetime, **fields: Any) -> None:
    """Write an attempt's outcome to the reminder, if this worker still holds its claim (same
    version, claimed at `now`). A reminder reclaimed after a stall and taken by another worker,
    or re-planned meanwhile, is theirs now: its delivery log and ledger event are still written
    (the attempt happened), its status is left to them."""
    try:
        update_versioned(reminder, None, where=Q(claimed_at=now), what="reminder",
                         claimed_at=None, **fields)
    except Conflict:
        log.warning("reminder %s changed hands while it was being sent; its status is left "
                    "to the new holder", reminder.pk)


def _finish(
    reminder: Reminder,
    now: datetime,
    *,
    result: channel_mod.DeliveryResult | None = None,
    status: str | None = None,
    error: str = "",
    delivery_status: str | None = None,
    alert: str | None = None,
    alert_per_person: bool = False,
    contact: Any = None,
    channel: str = "",
    medium: str = "",
    address: str = "",
    template: NoticeTemplate | None = None,
) -> str:
    """Record the outcome of one attempt: reminder, delivery log, ledger event, alerts."""
    attempts = reminder.attempts
    next_attempt = reminder.next_attempt_at
    attempted = result is not None
    if attempted:
        attempts += 1
        error = result.error
        if result.status == channel_mod.SENT:
            status = ReminderStatus.SENT
        elif result.status == channel_mod.TRANSIENT and attempts < max_attempts():
            status = ReminderStatus.RETRYING
            next_attempt = now + retry_delay(attempts)
        else:
            status = ReminderStatus.FAILED
            alert = AlertKind.DELIVERY_FAILED
            if result.status == channel_mod.TRANSIENT:
                error = f"gave_up_{result.error}"[:40]
    assert status is not None
    alerts: list[Alert] = []
    with transaction.atomic():
        if attempted or delivery_status:
            _log_delivery(
                reminder, now, contact=contact, channel=channel, medium=medium, address=address,
                status=delivery_status or result.status,
                error=error if not attempted else result.error,
                detail=result.detail if attempted else "", template=template,
                provider_id=result.provider_id if attempted else "",
            )
        _settle(reminder, now, status=status, attempts=attempts, next_attempt_at=next_attempt,
                last_error=error[:40], channel=channel or reminder.channel,
                template=template or reminder.template,
                sent_at=now if status == ReminderStatus.SENT else reminder.sent_at)
        if attempted or status in (ReminderStatus.FAILED, ReminderStatus.SUPPRESSED):
            record_write(
                actor=SYSTEM,
                action=Action.NOTIFY,
                category=Category.NOTICE,
                purpose=Purpose.NOTICE,
                outcome=Outcome.ALLOWED if status == ReminderStatus.SENT else Outcome.FAILED,
                subject_id=reminder.person_id,
                record_type="notices.reminder",
                record_id=reminder.pk,
                detail={
                    "obligation": reminder.obligation_type,
                    "kind": reminder.kind,
                    "channel": channel,
                    "status": status,
                    "error": error[:40],
                    "attempt": attempts,
                    "template": str(template.pk) if template else None,
                    "version": template.version if template else None,
                },
            )
        if alert:
            alerts = raise_alert(
                reminder.person_id, alert, reminder=None if alert_per_person else reminder,
                error=error[:40], now=now,
            )
    if alerts:
        email_copies(alerts)
    return status
