"""Face templates derived again when the verifier's template form changes.

A template is only comparable with probes of the same form (`ReferencePhoto.model_id`). When
the form changes (2026-12: the chip and its mirror became three crops and their mirrors), the
enrolment photo, kept encrypted beside the template, is embedded again with the current
verifier and its template replaced: one photo at a time, the embedding outside any
transaction (about 0.6 s), then one short transaction that re-checks the row and writes the
template with its ledger event. A system job, run once after an upgrade by
`caseledger supervision templates --rederive`; `caseledger supervision templates` only counts.

Each enrolment photo opened leaves an event with its person: an update when the template was
replaced, a read otherwise (the current verifier refused the photo, whose template is then
left as it was and still used by check-ins, so the officer should take a new photo; or the
row changed while the photo was being embedded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from caseledger.biometrics import verifier as faces
from caseledger.core.errors import Conflict
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import SYSTEM, record_read, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose, record_type_of

from ..models import ReferencePhoto
from ..sealing import seal, unseal

#: What `rederive_template` did with one photo.
REDERIVED = "rederived"
ALREADY_CURRENT = "current"  # no longer active or stale when its turn came
CHANGED_MEANWHILE = "changed"  # the row changed between the embedding and the write


@dataclass
class TemplateCounts:
    """Active enrolment photos by template form, and what a run did with the stale ones."""

    model_id: str  # the current verifier's
    current: int = 0
    stale_by_model: dict[str, int] = field(default_factory=dict)
    rederived: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # outcome -> photos left as they were
    skipped: int = 0  # changed or ended while the job ran

    @property
    def stale(self) -> int:
        return sum(self.stale_by_model.values())


def _stale(model_id: str) -> Any:
    return ReferencePhoto.objects.filter(active=True).exclude(model_id=model_id)


def template_counts(verifier: faces.FaceVerifier | None = None) -> TemplateCounts:
    """How many active enrolment photos have a template of the current form, and how many
    of another (by model id)."""
    model_id = (verifier or faces.get_verifier()).model_id
    by_model = dict(
        ReferencePhoto.objects.filter(active=True)
        .values("model_id")
        .annotate(n=Count("pk"))
        .order_by("model_id")
        .values_list("model_id", "n")
    )
    current = by_model.pop(model_id, 0)
    return TemplateCounts(model_id=model_id, current=current, stale_by_model=by_model)


def rederive_templates(
    *,
    verifier: faces.FaceVerifier | None = None,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> TemplateCounts:
    """Derive again every active template of another form than the current verifier's.
    Idempotent: a second run finds nothing to do. ``progress(total)`` returns the callable
    to call after each photo (a progress bar)."""
    verifier = verifier or faces.get_verifier()
    counts = template_counts(verifier)
    ids = list(_stale(counts.model_id).order_by("created_at", "pk").values_list("pk", flat=True))
    advance = progress(len(ids)) if progress else None
    for pk in ids:
        outcome = rederive_template(pk, verifier)
        if outcome == REDERIVED:
            counts.rederived += 1
        elif outcome in (ALREADY_CURRENT, CHANGED_MEANWHILE):
            counts.skipped += 1
        else:
            counts.refused[outcome] += 1
        if advance:
            advance()
    return counts


def rederive_template(photo_id: Any, verifier: faces.FaceVerifier) -> str:
    """One enrolment photo's template derived again: REDERIVED, ALREADY_CURRENT,
    CHANGED_MEANWHILE, or the verifier's outcome code when it refused the photo."""
    row = (
        _stale(verifier.model_id)
        .filter(pk=photo_id)
        .select_related("enrolment")
        .only("id", "row_version", "model_id", "photo_encrypted", "enrolment__person_id")
        .first()
    )
    if row is None:
        return ALREADY_CURRENT
    person_id, previous = row.enrolment.person_id, row.model_id
    event = {
        "actor": SYSTEM,
        "purpose": Purpose.SUPERVISION,
        "category": Category.BIOMETRIC,
        "subject_id": person_id,
        "record_type": record_type_of(ReferencePhoto),
        "record_id": row.pk,
    }
    analysis = verifier.embed(unseal(row.photo_encrypted, row.pk, "enrolment_photo"))

    def opened_only(outcome: str) -> str:
        """The photo was opened and nothing written: the read's own event."""
        detail = {"model": verifier.model_id, "template_model": previous, "outcome": outcome}
        record_read(action=Action.READ, detail=detail, **event)
        return outcome

    if not analysis.ok:
        return opened_only(analysis.outcome)
    try:
        with transaction.atomic():
            update_versioned(
                row,
                None,
                where=Q(active=True, model_id=previous),
                what="enrolment photo",
                template_encrypted=seal(analysis.template(), row.pk, "face_template"),
                model_id=analysis.model_id,
                quality=analysis.measures(),
            )
            record_write(
                action=Action.UPDATE,
                detail={"model": analysis.model_id, "previous_model": previous},
                **event,
            )
    except Conflict:  # it changed or ended while it was being embedded: left to the next run
        return opened_only(CHANGED_MEANWHILE)
    return REDERIVED
