"""Two-person changes: a level change or a termination is proposed by an officer and decided
by a supervisor who did not propose it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import refuse_role
from caseledger.access.policies import Ability
from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..models import (
    ChangeDecision,
    ChangeKind,
    ChangeRequest,
    Enrolment,
    EnrolmentStatus,
    Level,
)
from ..selectors import require_change, require_enrolment
from .enrolment import end_enrolment


def propose_change(
    *, ctx: AccessContext, enrolment_id: Any, kind: str, reason: str, proposed_level: str = ""
) -> ChangeRequest:
    """Propose a level change or a termination; it waits for a supervisor's decision (one
    pending change per enrolment)."""
    policies.require(ctx, Ability.SUPERVISE, action=Action.PROPOSE,
                     category=Category.SUPERVISION, record_type=record_type_of(Enrolment),
                     record_id=enrolment_id, subject_id=policies.person_of(Enrolment, enrolment_id),
                     message="Only case officers and supervisors propose changes.")
    if kind not in ChangeKind.values:
        raise ValidationError(f"Unknown change '{kind}'.", field="kind")
    if kind == ChangeKind.LEVEL and proposed_level not in Level.values:
        raise ValidationError("Choose the new supervision level.", field="proposed_level")
    if len(reason.strip()) < 10:
        raise ValidationError("Give the reason in at least 10 characters.", field="reason")
    enrolment = require_enrolment(ctx, enrolment_id, action=Action.UPDATE)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict("Supervision has already ended.", code="ended")
    if kind == ChangeKind.LEVEL and proposed_level == enrolment.level:
        raise ValidationError("That is already the current level.", field="proposed_level")
    with transaction.atomic():
        if enrolment.changes.filter(decision=ChangeDecision.PENDING).exists():
            raise Conflict("A change is already waiting for a supervisor.", code="pending")
        request = ChangeRequest.objects.create(
            enrolment=enrolment,
            kind=kind,
            proposed_level=proposed_level if kind == ChangeKind.LEVEL else "",
            reason=reason.strip(),
            proposed_by=ctx.user,
            proposed_at=clock.now(),
        )
        record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                     action=Action.PROPOSE, category=Category.SUPERVISION,
                     subject_id=enrolment.person_id, record_type=record_type_of(ChangeRequest),
                     record_id=request.pk,
                     detail={"kind": kind, "level": request.proposed_level})
    return request


def decide_change(
    *, ctx: AccessContext, request_id: Any, approve: bool, reason: str = ""
) -> ChangeRequest:
    """A supervisor, not the proposer, approves or declines; approval applies the change."""
    policies.require(ctx, Ability.DECIDE_SUPERVISION_CHANGE, action=Action.DECIDE,
                     category=Category.SUPERVISION, record_type=record_type_of(ChangeRequest),
                     record_id=request_id,
                     subject_id=policies.person_of(ChangeRequest, request_id),
                     message="Only a supervisor approves or declines a change.")
    request = require_change(ctx, request_id)
    if request.proposed_by_id == ctx.user.pk:
        raise refuse_role(ctx, action=Action.DECIDE, category=Category.SUPERVISION,
                          record_type=record_type_of(ChangeRequest), record_id=request.pk,
                          subject_id=request.enrolment.person_id, code="self_approval",
                          message="A change needs a second person: you proposed this one.")
    if request.decision != ChangeDecision.PENDING:
        raise Conflict("This change has already been decided.", code="already_decided")
    if not approve and len(reason.strip()) < 10:
        raise ValidationError(
            "Give the reason for declining in at least 10 characters.", field="reason"
        )
    now = clock.now()
    enrolment = request.enrolment
    decision = ChangeDecision.APPROVED if approve else ChangeDecision.DECLINED
    with transaction.atomic():
        update_versioned(
            request, None, where=Q(decision=ChangeDecision.PENDING), what="change",
            conflict_message="This change has already been decided.",
            conflict_code="already_decided",
            decision=decision, decided_by=ctx.user, decided_at=now, decision_reason=reason.strip(),
        )
        if approve:
            _apply(request, enrolment, now)
        record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                     action=Action.DECIDE, category=Category.SUPERVISION,
                     subject_id=enrolment.person_id, record_type=record_type_of(ChangeRequest),
                     record_id=request.pk, detail={"kind": request.kind, "decision": decision})
    return request


def _apply(request: ChangeRequest, enrolment: Enrolment, now: datetime) -> None:
    """An approved change: a level change or the end of supervision, on the enrolment as the
    decision read it. An enrolment that ended (a departure) or changed meanwhile is a
    Conflict, so an approval never overwrites an end or a newer change."""
    if request.kind == ChangeKind.LEVEL:
        update_versioned(
            enrolment, None, where=Q(status=EnrolmentStatus.ACTIVE), what="enrolment",
            conflict_message="Supervision has already ended.", conflict_code="ended",
            level=request.proposed_level,
        )
    else:
        end_enrolment(enrolment, now, "terminated")
