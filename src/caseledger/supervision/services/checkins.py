"""A participant's check-in: the face (a liveness burst, or a single photo while liveness is
off) and the location of that moment, in one transaction.

Invariants kept here: a location is accepted only inside a check-in; a face that does not
match, or a burst that is not judged live, asks for one retake and then opens a review (never
a violation by itself); matched images are never kept; the try limit of a window holds under
concurrency (a row lock, and constraints as the backstop). The burst's own checks (the
challenge, the liveness verdict) are in `bursts.py`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import override

from caseledger.access import policies
from caseledger.access.context import AccessContext, default_purpose
from caseledger.access.gate import record_access
from caseledger.access.policies import Ability
from caseledger.accounts.models import User
from caseledger.biometrics import verifier as faces
from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..devices import UNUSABLE_UPLOAD_CODES, capture_device
from ..models import (
    CaptureDevice,
    CheckIn,
    CheckInOutcome,
    CheckInSubmission,
    Enrolment,
    Review,
    Schedule,
)
from ..sealing import pack_frames, seal, unseal
from ..selectors import active_enrolment, retake_message
from . import bursts
from .limits import count_upload, lock_enrolment
from .reviews import open_review
from .verdict import Refuse, Verdict
from .windows import open_window, tries_used


@dataclass(frozen=True)
class Receipt:
    id: uuid.UUID
    time: datetime
    outcome: str
    message: str
    attempt: int
    attempts_left: int
    window_closes_at: datetime
    event_id: uuid.UUID
    repeated: bool = False  # the receipt of an earlier upload with this submission id

    @property
    def retake(self) -> bool:
        """The check asked for one more try in this window (a burst not judged live, or a
        face that did not match, on the window's first such try)."""
        return self.outcome == CheckInOutcome.RETAKE


@dataclass(frozen=True)
class _Submission:
    """A check-in that passed the checks that need no face: what is stored if it is kept."""

    ctx: AccessContext
    enrolment: Enrolment
    schedule: Schedule
    sid: uuid.UUID
    image: bytes
    image_sha: str  # of the photo, or of the burst's frames in order
    latitude: Decimal
    longitude: Decimal
    accuracy: float
    opens: datetime
    now: datetime
    frames: tuple[bytes, ...] | None = None  # a liveness burst (None: a single photo)
    challenge_id: Any = None
    device: str = CaptureDevice.OTHER  # the capture device class (never the User-Agent)


@dataclass(frozen=True)
class _DeviceRefuse(Refuse):
    """A refusal that names the upload's capture device class when the photo or burst could
    not be used (`devices.UNUSABLE_UPLOAD_CODES`), so the field report can count those
    refusals by device (`reports.field`); other refusals are recorded as before."""

    device: str = CaptureDevice.OTHER

    def __call__(self, error: Any, *, subject_id: Any = None,
                 record: tuple[str, Any] | None = None, **detail: Any) -> NoReturn:
        if error.code in UNUSABLE_UPLOAD_CODES:
            detail = {"device": self.device, **detail}
        super().__call__(error, subject_id=subject_id, record=record, **detail)


def _digest(image: bytes, frames: Sequence[bytes] | None) -> str:
    """SHA-256 of the photo, or of the burst (each frame's SHA-256, in order): the same upload
    sent twice is recognised as a retry or a replay."""
    if frames is None:
        return hashlib.sha256(image or b"").hexdigest()
    joined = b"".join(hashlib.sha256(bytes(f)).digest() for f in frames)
    return hashlib.sha256(b"burst:" + joined).hexdigest()


def submit_check_in(
    *,
    user: User,
    image: bytes = b"",
    latitude: Any,
    longitude: Any,
    accuracy: Any,
    submission_id: Any = None,
    request_id: str = "",
    language: str | None = None,
    client_address: str = "",
    frames: Sequence[bytes] | None = None,
    challenge_id: Any = None,
    user_agent: str = "",
) -> Receipt:
    """One check-in: the face and the location of that moment, in one transaction.

    The face is a liveness burst (`frames`, recorded while the participant followed the
    prompts of `challenge_id`, from `bursts.issue_challenge`): verified when the burst is
    judged live and its key frame matches; a burst not judged live, or a face that does not
    match, asks for one retake (outcome `retake`, a stored try) and then opens a review. While
    `settings.LIVENESS_REQUIRED` is off, a single photo (`image`) is also taken, as before
    liveness; while it is on, a single photo is refused (`liveness_required`).

    A photo or burst that cannot be used (no face, two faces, unreadable, ...) is refused with a
    message in `language` (the page's) or else the participant's preferred language, and
    leaves one ledger event and no row. A face that does not match is accepted with outcome
    `review`: a person looks at it; it is never a violation.

    Every call counts against the upload rate limits (per participant, and per
    `client_address`, the peer address of the request); over a limit it is refused with
    `RateLimited` (429). `user_agent` (the request's User-Agent header, passed as data) gives
    the capture device class stored on the try and on a refusal's event; the string itself
    is not kept. Sending the same `submission_id` with the same photo again (a retry
    after a lost answer) returns the first receipt, marked `repeated`; the same id with
    another photo, or the same photo again in the window, is refused as a replay.
    """
    with override(language or user.preferred_language or "en"):
        ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
        policies.require(ctx, Ability.CHECK_IN, action=Action.CHECKIN,
                         category=Category.SUPERVISION, record_type=record_type_of(CheckIn),
                         message=_("Only participants check in."))
        burst = None if frames is None and not challenge_id else tuple(frames or ())
        return _submit_check_in(
            ctx, image, latitude, longitude, accuracy, submission_id, client_address,
            burst, challenge_id, capture_device(user_agent),
        )


def _submit_check_in(
    ctx: AccessContext,
    image: bytes,
    latitude: Any,
    longitude: Any,
    accuracy: Any,
    submission_id: Any,
    client_address: str,
    frames: tuple[bytes, ...] | None = None,
    challenge_id: Any = None,
    device: str = CaptureDevice.OTHER,
) -> Receipt:
    """In this order: count the upload (rate limits); read the input and the open window;
    look at the window's tries without a lock; check the face (one photo's comparison, or the
    burst's challenge and liveness check: slow, no lock held); then lock the enrolment, look
    again and store the numbered try (`_store_check_in`)."""
    enrolment = active_enrolment(ctx)
    now = clock.now()
    refuse = _DeviceRefuse(ctx, enrolment, device=device)
    limited = count_upload(ctx.user, enrolment, client_address, now)
    if limited is not None:
        refuse(limited)
    try:
        if frames is None and settings.LIVENESS_REQUIRED:
            raise ValidationError(
                _("Checking in needs a short video from your camera, not a single photo. "
                  "Open the check-in page and press “Start”."),
                field="frames", code="liveness_required",
            )
        sid = _submission_id(submission_id)
        lat, lon, acc = _location(latitude, longitude, accuracy)
        opens = open_window(enrolment.schedule, now)
    except ValidationError as exc:
        refuse(exc)
    submission = _Submission(
        ctx=ctx,
        enrolment=enrolment,
        schedule=enrolment.schedule,
        sid=sid,
        image=image or b"",
        image_sha=_digest(image, frames),
        latitude=lat,
        longitude=lon,
        accuracy=acc,
        opens=opens,
        now=now,
        frames=frames,
        challenge_id=challenge_id,
        device=device,
    )
    try:  # without a lock first: a refusal here costs no face comparison
        earlier = _window_state(submission)
    except Conflict as exc:
        refuse(exc)
    if isinstance(earlier, CheckIn):
        return _repeated_receipt(submission, earlier)
    if frames is None:
        verdict = _compare(submission, refuse)
    else:
        verdict = bursts.judge(submission, _reference_template(submission, refuse), refuse)
    try:
        stored = _store_check_in(submission, verdict)
    except Conflict as exc:
        refuse(exc)
    if isinstance(stored, CheckIn):  # the same upload was stored meanwhile (a double send)
        return _repeated_receipt(submission, stored)
    return stored


def _submission_id(value: Any) -> uuid.UUID:
    """The client's id of this submission (a new one when it sent none)."""
    if not value:
        return uuid.uuid4()
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(
            _("This check-in could not be read. Please try again."),
            field="submission_id",
            code="bad_submission",
        ) from None


def _coordinate(value: Any, low: int, high: int, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(
            _("The location could not be read. Allow location access and try again."),
            field=name,
            code="bad_location",
        ) from None
    if not number.is_finite() or not low <= number <= high:
        raise ValidationError(
            _("The location could not be read. Allow location access and try again."),
            field=name,
            code="bad_location",
        )
    return number.quantize(Decimal("0.000001"))


def _location(latitude: Any, longitude: Any, accuracy: Any) -> tuple[Decimal, Decimal, float]:
    lat = _coordinate(latitude, -90, 90, "latitude")
    lon = _coordinate(longitude, -180, 180, "longitude")
    try:
        acc = float(accuracy)
    except (TypeError, ValueError):
        acc = -1.0
    if not 0 < acc <= 100_000:
        raise ValidationError(
            _("The location could not be read. Allow location access and try again."),
            field="accuracy",
            code="bad_location",
        )
    return lat, lon, acc


# --- the try limit ----------------------------------------------------------------------------
def _window_state(submission: _Submission) -> CheckIn | int:
    """The tries used in the open window, or the earlier check-in of which this is a retry
    (same submission id, same photo). Refuses a replay, a window already verified and a
    window whose tries are used. Called before the face comparison and again under the lock.

    The submission id is looked up across all check-ins because it is unique across them
    (`CheckInSubmission`, which names the window: one partition on PostgreSQL); a row found is
    returned only when it is of the participant's own enrolment (which came through the
    policy), and anyone else's is only ever "already received"."""
    earlier = _checkin_of_submission(submission.sid)
    if earlier is not None:
        same = earlier.enrolment_id == submission.enrolment.pk and (
            earlier.quality.get("image_sha256") == submission.image_sha
        )
        if same and earlier.ledger_event is not None:
            return earlier
        raise Conflict(_("This check-in was already received."), code="replay")
    in_window = CheckIn.objects.filter(
        enrolment=submission.enrolment, window_opens_at=submission.opens
    )
    if in_window.filter(quality__image_sha256=submission.image_sha).exists():
        raise Conflict(_("This check-in was already received."), code="replay")
    return tries_used(submission.enrolment, submission.schedule, submission.opens)




def _checkin_of_submission(sid: uuid.UUID) -> CheckIn | None:
    """The check-in stored with this client nonce, if any, found in its window."""
    used = CheckInSubmission.objects.filter(pk=sid).values_list("window_opens_at", flat=True)
    window = used.first()
    if window is None:
        return None
    return CheckIn.objects.filter(submission_id=sid, window_opens_at=window).first()


def _reference_template(submission: _Submission, refuse: Refuse) -> bytes:
    """The enrolled face template (opened); refused when the enrolment has none."""
    reference = submission.enrolment.photos.filter(active=True).order_by("-created_at").first()
    if reference is None:
        refuse(
            ValidationError(
                _("Your enrolment photo is missing. Please contact your officer."),
                code="no_reference",
            )
        )
    return unseal(reference.template_encrypted, reference.pk, "face_template")


def _compare(submission: _Submission, refuse: Refuse) -> Verdict:
    """The face comparison of a single photo, outside any transaction (it takes 100-250 ms);
    a photo that cannot be used is refused here."""
    template = _reference_template(submission, refuse)
    decision = faces.get_verifier().compare(template, submission.image)
    if decision.photo_problem:
        refuse(ValidationError(str(decision.message), field="image", code=decision.outcome))
    verdict = Verdict.of_photo(decision, submission.image)
    # which distance was stored: the mirror is embedded only near the threshold
    return replace(verdict, quality={**verdict.quality, "mirrored": decision.mirrored})


def _store_check_in(submission: _Submission, verdict: Verdict) -> Receipt | CheckIn:
    """Lock the enrolment, check the window again (another check-in may have been stored
    while the face was compared), number the try and store it with its ledger event, in one
    transaction. A refusal here writes no row. Returns the earlier check-in instead when the
    same upload was stored meanwhile."""
    try:
        with transaction.atomic():
            lock_enrolment(submission.enrolment)
            state = _window_state(submission)
            if isinstance(state, CheckIn):
                return state
            return _insert_check_in(submission, verdict, attempt=state + 1)
    except IntegrityError as exc:  # the constraints are the backstop of the lock
        if CheckInSubmission.objects.filter(pk=submission.sid).exists():
            raise Conflict(_("This check-in was already received."), code="replay") from exc
        raise Conflict(
            _(
                "Another check-in of yours arrived at the same moment. Look at your "
                "check-ins before you try again."
            ),
            code="attempt_taken",
        ) from exc


def _insert_check_in(submission: _Submission, verdict: Verdict, *, attempt: int) -> Receipt:
    s = submission
    outcome = _outcome(s, verdict, attempt)
    checkin = CheckIn(
        enrolment=s.enrolment,
        submission_id=s.sid,
        window_opens_at=s.opens,
        attempt=attempt,
        submitted_at=s.now,
        outcome=outcome,
        face_outcome=verdict.face_outcome,
        distance=verdict.distance,
        model_id=verdict.model_id,
        threshold=verdict.threshold,
        threshold_version=verdict.threshold_version,
        quality=dict(verdict.quality, image_sha256=s.image_sha),
        latitude=s.latitude,
        longitude=s.longitude,
        accuracy_m=s.accuracy,
        location_delete_after=(s.now + timedelta(days=settings.LOCATION_RETENTION_DAYS)).date(),
        liveness_outcome=verdict.liveness_outcome,
        liveness_reason=verdict.liveness_reason,
        liveness=verdict.liveness,
        capture_device=s.device,
    )
    if not verdict.verified:  # matched images are never kept
        checkin.image_encrypted = seal(verdict.key_image, checkin.pk, "checkin_image")
        if verdict.other_frames:
            checkin.frames_encrypted = seal(
                pack_frames(verdict.other_frames), checkin.pk, "checkin_frames"
            )
    event = record_write(
        actor=s.ctx.actor, purpose=s.ctx.purpose, request_id=s.ctx.request_id,
        action=Action.CHECKIN, category=Category.SUPERVISION, subject_id=s.enrolment.person_id,
        record_type=record_type_of(CheckIn), record_id=checkin.pk,
        detail={"outcome": checkin.outcome, "face": verdict.face_outcome,
                "attempt": checkin.attempt, "location": True, **verdict.detail},
    )
    checkin.ledger_event = event.uuid
    # the nonce first: its primary key refuses a replay racing from another enrolment
    CheckInSubmission.objects.create(submission_id=s.sid, window_opens_at=s.opens)
    checkin.save(force_insert=True)
    if outcome == CheckInOutcome.REVIEW:
        open_review(s.enrolment, s.opens, verdict.review_kind, checkin, s.now, s.ctx.actor)
    elif outcome == CheckInOutcome.VERIFIED:
        _forget_earlier_tries(s, checkin)
    return _receipt(checkin, s.schedule)


def _outcome(submission: _Submission, verdict: Verdict, attempt: int) -> str:
    """Verified; or, for a failed check that may ask for a retake, `retake` on the window's
    first such try while another try is left and no review is open; else `review`. Called
    under the enrolment's lock."""
    if verdict.verified:
        return CheckInOutcome.VERIFIED
    if verdict.retake_allowed and attempt < submission.schedule.max_attempts:
        window = {"enrolment": submission.enrolment, "window_opens_at": submission.opens}
        asked = CheckIn.objects.filter(**window, outcome=CheckInOutcome.RETAKE).exists()
        if not asked and not Review.objects.filter(**window).exists():
            return CheckInOutcome.RETAKE
    return CheckInOutcome.REVIEW


def _forget_earlier_tries(submission: _Submission, verified: CheckIn) -> None:
    """A verified try ends the window: the images of an earlier try that asked for a retake
    are needed by no review, so they go now (a window with a review keeps them for it)."""
    window = {"enrolment": submission.enrolment, "window_opens_at": submission.opens}
    if Review.objects.filter(**window).exists():
        return
    CheckIn.objects.filter(**window).exclude(pk=verified.pk).filter(
        outcome=CheckInOutcome.RETAKE
    ).update(image_encrypted=None, frames_encrypted=None)


def _receipt(checkin: CheckIn, schedule: Schedule, *, repeated: bool = False) -> Receipt:
    if checkin.outcome == CheckInOutcome.VERIFIED:
        message = _("Thank you. Your check-in is complete.")
    elif checkin.outcome == CheckInOutcome.RETAKE:
        message = retake_message(checkin)
    else:
        message = _(
            "Thank you. Your check-in was received and an officer will review the photo. "
            "This is not a violation; you do not need to do anything now."
        )
    if repeated:
        # Not an f-string: xgettext does not look inside them.
        again = _("This check-in was already received; here is its receipt again.")
        message = again + " " + message
    return Receipt(
        checkin.pk,
        checkin.submitted_at,
        checkin.outcome,
        message,
        checkin.attempt,
        max(0, schedule.max_attempts - checkin.attempt),
        checkin.window_opens_at + timedelta(hours=schedule.window_hours),
        checkin.ledger_event,  # type: ignore[arg-type]
        repeated,
    )


def _repeated_receipt(submission: _Submission, checkin: CheckIn) -> Receipt:
    """A retried upload (the answer to the first was lost): the first receipt again. Showing
    it is a read of the person's check-in, recorded like any other."""
    record_access(submission.ctx, action=Action.READ, category=Category.SUPERVISION,
                  subject_id=submission.enrolment.person_id,
                  record_type=record_type_of(CheckIn), record_id=checkin.pk,
                  detail={"repeated_submission": True})
    return _receipt(checkin, submission.schedule, repeated=True)
