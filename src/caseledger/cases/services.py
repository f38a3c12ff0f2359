"""Writes to cases: open, add proceedings and hearings, record decisions, change status."""

from __future__ import annotations

import calendar
import re
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
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of
from caseledger.people.models import Person

from .models import (
    CalendarType,
    Case,
    CaseStatus,
    CaseType,
    Court,
    Decision,
    DecisionKind,
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
    """A new case with its first (removal) proceeding before `court_code` (case officers and
    supervisors)."""
    policies.require(ctx, Ability.EDIT_CASE, action=Action.CREATE, category=Category.CASE,
                     record_type=record_type_of(Person), record_id=person_id, subject_id=person_id,
                     message="Only case officers and supervisors open cases.")
    person = require_person(ctx, person_id, category=Category.CASE, action=Action.CREATE)
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
    calendar: str,
    scheduled_at: datetime | str,
    judge: str = "",
    court_code: str | None = None,
    allow_past: bool = False,
) -> Hearing:
    """Schedule a hearing in the case's open proceeding. `scheduled_at` is an aware datetime,
    or a local time (naive, or 'YYYY-MM-DD HH:MM') in the court's time zone."""
    _require(ctx, Ability.EDIT_HEARING, action=Action.CREATE, category=Category.HEARING,
             model=Case, pk=case_id,
             message="Only case officers and supervisors schedule hearings.")
    case = require_case(ctx, case_id, action=Action.UPDATE, category=Category.HEARING)
    _choice(calendar, CalendarType, "calendar type")
    proceeding = case.proceedings.filter(ended_on__isnull=True).order_by("-started_on").first()
    if proceeding is None:
        raise ValidationError("The case has no open proceeding to schedule a hearing in.")
    court = _court(court_code) if court_code else proceeding.court
    scheduled_at = hearing_time(scheduled_at, court.time_zone)
    if not allow_past and scheduled_at < clock.now():
        raise ValidationError(
            "A new hearing cannot be scheduled in the past.", field="scheduled_at"
        )
    with transaction.atomic():
        hearing = Hearing.objects.create(
            proceeding=proceeding,
            calendar=calendar,
            court=court,
            judge=judge.strip()[:120],
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
    kind: str,
    decided_on: date,
    oral: bool = True,
    served_on: date | None = None,
) -> Decision:
    _require(ctx, Ability.EDIT_CASE, action=Action.UPDATE, category=Category.DECISION,
             model=Case, pk=case_id,
             message="Only case officers and supervisors record decisions.")
    case = require_case(ctx, case_id, action=Action.UPDATE, category=Category.DECISION)
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
    to_status: str,
    reason: str = "",
    row_version: int | None = None,
) -> Case:
    """Move the case to `to_status` if the workflow allows it; otherwise a clear refusal.
    Case officers and supervisors only: the person and their representative see the case."""
    _require(ctx, Ability.EDIT_CASE, action=Action.TRANSITION, category=Category.CASE,
             model=Case, pk=case_id,
             message="Only case officers and supervisors change a case's status.")
    case = require_case(ctx, case_id, action=Action.TRANSITION)
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
    from caseledger.notices.planner import plan_for_case_deadlines

    plan_for_case_deadlines(case)


# --- moving, adjourning and cancelling a hearing ----------------------------------------------
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")


def hearing_time(value: datetime | str, time_zone: str) -> datetime:
    """A hearing time in UTC from an aware datetime, or from a local time (a naive datetime
    or an ISO string such as '2027-03-10 09:00') in the court's time zone. Dates that do not
    exist, and local times skipped or repeated by a daylight-saving change, are refused
    with a message that says which."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            match = _ISO_DATE.match(text)
            if match:
                year, month, day = (int(g) for g in match.groups())
                if not 1 <= month <= 12:
                    raise ValidationError(
                        f"'{text}': there is no month {month}.", field="scheduled_at"
                    ) from None
                last = calendar.monthrange(year, month)[1]
                if not 1 <= day <= last:
                    raise ValidationError(
                        f"'{text}': {calendar.month_name[month]} {year} has no day {day} "
                        f"(it has {last} days).",
                        field="scheduled_at",
                    ) from None
            raise ValidationError(
                f"'{text}' is not a date and time. Write it as YYYY-MM-DD HH:MM in the "
                "court's time, for example 2027-03-10 09:00.",
                field="scheduled_at",
            ) from None
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
    scheduled_at: datetime | str | None,
    row_version: int | None = None,
) -> Hearing:
    """Move a hearing (or give an adjourned one its new date). Reminders of the old time
    that were not sent are superseded, the person is told of the move, and the reminders
    of the new time are planned, in the same transaction."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
    if scheduled_at is None or (isinstance(scheduled_at, str) and not scheduled_at.strip()):
        raise ValidationError(
            "Give the new date and time. If it is not known yet, adjourn the hearing instead: "
            "the person is told that it is postponed and you are reminded to enter the date. "
            "Reminders are never cancelled silently.",
            field="scheduled_at",
        )
    if hearing.status in (HearingStatus.HELD, HearingStatus.CANCELLED):
        raise Conflict(
            f"A hearing that is {hearing.status} cannot be moved; schedule a new one.",
            code="illegal_transition",
        )
    new_time = hearing_time(scheduled_at, hearing.court.time_zone)
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
    *, ctx: AccessContext, hearing_id: Any, row_version: int | None = None
) -> Hearing:
    """Adjourn a hearing whose new date is not known yet: the person gets a postponement
    notice instead of reminders for the old date, and the officer an alert to enter the new
    date (`reschedule_hearing`)."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
    if hearing.status != HearingStatus.SCHEDULED:
        raise Conflict(
            f"Only a scheduled hearing can be adjourned; this one is {hearing.status}.",
            code="illegal_transition",
        )
    return _update_hearing(
        ctx, hearing, case, "adjourned", row_version, status=HearingStatus.ADJOURNED
    )


def cancel_hearing(
    *, ctx: AccessContext, hearing_id: Any, row_version: int | None = None
) -> Hearing:
    """Cancel a hearing: its unsent reminders are cancelled and the person is told."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
    if hearing.status not in (HearingStatus.SCHEDULED, HearingStatus.ADJOURNED):
        raise Conflict(
            f"A hearing that is {hearing.status} cannot be cancelled.", code="illegal_transition"
        )
    return _update_hearing(
        ctx, hearing, case, "cancelled", row_version, status=HearingStatus.CANCELLED
    )


def record_hearing_held(
    *, ctx: AccessContext, hearing_id: Any, row_version: int | None = None
) -> Hearing:
    """Record that a scheduled hearing took place, once its time has come: a past hearing
    then no longer reads "scheduled", and its reminders are retired as held."""
    hearing, case = _require_hearing(ctx, hearing_id, Action.UPDATE)
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
