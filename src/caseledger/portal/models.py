"""Amendment requests (5 U.S.C. 552a(d)(2)) and statements of disagreement.

A participant, or their representative of record, asks to amend one named part of the
person's record. The clock runs in working days (weekends and U.S. federal holidays
skipped): an acknowledgement is due 10 working days after the request, a decision 30. A
privacy officer grants or refuses with reasons; a grant tells the responsible officer to make
the correction and notifies earlier recipients of the record; a refusal lets the person file a
statement of disagreement, which is attached to the record from then on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from caseledger.core.models import BaseModel


class AmendmentCategory(models.TextChoices):
    IDENTITY = "identity", _("Names, date of birth or A-number")
    LANGUAGE = "language", _("Languages")
    ADDRESS = "address", _("Addresses")
    CONTACT = "contact", _("Phone numbers and email")
    CASE = "case", _("Cases and proceedings")
    HEARING = "hearing", _("Hearings and dates to keep")
    DECISION = "decision", _("Decisions")
    SUPERVISION = "supervision", _("Check-ins and reviews")


#: Data categories of the accounting of disclosures (`disclosures.categories`) that each part
#: of the record touches: a granted correction, or a statement of disagreement, of a part goes
#: to the earlier recipients of these, and a release of these carries the statement.
DISCLOSURE_CATEGORIES: dict[str, list[str]] = {
    AmendmentCategory.IDENTITY: ["identity"],
    AmendmentCategory.LANGUAGE: ["identity"],
    AmendmentCategory.ADDRESS: ["addresses"],
    AmendmentCategory.CONTACT: ["contacts"],
    AmendmentCategory.CASE: ["cases"],
    AmendmentCategory.HEARING: ["hearings"],
    AmendmentCategory.DECISION: ["decisions"],
    AmendmentCategory.SUPERVISION: ["check_ins", "review_dispositions"],
}


class AmendmentStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")


class AmendmentRequest(BaseModel):
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.PROTECT,
        related_name="amendment_requests",
        db_comment="Whose record the request is about",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        db_comment="The participant or their representative of record",
    )
    requester_role = models.CharField(
        max_length=32, db_comment="participant or representative, when the request was made"
    )
    category = models.CharField(
        max_length=16, choices=AmendmentCategory.choices, db_comment="Part of the record named"
    )
    what_is_wrong = models.TextField(db_comment="What the requester says is wrong")
    correction = models.TextField(db_comment="The correction asked for")
    submitted_at = models.DateTimeField(db_comment="When the request was received (UTC)")
    acknowledge_due = models.DateField(db_comment="10 working days after receipt")
    decision_due = models.DateField(db_comment="30 working days after receipt")
    status = models.CharField(
        max_length=16, choices=AmendmentStatus.choices, default=AmendmentStatus.RECEIVED
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reasons = models.TextField(blank=True, db_comment="Reasons given with the decision")
    correction_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_comment="Officer told to make a granted correction",
    )
    corrected_at = models.DateTimeField(
        null=True, blank=True, db_comment="When the officer reported the correction made"
    )
    recipients_notified = models.PositiveIntegerField(
        null=True, blank=True, db_comment="Earlier recipients notified of a granted correction"
    )

    class Meta:
        db_table = "portal_amendment_request"
        indexes = [
            models.Index(fields=["status", "decision_due"], name="portal_amendment_due"),
            models.Index(fields=["person", "submitted_at"], name="portal_amendment_person"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AmendmentStatus.values), name="portal_amendment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(decided_at__isnull=True) | Q(status__in=["granted", "refused"]),
                name="portal_amendment_decided_has_outcome",
            ),
        ]


class DisagreementStatement(BaseModel):
    """The person's statement of disagreement with a refused amendment; attached to the
    record and shown wherever the disputed part is shown or disclosed."""

    request = models.OneToOneField(
        AmendmentRequest,
        on_delete=models.PROTECT,
        related_name="statement",
        db_comment="The refused request it disagrees with",
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="disagreement_statements"
    )
    text = models.TextField(db_comment="The statement, in the person's words")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField()

    class Meta:
        db_table = "portal_disagreement_statement"
