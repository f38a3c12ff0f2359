"""Writes to cases: open, add proceedings and hearings, record decisions, change status."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from caseledger.access.context import AccessContext
from caseledger.access.gate import require_person
from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.ledger.services import record_event

from .models import (
    CalendarType,
    Case,
    CaseStatus,
    CaseType,
    Court,
    Decision,
    DecisionKind,
    Hearing,
    Proceeding,
    ProceedingKind,
    StatusChange,
)
from .selectors import require_case
from .workflow import TRANSITIONS, allowed_next


def _event(
    ctx: AccessContext,
    case: Case,
    *,
    action: str,
    category: str,
    record_type: str,
    record_id: Any,
    detail: dict[str, Any] | None = None,
) -> None:
    record_event(
        actor=ctx.actor,
        purpose=ctx.purpose,
        request_id=ctx.request_id,
        action=action,
        category=category,
        subject_id=case.person_id,
        record_type=record_type,
        record_id=record_id,
        detail=detail,
    )


def _choice(value: str, choices: type, field: str) -> str:
    if value not in choices.values:
        raise ValidationError(
            f"Unknown {field} '{value}'. Use one of: {', '.join(choices.values)}.", field=field
        )
    return value


def _court(code: str) -> Court:
    court = Court.objects.filter(code=code).first()
    if court is None:
        raise ValidationError(f"Unknown court code '{code}'.", field="court")
    return court


def new_reference(opened_on: date) -> str:
    return f"CL-{opened_on.year}-{secrets.token_hex(3).upper()}"


def open_case(
    *,
    ctx: AccessContext,
    person_id: Any,
    case_type: str,
    court_code: str,
    opened_on: date | None = None,
    reference: str | None = None,
) -> Case:
    """A new case with its first (removal) proceeding before `court_code`."""
    person = require_person(ctx, person_id, category="case", action="create")
    _choice(case_type, CaseType, "case type")
    court = _court(court_code)
    opened_on = opened_on or clock.today()
    if opened_on > clock.today():
        raise ValidationError("A case cannot be opened in the future.", field="opened_on")
    with transaction.atomic():
        case = Case.objects.create(
            person=person,
            case_type=case_type,
            opened_on=opened_on,
            reference=reference or new_reference(opened_on),
        )
        proceeding = Proceeding.objects.create(
            case=case, kind=ProceedingKind.REMOVAL, court=court, started_on=opened_on
        )
        _event(
            ctx,
            case,
            action="create",
            category="case",
            record_type="cases.case",
            record_id=case.pk,
            detail={"type": case_type, "proceeding": str(proceeding.pk)},
        )
    return case


def schedule_hearing(
    *,
    ctx: AccessContext,
    case_id: Any,
    calendar: str,
    scheduled_at: datetime,
    judge: str = "",
    court_code: str | None = None,
    allow_past: bool = False,
) -> Hearing:
    case = require_case(ctx, case_id, action="update", category="hearing")
    _choice(calendar, CalendarType, "calendar type")
    if scheduled_at.tzinfo is None:
        raise ValidationError(
            "A hearing time needs a time zone (or give it in the court's).", field="scheduled_at"
        )
    if not allow_past and scheduled_at < clock.now():
        raise ValidationError(
            "A new hearing cannot be scheduled in the past.", field="scheduled_at"
        )
    proceeding = case.proceedings.filter(ended_on__isnull=True).order_by("-started_on").first()
    if proceeding is None:
        raise ValidationError("The case has no open proceeding to schedule a hearing in.")
    court = _court(court_code) if court_code else proceeding.court
    with transaction.atomic():
        hearing = Hearing.objects.create(
            proceeding=proceeding,
            calendar=calendar,
            court=court,
            judge=judge.strip()[:120],
            scheduled_at=scheduled_at,
        )
        _event(
            ctx,
            case,
            action="create",
            category="hearing",
            record_type="cases.hearing",
            record_id=hearing.pk,
            detail={"calendar": calendar, "court": court.code},
        )
    return hearing


def record_decision(
    *,
    ctx: AccessContext,
    case_id: Any,
    kind: str,
    decided_on: date,
    oral: bool = True,
    served_on: date | None = None,
) -> Decision:
    case = require_case(ctx, case_id, action="update", category="decision")
    _choice(kind, DecisionKind, "decision kind")
    if decided_on > clock.today():
        raise ValidationError("A decision date cannot be in the future.", field="decided_on")
    proceeding = case.proceedings.order_by("-started_on").first()
    if proceeding is None:
        raise ValidationError("The case has no proceeding to record a decision in.")
    with transaction.atomic():
        decision = Decision.objects.create(
            proceeding=proceeding, kind=kind, decided_on=decided_on, oral=oral, served_on=served_on
        )
        _event(
            ctx,
            case,
            action="create",
            category="decision",
            record_type="cases.decision",
            record_id=decision.pk,
            detail={"kind": kind},
        )
    return decision


def transition_case(
    *,
    ctx: AccessContext,
    case_id: Any,
    to_status: str,
    reason: str = "",
    row_version: int | None = None,
) -> Case:
    """Move the case to `to_status` if the workflow allows it; otherwise a clear refusal."""
    case = require_case(ctx, case_id, action="transition")
    if to_status not in CaseStatus.values:
        raise ValidationError(
            f"'{to_status}' is not a case status. Statuses: {', '.join(CaseStatus.values)}.",
            field="to_status",
        )
    if to_status not in TRANSITIONS[case.status]:
        options = ", ".join(allowed_next(case.status)) or "none (the case is closed)"
        raise Conflict(
            f"A case that is '{case.status}' cannot become '{to_status}'. Allowed next: {options}.",
            code="illegal_transition",
            field="to_status",
        )
    if row_version is not None and row_version != case.row_version:
        raise Conflict(
            f"This case changed since you read it (version {row_version}, now "
            f"{case.row_version}). Reload it and try again.",
            code="stale_version",
        )
    with transaction.atomic():
        updated = Case.objects.filter(
            pk=case.pk, row_version=case.row_version, status=case.status
        ).update(
            status=to_status,
            row_version=F("row_version") + 1,
            closed_reason=reason[:64] if to_status == CaseStatus.CLOSED else F("closed_reason"),
        )
        if updated != 1:
            raise Conflict(
                "This case changed while you were saving. Reload and try again.",
                code="stale_version",
            )
        StatusChange.objects.create(
            case=case,
            from_status=case.status,
            to_status=to_status,
            reason=reason[:500],
            changed_by=ctx.user,
            changed_at=clock.now(),
        )
        _event(
            ctx,
            case,
            action="transition",
            category="case",
            record_type="cases.case",
            record_id=case.pk,
            detail={"from": case.status, "to": to_status},
        )
    case.refresh_from_db()
    return case
