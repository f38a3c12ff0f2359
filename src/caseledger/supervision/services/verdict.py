"""What a check-in's face check decided (`Verdict`), and how a try is refused (`Refuse`):
shared by the single-photo path (`checkins.py`) and the liveness burst (`bursts.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from caseledger.access.context import AccessContext
from caseledger.core.errors import DomainError
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import record_refusal
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..models import Enrolment, ReviewKind


@dataclass(frozen=True)
class Refuse:
    """Refuse a check-in: one failed event naming the person, in its own transaction (so it
    survives the rollback of a refused write), then the error. Bound to the submission, so
    each refusal of the path is one call; `detail` adds codes and ids (a challenge's id)."""

    ctx: AccessContext
    enrolment: Enrolment

    def __call__(
        self,
        error: DomainError,
        *,
        subject_id: Any = None,
        record: tuple[str, Any] | None = None,
        **detail: Any,
    ) -> NoReturn:
        """`subject_id` and `record` name another person and record than the participant's
        own enrolment (another participant's challenge sent with this try)."""
        record_type, record_id = record or (record_type_of(Enrolment), self.enrolment.pk)
        record_refusal(actor=self.ctx.actor, purpose=self.ctx.purpose,
                       request_id=self.ctx.request_id, action=Action.CHECKIN,
                       category=Category.SUPERVISION, outcome=Outcome.FAILED,
                       subject_id=subject_id or self.enrolment.person_id,
                       record_type=record_type, record_id=record_id,
                       detail={"reason": error.code, **detail})
        raise error


@dataclass(frozen=True)
class Verdict:
    """What the face check of one try decided, in the form a check-in row stores it: from a
    single photo's 1:1 Decision or from a liveness burst (`bursts.verdict`)."""

    verified: bool
    face_outcome: str
    distance: float | None
    model_id: str
    threshold: float
    threshold_version: str
    quality: dict[str, Any]
    key_image: bytes  # kept encrypted when the try is not verified
    review_kind: str = ReviewKind.FAILED_CHECK
    retake_allowed: bool = False  # a failed check may first ask for one retake
    other_frames: tuple[bytes, ...] = ()  # a burst's other frames, kept while a review needs them
    liveness_outcome: str = ""
    liveness_reason: str = ""
    liveness: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)  # added to the check-in's event

    @classmethod
    def of_photo(cls, decision: Any, image: bytes) -> Verdict:
        """A single photo, as before liveness: a non-match goes to review at once."""
        return cls(decision.match, decision.outcome, decision.distance, decision.model_id,
                   decision.threshold, decision.threshold_version, dict(decision.quality),
                   image)
