"""Reports built from the ledger.

`HouseholdMember`: names a staff member declares for their own household (policy requires
it), matched against the persons they read. `AnomalyReport` is one ISO week's access review;
its `AnomalyItem`s are what the rules flagged, each closed by a privacy officer with a
finding. An item does not copy the events it is about: it keeps the rule, the actor, the
subject and the time window, and its events are found again in the ledger from those.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from caseledger.core.models import BaseModel


class HouseholdMember(BaseModel):
    """A household member's name, declared by the staff member it belongs to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="household_members",
        db_comment="The staff member who declared the name",
    )
    full_name = models.CharField(max_length=400, db_comment="The name as declared, any script")
    search_key = models.CharField(
        max_length=400,
        db_index=True,
        db_comment="ASCII search key of the name (people.names.search_key), matched "
        "against people_name.search_key",
    )
    relationship = models.CharField(
        max_length=40, blank=True, db_comment="spouse, child, parent, sibling, other"
    )

    class Meta:
        db_table = "reports_household_member"
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "search_key"], name="reports_household_one_per_name"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name


class Rule(models.TextChoices):
    BULK_VIEWING = "bulk_viewing", "Many distinct persons viewed"
    OUTSIDE_POLICY = "outside_policy", "Access outside the ordinary policy"
    AFTER_HOURS = "after_hours", "After-hours burst"
    BREAK_GLASS = "break_glass", "Break-glass access"
    HOUSEHOLD = "household", "Read of a declared household member's name"


class FindingOutcome(models.TextChoices):
    JUSTIFIED = "justified", "Justified"
    REFERRED = "referred", "Referred"
    TRAINING = "training", "Training"


class AnomalyReport(BaseModel):
    week = models.CharField(max_length=8, unique=True, db_comment="ISO week, e.g. 2026-W47")
    starts_at = models.DateTimeField(db_comment="Monday 00:00 UTC of the week (inclusive)")
    ends_at = models.DateTimeField(db_comment="The next Monday 00:00 UTC (exclusive)")
    built_at = models.DateTimeField(db_comment="When the report was built")
    events_scanned = models.BigIntegerField(default=0, db_comment="Ledger events in the week")
    thresholds = models.JSONField(default=dict, db_comment="The thresholds used for this build")

    class Meta:
        db_table = "reports_anomaly_report"
        ordering = ["-week"]

    def __str__(self) -> str:
        return self.week


class AnomalyItem(BaseModel):
    report = models.ForeignKey(AnomalyReport, on_delete=models.CASCADE, related_name="items")
    rule = models.CharField(max_length=32, choices=Rule.choices, db_comment="Which rule flagged")
    actor_id = models.CharField(max_length=64, db_comment="User id of the actor (ledger actor)")
    actor_role = models.CharField(max_length=32, blank=True, db_comment="Role of the actor")
    office = models.CharField(max_length=32, blank=True, db_comment="Office code of the actor")
    subject_id = models.UUIDField(
        null=True, blank=True, db_comment="The person concerned, for per-person rules"
    )
    window_start = models.DateTimeField(db_comment="Start of the events' time window (UTC)")
    window_end = models.DateTimeField(db_comment="End of the events' time window (exclusive)")
    event_count = models.PositiveIntegerField(default=0, db_comment="Events behind the item")
    measure = models.PositiveIntegerField(
        default=0, db_comment="What the rule measured (distinct persons, reads, ...)"
    )
    threshold = models.PositiveIntegerField(default=0, db_comment="What it was compared with")
    detail = models.JSONField(default=dict, blank=True, db_comment="Ids, codes, counts only")
    closed_at = models.DateTimeField(null=True, blank=True, db_comment="Open while null")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_comment="Privacy officer who closed the item",
    )
    finding = models.TextField(blank=True, db_comment="The privacy officer's finding")
    outcome = models.CharField(
        max_length=16,
        blank=True,
        choices=FindingOutcome.choices,
        db_comment="justified, referred or training; empty while open",
    )

    class Meta:
        db_table = "reports_anomaly_item"
        ordering = ["rule", "-measure", "actor_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, outcome="")
                | Q(closed_at__isnull=False, outcome__in=["justified", "referred", "training"]),
                name="reports_item_closed_has_outcome",
            ),
        ]
        indexes = [models.Index(fields=["report", "closed_at"], name="reports_item_open")]

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def __str__(self) -> str:
        return f"{self.rule} {self.actor_id}"
