"""The liveness burst of a check-in: the server's challenge (random head-turn prompts, single
use, bound to the participant and the window open now, two minutes), and the verdict on the
frames recorded while the participant followed it (`biometrics.liveness.check_burst`).

A challenge is issued by `issue_challenge` (a row and a ledger event) and used by the check-in
that names it: an unknown, another participant's, a used or an expired challenge is refused
with a clear 4xx and a refusal event naming its person. It is marked used (a conditional
update, committed at once) before the frames are checked, so a challenge is worth one check
whatever its outcome, and the same challenge cannot be checked twice at the same time.

What the verdict keeps: the liveness outcome, its reason and measures, and the challenge, on
every stored try; the key frame encrypted (as a single photo was) and the other frames
encrypted, only when the try is not verified (they go when its review is decided, or when a
later try of the window is verified).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import override

from caseledger.access import policies
from caseledger.access.context import AccessContext, default_purpose
from caseledger.access.policies import Ability
from caseledger.accounts.models import User
from caseledger.biometrics import liveness
from caseledger.biometrics import verifier as faces
from caseledger.core import clock
from caseledger.core.errors import Conflict, DomainError, NotFound, ValidationError
from caseledger.core.ids import as_uuid
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..models import CheckInChallenge, Enrolment, ReviewKind
from ..selectors import active_enrolment
from .limits import UploadLimits, _over_limit, lock_enrolment
from .verdict import Refuse, Verdict
from .windows import open_window, tries_used

if TYPE_CHECKING:
    from .checkins import _Submission

#: The pace the page records at: a frame every third of a second, the second prompt shown
#: after the fourth frame (MAX_FRAMES frames: 1.65 s, under the two seconds asked for).
FRAME_INTERVAL_MS = 330
SECOND_PROMPT_AFTER_FRAME = 3
#: Challenges are deleted by the sweep this long after they expire (they count for the
#: issue limit until then; the check-in keeps its own copy).
CHALLENGE_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class IssuedChallenge:
    """What the client needs: the id to send back with the frames, the prompts (codes and the
    participant's words), when it expires, and how to record the burst."""

    id: uuid.UUID
    prompts: tuple[str, ...]
    instructions: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    frames: int = liveness.MAX_FRAMES
    interval_ms: int = FRAME_INTERVAL_MS
    prompt_after_frames: tuple[int, ...] = (0, SECOND_PROMPT_AFTER_FRAME)
    max_side: int = liveness.MAX_FRAME_SIDE
    max_frame_bytes: int = liveness.MAX_FRAME_BYTES


def issue_challenge(
    *, user: User, request_id: str = "", language: str | None = None, rng: Random | None = None
) -> IssuedChallenge:
    """A new challenge for the participant's window open now: random prompts (the operating
    system's generator unless `rng` is given), valid for two minutes, one ledger event.

    Refused (with an event naming the person) when no window is open, the window is already
    verified or its tries are used, or too many challenges were asked for in a short time
    (the upload limit per participant, 429)."""
    with override(language or user.preferred_language or "en"):
        ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
        policies.require(ctx, Ability.CHECK_IN, action=Action.CHECKIN,
                         category=Category.SUPERVISION,
                         record_type=record_type_of(CheckInChallenge),
                         message=_("Only participants check in."))
        enrolment = active_enrolment(ctx)
        refuse = Refuse(ctx, enrolment)
        now = clock.now()
        try:
            opens = _window_for_new_try(enrolment, now)
        except DomainError as exc:
            refuse(exc)
        issued = _store_challenge(ctx, enrolment, opens, now, rng)
        if isinstance(issued, DomainError):
            refuse(issued)
        return issued


def _window_for_new_try(enrolment: Enrolment, now: datetime) -> datetime:
    """The window open now, when a new try in it is still wanted."""
    opens = open_window(enrolment.schedule, now)
    tries_used(enrolment, enrolment.schedule, opens)
    return opens


def _store_challenge(
    ctx: AccessContext, enrolment: Enrolment, opens: datetime, now: datetime, rng: Random | None
) -> IssuedChallenge | DomainError:
    """Count, create and record the challenge under the enrolment's lock (invariant 11);
    returns the refusal instead when the participant asked for too many."""
    limits = UploadLimits.current()
    with transaction.atomic():
        lock_enrolment(enrolment)
        recent = CheckInChallenge.objects.filter(user=ctx.user).annotate(at=F("issued_at"))
        limited = _over_limit(recent, limits.per_participant, limits, now)
        if limited is not None:
            return limited
        challenge = liveness.new_challenge(rng, now=now)
        row = CheckInChallenge.objects.create(
            user=ctx.user, window_opens_at=opens, prompts=list(challenge.prompts),
            issued_at=challenge.issued_at, expires_at=challenge.expires_at,
        )
        record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                     action=Action.CREATE, category=Category.SUPERVISION,
                     subject_id=enrolment.person_id,
                     record_type=record_type_of(CheckInChallenge), record_id=row.pk,
                     detail={"prompts": list(challenge.prompts)})
    return IssuedChallenge(row.pk, challenge.prompts, tuple(challenge.instructions()),
                           challenge.issued_at, challenge.expires_at)


def use_challenge(submission: _Submission, refuse: Refuse) -> liveness.Challenge:
    """The challenge the submission names, marked used; refused when it is unknown or
    another participant's (404, the same answer for both; the event names the challenge's
    person when there is one), already used (409), expired or of another window (422)."""
    key = as_uuid(submission.challenge_id) if submission.challenge_id else None
    row = CheckInChallenge.objects.filter(pk=key).first() if key else None
    unknown = NotFound(_("This check-in prompt is not known. Please start the check-in again."),
                       field="challenge_id", code="challenge_unknown")
    if row is None:
        refuse(unknown, challenge=str(submission.challenge_id or "")[:64])
    if row.user_id != submission.ctx.user.pk:
        refuse(unknown, subject_id=policies.person_of(CheckInChallenge, row.pk),
               record=(record_type_of(CheckInChallenge), row.pk))
    if row.used_at is not None:
        refuse(_used(), challenge=str(row.pk))
    if row.expires_at <= submission.now or row.window_opens_at != submission.opens:
        refuse(ValidationError(str(liveness.REASON_MESSAGES[liveness.CHALLENGE_EXPIRED]),
                               field="challenge_id", code="challenge_expired"),
               challenge=str(row.pk))
    with transaction.atomic():
        taken = CheckInChallenge.objects.filter(pk=row.pk, used_at__isnull=True).update(
            used_at=submission.now
        )
    if not taken:  # another request used it in between
        refuse(_used(), challenge=str(row.pk))
    return liveness.Challenge(id=str(row.pk), prompts=tuple(row.prompts),
                              issued_at=row.issued_at, expires_at=row.expires_at)


def _used() -> Conflict:
    return Conflict(_("This check-in prompt was already used. Please start the check-in again."),
                    code="challenge_used")


def purge_challenges(*, now: datetime | None = None) -> int:
    """Delete challenges a day past their expiry (the check-ins keep their own copy)."""
    before = (now or clock.now()) - CHALLENGE_KEPT
    return CheckInChallenge.objects.filter(expires_at__lt=before).delete()[0]


# --- the verdict --------------------------------------------------------------------------------
def judge(submission: _Submission, template: bytes, refuse: Refuse) -> Verdict:
    """Use the challenge, check the burst (outside any transaction: about a second of CPU) and
    turn the result into a Verdict. A burst that cannot be used (too few faces, a blurred key
    frame, bad or too many frames, ...) is refused in the participant's language and stores
    nothing, like an unusable photo; it costs no try, but the challenge is used."""
    challenge = use_challenge(submission, refuse)
    frames = submission.frames or ()
    result = liveness.check_burst(frames, challenge, template, faces.get_verifier(),
                                  now=submission.now)
    if result.outcome == liveness.UNUSABLE and result.reason != liveness.UNSUPPORTED_VERIFIER:
        refuse(ValidationError(result.message, field="frames", code=result.reason),
               challenge=challenge.id)
    return verdict(result, frames)


def verdict(result: liveness.LivenessResult, frames: tuple[bytes, ...]) -> Verdict:
    """A liveness result as a stored try: the key frame's 1:1 decision, the liveness record,
    the key frame and the other frames (kept only when the try is not verified)."""
    decision = result.decision
    key = result.key_frame
    if decision is None:  # no verdict on the face at all (a verifier without landmarks)
        threshold, version = faces.current_threshold()
        face = (result.reason, None, result.measures.model_id or "", threshold, version, {})
    else:
        # `mirrored`: which distance was stored (the mirror is embedded only near the threshold)
        face = (decision.outcome, decision.distance, decision.model_id, decision.threshold,
                decision.threshold_version, {**decision.quality, "mirrored": decision.mirrored})
    keep = key if key is not None else 0
    if result.outcome == liveness.NOT_LIVE:
        kind = ReviewKind.NOT_LIVE
    elif result.outcome == liveness.UNUSABLE:
        kind = ReviewKind.UNCERTAIN
    else:
        kind = ReviewKind.FAILED_CHECK
    return Verdict(
        result.verified, *face,
        key_image=bytes(frames[keep]) if frames else b"",
        review_kind=kind,
        retake_allowed=result.outcome != liveness.UNUSABLE,
        other_frames=tuple(bytes(f) for k, f in enumerate(frames) if k != keep),
        liveness_outcome=result.outcome,
        liveness_reason=result.reason,
        liveness=_json(result.as_dict()),
        detail={"liveness": result.outcome, "liveness_reason": result.reason,
                "challenge": result.challenge.id if result.challenge else "",
                "frames": len(frames)},
    )


def _json(value: Any) -> Any:
    """The liveness record as plain JSON: numpy numbers become Python numbers, and a number
    that is not finite becomes null (PostgreSQL's JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
