"""Writes of the reports app: build a week's anomaly report, close an item with a finding,
declare a household member. Each validates, changes rows and writes its ledger event in one
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny
from caseledger.access.policies import Ability
from caseledger.accounts.models import User
from caseledger.core import clock
from caseledger.core.errors import Conflict, NotFound, ValidationError
from caseledger.core.ids import as_uuid
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import SYSTEM, Actor, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose
from caseledger.people.names import search_key

from . import anomalies
from .models import AnomalyItem, AnomalyReport, FindingOutcome, HouseholdMember
from .periods import parse_week
from .selectors import get_item, item_subject, require_privacy_officer

FINDING_MIN, FINDING_MAX = 10, 4000
NAME_MAX = 400
RELATIONSHIPS = ("spouse", "partner", "child", "parent", "sibling", "other")


@dataclass(frozen=True)
class BuildResult:
    report: AnomalyReport
    created: bool


def build_anomaly_report(
    week: str, *, ctx: AccessContext | None = None, overrides: dict[str, Any] | None = None
) -> BuildResult:
    """Build the report of an ISO week once (a second build returns the existing report, so
    findings already written are never lost). `ctx` is the privacy officer who asked, or
    None for the scheduled task and the command (the system).

    Only a week that has ended can be built: a build is never redone, so a report of the
    current (or a future) week would leave the rest of that week's activity unreviewed."""
    if ctx is not None:
        require_privacy_officer(ctx, action=Action.CREATE, record_type="reports.anomalyreport")
    period = parse_week(week)
    if period.end > clock.now():
        raise ValidationError(
            f"The week {period.label} has not ended yet: it ends on "
            f"{period.end:%A %d %B %Y} at {period.end:%H:%M} UTC. A week's report is built "
            "once, after the week, so that all of its activity is reviewed; build it then.",
            field="week",
            code="week_not_over",
        )
    existing = AnomalyReport.objects.filter(week=period.label).first()
    if existing:
        return BuildResult(existing, False)
    values = anomalies.thresholds(overrides)
    flags = anomalies.evaluate(period.start, period.end, values)
    scanned = anomalies.week_events(period.start, period.end).count()
    actor: Actor = ctx.actor if ctx else SYSTEM
    try:
        with transaction.atomic():
            report = AnomalyReport.objects.create(
                week=period.label,
                starts_at=period.start,
                ends_at=period.end,
                built_at=clock.now(),
                events_scanned=scanned,
                thresholds=values,
            )
            AnomalyItem.objects.bulk_create(
                [
                    AnomalyItem(
                        report=report,
                        rule=f.rule,
                        actor_id=f.actor_id,
                        actor_role=f.actor_role or "",
                        office=f.office or "",
                        subject_id=f.subject_id,
                        window_start=f.window_start,
                        window_end=f.window_end,
                        event_count=f.event_count,
                        measure=f.measure,
                        threshold=f.threshold,
                        detail=f.detail,
                    )
                    for f in flags
                ]
            )
            by_rule: dict[str, int] = {}
            for f in flags:
                by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
            record_write(
                actor=actor,
                action=Action.CREATE,
                category=Category.ANOMALY,
                purpose=Purpose.PRIVACY_REVIEW,
                request_id=ctx.request_id if ctx else "",
                record_type="reports.anomalyreport",
                record_id=report.pk,
                detail={
                    "week": period.label,
                    "items": len(flags),
                    "by_rule": dict(sorted(by_rule.items())),
                    "events_scanned": scanned,
                },
            )
    except IntegrityError:  # built at the same moment by another worker
        return BuildResult(AnomalyReport.objects.get(week=period.label), False)
    return BuildResult(report, True)


def close_item(
    *,
    ctx: AccessContext,
    item_id: Any,
    finding: str,
    outcome: str,
    row_version: int | None = None,
) -> AnomalyItem:
    """Close an open item with the privacy officer's finding; one ledger event."""
    require_privacy_officer(ctx, action=Action.CLOSE, record_type="reports.anomalyitem",
                            record_id=item_id, subject_id=item_subject(item_id))
    item = get_item(ctx, item_id, record=False, action=Action.CLOSE)
    if outcome not in FindingOutcome.values:
        raise ValidationError(
            f"Choose the outcome: one of {', '.join(FindingOutcome.values)}.",
            field="outcome",
            code="bad_outcome",
        )
    text = (finding or "").strip()
    if len(text) < FINDING_MIN:
        raise ValidationError(
            f"Write the finding in at least {FINDING_MIN} characters.",
            field="finding",
            code="finding_too_short",
        )
    if len(text) > FINDING_MAX:
        raise ValidationError(
            f"The finding may be at most {FINDING_MAX} characters.",
            field="finding",
            code="finding_too_long",
        )
    if not item.is_open:
        raise Conflict("This item has already been closed.", code="already_closed")
    with transaction.atomic():
        update_versioned(
            item, row_version, where=Q(closed_at__isnull=True), what="anomaly item",
            conflict_code="stale",
            conflict_message="This item was closed while you were writing; reload it.",
            closed_at=clock.now(), closed_by=ctx.user, finding=text, outcome=outcome,
        )
        record_write(
            actor=ctx.actor,
            action=Action.CLOSE,
            category=Category.ANOMALY,
            purpose=ctx.purpose,
            request_id=ctx.request_id,
            subject_id=item.subject_id,
            record_type="reports.anomalyitem",
            record_id=item.pk,
            detail={
                "week": item.report.week,
                "rule": item.rule,
                "outcome": outcome,
                "actor": item.actor_id,
            },
        )
    return item


def declare_household_member(
    *, user: User, full_name: str, relationship: str = "", request_id: str = ""
) -> HouseholdMember:
    """A staff member declares a member of their own household (policy requires it)."""
    policies.require(_context(user, request_id), Ability.STAFF_PAGES, action=Action.CREATE,
                     category=Category.HOUSEHOLD, record_type="reports.householdmember",
                     message="Only staff members declare household members.")
    name = " ".join((full_name or "").split())
    if not name:
        raise ValidationError(
            "Write the household member's full name.", field="full_name", code="required"
        )
    if len(name) > NAME_MAX:
        raise ValidationError(
            f"The name may be at most {NAME_MAX} characters.", field="full_name", code="too_long"
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValidationError(
            "The name has control characters.", field="full_name", code="control_characters"
        )
    key = search_key(name)
    if not key:
        raise ValidationError(
            "The name has no letters or digits.", field="full_name", code="no_letters"
        )
    relationship = (relationship or "").strip()
    if relationship and relationship not in RELATIONSHIPS:
        raise ValidationError(
            f"Choose the relationship: one of {', '.join(RELATIONSHIPS)}.",
            field="relationship",
            code="bad_relationship",
        )
    if HouseholdMember.objects.filter(user=user, search_key=key).exists():
        raise Conflict("You have already declared this name.", code="duplicate", field="full_name")
    with transaction.atomic():
        member = HouseholdMember.objects.create(
            user=user, full_name=name, search_key=key, relationship=relationship
        )
        record_write(
            actor=Actor.of(user),
            action=Action.CREATE,
            category=Category.HOUSEHOLD,
            purpose=Purpose.DECLARATION,
            request_id=request_id,
            record_type="reports.householdmember",
            record_id=member.pk,
            detail={"relationship": relationship or None},
        )
    return member


def _context(user: User, request_id: str) -> AccessContext:
    return AccessContext(user=user, purpose=Purpose.DECLARATION, request_id=request_id)


def own_declaration(user: User, member_id: Any, *, request_id: str = "",
                    action: str = Action.READ) -> HouseholdMember:
    """One of the user's own household declarations; anything else is one denied event and
    NotFound (a declaration names no person of the system, so no subject)."""
    key = as_uuid(member_id)
    member = HouseholdMember.objects.filter(pk=key, user=user).first() if key else None
    if member is None:
        deny(_context(user, request_id), action=action, category=Category.HOUSEHOLD,
             record_type="reports.householdmember", record_id=member_id)
        raise NotFound("No such declaration of yours.")
    return member


def remove_household_member(*, user: User, member_id: Any, request_id: str = "") -> None:
    """A staff member withdraws one of their own declarations (e.g. a name declared twice)."""
    member = own_declaration(user, member_id, request_id=request_id, action=Action.DELETE)
    with transaction.atomic():
        record_write(
            actor=Actor.of(user),
            action=Action.DELETE,
            category=Category.HOUSEHOLD,
            purpose=Purpose.DECLARATION,
            request_id=request_id,
            record_type="reports.householdmember",
            record_id=member.pk,
        )
        member.delete()
