"""Disclosure records: the routine-use registry, agencies, one-person requests, the
accounting of disclosures and the correction notices sent to earlier recipients."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from caseledger.core.models import BaseModel


class Rank(models.TextChoices):
    """Rank of the requesting official, lowest first (the order is the list's order)."""

    AGENT = "agent", "Agent or officer"
    SUPERVISOR = "supervisor", "Supervisor"
    SECTION_CHIEF = "section_chief", "Section chief"
    DIVISION_CHIEF = "division_chief", "Division chief"
    HEAD_OF_AGENCY = "head_of_agency", "Head of agency"


RANK_ORDER: dict[str, int] = {value: i for i, value in enumerate(Rank.values)}


class Authority(models.TextChoices):
    ROUTINE_USE = "routine_use", "Routine use (5 U.S.C. 552a(b)(3))"
    B7 = "b7", "Law-enforcement request (5 U.S.C. 552a(b)(7))"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved and released"
    DECLINED = "declined", "Declined"


class Agency(BaseModel):
    code = models.CharField(max_length=32, unique=True, db_comment="Short code, e.g. EOIR")
    name = models.CharField(max_length=200)
    mailing_address = models.TextField(db_comment="Postal address, recorded in the accounting")
    email = models.EmailField(
        blank=True, db_comment="Where correction notices go; empty: the file outbox"
    )
    law_enforcement = models.BooleanField(
        default=False, db_comment="May make (b)(7) requests (a law-enforcement agency)"
    )
    monthly_cap = models.PositiveIntegerField(
        db_comment="Most approved releases to this agency in one calendar month"
    )
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "disclosures_agency"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class RoutineUse(BaseModel):
    code = models.CharField(max_length=32, unique=True, db_comment="Registry code, e.g. ICE-A")
    name = models.CharField(max_length=200)
    citation = models.CharField(
        max_length=300, db_comment="Legal citation: 552a(b)(3) and the SORN routine-use letter"
    )
    description = models.TextField(blank=True)
    agencies = models.ManyToManyField(
        Agency, related_name="routine_uses", db_table="disclosures_routineuse_agency"
    )
    categories = models.JSONField(
        default=list, db_comment="Data category codes this routine use allows (categories.py)"
    )
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "disclosures_routineuse"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class DisclosureRequest(BaseModel):
    """A written request for ONE person's record, by one official of one agency."""

    person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        related_name="disclosure_requests",
        db_comment="The one subject of the request",
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="requests")
    official_name = models.CharField(max_length=200)
    official_title = models.CharField(max_length=200)
    official_rank = models.CharField(max_length=32, choices=Rank.choices)
    authority = models.CharField(max_length=16, choices=Authority.choices)
    routine_use = models.ForeignKey(
        RoutineUse, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    activity = models.TextField(db_comment="The law-enforcement or other activity stated")
    categories = models.JSONField(db_comment="Data category codes requested, explicit list")
    withhold_from_subject = models.BooleanField(
        default=False,
        db_comment="(b)(7) requester asked in writing that the subject not be told",
    )
    letter_encrypted = models.BinaryField(db_comment="Signed request letter (PDF), AES-GCM")
    letter_sha256 = models.CharField(max_length=64)
    letter_size = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    package_json_encrypted = models.BinaryField(null=True, blank=True)
    package_pdf_encrypted = models.BinaryField(null=True, blank=True)
    package_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "disclosures_request"
        ordering = ["-entered_at"]
        indexes = [
            models.Index(fields=["status", "entered_at"], name="disclosures_req_queue"),
            models.Index(fields=["agency", "status", "decided_at"], name="disclosures_req_cap"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("entered_by")),
                name="disclosures_request_two_people",
            ),
            models.CheckConstraint(
                condition=Q(authority="b7", routine_use__isnull=True)
                | Q(authority="routine_use", routine_use__isnull=False),
                name="disclosures_request_one_authority",
            ),
        ]

    @property
    def authority_code(self) -> str:
        return "b7" if self.authority == Authority.B7 else self.routine_use.code


class AccountingEntry(BaseModel):
    """The accounting of one disclosure (5 U.S.C. 552a(c)).

    Kept until `retain_until` (release + 5 years) AND the end of the life of the record:
    while the person's record exists (`person` not null) the entry is kept whatever the date.
    """

    person = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="disclosure_accounting",
    )
    subject_id = models.UUIDField(db_index=True, db_comment="The person, kept past the record")
    request = models.OneToOneField(
        DisclosureRequest, on_delete=models.PROTECT, related_name="accounting"
    )
    disclosed_on = models.DateField()
    categories = models.JSONField(db_comment="Nature of the disclosure: category codes")
    purpose = models.TextField(db_comment="Purpose of the disclosure (the stated activity)")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="accounting")
    recipient_name = models.CharField(max_length=300, db_comment="Agency and official, as sent")
    recipient_address = models.TextField()
    authority = models.CharField(max_length=32, db_comment="b7 or the routine-use code")
    withheld_from_subject = models.BooleanField(default=False)
    retain_until = models.DateField(db_comment="Disclosed + 5 years; never before the record ends")

    class Meta:
        db_table = "disclosures_accounting"
        ordering = ["-disclosed_on", "-created_at"]


class NoticeStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    RETRY = "retry", "Failed, will retry"
    FAILED = "failed", "Failed, gave up"


class CorrectionNotice(BaseModel):
    """A correction of the record told to one earlier recipient (one per accounting entry)."""

    entry = models.ForeignKey(AccountingEntry, on_delete=models.PROTECT, related_name="notices")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="notices")
    subject_id = models.UUIDField(db_index=True)
    categories = models.JSONField(db_comment="Corrected categories also in the release")
    reason = models.TextField(db_comment="What was corrected, for the recipient")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16, db_comment="email or outbox")
    status = models.CharField(
        max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "disclosures_correction"
        ordering = ["-created_at"]


class DeliveryLog(BaseModel):
    notice = models.ForeignKey(CorrectionNotice, on_delete=models.CASCADE, related_name="log")
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField()
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=16, db_comment="sent or failed")
    error = models.CharField(max_length=200, blank=True, db_comment="A short code, never text")

    class Meta:
        db_table = "disclosures_delivery_log"
        ordering = ["attempt"]
