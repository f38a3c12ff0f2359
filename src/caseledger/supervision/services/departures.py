"""Departure: a confirmed departure ends supervision and closes the case as departed."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.policies import Ability, Act
from caseledger.cases.models import MOST_RECENT_FIRST, Case, CaseStatus
from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..models import (
    CheckIn,
    CheckInOutcome,
    Departure,
    DepartureKind,
    Enrolment,
    EnrolmentStatus,
    EvidenceKind,
)
from ..sealing import seal
from ..selectors import require_enrolment
from .enrolment import end_enrolment


def _check_departure_input(kind: str, evidence_kind: str) -> None:
    if kind not in DepartureKind.values:
        raise ValidationError(f"Unknown departure kind '{kind}'.", field="kind")
    if evidence_kind not in EvidenceKind.values:
        raise ValidationError(f"Unknown evidence '{evidence_kind}'.", field="evidence_kind")


def _evidence_checkin(
    enrolment: Enrolment, evidence_kind: str, evidence_reference: str,
    evidence_file: bytes | None, checkin_id: Any,
) -> CheckIn | None:
    """The verified check-in the evidence names (a check-in abroad), after checking that the
    evidence of its kind is there."""
    checkin = None
    if evidence_kind == EvidenceKind.CHECKIN_ABROAD:
        checkin = (
            CheckIn.objects.filter(
                pk=checkin_id, enrolment=enrolment, outcome=CheckInOutcome.VERIFIED
            ).first()
            if checkin_id
            else None
        )
        if checkin is None:
            raise ValidationError(
                "Choose a face-verified check-in of this participant.", field="checkin"
            )
    elif evidence_kind == EvidenceKind.BOARDING_DOCUMENT and not evidence_file:
        raise ValidationError("Attach the boarding document.", field="evidence_file")
    elif evidence_kind == EvidenceKind.CONSULAR and len(evidence_reference.strip()) < 3:
        raise ValidationError(
            "Give the consular verification reference.", field="evidence_reference"
        )
    if evidence_file is not None and len(evidence_file) > settings.FACE_MAX_UPLOAD_BYTES:
        raise ValidationError(
            "The evidence file is too large (8 MB at most).", field="evidence_file"
        )
    return checkin


def confirm_departure(
    *,
    ctx: AccessContext,
    enrolment_id: Any,
    kind: str,
    evidence_kind: str,
    departed_on: date,
    evidence_reference: str = "",
    evidence_file: bytes | None = None,
    checkin_id: Any = None,
    case_id: Any = None,
) -> Departure:
    """Record a confirmed departure: supervision ends and the case closes as departed."""
    policies.require(ctx, Ability.SUPERVISE, action=Action.UPDATE, category=Category.SUPERVISION,
                     record_type=record_type_of(Enrolment), record_id=enrolment_id,
                     subject_id=policies.person_of(Enrolment, enrolment_id),
                     message="Only case officers and supervisors confirm departures.")
    _check_departure_input(kind, evidence_kind)
    enrolment = require_enrolment(ctx, enrolment_id, action=Action.UPDATE)
    # today at the person's office, as the form offers it; UTC's date is a day ahead there in
    # an American evening
    if departed_on > clock.today_in(enrolment.person.office.time_zone):
        raise ValidationError("The departure date cannot be in the future.", field="departed_on")
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict("Supervision has already ended.", code="ended")
    checkin = _evidence_checkin(enrolment, evidence_kind, evidence_reference, evidence_file,
                                checkin_id)
    # The person's open cases that the context may change (`case_id` is the caller's).
    cases = policies.restrict(
        Case.objects.filter(person_id=enrolment.person_id), ctx, Act.CHANGE
    ).exclude(status__in=[CaseStatus.CLOSED, CaseStatus.DEPARTED])
    case = (cases.filter(pk=case_id) if case_id else cases.order_by(*MOST_RECENT_FIRST)).first()
    now = clock.now()
    with transaction.atomic():
        departure = Departure(
            enrolment=enrolment,
            case=case,
            kind=kind,
            evidence_kind=evidence_kind,
            evidence_reference=evidence_reference.strip()[:120],
            checkin=checkin,
            checkin_window_opens_at=checkin.window_opens_at if checkin else None,
            departed_on=departed_on,
            confirmed_by=ctx.user,
            confirmed_at=now,
        )
        if evidence_file:
            departure.evidence_encrypted = seal(evidence_file, departure.pk, "departure_evidence")
        departure.save(force_insert=True)
        end_enrolment(enrolment, now, f"departed_{kind}")
        record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                     action=Action.CREATE, category=Category.SUPERVISION,
                     subject_id=enrolment.person_id, record_type=record_type_of(Departure),
                     record_id=departure.pk,
                     detail={"kind": kind, "evidence": evidence_kind,
                             "case": str(case.pk) if case else None})
        if case is not None:
            _close_case(ctx, case, evidence_kind, kind)
    return departure


def _close_case(ctx: AccessContext, case: Case, evidence_kind: str, kind: str) -> None:
    """The case of a departure: departed, then closed (through the cases service, which
    records both transitions)."""
    from caseledger.cases.services import transition_case
    from caseledger.cases.workflow import TRANSITIONS

    if CaseStatus.DEPARTED not in TRANSITIONS.get(case.status, frozenset()):
        raise Conflict(
            f"The case is '{case.status}' and cannot be marked departed.",
            code="illegal_transition",
        )
    transition_case(ctx=ctx, case_id=case.pk, to_status=CaseStatus.DEPARTED,
                    reason=f"Departure confirmed ({evidence_kind})")
    transition_case(ctx=ctx, case_id=case.pk, to_status=CaseStatus.CLOSED,
                    reason=f"departed_{kind}")
