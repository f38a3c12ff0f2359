"""Reports built from the ledger: the weekly access-anomaly review, the transparency report."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from caseledger.access.api_auth import access_context
from caseledger.core.api_common import ERRORS, JsonInt, StrictIn, links, text_pattern

from . import field, selectors, services, transparency

# What `periods.parse_week` and `parse_period` take, years MIN_YEAR to MAX_YEAR (a test keeps
# the two in step); the parsers check and explain. ISO week 53 exists in some years only.
_YEAR = r"(?:20[0-9]{2}|2100)"
WEEK = {"pattern": rf"^(?:\s*{_YEAR}-W(?:0[1-9]|[1-4][0-9]|5[0-3])\s*)?$"}
PERIOD = {"pattern": rf"^\s*{_YEAR}(?:-Q[1-4]|-(?:0[1-9]|1[0-2]))?\s*$"}

router = Router(tags=["reports"])


class PeriodParams(BaseModel):
    period: str = Field(
        max_length=16, description="2026-Q4, 2026-11 or 2026", json_schema_extra=PERIOD
    )


@router.get("/transparency", response={200: dict[str, Any], **ERRORS})
def transparency_report(request: HttpRequest, params: Query[PeriodParams]) -> Any:
    """The transparency report of a period (`2026-Q4`, `2026-11` or `2026`), as JSON: every
    figure counted from ledger events; figures from 1 to 9 read "fewer than 10"."""
    data = selectors.transparency_report(access_context(request), params.period)
    # the same bytes as `caseledger report transparency --format json`
    return json.loads(transparency.to_json(data.report))


class FieldParams(PeriodParams):
    office: str = Field(
        "", max_length=32, description="An office code, e.g. east (empty: every office you "
        "may see; a supervisor: their own)", json_schema_extra={"pattern": r"^[A-Za-z0-9_-]*$"}
    )


@router.get("/field", response={200: dict[str, Any], **ERRORS})
def field_report(request: HttpRequest, params: Query[FieldParams]) -> Any:
    """Supervisors (their own office) and privacy officers: the verifier's record in the field
    for a period, per office: genuine attempts, observed false non-matches (tries not verified
    whose review was disposed "verified by review") and refused uploads by reason, by capture
    device class; counts only, figures from 1 to 9 read "fewer than 10". Reading it is a
    ledger event."""
    report = field.field_report(access_context(request), params.period, params.office)
    # the same bytes as `caseledger report field --format json`
    return json.loads(field.to_json(report))


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


class AnomalyParams(BaseModel):
    week: str = Field(
        "", max_length=16, description="One ISO week, e.g. 2026-W47", json_schema_extra=WEEK
    )
    limit: int = Field(10, description="How many of the latest reports (1 to 52)")


def _item_link(where: str, *statuses: int) -> dict:
    """OpenAPI link from an answer (of each status) holding an item's id to closing it."""
    item = {"caseledger_reports_api_close_item": {"item_id": f"$response.body#{where}"}}
    return {"responses": {s: links(s, item)["responses"][s] for s in statuses}}


@router.get(
    "/anomalies",
    response={200: list[ReportOut], **ERRORS},
    openapi_extra=_item_link("/0/items/0/id", 200),
)
def anomaly_reports(request: HttpRequest, params: Query[AnomalyParams]) -> list[ReportOut]:
    """Privacy officers: the latest weekly anomaly reports with their items (or one `week`)."""
    ctx = access_context(request)
    week, limit = params.week, params.limit
    if week:
        reports = [selectors.get_report(ctx, week)]
    else:
        reports = list(selectors.anomaly_reports(ctx)[: max(1, min(limit, 52))])
    return [_report(ctx, r) for r in reports]


class BuildIn(StrictIn):
    week: str = Field(
        min_length=1, max_length=16, description="ISO week, e.g. 2026-W47", json_schema_extra=WEEK
    )


@router.post(
    "/anomalies",
    response={200: ReportOut, 201: ReportOut, **ERRORS},
    openapi_extra=_item_link("/items/0/id", 200, 201),
)
def build_anomaly_report(request: HttpRequest, payload: BuildIn) -> Status[ReportOut]:
    """Privacy officers: build the anomaly report of a week that has ended (201), or get the
    report already built (200). A week that has not ended is refused (422 `week_not_over`):
    a week is built once, after it ends."""
    ctx = access_context(request)
    result = services.build_anomaly_report(payload.week, ctx=ctx)
    return Status(201 if result.created else 200, _report(ctx, result.report))


class FindingIn(StrictIn):
    finding: str = Field(
        min_length=1,
        max_length=services.FINDING_MAX,
        json_schema_extra=text_pattern(services.FINDING_MIN),
    )
    outcome: Literal["justified", "referred", "training"]
    row_version: JsonInt | None = None


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
