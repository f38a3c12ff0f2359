"""Retention: a schedule per data class, legal holds, batched purges, deletion certificates.

Privacy officers only; every other role gets 403 naming the rule.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, Field

from caseledger.access.api_auth import access_context
from caseledger.core.api_common import ERRORS, UUID_TEXT, StrictIn, links, text_pattern

from . import selectors, services
from .classes import NOT_PURGED
from .models import DataClass, LegalHold

router = Router(tags=["retention"])


class ScheduleOut(BaseModel):
    data_class: str
    label: str
    period_days: int | None = Field(description="Days kept; null: not purged by the engine")
    counts_from: str
    date_field: str
    method: str
    citation: str
    version: int


class HoldOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    data_class: str = Field(description="Held data class; empty: every class")
    reason: str
    placed_by: str
    placed_at: datetime
    active: bool
    released_by: str | None
    released_at: datetime | None
    release_reason: str


REASON = text_pattern(services.MIN_REASON)
# The classes `services.place_hold` takes: a hold on a class not purged per person is refused.
HOLDABLE = [c for c in DataClass.values if c not in NOT_PURGED and c != DataClass.IMPORT_QUARANTINE]


class HoldIn(StrictIn):
    person: str = Field(
        description="The person's id (UUID); one person per hold", json_schema_extra=UUID_TEXT
    )
    reason: str = Field(
        description="Why the data must be kept (10 characters or more)", json_schema_extra=REASON
    )
    data_class: str = Field(
        "",
        description="One data class code; empty: every class",
        json_schema_extra={"enum": ["", *HOLDABLE]},
    )


class ReleaseIn(StrictIn):
    reason: str = Field(
        description="Why the hold ends (10 characters or more)", json_schema_extra=REASON
    )


class CertificateOut(BaseModel):
    id: uuid.UUID
    run: uuid.UUID
    data_class: str
    schedule: str
    schedule_version: int
    method: str
    count: int
    persons: int
    record_type: str
    issued_at: datetime
    ledger_event: uuid.UUID


class CertificatePage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[CertificateOut]


def _hold_out(hold: LegalHold) -> HoldOut:
    return HoldOut(
        id=hold.pk,
        person=hold.person_id,
        data_class=hold.data_class,
        reason=hold.reason,
        placed_by=hold.placed_by.username,
        placed_at=hold.placed_at,
        active=hold.active,
        released_by=hold.released_by.username if hold.released_by else None,
        released_at=hold.released_at,
        release_reason=hold.release_reason,
    )


@router.get("/schedules", response={200: list[ScheduleOut], **ERRORS})
def schedules(request: HttpRequest) -> list[ScheduleOut]:
    """The retention schedule of every data class."""
    rows = selectors.schedules(access_context(request))
    return [
        ScheduleOut(
            data_class=s.data_class,
            label=s.get_data_class_display(),
            period_days=s.period_days,
            counts_from=s.counts_from,
            date_field=s.date_field,
            method=s.method,
            citation=s.citation,
            version=s.version,
        )
        for s in rows
    ]


def _hold_links(status: int, where: str) -> dict:
    """OpenAPI link from an answer holding a hold's id to its release."""
    return links(status, {"caseledger_retention_api_release_hold": {
        "hold_id": f"$response.body#{where}"}})  # fmt: skip


@router.get(
    "/holds", response={200: list[HoldOut], **ERRORS}, openapi_extra=_hold_links(200, "/0/id")
)
def holds(request: HttpRequest, active_only: bool = False) -> list[HoldOut]:
    """Legal holds, those in force first."""
    rows = selectors.holds(access_context(request), include_released=not active_only)
    return [_hold_out(h) for h in rows]


@router.post("/holds", response={201: HoldOut, **ERRORS}, openapi_extra=_hold_links(201, "/id"))
def place_hold(request: HttpRequest, payload: HoldIn) -> Status:
    """Place a legal hold on one person's data (one data class, or every class)."""
    hold = services.place_hold(
        ctx=access_context(request),
        person_id=payload.person,
        reason=payload.reason,
        data_class=payload.data_class,
    )
    return Status(201, _hold_out(hold))


@router.post("/holds/{hold_id}/release", response={200: HoldOut, **ERRORS})
def release_hold(request: HttpRequest, hold_id: str, payload: ReleaseIn) -> HoldOut:
    """Release a hold in force, with the reason; its data falls due again."""
    hold = services.release_hold(
        ctx=access_context(request), hold_id=hold_id, reason=payload.reason
    )
    return _hold_out(hold)


@router.get("/certificates", response={200: CertificatePage, **ERRORS})
def certificates(
    request: HttpRequest, page: int = 1, per_page: int = 50, data_class: str = ""
) -> CertificatePage:
    """Deletion certificates, newest first (ids and counts; the record ids are in the
    certificate's ledger event)."""
    qs = selectors.certificates(access_context(request), data_class=data_class[:32])
    per_page = min(max(per_page, 1), 200)
    paginator = Paginator(qs, per_page)
    page_obj = paginator.get_page(page)
    return CertificatePage(
        total=paginator.count,
        page=page_obj.number,
        per_page=per_page,
        items=[
            CertificateOut(
                id=c.pk,
                run=c.run_id,
                data_class=c.data_class,
                schedule=c.data_class,
                schedule_version=c.schedule_version,
                method=c.method,
                count=c.count,
                persons=c.persons,
                record_type=c.record_type,
                issued_at=c.issued_at,
                ledger_event=c.ledger_event,
            )
            for c in page_obj.object_list
        ],
    )
