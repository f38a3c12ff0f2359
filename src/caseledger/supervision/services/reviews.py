"""Reviews: a person looks at every failed or missed check-in, and their disposition is the
only thing that changes a participant's compliance (invariant 3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from caseledger.access import policies
from caseledger.access.context import AccessContext, Purpose
from caseledger.access.policies import Ability
from caseledger.core import clock
from caseledger.core.errors import ValidationError
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import Actor, record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..models import CheckIn, Compliance, Disposition, Enrolment, Review
from ..selectors import require_review

DISPOSITION_COMPLIANCE = {
    Disposition.VERIFIED_BY_REVIEW: Compliance.COMPLIANT,
    Disposition.TECHNICAL_PROBLEM: Compliance.COMPLIANT,
    Disposition.NEEDS_CONTACT: Compliance.NEEDS_CONTACT,
    Disposition.SUSPECTED_IMPERSONATION: Compliance.NON_COMPLIANT,
}


def open_review(
    enrolment: Enrolment,
    window_opens_at: datetime,
    kind: str,
    checkin: CheckIn | None,
    now: datetime,
    actor: Actor,
) -> Review | None:
    """One review per window: a later failure in the same window joins the first. Inside
    the transaction of what opened it (a failed check-in, the sweep); the event's purpose is
    the check-in schedule's, whoever's action opened it."""
    if Review.objects.filter(enrolment=enrolment, window_opens_at=window_opens_at).exists():
        return None
    review = Review.objects.create(
        enrolment=enrolment,
        checkin=checkin,
        window_opens_at=window_opens_at,
        kind=kind,
        opened_at=now,
        due_at=now + timedelta(hours=settings.REVIEW_SLA_HOURS),
    )
    record_write(actor=actor, purpose=Purpose.SUPERVISION, action=Action.CREATE,
                 category=Category.SUPERVISION, subject_id=enrolment.person_id,
                 record_type=record_type_of(Review), record_id=review.pk, detail={"kind": kind})
    return review


def dispose_review(
    *, ctx: AccessContext, review_id: Any, disposition: str, note: str = ""
) -> Review:
    """A person's decision on a review: the only way compliance changes."""
    if disposition not in Disposition.values:
        raise ValidationError(
            f"Unknown disposition '{disposition}'. Use one of: {', '.join(Disposition.values)}.",
            field="disposition",
        )
    policies.require(ctx, Ability.SUPERVISE, action=Action.UPDATE, category=Category.SUPERVISION,
                     record_type=record_type_of(Review), record_id=review_id,
                     subject_id=policies.person_of(Review, review_id),
                     message="Only case officers and supervisors decide reviews.")
    review = require_review(ctx, review_id, action=Action.UPDATE)
    if disposition == Disposition.SUSPECTED_IMPERSONATION and len(note.strip()) < 20:
        raise ValidationError(
            "Explain a suspected impersonation in at least 20 characters.", field="note"
        )
    now = clock.now()
    enrolment = review.enrolment
    before, after = enrolment.compliance, DISPOSITION_COMPLIANCE[disposition]
    with transaction.atomic():
        update_versioned(
            review, None, where=Q(disposition=""), what="review",
            conflict_message="This review has already been decided.",
            conflict_code="already_decided",
            disposition=disposition, decided_by=ctx.user, decided_at=now, note=note.strip()[:2000],
        )
        update_versioned(enrolment, None, what="enrolment", compliance=after)
        CheckIn.objects.filter(
            enrolment=enrolment,
            window_opens_at=review.window_opens_at,
            image_encrypted__isnull=False,
        ).update(
            image_delete_after=(now + timedelta(days=settings.FAILED_IMAGE_RETENTION_DAYS)).date()
        )
        # A burst's other frames were kept for this review only: they go with its decision
        # (the key frame stays, as a failed check's photo, until its retention date).
        bursts_cleared = CheckIn.objects.filter(
            enrolment=enrolment,
            window_opens_at=review.window_opens_at,
            frames_encrypted__isnull=False,
        ).update(frames_encrypted=None)
        record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                     action=Action.DECIDE, category=Category.SUPERVISION,
                     subject_id=enrolment.person_id, record_type=record_type_of(Review),
                     record_id=review.pk,
                     detail={"disposition": disposition, "compliance_before": before,
                             "compliance_after": after, "burst_frames_deleted": bursts_cleared})
    return review
