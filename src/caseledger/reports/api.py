"""Reports built from the ledger: the weekly access-anomaly review, the transparency report."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, Field

from caseledger.core.api import ERRORS, StrictIn, access_context

from . import selectors, services, transparency

router = Router(tags=["reports"])


@router.get("/transparency", response={200: dict[str, Any], **ERRORS})
def transparency_report(request: HttpRequest, period: str) -> Any:
    """The transparency report of a period (`2026-Q4`, `2026-11` or `2026`), as JSON: every
    figure counted from ledger events; figures from 1 to 9 read "fewer than 10"."""
    data = selectors.transparency_report(access_context(request), period)
    # the same bytes as `caseledger report transparency --format json`
    return json.loads(transparency.to_json(data.report))


class ItemOut(BaseModel):
    id: uuid.UUID
    rule: str
    actor_id: str
    actor_role: str
    office: str
    subject_id: uuid.UUID | None
    window_start: datetime
    window_end: datetime
    event_count: int
    measure: int
    threshold: int
    detail: dict[str, Any]
    status: Literal["open", "closed"]
    outcome: str
    finding: str
    closed_at: datetime | None
    row_version: int


class ReportOut(BaseModel):
    id: uuid.UUID
    week: str
    starts_at: datetime
    ends_at: datetime
    built_at: datetime
    events_scanned: int
    thresholds: dict[str, Any]
    items: list[ItemOut] = Field(default_factory=list)


def _report(ctx: Any, r: Any) -> ReportOut:
    return ReportOut(
        id=r.pk,
        week=r.week,
        starts_at=r.starts_at,
        ends_at=r.ends_at,
        built_at=r.built_at,
        events_scanned=r.events_scanned,
        thresholds=r.thresholds,
        items=[_item(i) for i in selectors.report_items(ctx, r)],
    )


def _item(i: Any) -> ItemOut:
    return ItemOut(
        id=i.pk,
        rule=i.rule,
        actor_id=i.actor_id,
        actor_role=i.actor_role,
        office=i.office,
        subject_id=i.subject_id,
        window_start=i.window_start,
        window_end=i.window_end,
        event_count=i.event_count,
        measure=i.measure,
        threshold=i.threshold,
        detail=i.detail,
        status="open" if i.is_open else "closed",
        outcome=i.outcome,
        finding=i.finding,
        closed_at=i.closed_at,
        row_version=i.row_version,
    )


@router.get("/anomalies", response={200: list[ReportOut], **ERRORS})
def anomaly_reports(request: HttpRequest, week: str = "", limit: int = 10) -> list[ReportOut]:
    """Privacy officers: the latest weekly anomaly reports with their items (or one `week`)."""
    ctx = access_context(request)
    if week:
        reports = [selectors.get_report(ctx, week)]
    else:
        reports = list(selectors.anomaly_reports(ctx)[: max(1, min(limit, 52))])
    return [_report(ctx, r) for r in reports]


class BuildIn(StrictIn):
    week: str = Field(min_length=1, max_length=16, description="ISO week, e.g. 2026-W47")


@router.post("/anomalies", response={200: ReportOut, 201: ReportOut, **ERRORS})
def build_anomaly_report(request: HttpRequest, payload: BuildIn) -> Status[ReportOut]:
    """Privacy officers: build the anomaly report of a week that has ended (201), or get the
    report already built (200). A week that has not ended is refused (422 `week_not_over`):
    a week is built once, after it ends."""
    ctx = access_context(request)
    result = services.build_anomaly_report(payload.week, ctx=ctx)
    return Status(201 if result.created else 200, _report(ctx, result.report))


class FindingIn(StrictIn):
    finding: str = Field(min_length=1, max_length=services.FINDING_MAX)
    outcome: Literal["justified", "referred", "training"]
    row_version: int | None = None


@router.post("/anomalies/items/{item_id}/finding", response={200: ItemOut, **ERRORS})
def close_item(request: HttpRequest, item_id: str, payload: FindingIn) -> ItemOut:
    """Close an open item with the privacy officer's finding (a ledger event)."""
    item = services.close_item(
        ctx=access_context(request),
        item_id=item_id,
        finding=payload.finding,
        outcome=payload.outcome,
        row_version=payload.row_version,
    )
    return _item(item)
