"""Writes to cases: open, add proceedings and hearings, record decisions, change status."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import require_person, require_related
from caseledger.access.policies import Ability
from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.core.inputs import parse
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of
from caseledger.people.models import Person

from .deadline_rows import refresh_case
from .inputs import (
    DecisionIn,
    HearingVersionIn,
    MoveHearingIn,
    OpenCaseIn,
    ScheduleHearingIn,
    TransitionIn,
    local_time,
)
from .models import (
    Case,
    CaseStatus,
    Court,
    Decision,
    Hearing,
    HearingStatus,
    Proceeding,
    ProceedingKind,
    StatusChange,
)
from .selectors import require_case
from .workflow import TRANSITIONS, allowed_next


def _require(ctx: AccessContext, ability: Ability, *, action: str, category: str,
             model: type[Case] | type[Hearing], pk: Any, message: str) -> None:
    """`policies.require` for a write on the record `pk` of `model`: the record's person is
    looked up (to be named in the refusal) only when the role is refused."""
    if not policies.allows(ctx.user, ability):
        policies.require(ctx, ability, action=action, category=category,
                         record_type=record_type_of(model), record_id=pk,
                         subject_id=policies.person_of(model, pk), message=message)


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
    data: OpenCaseIn | None = None,
    case_type: str | None = None,
    court_code: str | None = None,
    opened_on: date | str | None = None,
    reference: str | None = None,
) -> Case:
    """A new case with its first (removal) proceeding before the court (case officers and
    supervisors): `data`, or the fields as keywords (checked as an `OpenCaseIn`)."""
    policies.require(ctx, Ability.EDIT_CASE, action=Action.CREATE, category=Category.CASE,
                     record_type=record_type_of(Person), record_id=person_id, subject_id=person_id,
                     message="Only case officers and supervisors open cases.")
    person = require_person(ctx, person_id, category=Category.CASE, action=Action.CREATE)
    if data is None:
        data = parse(OpenCaseIn, {"case_type": case_type, "court": court_code,
                                  "opened_on": opened_on, "reference": reference})
    case_type, reference = data.case_type, data.reference
    court = _court(data.court)
    opened_on = data.opened_on or clock.today_in(court.time_zone)  # the court's day
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
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.CREATE, category=Category.CASE, subject_id=case.person_id,
            record_type=record_type_of(case), record_id=case.pk,
            detail={"type": case_type, "proceeding": str(proceeding.pk)},
        )
    return case


def schedule_hearing(
    *,
    ctx: AccessContext,
    case_id: Any,
    data: ScheduleHearingIn | None = None,
    calendar: str | None = None,
    scheduled_at: datetime | str | None = None,
    judge: str = "",
    court_code: str | None = None,
    allow_past: bool = False,
) -> Hearing:
    """Schedule a hearing in the case's open proceeding: `data`, or the fields as keywords
    (checked as a `ScheduleHearingIn`). The time is an aware datetime, or a local time
    (naive, or 'YYYY-MM-DD HH:MM') in the court's time zone."""
    _require(ctx, Ability.EDIT_HEARING, action=Action.CREATE, category=Category.HEARING,
             model=Case, pk=case_id,
             message="Only case officers and supervisors schedule hearings.")
    case = require_case(ctx, case_id, action=Action.UPDATE, category=Category.HEARING)
    if data is None:
        data = parse(ScheduleHearingIn, {"calendar": calendar, "scheduled_at": scheduled_at,
                                         "judge": judge, "court": court_code})
    calendar, court_code = data.calendar, data.court
    proceeding = case.proceedings.filter(ended_on__isnull=True).order_by("-started_on").first()
    if proceeding is None:
        raise ValidationError("The case has no open proceeding to schedule a hearing in.")
    court = _court(court_code) if court_code else proceeding.court
    scheduled_at = hearing_time(data.scheduled_at, court.time_zone)
    if not allow_past and scheduled_at < clock.now():
        raise ValidationError(
            "A new hearing cannot be scheduled in the past.", field="scheduled_at", code="past"
        )
    with transaction.atomic():
        hearing = Hearing.objects.create(
            proceeding=proceeding,
            calendar=calendar,
            court=court,
            judge=data.judge,
            scheduled_at=scheduled_at,
        )
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.CREATE, category=Category.HEARING, subject_id=case.person_id,
            record_type=record_type_of(hearing), record_id=hearing.pk,
            detail={"calendar": calendar, "court": court.code},
        )
        _plan_hearing(hearing)
    return hearing


def record_decision(
    *,
    ctx: AccessContext,
    case_id: Any,
    data: DecisionIn | None = None,
    kind: str | None = None,
    decided_on: date | str | None = None,
    oral: bool = True,
    served_on: date | str | None = None,
) -> Decision:
    """Record a court's decision: `data`, or the fields as keywords (a `DecisionIn`)."""
    _require(ctx, Ability.EDIT_CASE, action=Action.UPDATE, category=Category.DECISION,
             model=Case, pk=case_id,
             message="Only case officers and supervisors record decisions.")
    case = require_case(ctx, case_id, action=Action.UPDATE, category=Category.DECISION)
    if data is None:
        data = parse(DecisionIn, {"kind": kind, "decided_on": decided_on, "oral": oral,
                                  "served_on": served_on})
    kind, decided_on, oral, served_on = data.kind, data.decided_on, data.oral, data.served_on
    proceeding = case.proceedings.order_by("-started_on").first()
    if proceeding is None:
        raise ValidationError("The case has no proceeding to record a decision in.")
    with transaction.atomic():
        decision = Decision.objects.create(
            proceeding=proceeding, kind=kind, decided_on=decided_on, oral=oral, served_on=served_on
        )
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.CREATE, category=Category.DECISION, subject_id=case.person_id,
            record_type=record_type_of(decision), record_id=decision.pk, detail={"kind": kind},
        )
        _plan_deadlines(case)
    return decision


def transition_case(
    *,
    ctx: AccessContext,
    case_id: Any,
    data: TransitionIn | None = None,
    to_status: str | None = None,
    reason: str = "",
    row_version: int | None = None,
) -> Case:
    """Move the case to the status asked (`data`, or the fields as keywords: a
    `TransitionIn`) if the workflow allows it; otherwise a clear refusal. Case officers and
    supervisors only: the person and their representative see the case."""
    _require(ctx, Ability.EDIT_CASE, action=Action.TRANSITION, category=Category.CASE,
             model=Case, pk=case_id,
             message="Only case officers and supervisors change a case's status.")
    case = require_case(ctx, case_id, action=Action.TRANSITION)
    if data is None:
        data = parse(TransitionIn, {"to_status": to_status, "reason": reason,
                                    "row_version": row_version})
    to_status, reason, row_version = data.to_status, data.reason, data.row_version
    if to_status not in TRANSITIONS[case.status]:
        options = ", ".join(allowed_next(case.status)) or "none (the case is closed)"
        raise Conflict(
            f"A case that is '{case.status}' cannot become '{to_status}'. Allowed next: {options}.",
            code="illegal_transition",
            field="to_status",
        )
    from_status = case.status
    closing = {"closed_reason": reason[:64]} if to_status == CaseStatus.CLOSED else {}
    with transaction.atomic():
        update_versioned(
            case, row_version, where=Q(status=from_status), what="case",
            conflict_message="This case changed while you were saving. Reload and try again.",
            status=to_status, **closing,
        )
        StatusChange.objects.create(
            case=case,
            from_status=from_status,
            to_status=to_status,
            reason=reason[:500],
            changed_by=ctx.user,
            changed_at=clock.now(),
        )
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.TRANSITION, category=Category.CASE, subject_id=case.person_id,
            record_type=record_type_of(case), record_id=case.pk,
            detail={"from": from_status, "to": to_status},
        )
        _plan_deadlines(case)
    return case


# --- reminders (notices app): planned in the transaction of the change ----------------------
def _plan_hearing(hearing: Hearing, old_time: datetime | None = None) -> None:
    from caseledger.notices.planner import replan_hearing

    replan_hearing(hearing, old_time)


def _plan_deadlines(case: Case) -> None:
    """The case's deadline rows (read by the dashboard) and their reminders, rewritten in the
    transaction of the decision or status change that moved them."""
    from caseledger.notices.planner import plan_for_case_deadlines

    # The case row locked first: two changes of one case (or a change and `plan-all`'s chunk,
    # which locks its cases too) then rewrite the rows and reminders one after the other, each
    # reading what the other committed, instead of leaving duplicated or cancelled ones.
    list(Case.objects.select_for_update(no_key=True).filter(pk=case.pk).values_list("pk"))
    refresh_case(case)
    plan_for_case_deadlines(case)


# --- moving, adjourning and cancelling a hearing ----------------------------------------------
def hearing_time(value: datetime | str, time_zone: str) -> datetime:
    """A hearing time in UTC from an aware datetime, or from a local time (a naive datetime
    or an ISO string such as '2027-03-10 09:00') in the court's time zone. Dates that do not
    exist (`inputs.local_time`), and local times skipped or repeated by a daylight-saving
    change, are refused with a message that says which."""
    value = local_time(value)
    if value.tzinfo is None:
        tz = ZoneInfo(time_zone)
        local = value.replace(tzinfo=tz)
        if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != value:
            raise ValidationError(
                f"{value:%Y-%m-%d %H:%M} does not exist in {time_zone}: the clocks go forward "
                "that night. Choose another time.",
                field="scheduled_at",
            )
        if local.replace(fold=1).utcoffset() != local.utcoffset():
            raise ValidationError(
                f"{value:%Y-%m-%d %H:%M} happens twice in {time_zone} (the clocks go back "
                "that night). Give the time with its UTC offset.",
                field="scheduled_at",
            )
        value = local
    return value.astimezone(UTC)


def _require_hearing(ctx: AccessContext, hearing_id: Any, action: str) -> tuple[Hearing, Case]:
    """The hearing and its case, for a role that changes hearings and a context that sees the
    person; otherwise one denied event naming the person (when the hearing exists)."""
    _require(ctx, Ability.EDIT_HEARING, action=action, category=Category.HEARING,
             model=Hearing, pk=hearing_id,
             message="Only case officers and supervisors change hearings.")
    hearing = require_related(
        ctx, Hearing, hearing_id, person_path=policies.person_path(Hearing),
        record_type=record_type_of(Hearing), category=Category.HEARING, action=action,
        related=("court", "proceeding__case__person"),
    )
    return hearing, hearing.proceeding.case


def _version(row_version: int | HearingVersionIn | None) -> int | None:
    """The version read, given as a number or as its checked model."""
    if not isinstance(row_version, HearingVersionIn):
        row_version = parse(HearingVersionIn, {"row_version": row_version})
    return row_version.row_version


def _update_hearing(
    ctx: AccessContext,
    hearing: Hearing,
    case: Case,
    change: str,
    row_version: int | None,
    **fields: Any,
) -> Hearing:
    old_time = hearing.scheduled_at
    with transaction.atomic():
        update_versioned(
            hearing, row_version, what="hearing",
            conflict_message="This hearing changed while you were saving. Reload and try again.",
            **fields,
        )
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
            action=Action.UPDATE, category=Category.HEARING, subject_id=case.person_id,
            record_type=record_type_of(hearing), record_id=hearing.pk,
            detail={"change": change, "status": hearing.status},
        )
        _plan_hearing(hearing, old_time)
    return hearing


def reschedule_hearing(
    *,
    ctx: AccessContext,
    hearing_id: Any,
    data: MoveHearingIn | None = None,
    scheduled_at: datetime | str | None = None,
    row_version: int | None = None,
) -> Hearing:
    """Move a hearing (or give an adjourned one its new date). Reminders of the old time
    that were not sent are superseded, the person is told of the move, and the reminders
    of the new time are planned, in the same transaction."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
    if data is None:
        data = parse(MoveHearingIn, {"scheduled_at": scheduled_at, "row_version": row_version})
    row_version = data.row_version
    if hearing.status in (HearingStatus.HELD, HearingStatus.CANCELLED):
        raise Conflict(
            f"A hearing that is {hearing.status} cannot be moved; schedule a new one.",
            code="illegal_transition",
        )
    new_time = hearing_time(data.scheduled_at, hearing.court.time_zone)
    if new_time < clock.now():
        raise ValidationError("A hearing cannot be moved into the past.", field="scheduled_at")
    if new_time == hearing.scheduled_at and hearing.status == HearingStatus.SCHEDULED:
        return hearing
    change = "rescheduled" if hearing.status == HearingStatus.ADJOURNED else "moved"
    return _update_hearing(
        ctx,
        hearing,
        case,
        change,
        row_version,
        scheduled_at=new_time,
        status=HearingStatus.SCHEDULED,
    )


def adjourn_hearing(
    *, ctx: AccessContext, hearing_id: Any, row_version: int | HearingVersionIn | None = None
) -> Hearing:
    """Adjourn a hearing whose new date is not known yet: the person gets a postponement
    notice instead of reminders for the old date, and the officer an alert to enter the new
    date (`reschedule_hearing`)."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
    row_version = _version(row_version)
    if hearing.status != HearingStatus.SCHEDULED:
        raise Conflict(
            f"Only a scheduled hearing can be adjourned; this one is {hearing.status}.",
            code="illegal_transition",
        )
    return _update_hearing(
        ctx, hearing, case, "adjourned", row_version, status=HearingStatus.ADJOURNED
    )


def cancel_hearing(
    *, ctx: AccessContext, hearing_id: Any, row_version: int | HearingVersionIn | None = None
) -> Hearing:
    """Cancel a hearing: its unsent reminders are cancelled and the person is told."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
    row_version = _version(row_version)
    if hearing.status not in (HearingStatus.SCHEDULED, HearingStatus.ADJOURNED):
        raise Conflict(
            f"A hearing that is {hearing.status} cannot be cancelled.", code="illegal_transition"
        )
    return _update_hearing(
        ctx, hearing, case, "cancelled", row_version, status=HearingStatus.CANCELLED
    )


def record_hearing_held(
    *, ctx: AccessContext, hearing_id: Any, row_version: int | HearingVersionIn | None = None
) -> Hearing:
    """Record that a scheduled hearing took place, once its time has come: a past hearing
    then no longer reads "scheduled", and its reminders are retired as held."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
    row_version = _version(row_version)
    if hearing.status != HearingStatus.SCHEDULED:
        raise Conflict(
            f"Only a scheduled hearing can be recorded as held; this one is {hearing.status}.",
            code="illegal_transition",
        )
    if hearing.scheduled_at > clock.now():
        raise ValidationError(
            "A hearing can be recorded as held only once its time has come.",
            field="status",
        )
    return _update_hearing(ctx, hearing, case, "held", row_version, status=HearingStatus.HELD)
