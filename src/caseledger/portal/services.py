"""Writes of the portal: amendment requests, their acknowledgement and decision, the
correction, and statements of disagreement. Each step validates, changes its rows and writes
one ledger event (category "amendment") in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction

from caseledger.access.context import AccessContext
from caseledger.access.gate import (
    deny,
    refuse_role,
    require_person,
    require_related,
    subject_of,
    visible_persons,
)
from caseledger.accounts.models import Role, User
from caseledger.cases.deadlines import add_business_days, local_date
from caseledger.core import clock
from caseledger.core.errors import Conflict, PermissionDenied, ValidationError
from caseledger.ledger.services import record_event

from .models import AmendmentCategory, AmendmentRequest, AmendmentStatus, DisagreementStatement

ACKNOWLEDGE_WORKING_DAYS = 10
DECIDE_WORKING_DAYS = 30
MAX_TEXT = 2000
REQUESTER_ROLES = frozenset({Role.PARTICIPANT, Role.REPRESENTATIVE})
DECIDER_ROLES = frozenset({Role.PRIVACY_OFFICER})
CORRECTOR_ROLES = frozenset({Role.CASE_OFFICER, Role.SUPERVISOR})
CATEGORY = "amendment"
RECORD_TYPE = "portal.amendmentrequest"

# Data categories of the accounting of disclosures that an amended part of the record touches:
# the earlier recipients of these are told of a granted correction.
DISCLOSURE_CATEGORIES: dict[str, list[str]] = {
    AmendmentCategory.IDENTITY: ["identity"],
    AmendmentCategory.LANGUAGE: ["identity"],
    AmendmentCategory.ADDRESS: ["addresses"],
    AmendmentCategory.CONTACT: ["contacts"],
    AmendmentCategory.CASE: ["cases"],
    AmendmentCategory.HEARING: ["hearings"],
    AmendmentCategory.DECISION: ["decisions"],
    AmendmentCategory.SUPERVISION: ["check_ins", "review_dispositions"],
}


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


def _event(
    ctx: AccessContext, request: AmendmentRequest, action: str, detail: dict[str, Any]
) -> None:
    record_event(
        actor=ctx.actor,
        action=action,
        category=CATEGORY,
        purpose=ctx.purpose,
        subject_id=request.person_id,
        record_type=RECORD_TYPE,
        record_id=request.pk,
        request_id=ctx.request_id,
        detail={"category": request.category, **detail},
    )


def _own_person(ctx: AccessContext, person_id: Any, action: str) -> Any:
    """The person whose record the requester may act on: a participant's own, a
    representative's client. Anything else: a denial event and NotFound."""
    if ctx.user.role == Role.PARTICIPANT and person_id in (None, ""):
        person = visible_persons(ctx).first()
        if person is None:
            raise deny(
                ctx, action=action, category=CATEGORY, record_type="people.person", record_id="self"
            )
        return person
    return require_person(ctx, person_id, category=CATEGORY, action=action)


def request_amendment(
    *, ctx: AccessContext, person_id: Any = None, category: Any, what_is_wrong: Any, correction: Any
) -> AmendmentRequest:
    """A participant (their own record) or representative (a client's) asks to amend one
    named part of the record. The clock starts at receipt."""
    if ctx.user.role not in REQUESTER_ROLES:
        raise refuse_role(
            ctx, action="request", category=CATEGORY, record_type="people.person",
            record_id=person_id or "self", subject_id=person_id,
            message="Amendment requests are made by the person or their representative of "
            "record.",
        )
    person = _own_person(ctx, person_id, "create")
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
        _event(
            ctx,
            request,
            "request",
            {"acknowledge_due": ack_due.isoformat(), "decision_due": decision_due.isoformat()},
        )
    return request


def _found(ctx: AccessContext, request_id: Any, action: str) -> AmendmentRequest:
    """The request if the context may act on it (a denial event and NotFound otherwise).
    Called before the step's transaction, so that a denial's event survives its rollback."""
    from .selectors import require_amendment

    return require_amendment(ctx, request_id, action=action)


def _locked(found: AmendmentRequest) -> AmendmentRequest:
    return AmendmentRequest.objects.select_for_update().select_related("person").get(pk=found.pk)


def _refuse(ctx: AccessContext, request_id: Any, action: str, message: str,
            code: str = "role") -> PermissionDenied:
    """A refused role (or step) on an amendment request: one denied event naming its person."""
    return refuse_role(ctx, action=action, category=CATEGORY, record_type=RECORD_TYPE,
                       record_id=request_id, message=message, code=code,
                       subject_id=subject_of(AmendmentRequest, request_id))


def acknowledge_amendment(*, ctx: AccessContext, request_id: Any) -> AmendmentRequest:
    """Tell the requester the request was received and is being considered."""
    if ctx.user.role not in DECIDER_ROLES:
        raise _refuse(ctx, request_id, "acknowledge",
                      "Only a privacy officer acknowledges amendment requests.")
    found = _found(ctx, request_id, "acknowledge")
    with transaction.atomic():
        request = _locked(found)
        if request.status != AmendmentStatus.RECEIVED:
            raise Conflict(
                f"This request is already {request.status}; it is acknowledged once.",
                code="already_acknowledged",
            )
        now = clock.now()
        request.status = AmendmentStatus.ACKNOWLEDGED
        request.acknowledged_at, request.acknowledged_by = now, ctx.user
        request.row_version += 1
        request.save(
            update_fields=[
                "status",
                "acknowledged_at",
                "acknowledged_by",
                "row_version",
                "updated_at",
            ]
        )
        _event(
            ctx,
            request,
            "acknowledge",
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
    if ctx.user.role not in DECIDER_ROLES:
        raise _refuse(ctx, request_id, "decide",
                      "Only a privacy officer decides amendment requests.")
    if decision not in ("grant", "refuse"):
        raise ValidationError(
            "The decision is 'grant' or 'refuse'.", field="decision", code="unknown_decision"
        )
    text = _text(reasons, "reasons", "The reasons for the decision")
    found = _found(ctx, request_id, "decide")
    with transaction.atomic():
        request = _locked(found)
        if request.status in (AmendmentStatus.GRANTED, AmendmentStatus.REFUSED):
            raise Conflict(
                f"This request was already decided ({request.status}); a decision is made once.",
                code="already_decided",
            )
        now = clock.now()
        if request.acknowledged_at is None:  # a decision also acknowledges
            request.acknowledged_at, request.acknowledged_by = now, ctx.user
        request.status = AmendmentStatus.GRANTED if decision == "grant" else AmendmentStatus.REFUSED
        request.decided_at, request.decided_by = now, ctx.user
        request.decision_reasons = text
        detail: dict[str, Any] = {
            "decision": request.status,
            "late": local_date(now, request.person.office.time_zone) > request.decision_due,
        }
        if decision == "grant":
            officer = responsible_officer(request.person_id)
            request.correction_officer = officer
            detail["correction_officer"] = str(officer.pk) if officer else None
        request.row_version += 1
        request.save()
        _event(ctx, request, "decide", detail)
        if decision == "grant":
            request.recipients_notified = _notify_recipients(ctx, request)
            request.save(update_fields=["recipients_notified", "updated_at"])
    return request


def _notify_recipients(ctx: AccessContext, request: AmendmentRequest) -> int:
    """Notify every earlier recipient of the corrected categories (5 U.S.C. 552a(c)(4)). Only
    a person named in a disclosure request can have earlier recipients; the privacy officer
    reaches their accounting as its keeper, with no grant on the rest of the record."""
    from caseledger.disclosures.models import DisclosureRequest
    from caseledger.disclosures.services import notify_prior_recipients

    if not DisclosureRequest.objects.filter(person_id=request.person_id).exists():
        return 0
    notices = notify_prior_recipients(
        ctx,
        person_id=request.person_id,
        categories=DISCLOSURE_CATEGORIES[request.category],
        reason=f"Amendment granted ({request.category}), request {request.pk}",
    )
    return len(notices)


def mark_corrected(*, ctx: AccessContext, request_id: Any) -> AmendmentRequest:
    """The responsible officer (or a supervisor of the office) reports the correction made."""
    if ctx.user.role not in CORRECTOR_ROLES:
        raise _refuse(ctx, request_id, "correct",
                      "The responsible officer reports the correction made.")
    found = _found(ctx, request_id, "correct")
    # The officer asked to correct is set by the decision and never changes afterwards.
    if ctx.user.role == Role.CASE_OFFICER and found.correction_officer_id not in (
        None,
        ctx.user.pk,
    ):
        raise _refuse(ctx, found.pk, "correct",
                      "Another officer was asked to make this correction.", code="not_assigned")
    with transaction.atomic():
        request = _locked(found)
        if request.status != AmendmentStatus.GRANTED:
            raise Conflict("Only a granted request has a correction to make.", code="not_granted")
        if request.corrected_at is not None:
            raise Conflict("The correction was already reported made.", code="already_corrected")
        request.corrected_at = clock.now()
        request.row_version += 1
        request.save(update_fields=["corrected_at", "row_version", "updated_at"])
        _event(ctx, request, "correct", {})
    return request


def file_statement(*, ctx: AccessContext, request_id: Any, text: Any) -> DisagreementStatement:
    """The person's (or their representative's) statement of disagreement with a refusal."""
    if ctx.user.role not in REQUESTER_ROLES:
        raise _refuse(
            ctx, request_id, "disagree",
            "A statement of disagreement is filed by the person or their representative of "
            "record.",
        )
    request = require_related(
        ctx,
        AmendmentRequest,
        request_id,
        person_path="person",
        record_type=RECORD_TYPE,
        category=CATEGORY,
        action="create",
        related=("person",),
    )
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
        record_event(
            actor=ctx.actor,
            action="disagree",
            category=CATEGORY,
            purpose=ctx.purpose,
            subject_id=request.person_id,
            record_type="portal.disagreementstatement",
            record_id=statement.pk,
            request_id=ctx.request_id,
            detail={"request": str(request.pk), "category": request.category, "chars": len(body)},
        )
        # A notation of dispute goes to every earlier recipient of the disputed part, like a
        # correction (5 U.S.C. 552a(c)(4)); their notices carry no text of the statement.
        # Created in this transaction (the statement and its notices stand or fall together)
        # and delivered once it commits.
        from caseledger.disclosures.services import notify_prior_recipients

        notify_prior_recipients(
            ctx,
            person_id=request.person_id,
            categories=DISCLOSURE_CATEGORIES[request.category],
            reason=f"Statement of disagreement filed ({request.category}), request {request.pk}",
        )
    return statement
