"""A participant's check-in: the selfie and the location of that moment, in one transaction.

Invariants kept here: a location is accepted only inside a check-in; a face that does not
match opens a review (never a violation by itself); matched images are never kept; the try
limit of a window holds under concurrency (a row lock, and constraints as the backstop).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
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
from caseledger.core.errors import Conflict, DomainError, ValidationError
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import record_refusal, record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from ..models import CheckIn, CheckInOutcome, Enrolment, ReviewKind, Schedule
from ..sealing import seal, unseal
from ..selectors import active_enrolment
from .limits import count_upload, lock_enrolment
from .reviews import open_review


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


@dataclass(frozen=True)
class _Refuse:
    """Refuse a check-in: one failed event naming the person, in its own transaction (so it
    survives the rollback of a refused write), then the error. Bound to the submission, so
    each refusal of the path is one call."""

    ctx: AccessContext
    enrolment: Enrolment

    def __call__(self, error: DomainError) -> NoReturn:
        record_refusal(actor=self.ctx.actor, purpose=self.ctx.purpose,
                       request_id=self.ctx.request_id, action=Action.CHECKIN,
                       category=Category.SUPERVISION, outcome=Outcome.FAILED,
                       subject_id=self.enrolment.person_id,
                       record_type=record_type_of(Enrolment), record_id=self.enrolment.pk,
                       detail={"reason": error.code})
        raise error


@dataclass(frozen=True)
class _Submission:
    """A check-in that passed the checks that need no face: what is stored if it is kept."""

    ctx: AccessContext
    enrolment: Enrolment
    schedule: Schedule
    sid: uuid.UUID
    image: bytes
    image_sha: str
    latitude: Decimal
    longitude: Decimal
    accuracy: float
    opens: datetime
    now: datetime


def submit_check_in(
    *,
    user: User,
    image: bytes,
    latitude: Any,
    longitude: Any,
    accuracy: Any,
    submission_id: Any = None,
    request_id: str = "",
    language: str | None = None,
    client_address: str = "",
) -> Receipt:
    """One check-in: the selfie and the location of that moment, in one transaction.

    A photo that cannot be used (no face, two faces, unreadable, ...) is refused with a
    message in `language` (the page's) or else the participant's preferred language, and
    leaves one ledger event and no row. A face that does not match is accepted with outcome
    `review`: a person looks at it; it is never a violation.

    Every call counts against the upload rate limits (per participant, and per
    `client_address`, the peer address of the request); over a limit it is refused with
    `RateLimited` (429). Sending the same `submission_id` with the same photo again (a retry
    after a lost answer) returns the first receipt, marked `repeated`; the same id with
    another photo, or the same photo again in the window, is refused as a replay.
    """
    with override(language or user.preferred_language or "en"):
        ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
        policies.require(ctx, Ability.CHECK_IN, action=Action.CHECKIN,
                         category=Category.SUPERVISION, record_type=record_type_of(CheckIn),
                         message=_("Only participants check in."))
        return _submit_check_in(
            ctx, image, latitude, longitude, accuracy, submission_id, client_address
        )


def _submit_check_in(
    ctx: AccessContext,
    image: bytes,
    latitude: Any,
    longitude: Any,
    accuracy: Any,
    submission_id: Any,
    client_address: str,
) -> Receipt:
    """In this order: count the upload (rate limits); read the input and the open window;
    look at the window's tries without a lock; compare the face (slow, no lock held); then
    lock the enrolment, look again and store the numbered try (`_store_check_in`)."""
    enrolment = active_enrolment(ctx)
    now = clock.now()
    refuse = _Refuse(ctx, enrolment)
    limited = count_upload(ctx.user, enrolment, client_address, now)
    if limited is not None:
        refuse(limited)
    try:
        sid = _submission_id(submission_id)
        lat, lon, acc = _location(latitude, longitude, accuracy)
        opens = _open_window(enrolment.schedule, now)
    except ValidationError as exc:
        refuse(exc)
    submission = _Submission(
        ctx=ctx,
        enrolment=enrolment,
        schedule=enrolment.schedule,
        sid=sid,
        image=image,
        image_sha=hashlib.sha256(image or b"").hexdigest(),
        latitude=lat,
        longitude=lon,
        accuracy=acc,
        opens=opens,
        now=now,
    )
    try:  # without a lock first: a refusal here costs no face comparison
        earlier = _window_state(submission)
    except Conflict as exc:
        refuse(exc)
    if isinstance(earlier, CheckIn):
        return _repeated_receipt(submission, earlier)
    decision = _compare(submission, refuse)
    try:
        stored = _store_check_in(submission, decision)
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


def _open_window(schedule: Schedule, now: datetime) -> datetime:
    """When the window open now opened; refused when none is open."""
    window = schedule.current_window(now)
    if window is None:
        opens, _closes, _until = schedule.next_window(now)
        raise ValidationError(
            _("Check-in is not open now. Your next check-in opens on %(when)s.")
            % {"when": opens.strftime("%Y-%m-%d %H:%M UTC")},
            code="outside_window",
        )
    return window[0]


# --- the try limit ----------------------------------------------------------------------------
def _window_state(submission: _Submission) -> CheckIn | int:
    """The tries used in the open window, or the earlier check-in of which this is a retry
    (same submission id, same photo). Refuses a replay, a window already verified and a
    window whose tries are used. Called before the face comparison and again under the lock.

    The submission id is looked up across all check-ins because it is unique across them; a
    row found is returned only when it is of the participant's own enrolment (which came
    through the policy), and anyone else's is only ever "already received"."""
    earlier = CheckIn.objects.filter(submission_id=submission.sid).first()
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
    if in_window.filter(outcome=CheckInOutcome.VERIFIED).exists():
        raise Conflict(
            _("You have already checked in for this period. Thank you."),
            code="already_checked_in",
        )
    attempts = in_window.count()
    if attempts >= submission.schedule.max_attempts:
        raise Conflict(
            _(
                "You have used all your tries for this check-in. Your officer will "
                "contact you; this is not a violation."
            ),
            code="attempts_used",
        )
    return attempts


def _compare(submission: _Submission, refuse: _Refuse) -> Any:
    """The face comparison, outside any transaction (it takes 100-250 ms); a photo that
    cannot be used is refused here."""
    reference = submission.enrolment.photos.filter(active=True).order_by("-created_at").first()
    if reference is None:
        refuse(
            ValidationError(
                _("Your enrolment photo is missing. Please contact your officer."),
                code="no_reference",
            )
        )
    template = unseal(reference.template_encrypted, reference.pk, "face_template")
    decision = faces.get_verifier().compare(template, submission.image)
    if decision.photo_problem:
        refuse(ValidationError(str(decision.message), field="image", code=decision.outcome))
    return decision


def _store_check_in(submission: _Submission, decision: Any) -> Receipt | CheckIn:
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
            return _insert_check_in(submission, decision, attempt=state + 1)
    except IntegrityError as exc:  # the constraints are the backstop of the lock
        if CheckIn.objects.filter(submission_id=submission.sid).exists():
            raise Conflict(_("This check-in was already received."), code="replay") from exc
        raise Conflict(
            _(
                "Another check-in of yours arrived at the same moment. Look at your "
                "check-ins before you try again."
            ),
            code="attempt_taken",
        ) from exc


def _insert_check_in(submission: _Submission, decision: Any, *, attempt: int) -> Receipt:
    s = submission
    verified = decision.match
    checkin = CheckIn(
        enrolment=s.enrolment,
        submission_id=s.sid,
        window_opens_at=s.opens,
        attempt=attempt,
        submitted_at=s.now,
        outcome=CheckInOutcome.VERIFIED if verified else CheckInOutcome.REVIEW,
        face_outcome=decision.outcome,
        distance=decision.distance,
        model_id=decision.model_id,
        threshold=decision.threshold,
        threshold_version=decision.threshold_version,
        quality=dict(decision.quality, image_sha256=s.image_sha),
        latitude=s.latitude,
        longitude=s.longitude,
        accuracy_m=s.accuracy,
        location_delete_after=(s.now + timedelta(days=settings.LOCATION_RETENTION_DAYS)).date(),
    )
    if not verified:  # matched images are never kept
        checkin.image_encrypted = seal(s.image, checkin.pk, "checkin_image")
    event = record_write(
        actor=s.ctx.actor, purpose=s.ctx.purpose, request_id=s.ctx.request_id,
        action=Action.CHECKIN, category=Category.SUPERVISION, subject_id=s.enrolment.person_id,
        record_type=record_type_of(CheckIn), record_id=checkin.pk,
        detail={"outcome": checkin.outcome, "face": decision.outcome,
                "attempt": checkin.attempt, "location": True},
    )
    checkin.ledger_event = event.uuid
    checkin.save(force_insert=True)
    if not verified:
        open_review(s.enrolment, s.opens, ReviewKind.FAILED_CHECK, checkin, s.now, s.ctx.actor)
    return _receipt(checkin, s.schedule)


def _receipt(checkin: CheckIn, schedule: Schedule, *, repeated: bool = False) -> Receipt:
    verified = checkin.outcome == CheckInOutcome.VERIFIED
    message = (
        _("Thank you. Your check-in is complete.")
        if verified
        else _(
            "Thank you. Your check-in was received and an officer will review the photo. "
            "This is not a violation; you do not need to do anything now."
        )
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
