"""Cases, the proceedings in them, their hearings and decisions, and the status history."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from caseledger.core.models import BaseModel


class Court(BaseModel):
    """An immigration court; hearing times are shown in its time zone."""

    code = models.CharField(max_length=8, unique=True, db_comment="EOIR-style court code")
    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64, db_comment="IANA time zone")

    class Meta:
        db_table = "cases_court"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CaseType(models.TextChoices):
    REMOVAL = "removal", "Removal proceedings (INA 240)"
    EXPEDITED_REMOVAL = "expedited_removal", "Expedited removal"
    REINSTATEMENT = "reinstatement", "Reinstatement of removal"
    WITHHOLDING_ONLY = "withholding_only", "Withholding-only proceedings"
    ASYLUM_AFFIRMATIVE = "asylum_affirmative", "Affirmative asylum"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open, in proceedings"
    DECIDED = "decided", "Decided"
    APPEALED = "appealed", "Appealed"
    FINAL_ORDER = "final_order", "Final order"
    RELIEF_GRANTED = "relief_granted", "Relief granted"
    DEPARTED = "departed", "Departed"
    CLOSED = "closed", "Closed"


#: A person's cases, the most recently opened first; of two opened on one day, the one entered
#: last (then by reference). So "the most recent open case" (whose court an address change is
#: due at, which a departure closes) is the same case wherever it is asked for.
MOST_RECENT_FIRST = ("-opened_on", "-created_at", "reference")


class Case(BaseModel):
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="cases")
    reference = models.CharField(
        max_length=32, unique=True, db_comment="Human-readable case number"
    )
    case_type = models.CharField(max_length=32, choices=CaseType.choices)
    status = models.CharField(max_length=32, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    opened_on = models.DateField()
    closed_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "cases_case"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=CaseStatus.values), name="cases_case_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class ProceedingKind(models.TextChoices):
    REMOVAL = "removal", "Removal"
    BOND = "bond", "Bond redetermination"
    APPEAL = "appeal", "Appeal (BIA)"
    MOTION = "motion", "Motion to reopen or reconsider"


class Proceeding(BaseModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="proceedings")
    kind = models.CharField(max_length=16, choices=ProceedingKind.choices)
    court = models.ForeignKey(Court, on_delete=models.PROTECT, related_name="proceedings")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        db_table = "cases_proceeding"
        ordering = ["started_on"]


class CalendarType(models.TextChoices):
    MASTER = "master", _("Master calendar")
    INDIVIDUAL = "individual", _("Individual (merits)")
    CUSTODY = "custody", _("Custody")


class HearingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    ADJOURNED = "adjourned", "Adjourned"
    CANCELLED = "cancelled", "Cancelled"


class Hearing(BaseModel):
    proceeding = models.ForeignKey(Proceeding, on_delete=models.CASCADE, related_name="hearings")
    calendar = models.CharField(max_length=16, choices=CalendarType.choices)
    court = models.ForeignKey(Court, on_delete=models.PROTECT, related_name="hearings")
    judge = models.CharField(max_length=120, blank=True)
    scheduled_at = models.DateTimeField(db_comment="UTC; shown in the court's time zone")
    status = models.CharField(
        max_length=16, choices=HearingStatus.choices, default=HearingStatus.SCHEDULED
    )

    class Meta:
        db_table = "cases_hearing"
        ordering = ["scheduled_at"]
        indexes = [models.Index(fields=["scheduled_at"], name="cases_hearing_scheduled")]

    def local_time(self):
        from zoneinfo import ZoneInfo

        return self.scheduled_at.astimezone(ZoneInfo(self.court.time_zone))


class DecisionKind(models.TextChoices):
    REMOVAL_ORDERED = "removal_ordered", "Removal ordered"
    RELIEF_GRANTED = "relief_granted", "Relief granted"
    VOLUNTARY_DEPARTURE = "voluntary_departure", "Voluntary departure granted"
    TERMINATED = "terminated", "Proceedings terminated"
    APPEAL_DISMISSED = "appeal_dismissed", "Appeal dismissed"
    REMANDED = "remanded", "Remanded"


class Decision(BaseModel):
    proceeding = models.ForeignKey(Proceeding, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=32, choices=DecisionKind.choices)
    decided_on = models.DateField()
    oral = models.BooleanField(default=True, db_comment="Oral decision (else written)")
    served_on = models.DateField(null=True, blank=True, db_comment="Service date of a written one")

    class Meta:
        db_table = "cases_decision"
        ordering = ["decided_on"]


class StatusChange(BaseModel):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=32, choices=CaseStatus.choices)
    to_status = models.CharField(max_length=32, choices=CaseStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL)
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "cases_status_change"
        ordering = ["changed_at"]


class OpenDeadline(models.Model):
    """A deadline of a case as the rules give it (`cases.deadlines.deadlines_for_case`), kept
    by the case services whenever a decision or a status change is recorded (inside that
    transaction), so that the dashboard finds the cases with a deadline in a window with an
    index instead of computing the deadlines of every case in reach. Derived data: the
    case's decisions and status history stay the source; `caseledger cases refresh-deadlines`
    recomputes every row (after a rules change, or data loaded outside the services)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadline_rows")
    rule = models.CharField(max_length=32, db_comment="Deadline rule code (cases.deadlines.RULES)")
    trigger = models.DateField(db_comment="The date the rule counts from (court time zone)")
    due = models.DateField(
        null=True, blank=True, db_comment="Due date; empty while the clock is stopped (appeal)"
    )
    time_zone = models.CharField(
        max_length=64, db_default="America/New_York",
        db_comment="The court's time zone, whose day `due` is and against whose today it is read",
    )

    class Meta:
        db_table = "cases_open_deadline"
        db_table_comment = "Derived: each case's deadlines, rewritten with each decision or change"
        indexes = [models.Index(fields=["due"], name="cases_open_deadline_due")]

    def __str__(self) -> str:
        return f"{self.rule} due {self.due}"
