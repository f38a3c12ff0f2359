"""Consent: the notice a person was given at enrolment, bound by its version and hash, with
the alternatives they were offered."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from caseledger.access.context import AccessContext
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..consent import Notice
from ..models import Consent, Enrolment


def record_consent(
    ctx: AccessContext, enrolment: Enrolment, notice: Notice, *, alternatives: Iterable[str],
    at: datetime,
) -> Consent:
    """Store the acknowledgement of `notice` with its event; inside the enrolment's
    transaction (the caller has checked the alternatives)."""
    consent = Consent.objects.create(
        enrolment=enrolment,
        language=notice.language,
        notice_version=notice.version,
        notice_sha256=notice.sha256,
        acknowledged_at=at,
        alternatives_offered=sorted(set(alternatives)),
    )
    # The event names the enrolment (its one consent), as it always has.
    record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                 action=Action.CREATE, category=Category.CONSENT,
                 subject_id=enrolment.person_id, record_type=record_type_of(Consent),
                 record_id=enrolment.pk,
                 detail={"notice": notice.version, "language": notice.language,
                         "sha256": notice.sha256})
    return consent
