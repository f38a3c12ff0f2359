"""Writes of the portal: amendment requests, their acknowledgement and decision, the
correction, and statements of disagreement. Each step validates, changes its rows and writes
one ledger event (category "amendment") in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, refuse_role, require_person, visible_persons
from caseledger.access.policies import Ability, Act, Scope
from caseledger.accounts.models import User
from caseledger.cases.deadlines import add_business_days, local_date
from caseledger.core import clock
from caseledger.core.errors import Conflict, PermissionDenied, ValidationError
from caseledger.core.versioning import update_versioned
from caseledger.disclosures import services as disclosures
from caseledger.disclosures.models import DisclosureRequest
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .models import (
    DISCLOSURE_CATEGORIES,
    AmendmentCategory,
    AmendmentRequest,
    AmendmentStatus,
    DisagreementStatement,
)
from .selectors import PERSON_TYPE, require_amendment

ACKNOWLEDGE_WORKING_DAYS = 10
DECIDE_WORKING_DAYS = 30
MAX_TEXT = 2000
CATEGORY = Category.AMENDMENT
RECORD_TYPE = record_type_of(AmendmentRequest)
WHAT = "amendment request"

__all__ = [
    "DISCLOSURE_CATEGORIES",
    "acknowledge_amendment",
    "amendment_clock",
    "decide_amendment",
    "file_statement",
    "mark_corrected",
    "request_amendment",
    "responsible_officer",
]


def amendment_clock(submitted_at: datetime, time_zone: str) -> tuple[date, date]:
    """(acknowledgement due, decision due): 10 and 30 working days after the day of receipt in
    the office's time zone, skipping weekends and U.S. federal holidays as observed."""
    day = local_date(submitted_at, time_zone)
    return (
        add_business_days(day, ACKNOWLEDGE_WORKING_DAYS),
        add_business_days(day, DECIDE_WORKING_DAYS),
    )


def _text(value: Any, field: str, label: str) -> str:
    text = (value if isinstance(value, str) else "").strip()
    if not text:
        raise ValidationError(
            f"{label} is required: it cannot be empty.", field=field, code="empty"
        )
    if len(text) > MAX_TEXT:
        raise ValidationError(
            f"{label} is too long: at most {MAX_TEXT} characters (you gave {len(text)}).",
            field=field,
            code="too_long",
        )
    if any(ord(ch) < 32 and ch not in "\t\n\r" or ord(ch) == 127 for ch in text):
        raise ValidationError(
            f"{label} must not contain control characters.", field=field, code="invalid"
        )
    return text


def _own_person(ctx: AccessContext, person_id: Any, action: str) -> Any:
    """The person whose record the requester may act on: a participant's own, a
    representative's client. Anything else: a denial event and NotFound."""
    if person_id in (None, "") and policies.scope(ctx.user) is Scope.SELF:
        person = visible_persons(ctx).first()
        if person is None:
            raise deny(ctx, action=action, category=CATEGORY, record_type=PERSON_TYPE,
                       record_id="self")
        return person
    return require_person(ctx, person_id, category=CATEGORY, action=action)


def request_amendment(
    *, ctx: AccessContext, person_id: Any = None, category: Any, what_is_wrong: Any, correction: Any
) -> AmendmentRequest:
    """A participant (their own record) or representative (a client's) asks to amend one
    named part of the record. The clock starts at receipt."""
    policies.require(
        ctx, Ability.REQUEST_AMENDMENT, action=Action.REQUEST, category=CATEGORY,
        record_type=PERSON_TYPE, record_id=person_id or "self", subject_id=person_id,
        message="Amendment requests are made by the person or their representative of record.",
    )
    person = _own_person(ctx, person_id, Action.CREATE)
    if category not in AmendmentCategory.values:
        raise ValidationError(
            f"Unknown part of the record {str(category)[:40]!r}; choose one of: "
            f"{', '.join(AmendmentCategory.values)}.",
            field="category",
            code="unknown_category",
        )
    wrong = _text(what_is_wrong, "what_is_wrong", "What is wrong")
    wanted = _text(correction, "correction", "The correction asked for")
    now = clock.now()
    ack_due, decision_due = amendment_clock(now, person.office.time_zone)
    with transaction.atomic():
        request = AmendmentRequest.objects.create(
            person=person,
            requested_by=ctx.user,
            requester_role=ctx.user.role,
            category=category,
            what_is_wrong=wrong,
            correction=wanted,
            submitted_at=now,
            acknowledge_due=ack_due,
            decision_due=decision_due,
        )
        _record(
            ctx,
            request,
            Action.REQUEST,
            {"acknowledge_due": ack_due.isoformat(), "decision_due": decision_due.isoformat()},
        )
    return request


def _record(ctx: AccessContext, request: AmendmentRequest, action: str,
            detail: dict[str, Any]) -> None:
    """The event of a step of an amendment request, inside the step's transaction: its detail
    names the part of the record (the person's history and the overdue review read it)."""
    record_write(
        actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id, task=ctx.task,
        action=action, category=CATEGORY, subject_id=request.person_id,
        record_type=RECORD_TYPE, record_id=request.pk,
        detail={"category": request.category, **detail},
    )


def _locked(found: AmendmentRequest) -> AmendmentRequest:
    return AmendmentRequest.objects.select_for_update().select_related("person").get(pk=found.pk)


def _refuse(ctx: AccessContext, request_id: Any, action: str, message: str,
            code: str = "role") -> PermissionDenied:
    """A refused role (or step) on an amendment request: one denied event naming its person."""
    return refuse_role(ctx, action=action, category=CATEGORY, record_type=RECORD_TYPE,
                       record_id=request_id, message=message, code=code,
                       subject_id=policies.person_of(AmendmentRequest, request_id))


def _require(ctx: AccessContext, ability: Ability, request_id: Any, action: str,
             message: str) -> None:
    """`policies.require` for a step on an amendment request (its person named only when
    refused, so an allowed step costs no query)."""
    if not policies.allows(ctx.user, ability):
        raise _refuse(ctx, request_id, action, message)


def acknowledge_amendment(*, ctx: AccessContext, request_id: Any) -> AmendmentRequest:
    """Tell the requester the request was received and is being considered."""
    _require(ctx, Ability.DECIDE_AMENDMENT, request_id, Action.ACKNOWLEDGE,
             "Only a privacy officer acknowledges amendment requests.")
    # Found before the step's transaction, so that a denial's event survives its rollback.
    found = require_amendment(ctx, request_id, action=Action.ACKNOWLEDGE, act=Act.DECIDE)
    with transaction.atomic():
        request = _locked(found)
        if request.status != AmendmentStatus.RECEIVED:
            raise Conflict(
                f"This request is already {request.status}; it is acknowledged once.",
                code="already_acknowledged",
            )
        now = clock.now()
        update_versioned(
            request, None, where=Q(status=AmendmentStatus.RECEIVED), what=WHAT,
            status=AmendmentStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=ctx.user,
        )
        _record(
            ctx,
            request,
            Action.ACKNOWLEDGE,
            {"late": local_date(now, request.person.office.time_zone) > request.acknowledge_due},
        )
    return request


def responsible_officer(person_id: Any) -> User | None:
    """The person's case officer (open caseload assignment), else the officer of an active
    enrolment."""
    from caseledger.accounts.models import CaseloadAssignment
    from caseledger.supervision.models import Enrolment, EnrolmentStatus

    assignment = (
        CaseloadAssignment.objects.filter(person_id=person_id, ended_at__isnull=True)
        .select_related("officer")
        .first()
    )
    if assignment and assignment.officer.is_active:
        return assignment.officer
    enrolment = (
        Enrolment.objects.filter(person_id=person_id, status=EnrolmentStatus.ACTIVE)
        .select_related("officer")
        .first()
    )
    return enrolment.officer if enrolment and enrolment.officer.is_active else None


def decide_amendment(
    *, ctx: AccessContext, request_id: Any, decision: Any, reasons: Any
) -> AmendmentRequest:
    """Grant or refuse, with reasons. A grant tells the responsible officer to make the
    correction and notifies every earlier recipient of the categories concerned; a refusal
    opens the person's right to file a statement of disagreement."""
    _require(ctx, Ability.DECIDE_AMENDMENT, request_id, Action.DECIDE,
             "Only a privacy officer decides amendment requests.")
    if decision not in ("grant", "refuse"):
        raise ValidationError(
            "The decision is 'grant' or 'refuse'.", field="decision", code="unknown_decision"
        )
    text = _text(reasons, "reasons", "The reasons for the decision")
    found = require_amendment(ctx, request_id, action=Action.DECIDE, act=Act.DECIDE)
    with transaction.atomic():
        request = _locked(found)
        if request.status in (AmendmentStatus.GRANTED, AmendmentStatus.REFUSED):
            raise Conflict(
                f"This request was already decided ({request.status}); a decision is made once.",
                code="already_decided",
            )
        now = clock.now()
        status = AmendmentStatus.GRANTED if decision == "grant" else AmendmentStatus.REFUSED
        fields: dict[str, Any] = {"status": status, "decided_at": now, "decided_by": ctx.user,
                                  "decision_reasons": text}
        if request.acknowledged_at is None:  # a decision also acknowledges
            fields.update(acknowledged_at=now, acknowledged_by=ctx.user)
        detail: dict[str, Any] = {
            "decision": status,
            "late": local_date(now, request.person.office.time_zone) > request.decision_due,
        }
        if decision == "grant":
            officer = responsible_officer(request.person_id)
            fields["correction_officer"] = officer
            detail["correction_officer"] = str(officer.pk) if officer else None
        update_versioned(request, None, where=~Q(status__in=[AmendmentStatus.GRANTED,
                                                            AmendmentStatus.REFUSED]),
                         what=WHAT, **fields)
        _record(ctx, request, Action.DECIDE, detail)
        if decision == "grant":
            request.recipients_notified = _notify_recipients(ctx, request)
            request.save(update_fields=["recipients_notified", "updated_at"])
    return request


def _notify_recipients(ctx: AccessContext, request: AmendmentRequest) -> int:
    """Notify every earlier recipient of the corrected categories (5 U.S.C. 552a(c)(4)). Only
    a person named in a disclosure request can have earlier recipients; the privacy office
    keeps every request and the accounting of its person (`policies.PERSON_PATHS`), with no
    grant on the rest of the record."""
    named = DisclosureRequest.objects.filter(person_id=request.person_id)
    if not policies.restrict(named, ctx).exists():
        return 0
    notices = disclosures.notify_prior_recipients(
        ctx,
        person_id=request.person_id,
        categories=DISCLOSURE_CATEGORIES[request.category],
        reason=f"Amendment granted ({request.category}), request {request.pk}",
    )
    return len(notices)


def mark_corrected(*, ctx: AccessContext, request_id: Any) -> AmendmentRequest:
    """The responsible officer (or a supervisor of the office) reports the correction made."""
    _require(ctx, Ability.MAKE_CORRECTION, request_id, Action.CORRECT,
             "The responsible officer reports the correction made.")
    found = require_amendment(ctx, request_id, action=Action.CORRECT, act=Act.CHANGE)
    # The officer asked to correct is set by the decision and never changes afterwards; an
    # officer of a caseload makes only the corrections asked of them, a supervisor any.
    if policies.scope(ctx.user) is Scope.CASELOAD and found.correction_officer_id not in (
        None,
        ctx.user.pk,
    ):
        raise _refuse(ctx, found.pk, Action.CORRECT,
                      "Another officer was asked to make this correction.", code="not_assigned")
    with transaction.atomic():
        request = _locked(found)
        if request.status != AmendmentStatus.GRANTED:
            raise Conflict("Only a granted request has a correction to make.", code="not_granted")
        if request.corrected_at is not None:
            raise Conflict("The correction was already reported made.", code="already_corrected")
        update_versioned(request, None, where=Q(corrected_at__isnull=True), what=WHAT,
                         corrected_at=clock.now())
        _record(ctx, request, Action.CORRECT, {})
    return request


def file_statement(*, ctx: AccessContext, request_id: Any, text: Any) -> DisagreementStatement:
    """The person's (or their representative's) statement of disagreement with a refusal."""
    _require(
        ctx, Ability.REQUEST_AMENDMENT, request_id, Action.DISAGREE,
        "A statement of disagreement is filed by the person or their representative of record.",
    )
    request = require_amendment(ctx, request_id, action=Action.CREATE)
    body = _text(text, "text", "The statement")
    with transaction.atomic():
        request = AmendmentRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != AmendmentStatus.REFUSED:
            raise Conflict(
                "A statement of disagreement can be filed only when an amendment "
                f"request was refused (this one is {request.status}).",
                code="not_refused",
            )
        if DisagreementStatement.objects.filter(request=request).exists():
            raise Conflict(
                "A statement of disagreement is already attached to this request.",
                code="statement_exists",
            )
        statement = DisagreementStatement.objects.create(
            request=request,
            person_id=request.person_id,
            text=body,
            filed_by=ctx.user,
            filed_at=clock.now(),
        )
        record_write(
            actor=ctx.actor,
            action=Action.DISAGREE,
            category=CATEGORY,
            purpose=ctx.purpose,
            subject_id=request.person_id,
            record_type=record_type_of(DisagreementStatement),
            record_id=statement.pk,
            request_id=ctx.request_id,
            task=ctx.task,
            detail={"request": str(request.pk), "category": request.category, "chars": len(body)},
        )
        # A notation of dispute goes to every earlier recipient of the disputed part, like a
        # correction (5 U.S.C. 552a(c)(4)); their notices carry no text of the statement.
        # Created in this transaction (the statement and its notices stand or fall together)
        # and delivered once it commits.
        disclosures.notify_prior_recipients(
            ctx,
            person_id=request.person_id,
            categories=DISCLOSURE_CATEGORIES[request.category],
            reason=f"Statement of disagreement filed ({request.category}), request {request.pk}",
        )
    return statement
