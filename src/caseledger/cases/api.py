from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel

from caseledger.access.api_auth import access_context
from caseledger.core.api_common import ERRORS, links

from . import selectors, services
from .inputs import HearingVersionIn, MoveHearingIn, ScheduleHearingIn, TransitionIn

router = Router(tags=["cases"])


class HearingOut(BaseModel):
    id: uuid.UUID
    calendar: str
    court: str
    judge: str
    scheduled_at: datetime
    local_time: str
    status: str


class DecisionOut(BaseModel):
    kind: str
    decided_on: date
    oral: bool
    served_on: date | None


class ProceedingOut(BaseModel):
    id: uuid.UUID
    kind: str
    court: str
    started_on: date
    ended_on: date | None
    hearings: list[HearingOut]
    decisions: list[DecisionOut]


class StatusChangeOut(BaseModel):
    from_status: str
    to_status: str
    reason: str
    changed_at: datetime


class DeadlineOut(BaseModel):
    rule: str
    label: str
    trigger: date
    due: date | None
    state: str


class CaseOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    reference: str
    case_type: str
    status: str
    row_version: int
    opened_on: date
    allowed_transitions: list[str]
    proceedings: list[ProceedingOut]
    status_changes: list[StatusChangeOut]
    deadlines: list[DeadlineOut]


def _case_out(detail: selectors.CaseDetail) -> CaseOut:
    c = detail.case
    return CaseOut(
        id=c.pk,
        person=c.person_id,
        reference=c.reference,
        case_type=c.case_type,
        status=c.status,
        row_version=c.row_version,
        opened_on=c.opened_on,
        allowed_transitions=detail.next_statuses,
        proceedings=[
            ProceedingOut(
                id=p.pk,
                kind=p.kind,
                court=p.court.code,
                started_on=p.started_on,
                ended_on=p.ended_on,
                hearings=[
                    HearingOut(
                        id=h.pk,
                        calendar=h.calendar,
                        court=h.court.code,
                        judge=h.judge,
                        scheduled_at=h.scheduled_at,
                        local_time=h.local_time().isoformat(),
                        status=h.status,
                    )
                    for h in p.hearings.all()
                ],
                decisions=[
                    DecisionOut.model_validate(d, from_attributes=True) for d in p.decisions.all()
                ],
            )
            for p in detail.proceedings
        ],
        status_changes=[
            StatusChangeOut.model_validate(s, from_attributes=True) for s in detail.status_changes
        ],
        deadlines=[DeadlineOut.model_validate(d, from_attributes=True) for d in detail.deadlines],
    )


HEARING_OPS = ("get_hearing", "move_hearing", "adjourn_hearing", "cancel_hearing")


def _hearing_links(status: int, where: str, also: dict | None = None) -> dict:
    """OpenAPI links from an answer holding a hearing's id to the operations taking it."""
    hearing = {"hearing_id": f"$response.body#{where}"}
    return links(status, {**{f"caseledger_cases_api_{op}": hearing for op in HEARING_OPS},
                          **(also or {})})  # fmt: skip


CASE = {"case_id": "$response.body#/id"}
CASE_LINKS = _hearing_links(200, "/proceedings/0/hearings/0/id", {
    "caseledger_cases_api_transition": CASE,
    "caseledger_cases_api_schedule_hearing": CASE,
})  # fmt: skip


@router.get("/{case_id}", response={200: CaseOut, **ERRORS}, openapi_extra=CASE_LINKS)
def get_case(request: HttpRequest, case_id: str) -> CaseOut:
    ctx = access_context(request)
    return _case_out(selectors.get_case(ctx=ctx, case_id=case_id))


@router.post("/{case_id}/transitions", response={200: CaseOut, **ERRORS})
def transition(request: HttpRequest, case_id: str, payload: TransitionIn) -> CaseOut:
    """Move the case along its workflow; an illegal step gets 409 with the allowed ones."""
    ctx = access_context(request)
    services.transition_case(ctx=ctx, case_id=case_id, data=payload)
    return _case_out(selectors.get_case(ctx=ctx, case_id=case_id))


# --- hearings: schedule, move, adjourn, cancel ------------------------------------------------
hearings_router = Router(tags=["cases"])


class HearingDetailOut(HearingOut):
    case: uuid.UUID
    row_version: int


def _hearing_out(h: Any) -> HearingDetailOut:
    return HearingDetailOut(
        id=h.pk,
        case=h.proceeding.case_id,
        calendar=h.calendar,
        court=h.court.code,
        judge=h.judge,
        scheduled_at=h.scheduled_at,
        local_time=h.local_time().isoformat(),
        status=h.status,
        row_version=h.row_version,
    )


@router.post(
    "/{case_id}/hearings",
    response={201: HearingDetailOut, **ERRORS},
    openapi_extra=_hearing_links(201, "/id"),
)
def schedule_hearing(request: HttpRequest, case_id: str, payload: ScheduleHearingIn) -> Status:
    """Schedule a hearing in the case's open proceeding; its reminders are planned."""
    ctx = access_context(request)
    hearing = services.schedule_hearing(ctx=ctx, case_id=case_id, data=payload)
    return Status(201, _hearing_out(hearing))


@hearings_router.get("/{hearing_id}", response={200: HearingDetailOut, **ERRORS})
def get_hearing(request: HttpRequest, hearing_id: str) -> HearingDetailOut:
    ctx = access_context(request)
    return _hearing_out(selectors.get_hearing(ctx=ctx, hearing_id=hearing_id).hearing)


@hearings_router.post("/{hearing_id}/move", response={200: HearingDetailOut, **ERRORS})
def move_hearing(request: HttpRequest, hearing_id: str, payload: MoveHearingIn) -> Any:
    """Move a hearing, or give an adjourned one its new date. Reminders are re-planned; an
    empty date is refused (adjourn instead): reminders are never cancelled silently."""
    ctx = access_context(request)
    hearing = services.reschedule_hearing(ctx=ctx, hearing_id=hearing_id, data=payload)
    return _hearing_out(hearing)


@hearings_router.post("/{hearing_id}/adjourn", response={200: HearingDetailOut, **ERRORS})
def adjourn_hearing(request: HttpRequest, hearing_id: str, payload: HearingVersionIn) -> Any:
    """Postpone without a new date: the person gets a postponement notice."""
    ctx = access_context(request)
    return _hearing_out(
        services.adjourn_hearing(ctx=ctx, hearing_id=hearing_id, row_version=payload)
    )


@hearings_router.post("/{hearing_id}/cancel", response={200: HearingDetailOut, **ERRORS})
def cancel_hearing(request: HttpRequest, hearing_id: str, payload: HearingVersionIn) -> Any:
    """Cancel: unsent reminders are cancelled and the person is told."""
    ctx = access_context(request)
    return _hearing_out(
        services.cancel_hearing(ctx=ctx, hearing_id=hearing_id, row_version=payload)
    )
