"""Reads of the reports app. Anomaly reports and their ledger events are for privacy
officers only; each look at an item or an event is itself recorded in the ledger. The
transparency report holds only suppressed aggregate counts, for every staff role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, record_access
from caseledger.access.policies import Ability
from caseledger.core.errors import NotFound
from caseledger.core.ids import as_uuid
from caseledger.ledger.models import Event
from caseledger.ledger.vocabulary import Action, Category

from . import anomalies, transparency
from .models import AnomalyItem, AnomalyReport, HouseholdMember
from .periods import parse_period, parse_week


def require_privacy_officer(
    ctx: AccessContext,
    *,
    action: str = Action.READ,
    record_type: str = "",
    record_id: Any = "",
    subject_id: Any = None,
) -> None:
    """Access anomalies are the privacy officer's to review: anyone else gets one denied
    event (naming the person of the item asked for, if any) and a 403."""
    policies.require(ctx, Ability.PRIVACY_WORK, action=action, category=Category.ANOMALY,
                     record_type=record_type, record_id=record_id, subject_id=subject_id,
                     message="Only privacy officers review access anomalies.")


def item_subject(item_id: Any) -> Any:
    """The person an anomaly item is about (None when there is no such item), to name in the
    event of a refusal before the item is read."""
    key = as_uuid(item_id)
    if key is None:
        return None
    return AnomalyItem.objects.filter(pk=key).values_list("subject_id", flat=True).first()


def _reports() -> QuerySet[AnomalyReport]:
    return AnomalyReport.objects.annotate(
        item_count=Count("items"),
        open_count=Count("items", filter=Q(items__closed_at__isnull=True)),
    ).order_by("-week")


def anomaly_reports(ctx: AccessContext) -> QuerySet[AnomalyReport]:
    """The weekly reports, newest first (counts only; their items are read with
    `report_items`). Looking at the list is one ledger event."""
    require_privacy_officer(ctx, action=Action.LIST, record_type="reports.anomalyreport")
    record_access(ctx, action=Action.LIST, category=Category.ANOMALY,
                  record_type="reports.anomalyreport", detail={"view": "anomaly_reports"})
    return _reports()


def get_report(ctx: AccessContext, week: str) -> AnomalyReport:
    require_privacy_officer(ctx, record_type="reports.anomalyreport", record_id=week)
    label = parse_week(week).label
    report = _reports().filter(week=label).first()
    if report is None:
        deny(ctx, action=Action.READ, category=Category.ANOMALY,
             record_type="reports.anomalyreport", record_id=label)
        raise NotFound(f"No anomaly report has been built for {label}.")
    record_access(
        ctx,
        action=Action.READ,
        category=Category.ANOMALY,
        record_type="reports.anomalyreport",
        record_id=report.pk,
        detail={"week": label},
    )
    return report


def report_items(ctx: AccessContext, report: AnomalyReport, *, status: str = "") -> QuerySet:
    """A report's items; the list is one ledger event naming every person an item is about,
    so each of them sees it in "who accessed my record"."""
    require_privacy_officer(ctx, action=Action.LIST, record_type="reports.anomalyreport",
                            record_id=report.pk)
    qs = report.items.all()
    if status == "open":
        qs = qs.filter(closed_at__isnull=True)
    elif status == "closed":
        qs = qs.filter(closed_at__isnull=False)
    subjects = {s for s in qs.values_list("subject_id", flat=True) if s}
    record_access(ctx, action=Action.LIST, category=Category.ANOMALY,
                  record_type="reports.anomalyreport", record_id=report.pk,
                  detail={"week": report.week, "status": status or "all"},
                  subjects=subjects)
    return qs


def get_item(
    ctx: AccessContext, item_id: Any, *, record: bool = True, action: str = Action.READ
) -> AnomalyItem:
    require_privacy_officer(ctx, action=action, record_type="reports.anomalyitem",
                            record_id=item_id, subject_id=item_subject(item_id))
    key = as_uuid(item_id)
    item = (
        AnomalyItem.objects.select_related("report", "closed_by").filter(pk=key).first()
        if key
        else None
    )
    if item is None:
        deny(ctx, action=action, category=Category.ANOMALY, record_type="reports.anomalyitem",
             record_id=item_id)
        raise NotFound("No such anomaly item.")
    if record:
        record_access(
            ctx,
            action=Action.READ,
            category=Category.ANOMALY,
            subject_id=item.subject_id,
            record_type="reports.anomalyitem",
            record_id=item.pk,
            detail={"rule": item.rule},
        )
    return item


def item_events(ctx: AccessContext, item: AnomalyItem) -> QuerySet[Event]:
    require_privacy_officer(ctx)
    return anomalies.item_events(item)


def get_event(ctx: AccessContext, event_id: Any) -> Event:
    """One ledger event's fields (ids and codes, no personal data), for a privacy officer."""
    try:
        pk = int(str(event_id))
    except ValueError:
        pk = None
    if pk is not None and not 0 < pk < 2**63:
        pk = None
    require_privacy_officer(
        ctx, record_type="ledger.event", record_id=event_id,
        subject_id=Event.objects.filter(pk=pk).values_list("subject_id", flat=True).first()
        if pk is not None else None,
    )
    event = Event.objects.filter(pk=pk).first() if pk is not None else None
    if event is None:
        raise deny(ctx, action=Action.READ, category=Category.LEDGER, record_type="ledger.event",
                   record_id=event_id)
    record_access(
        ctx,
        action=Action.READ,
        category=Category.LEDGER,
        subject_id=event.subject_id,
        record_type="ledger.event",
        record_id=event.pk,
        detail={"view": "anomaly_review"},
    )
    return event


def require_staff(ctx: AccessContext) -> None:
    policies.require(ctx, Ability.STAFF_PAGES, action=Action.READ, category=Category.LEDGER,
                     record_id="transparency_report",
                     message="Only staff members read the transparency report.")


@dataclass(frozen=True)
class Transparency:
    report: dict[str, Any]
    tables: list[dict[str, Any]]
    headline: list[tuple[str, Any]]


def transparency_report(ctx: AccessContext | None, period: str) -> Transparency:
    """`ctx` None for the command (run by an operator on the server)."""
    if ctx is not None:
        require_staff(ctx)
    report = transparency.build(parse_period(period))
    return Transparency(report, transparency.tables(report), transparency.headline(report))


def my_household(user: Any) -> QuerySet[HouseholdMember]:
    return HouseholdMember.objects.filter(user=user).order_by("created_at")
