"""Reminders of a person's own obligations, the approved texts they use, how each delivery
went, opt-outs, alerts to the officer, and secret calendar feeds.

Nothing here stores a message as sent: a reminder names its obligation and the approved
template (and version) it was rendered from, and a delivery names the contact it went to
and a keyed hash of the address, so the log stays meaningful after a contact is changed or
purged without becoming a copy of it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from caseledger.core.models import BaseModel


class TemplateKind(models.TextChoices):
    HEARING = "hearing", "Hearing (notice at scheduling and reminders)"
    HEARING_MOVED = "hearing_moved", "Hearing moved"
    HEARING_CANCELLED = "hearing_cancelled", "Hearing cancelled"
    HEARING_POSTPONED = "hearing_postponed", "Hearing postponed, new date not yet known"
    CHECKIN = "checkin", "Check-in window"
    DEADLINE = "deadline", "Deadline"
    ADDRESS_CHANGE = "address_change", "Change of address (EOIR-33)"
    DELIVERY_FAILURE = "delivery_failure", "Delivery failure (to the officer)"


class Medium(models.TextChoices):
    """How a person is reached: what a template is written for and what an opt-out covers."""

    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class TemplateStatus(models.TextChoices):
    DRAFT = "draft", "Draft, waiting for a privacy officer"
    APPROVED = "approved", "Approved, in use"
    RETIRED = "retired", "Retired (replaced by a newer version)"


class NoticeTemplate(BaseModel):
    """The only text a reminder can contain: written per kind, language and medium, with
    named placeholders; used once a privacy officer other than its author approved it."""

    kind = models.CharField(max_length=24, choices=TemplateKind.choices)
    language = models.CharField(max_length=8, db_comment="ISO 639-1 code")
    channel = models.CharField(max_length=8, choices=Medium.choices)
    subject = models.CharField(max_length=200, blank=True, db_comment="Email only")
    body = models.TextField(db_comment="Text with {named} placeholders")
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=TemplateStatus.choices, default=TemplateStatus.DRAFT
    )
    shipped = models.BooleanField(
        default=False, db_comment="Shipped with the release (data migration), not drafted here"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notices_template"
        ordering = ["kind", "language", "channel", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "channel", "version"],
                name="notices_template_one_version",
            ),
            models.UniqueConstraint(
                fields=["kind", "language", "channel"],
                condition=Q(status="approved"),
                name="notices_template_one_approved",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("created_by")),
                name="notices_template_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_at__isnull=False),
                name="notices_template_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.language}/{self.channel} v{self.version} ({self.status})"


class ObligationType(models.TextChoices):
    HEARING = "hearing", "Hearing"
    CHECKIN = "checkin", "Check-in window"
    DEADLINE = "deadline", "Deadline"


class ReminderStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    SENDING = "sending", "Being sent"
    RETRYING = "retrying", "Waiting to retry after a temporary failure"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (the officer was alerted)"
    CANCELLED = "cancelled", "Cancelled (the obligation was cancelled or has passed)"
    SUPERSEDED = "superseded", "Superseded (the obligation changed; replanned)"
    SUPPRESSED = "suppressed", "Not sent: the person opted out"


# Announcements tell the person what the obligation is (now); the others remind of it.
ANNOUNCEMENT_KINDS = ("scheduled", "moved", "cancelled", "postponed")
LIVE_STATUSES = (ReminderStatus.PLANNED, ReminderStatus.SENDING, ReminderStatus.RETRYING)
WAITING_STATUSES = (ReminderStatus.PLANNED, ReminderStatus.RETRYING)


class Reminder(BaseModel):
    """One message about one obligation of one person, due at `due_at`."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="reminders")
    obligation_type = models.CharField(max_length=16, choices=ObligationType.choices)
    obligation_id = models.CharField(
        max_length=80,
        db_comment="Hearing id; schedule id:window index; case id:deadline rule",
    )
    obligation_at = models.DateTimeField(
        db_comment="When the obligation is (hearing time, window opening, deadline day 17:00)"
    )
    previous_at = models.DateTimeField(
        null=True, blank=True, db_comment="For a move, cancellation or postponement: the old time"
    )
    kind = models.CharField(
        max_length=16, db_comment="scheduled, moved, cancelled, postponed, or Nd (days before)"
    )
    due_at = models.DateTimeField(db_comment="When it is to be sent")
    status = models.CharField(
        max_length=12, choices=ReminderStatus.choices, default=ReminderStatus.PLANNED
    )
    channel = models.CharField(
        max_length=8, blank=True, db_comment="email, sms or file, once tried"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_comment="due_at, then later after each retry")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=40, blank=True, db_comment="An error code, no text")
    template = models.ForeignKey(
        NoticeTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "notices_reminder"
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notices_reminder_queue"),
            models.Index(
                fields=["obligation_type", "obligation_id"], name="notices_reminder_oblig"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["obligation_type", "obligation_id", "obligation_at", "kind"],
                condition=Q(status__in=["planned", "sending", "retrying", "sent"])
                & ~Q(kind__in=list(ANNOUNCEMENT_KINDS)),
                name="notices_reminder_one_per_time",
            ),
        ]

    def __str__(self) -> str:
        due = f"{self.due_at:%Y-%m-%d %H:%M}"
        return f"{self.obligation_type} {self.kind} due {due} ({self.status})"


class DeliveryStatus(models.TextChoices):
    SENT = "sent", "Sent"
    TRANSIENT = "transient", "Temporary failure (will retry)"
    PERMANENT = "permanent", "Permanent failure"
    SUPPRESSED = "suppressed", "Not sent (opted out)"


class Delivery(BaseModel):
    """One attempt to deliver a reminder."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, blank=True)
    contact = models.ForeignKey(
        "people.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_hash = models.CharField(
        max_length=64, blank=True, db_comment="Keyed SHA-256 of the address, never the address"
    )
    language = models.CharField(max_length=8, blank=True)
    template = models.ForeignKey(
        NoticeTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider_id = models.CharField(max_length=200, blank=True, db_comment="Message-ID or SMS id")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    error = models.CharField(max_length=40, blank=True, db_comment="Error code")
    detail = models.CharField(max_length=120, blank=True, db_comment="e.g. 'smtp 451' (no text)")
    at = models.DateTimeField()

    class Meta:
        db_table = "notices_delivery"
        ordering = ["at"]


class OptOut(BaseModel):
    """The person asked not to get reminders over `channel` (email, sms)."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="opt_outs")
    channel = models.CharField(max_length=8, choices=Medium.choices)
    at = models.DateTimeField()
    source = models.CharField(max_length=32, db_comment="SMS STOP, SMS ALTO, email link, officer")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_source = models.CharField(max_length=32, blank=True)

    class Meta:
        db_table = "notices_opt_out"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "channel"],
                condition=Q(revoked_at__isnull=True),
                name="notices_one_open_opt_out",
            ),
        ]


class AlertKind(models.TextChoices):
    DELIVERY_FAILED = "delivery_failed", "A reminder could not be delivered"
    NO_CONTACT = "no_contact", "No way to send the person reminders"
    INVALID_CONTACT = "invalid_contact", "A contact of the person is not valid"
    NO_TEMPLATE = "no_template", "No approved text for a reminder"
    HEARING_DATE_UNKNOWN = "hearing_date_unknown", "Hearing postponed without a new date"
    ADDRESS_CHANGED = "address_changed", "The person's address of record changed"


class Alert(BaseModel):
    """An in-app alert to the officer (and the representative) about one reminder."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_alerts"
    )
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    reminder = models.ForeignKey(
        Reminder, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    error = models.CharField(max_length=40, blank=True)
    at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.CharField(
        max_length=16, blank=True, db_comment="Outcome of the e-mail copy: sent, failed, none"
    )

    class Meta:
        db_table = "notices_alert"
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notices_alert_inbox")]


class CalendarFeed(BaseModel):
    """A secret calendar URL of one user; only the token's SHA-256 is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notices_calendar_feed"
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="notices_one_open_feed"
            ),
        ]


class OfficeContact(BaseModel):
    """How a person reaches their office: what reminders print as "how to reach us"."""

    office = models.OneToOneField(
        "accounts.Office", on_delete=models.CASCADE, related_name="notice_contact"
    )
    phone = models.CharField(max_length=32, db_comment="E.164")
    email = models.EmailField(blank=True)

    class Meta:
        db_table = "notices_office_contact"
