"""Sending due reminders: one reminder, one person, one approved text, one channel.

Reminders are one kind of item on the delivery engine (`engine.py`), which claims each due
reminder (one worker sends it; a claim left by a dead worker is taken back after
NOTICE_CLAIM_TIMEOUT_SECONDS), retries temporary failures on the one back-off schedule and
gives up after NOTICE_MAX_ATTEMPTS. What is the reminders' own is here. For each reminder:

1. checks that its obligation is still what the reminder says (else: superseded, re-planned);
2. picks the person's preferred contact whose channel is enabled and not opted out (an
   invalid address is logged, alerted and skipped; an opted-out person gets nothing);
3. renders the approved template of the person's language (English as the fallback);
4. sends it, logs a `Delivery`, writes one ledger event (ids and codes only), and
   - sent: done;
   - transient failure (SMTP timeout or 4xx, gateway 5xx/timeout): retried by the engine;
   - permanent failure, or retries exhausted: failed, and the officer and representative are
     alerted (see alerts.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.urls import reverse

from caseledger.core import clock
from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import SYSTEM, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose

from . import channels as channel_mod
from . import engine, templating
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

OPT_OUT_SALT = "caseledger.notices.opt-out"
OFFICER_FALLBACK = {"en": "the duty officer", "es": "el oficial de turno"}


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
def send_due(*, now: datetime | None = None, limit: int = 200) -> SendReport:
    """Send every reminder that is due (at most `limit`), each to its own person."""
    report = SendReport()
    for reminder_id, status in engine.deliver_due(REMINDERS, now=now, limit=limit).items():
        report.count(reminder_id, status)
    return report


def send_reminder(reminder_id: Any, *, now: datetime | None = None) -> str:
    """Send one reminder now if it is due; its resulting status (or its current one)."""
    now = now or clock.now()
    status = engine.deliver(REMINDERS, reminder_id, now=now)
    if status is None:
        return Reminder.objects.filter(pk=reminder_id).values_list("status", flat=True).first()
    return status


# --- one reminder -----------------------------------------------------------------------------
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


@dataclass(frozen=True)
class _Notes:
    """What an attempt at a reminder leaves for its log: where it went, or why it did not."""

    contact: Any = None
    channel: str = ""
    medium: str = ""
    address: str = ""
    template: NoticeTemplate | None = None
    delivery_status: str = ""  # a log row for an attempt that sent nothing (opted out)
    alert: str = ""
    alert_per_person: bool = False


def _ends(status: str, error: str, **notes: Any) -> engine.Attempt:
    """The reminder ends without anything being sent."""
    return engine.Attempt(final=status, error=error, notes=_Notes(**notes))


def _choose_contact(reminder: Reminder, now: datetime
                    ) -> tuple[tuple[Any, str, str, str] | None, bool, bool]:
    """The person's preferred usable contact (contact, medium, transport, address), whether a
    contact was skipped as opted out, and whether one was skipped as invalid (logged and
    alerted here)."""
    from caseledger.people.models import ContactKind

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
    return choice, opted_out_any, bool(invalid)


def _attempt(reminder: Reminder, now: datetime) -> engine.Attempt:
    """Send the reminder to its person, or say why it ends unsent."""
    if reminder.obligation_at <= now:
        return _ends(ReminderStatus.CANCELLED, "too_late")
    ob = _obligation(reminder)
    if not ob.current:
        return _ends(ReminderStatus.SUPERSEDED, "obligation_changed")
    choice, opted_out_any, invalid = _choose_contact(reminder, now)
    if choice is None:
        if opted_out_any:
            return _ends(ReminderStatus.SUPPRESSED, "opted_out",
                         delivery_status=DeliveryStatus.SUPPRESSED)
        return _ends(ReminderStatus.FAILED, "invalid_address" if invalid else "no_contact",
                     alert=AlertKind.INVALID_CONTACT if invalid else AlertKind.NO_CONTACT,
                     alert_per_person=True)
    contact, medium, transport, address = choice
    template = find_template(template_kind(reminder), list(reminder.person.languages or []),
                             medium)
    if template is None:
        return _ends(ReminderStatus.FAILED, "no_template", alert=AlertKind.NO_TEMPLATE)
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
    notes = _Notes(contact=contact, channel=transport, medium=medium, address=address,
                   template=template)
    return engine.Attempt(result=channel_mod.channel_for(transport).send(message), notes=notes)


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


def _record(reminder: Reminder, now: datetime, attempt: engine.Attempt,
            outcome: engine.Outcome) -> Callable[[], None] | None:
    """The attempt's delivery log, its ledger event and its alerts (inside the engine's
    settling transaction); afterwards, the alerts' email copies and any re-planning."""
    notes = attempt.notes if isinstance(attempt.notes, _Notes) else _Notes()
    result = attempt.result
    status = outcome.status
    if result is not None or notes.delivery_status:
        _log_delivery(
            reminder, now, contact=notes.contact, channel=notes.channel, medium=notes.medium,
            address=notes.address, status=notes.delivery_status or result.status,
            error=result.error if result is not None else outcome.error,
            detail=result.detail if result is not None else "", template=notes.template,
            provider_id=result.provider_id if result is not None else "",
        )
    if result is not None or status in (ReminderStatus.FAILED, ReminderStatus.SUPPRESSED):
        _record_event(reminder, notes, outcome)
    alert = notes.alert
    if result is not None and status == ReminderStatus.FAILED:
        alert = AlertKind.DELIVERY_FAILED
    alerts: list[Alert] = []
    if alert:
        alerts = raise_alert(
            reminder.person_id, alert, reminder=None if notes.alert_per_person else reminder,
            error=outcome.error[:40], now=now,
        )
    replan = status == ReminderStatus.SUPERSEDED

    def after() -> None:
        if alerts:
            email_copies(alerts)
        if replan:
            sync_obligation(reminder.obligation_type, reminder.obligation_id, now=now)

    return after if alerts or replan else None


def _record_event(reminder: Reminder, notes: _Notes, outcome: engine.Outcome) -> None:
    template = notes.template
    record_write(
        actor=SYSTEM,
        action=Action.NOTIFY,
        category=Category.NOTICE,
        purpose=Purpose.NOTICE,
        outcome=Outcome.ALLOWED if outcome.status == ReminderStatus.SENT else Outcome.FAILED,
        subject_id=reminder.person_id,
        record_type="notices.reminder",
        record_id=reminder.pk,
        detail={
            "obligation": reminder.obligation_type,
            "kind": reminder.kind,
            "channel": notes.channel,
            "status": outcome.status,
            "error": outcome.error[:40],
            "attempt": outcome.attempts,
            "template": str(template.pk) if template else None,
            "version": template.version if template else None,
        },
    )


class Reminders(engine.Kind):
    """Reminders on the delivery engine. A claimed reminder is `sending` with `claimed_at`
    (pages and the planner see it as being sent); one left `sending` past the claim timeout
    is due again."""

    what = "reminder"
    model = Reminder
    statuses = engine.Statuses(waiting=WAITING_STATUSES, sent=ReminderStatus.SENT,
                               retry=ReminderStatus.RETRYING, failed=ReminderStatus.FAILED)

    def due(self, now: datetime) -> Q:
        waiting = Q(status__in=WAITING_STATUSES, next_attempt_at__lte=now)
        abandoned = Q(status=ReminderStatus.SENDING,
                      claimed_at__lt=now - engine.claim_timeout())
        return waiting | abandoned

    def claim_fields(self, now: datetime) -> dict[str, Any]:
        return {"status": ReminderStatus.SENDING, "claimed_at": now}

    def held(self, now: datetime) -> Q:
        return Q(claimed_at=now)

    def release_fields(self, item: Any, attempt: engine.Attempt, outcome: engine.Outcome
                       ) -> dict[str, Any]:
        notes = attempt.notes if isinstance(attempt.notes, _Notes) else _Notes()
        return {"claimed_at": None, "channel": notes.channel or item.channel,
                "template": notes.template or item.template}

    def load(self, pk: Any) -> Reminder:
        return Reminder.objects.select_related("person__office").get(pk=pk)

    def attempt(self, item: Any, now: datetime) -> engine.Attempt:
        return _attempt(item, now)

    def record(self, item: Any, now: datetime, attempt: engine.Attempt,
               outcome: engine.Outcome) -> Callable[[], None] | None:
        return _record(item, now, attempt, outcome)


REMINDERS = Reminders()
