"""Writes of supervised release. Each runs in one transaction with its ledger events.

Invariants kept here: a failed face check only opens a review (compliance changes only by a
human disposition); a location is accepted only inside a check-in; a level change or a
termination needs a second person; photos and templates are stored encrypted.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import override

from caseledger.access.context import AccessContext, Purpose, default_purpose
from caseledger.access.gate import refuse_role, require_person, subject_of
from caseledger.accounts.models import Role, User
from caseledger.biometrics import verifier as faces
from caseledger.cases.models import Case, CaseStatus
from caseledger.core import clock, crypto
from caseledger.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    RateLimited,
    ValidationError,
)
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import SYSTEM, Actor, record_event, record_read
from caseledger.notices import services as notices

from . import consent as consent_notice
from .models import (
    ChangeDecision,
    ChangeKind,
    ChangeRequest,
    CheckIn,
    CheckInOutcome,
    Compliance,
    Consent,
    Departure,
    DepartureKind,
    Disposition,
    Enrolment,
    EnrolmentStatus,
    EvidenceKind,
    Level,
    ReferencePhoto,
    Review,
    ReviewKind,
    Schedule,
    UploadAttempt,
)

STAFF_WRITERS = frozenset({Role.CASE_OFFICER, Role.SUPERVISOR})
CONDITIONS = {
    "report_address_changes": "Report any change of address within 5 days",
    "attend_hearings": "Attend every hearing",
    "no_travel_outside_state": "Do not travel outside the state without permission",
    "office_visit_monthly": "Visit the office once a month",
}
DISPOSITION_COMPLIANCE = {
    Disposition.VERIFIED_BY_REVIEW: Compliance.COMPLIANT,
    Disposition.TECHNICAL_PROBLEM: Compliance.COMPLIANT,
    Disposition.NEEDS_CONTACT: Compliance.NEEDS_CONTACT,
    Disposition.SUSPECTED_IMPERSONATION: Compliance.NON_COMPLIANT,
}


def _event(
    ctx_or_actor: AccessContext | Actor,
    person_id: Any,
    *,
    action: str,
    category: str,
    record_type: str,
    record_id: Any,
    purpose: str | None = None,
    outcome: str = Outcome.ALLOWED,
    request_id: str = "",
    detail: dict[str, Any] | None = None,
) -> Any:
    if isinstance(ctx_or_actor, AccessContext):
        actor, purpose, request_id = (
            ctx_or_actor.actor,
            ctx_or_actor.purpose,
            ctx_or_actor.request_id,
        )
    else:
        actor = ctx_or_actor
    return record_event(
        actor=actor,
        purpose=purpose or "supervision",
        request_id=request_id,
        action=action,
        category=category,
        subject_id=person_id,
        record_type=record_type,
        record_id=record_id,
        outcome=outcome,
        detail=detail,
    )


def _seal(data: bytes, record_id: Any, what: str) -> bytes:
    return crypto.encrypt(data, associated_data=f"{what}:{record_id}".encode())


def unseal(data: bytes, record_id: Any, what: str) -> bytes:
    return crypto.decrypt(bytes(data), associated_data=f"{what}:{record_id}".encode())


# --- enrolment ------------------------------------------------------------------------------
@dataclass
class EnrolmentInput:
    level: str
    photo: bytes
    language: str
    acknowledged: bool
    alternatives_offered: list[str]
    conditions: list[str]
    first_window_at: datetime
    every_days: int = 7
    window_hours: int = 24
    grace_minutes: int = 60
    max_attempts: int = 3


@dataclass(frozen=True)
class EnrolmentResult:
    enrolment: Enrolment
    username: str
    temporary_password: str | None  # shown once, when a new participant login is issued


def _check_enrolment_input(data: EnrolmentInput) -> None:
    if data.level not in Level.values:
        raise ValidationError(f"Unknown supervision level '{data.level}'.", field="level")
    unknown = sorted(set(data.conditions) - set(CONDITIONS))
    if unknown:
        raise ValidationError(f"Unknown condition codes: {', '.join(unknown)}.", field="conditions")
    if not data.acknowledged:
        raise ValidationError(
            "The person must acknowledge the notice before enrolment. If they "
            "do not agree, offer the alternatives instead.",
            field="acknowledged",
        )
    bad = sorted(set(data.alternatives_offered) - set(consent_notice.ALTERNATIVES))
    if bad or not data.alternatives_offered:
        raise ValidationError(
            "Record the alternatives offered (office visit, phone call).",
            field="alternatives_offered",
        )
    if data.first_window_at.tzinfo is None:
        raise ValidationError("The first check-in time needs a time zone.", field="first_window_at")
    limits = {
        "every_days": (1, 31),
        "window_hours": (1, 72),
        "grace_minutes": (0, 720),
        "max_attempts": (1, 10),
    }
    for name, (low, high) in limits.items():
        value = getattr(data, name)
        if not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"{name} must be between {low} and {high}.", field=name)


def _participant_login(person: Any) -> tuple[User, str | None]:
    if person.participant_account_id:
        return person.participant_account, None
    password = secrets.token_urlsafe(9)
    base = f"p{person.a_number[1:]}" if person.a_number else f"p{secrets.token_hex(4)}"
    username = base
    while User.objects.filter(username=username).exists():
        username = f"{base}-{secrets.token_hex(2)}"
    user = User(
        username=username,
        role=Role.PARTICIPANT,
        preferred_language=(person.languages or ["en"])[0][:8],
    )
    user.set_password(password)
    user.save()
    person.participant_account = user
    person.save(update_fields=["participant_account", "updated_at"])
    return user, password


def enrol(*, ctx: AccessContext, person_id: Any, data: EnrolmentInput) -> EnrolmentResult:
    """Enrol a person: level, conditions, schedule, consent bound to the notice's hash, the
    reference photo (quality-checked, template and photo encrypted) and a participant login."""
    if ctx.user.role not in STAFF_WRITERS:
        raise refuse_role(ctx, action="create", category="supervision",
                          record_type="people.person", record_id=person_id, subject_id=person_id,
                          message="Only case officers and supervisors enrol participants.")
    person = require_person(ctx, person_id, category="supervision", action="create")
    _check_enrolment_input(data)
    analysis = faces.get_verifier().embed(data.photo)
    if not analysis.ok:
        raise ValidationError(
            f"The reference photo cannot be used: {analysis.message}",
            field="photo",
            code=analysis.outcome,
        )
    notice = consent_notice.notice(data.language)
    now = clock.now()
    try:
        with transaction.atomic():
            if Enrolment.objects.filter(person=person, status=EnrolmentStatus.ACTIVE).exists():
                raise Conflict(
                    "This person is already enrolled in supervision.", code="already_enrolled"
                )
            officer = ctx.user if ctx.user.role == Role.CASE_OFFICER else _caseload_officer(person)
            enrolment = Enrolment.objects.create(
                person=person,
                officer=officer,
                level=data.level,
                conditions=sorted(set(data.conditions)),
                started_at=now,
            )
            Consent.objects.create(
                enrolment=enrolment,
                language=notice.language,
                notice_version=notice.version,
                notice_sha256=notice.sha256,
                acknowledged_at=now,
                alternatives_offered=sorted(set(data.alternatives_offered)),
            )
            schedule = Schedule.objects.create(
                enrolment=enrolment,
                first_window_at=data.first_window_at,
                every_days=data.every_days,
                window_hours=data.window_hours,
                grace_minutes=data.grace_minutes,
                max_attempts=data.max_attempts,
            )
            photo = ReferencePhoto(
                enrolment=enrolment,
                model_id=analysis.model_id,
                quality=analysis.quality.measures() if analysis.quality else {},
            )
            photo.photo_encrypted = _seal(data.photo, photo.pk, "enrolment_photo")
            photo.template_encrypted = _seal(analysis.template(), photo.pk, "face_template")
            photo.save(force_insert=True)
            user, password = _participant_login(person)
            _event(
                ctx,
                person.pk,
                action="create",
                category="supervision",
                record_type="supervision.enrolment",
                record_id=enrolment.pk,
                detail={"level": data.level, "conditions": enrolment.conditions},
            )
            _event(
                ctx,
                person.pk,
                action="create",
                category="consent",
                record_type="supervision.consent",
                record_id=enrolment.pk,
                detail={
                    "notice": notice.version,
                    "language": notice.language,
                    "sha256": notice.sha256,
                },
            )
            _event(
                ctx,
                person.pk,
                action="create",
                category="biometric",
                record_type="supervision.referencephoto",
                record_id=photo.pk,
                detail={"model": analysis.model_id},
            )
            if password:
                _event(
                    ctx,
                    person.pk,
                    action="create",
                    category="account",
                    record_type="accounts.user",
                    record_id=user.pk,
                    detail={"role": Role.PARTICIPANT},
                )
            notices.plan_for_schedule(schedule)
    except IntegrityError as exc:
        raise Conflict(
            "This person is already enrolled in supervision.", code="already_enrolled"
        ) from exc
    return EnrolmentResult(enrolment, user.username, password)


def _caseload_officer(person: Any) -> User:
    assignment = (
        person.caseload_assignments.filter(ended_at__isnull=True).select_related("officer").first()
    )
    if assignment is None:
        raise ValidationError("Assign the person to a case officer before enrolling them.")
    return assignment.officer


# --- check-in -------------------------------------------------------------------------------
# Photo upload rate limits. A refused photo costs no try, so without these nothing would bound
# how often one participant (or one network) makes the server decode and compare a face.
# Every submission that reaches the service counts, refused ones included; a submission
# refused for the rate itself does not. Settings of the same names override these; 0 turns a
# limit off (e.g. the per-address one where many participants share one address).
CHECKIN_UPLOADS_PER_PARTICIPANT = 10
CHECKIN_UPLOADS_PER_ADDRESS = 30
CHECKIN_UPLOAD_WINDOW_SECONDS = 600
# Key space of the PostgreSQL advisory locks that serialise the count of one address ("UPLD").
_ADDRESS_LOCK_CLASS = 0x55504C44


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
class UploadLimits:
    per_participant: int
    per_address: int
    window: timedelta

    @classmethod
    def current(cls) -> UploadLimits:
        """The limits now: a setting of the same name wins over the module's default."""

        def setting(name: str) -> int:
            return int(getattr(settings, name, globals()[name]))

        return cls(
            setting("CHECKIN_UPLOADS_PER_PARTICIPANT"),
            setting("CHECKIN_UPLOADS_PER_ADDRESS"),
            timedelta(seconds=max(1, setting("CHECKIN_UPLOAD_WINDOW_SECONDS"))),
        )


@dataclass(frozen=True)
class _Refuse:
    """Refuse a check-in: one ledger event with the person, in its own transaction (so it
    survives the rollback of a refused write), then the error."""

    actor: Actor
    enrolment: Enrolment
    request_id: str

    def __call__(self, error: DomainError) -> NoReturn:
        with transaction.atomic():
            _event(
                self.actor,
                self.enrolment.person_id,
                action="checkin",
                category="supervision",
                purpose=Purpose.SELF_SERVICE,
                outcome=Outcome.FAILED,
                request_id=self.request_id,
                record_type="supervision.enrolment",
                record_id=self.enrolment.pk,
                detail={"reason": error.code},
            )
        raise error


@dataclass(frozen=True)
class _Submission:
    """A check-in that passed the checks that need no face: what is stored if it is kept."""

    user: User
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
    request_id: str


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


def active_enrolment_of(user: User) -> Enrolment:
    enrolment = (
        Enrolment.objects.select_related("person", "schedule")
        .filter(person__participant_account=user, status=EnrolmentStatus.ACTIVE)
        .first()
    )
    if enrolment is None:
        raise NotFound(_("You have no active check-in schedule."), code="not_enrolled")
    return enrolment


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
        if user.role != Role.PARTICIPANT:
            ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
            raise refuse_role(ctx, action="checkin", category="supervision",
                              record_type="supervision.checkin",
                              message=_("Only participants check in."))
        return _submit_check_in(
            user, image, latitude, longitude, accuracy, submission_id, request_id, client_address
        )


def _submit_check_in(
    user: User,
    image: bytes,
    latitude: Any,
    longitude: Any,
    accuracy: Any,
    submission_id: Any,
    request_id: str,
    client_address: str,
) -> Receipt:
    """In this order: count the upload (rate limits); read the input and the open window;
    look at the window's tries without a lock; compare the face (slow, no lock held); then
    lock the enrolment, look again and store the numbered try (`_store_check_in`)."""
    enrolment = active_enrolment_of(user)
    now = clock.now()
    refuse = _Refuse(Actor.of(user), enrolment, request_id)
    limited = _count_upload(user, enrolment, client_address, now)
    if limited is not None:
        refuse(limited)
    try:
        sid = _submission_id(submission_id)
        lat, lon, acc = _location(latitude, longitude, accuracy)
        opens = _open_window(enrolment.schedule, now)
    except ValidationError as exc:
        refuse(exc)
    submission = _Submission(
        user=user,
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
        request_id=request_id,
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


# --- check-in: the try limit ------------------------------------------------------------------
def _lock_enrolment(enrolment: Enrolment) -> None:
    """Serialise one participant's check-in writes: a row lock on PostgreSQL (held to the end
    of the transaction); SQLite runs one writer at a time already (BEGIN IMMEDIATE)."""
    locked = (
        Enrolment.objects.select_for_update()
        .filter(pk=enrolment.pk, status=EnrolmentStatus.ACTIVE)
        .values_list("pk", flat=True)
        .first()
    )
    if locked is None:
        raise NotFound(_("You have no active check-in schedule."), code="not_enrolled")


def _window_state(submission: _Submission) -> CheckIn | int:
    """The tries used in the open window, or the earlier check-in of which this is a retry
    (same submission id, same photo). Refuses a replay, a window already verified and a
    window whose tries are used. Called before the face comparison and again under the lock."""
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
            _lock_enrolment(submission.enrolment)
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
        checkin.image_encrypted = _seal(s.image, checkin.pk, "checkin_image")
    actor = Actor.of(s.user)
    event = _event(
        actor,
        s.enrolment.person_id,
        action="checkin",
        category="supervision",
        purpose=Purpose.SELF_SERVICE,
        request_id=s.request_id,
        record_type="supervision.checkin",
        record_id=checkin.pk,
        detail={
            "outcome": checkin.outcome,
            "face": decision.outcome,
            "attempt": checkin.attempt,
            "location": True,
        },
    )
    checkin.ledger_event = event.uuid
    checkin.save(force_insert=True)
    if not verified:
        _open_review(s.enrolment, s.opens, ReviewKind.FAILED_CHECK, checkin, s.now, actor)
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
    record_read(
        actor=Actor.of(submission.user),
        purpose=Purpose.SELF_SERVICE,
        request_id=submission.request_id,
        action="read",
        category="supervision",
        subject_id=submission.enrolment.person_id,
        record_type="supervision.checkin",
        record_id=str(checkin.pk),
        detail={"repeated_submission": True},
    )
    return _receipt(checkin, submission.schedule, repeated=True)


# --- check-in: the upload rate limits ----------------------------------------------------------
def address_key(address: str) -> str:
    """What is stored of a client address: a keyed hash (HMAC-SHA256 with the secret key), so
    the table cannot be turned back into addresses. An IPv6 address counts by its /64 (what
    one subscriber gets); empty when there is no address."""
    text = (address or "").strip()[:64]
    if not text:
        return ""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
            text = str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
        else:
            text = str(getattr(ip, "ipv4_mapped", None) or ip)
    return salted_hmac(
        "caseledger.supervision.upload-address", text, algorithm="sha256"
    ).hexdigest()


def _lock_address(key: str) -> None:
    """On PostgreSQL, serialise the count of one address across participants (an advisory
    lock until the end of the transaction). SQLite runs one writer at a time already."""
    if not key or connection.vendor != "postgresql":
        return
    number = int.from_bytes(bytes.fromhex(key[:8]), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADDRESS_LOCK_CLASS, number])


def _count_upload(
    user: User, enrolment: Enrolment, address: str, now: datetime
) -> RateLimited | None:
    """Count this upload, or return the refusal when a limit is reached.

    Counted and recorded in one transaction under the enrolment's lock (and the address's),
    so that simultaneous uploads cannot all slip under a limit; committed on its own, so a
    photo refused afterwards still counts. The participant's own expired rows go here; the
    sweep removes the rest (`purge_upload_attempts`)."""
    limits = UploadLimits.current()
    since = now - limits.window
    key = address_key(address)
    with transaction.atomic():
        _lock_enrolment(enrolment)
        _lock_address(key)
        UploadAttempt.objects.filter(user=user, at__lte=since).delete()
        refusal = _over_limit(
            UploadAttempt.objects.filter(user=user), limits.per_participant, limits, now
        )
        if refusal is None and key:
            refusal = _over_limit(
                UploadAttempt.objects.filter(address_hash=key),
                limits.per_address,
                limits,
                now,
                code="rate_limited_address",
            )
        if refusal is None:
            UploadAttempt.objects.create(user=user, address_hash=key, at=now)
    return refusal


def _over_limit(
    uploads: Any, limit: int, limits: UploadLimits, now: datetime, code: str = "rate_limited"
) -> RateLimited | None:
    """A refusal when `limit` uploads (or more) fall in the window; it says to wait until the
    oldest of the last `limit` leaves the window."""
    if limit <= 0:
        return None
    recent = list(
        uploads.filter(at__gt=now - limits.window)
        .order_by("-at")
        .values_list("at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    seconds = (recent[-1] + limits.window - now).total_seconds()
    wait = min(max(1, math.ceil(seconds)), int(limits.window.total_seconds()))
    return RateLimited(_rate_message(code, wait), retry_after=wait, code=code)


def _rate_message(code: str, seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    why = (
        _("You have sent many photos in a short time.")
        if code == "rate_limited"
        else _("Many photos were sent from this network in a short time.")
    )
    wait = (
        _("Please wait a minute, then try again.")
        if minutes <= 1
        else _("Please wait %(minutes)s minutes, then try again.") % {"minutes": minutes}
    )
    not_a_violation = _("This is not a violation.")  # not in an f-string: xgettext skips those
    return f"{why} {wait} {not_a_violation}"


def purge_upload_attempts(*, now: datetime | None = None) -> int:
    """Delete upload records older than the rate limits' window (they count for nothing)."""
    since = (now or clock.now()) - UploadLimits.current().window
    return UploadAttempt.objects.filter(at__lte=since).delete()[0]


def _open_review(
    enrolment: Enrolment,
    window_opens_at: datetime,
    kind: str,
    checkin: CheckIn | None,
    now: datetime,
    actor: Actor,
) -> Review | None:
    """One review per window: a later failure in the same window joins the first."""
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
    _event(
        actor,
        enrolment.person_id,
        action="create",
        category="supervision",
        record_type="supervision.review",
        record_id=review.pk,
        detail={"kind": kind},
    )
    return review


def sweep_missed_windows(*, now: datetime | None = None) -> int:
    """Open a review for every window that closed (with its grace) without a check-in that
    was verified or is already under review. Idempotent; run every few minutes."""
    now = now or clock.now()
    purge_upload_attempts(now=now)
    opened = 0
    for schedule in Schedule.objects.select_related("enrolment").filter(
        enrolment__status=EnrolmentStatus.ACTIVE, first_window_at__lte=now
    ):
        enrolment = schedule.enrolment
        latest = schedule.window_index(now)
        for index in range(max(0, latest - 1), latest + 1):
            opens, _closes, until = schedule.window(index)
            if until >= now or opens < enrolment.started_at - timedelta(days=schedule.every_days):
                continue
            if CheckIn.objects.filter(
                enrolment=enrolment, window_opens_at=opens, outcome=CheckInOutcome.VERIFIED
            ).exists():
                continue
            with transaction.atomic():
                if _open_review(enrolment, opens, ReviewKind.MISSED_WINDOW, None, now, SYSTEM):
                    opened += 1
    return opened


# --- reviews --------------------------------------------------------------------------------
def dispose_review(
    *, ctx: AccessContext, review_id: Any, disposition: str, note: str = ""
) -> Review:
    """A person's decision on a review: the only way compliance changes."""
    if disposition not in Disposition.values:
        raise ValidationError(
            f"Unknown disposition '{disposition}'. Use one of: {', '.join(Disposition.values)}.",
            field="disposition",
        )
    if ctx.user.role not in STAFF_WRITERS:
        raise refuse_role(ctx, action="update", category="supervision",
                          record_type="supervision.review", record_id=review_id,
                          subject_id=subject_of(Review, review_id,
                                                person_path="enrolment__person"),
                          message="Only case officers and supervisors decide reviews.")
    from .selectors import require_review

    review = require_review(ctx, review_id, action="update")
    if disposition == Disposition.SUSPECTED_IMPERSONATION and len(note.strip()) < 20:
        raise ValidationError(
            "Explain a suspected impersonation in at least 20 characters.", field="note"
        )
    now = clock.now()
    with transaction.atomic():
        updated = Review.objects.filter(pk=review.pk, disposition="").update(
            disposition=disposition, decided_by=ctx.user, decided_at=now, note=note.strip()[:2000]
        )
        if updated != 1:
            raise Conflict("This review has already been decided.", code="already_decided")
        enrolment = review.enrolment
        before = enrolment.compliance
        Enrolment.objects.filter(pk=enrolment.pk).update(
            compliance=DISPOSITION_COMPLIANCE[disposition], updated_at=now
        )
        CheckIn.objects.filter(
            enrolment=enrolment,
            window_opens_at=review.window_opens_at,
            image_encrypted__isnull=False,
        ).update(
            image_delete_after=(now + timedelta(days=settings.FAILED_IMAGE_RETENTION_DAYS)).date()
        )
        _event(
            ctx,
            enrolment.person_id,
            action="decide",
            category="supervision",
            record_type="supervision.review",
            record_id=review.pk,
            detail={
                "disposition": disposition,
                "compliance_before": before,
                "compliance_after": DISPOSITION_COMPLIANCE[disposition],
            },
        )
    review.refresh_from_db()
    return review


# --- two-person changes ---------------------------------------------------------------------
def propose_change(
    *, ctx: AccessContext, enrolment_id: Any, kind: str, reason: str, proposed_level: str = ""
) -> ChangeRequest:
    from .selectors import require_enrolment

    if ctx.user.role not in STAFF_WRITERS:
        raise refuse_role(ctx, action="propose", category="supervision",
                          record_type="supervision.enrolment", record_id=enrolment_id,
                          subject_id=subject_of(Enrolment, enrolment_id),
                          message="Only case officers and supervisors propose changes.")
    if kind not in ChangeKind.values:
        raise ValidationError(f"Unknown change '{kind}'.", field="kind")
    if kind == ChangeKind.LEVEL and proposed_level not in Level.values:
        raise ValidationError("Choose the new supervision level.", field="proposed_level")
    if len(reason.strip()) < 10:
        raise ValidationError("Give the reason in at least 10 characters.", field="reason")
    enrolment = require_enrolment(ctx, enrolment_id, action="update")
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict("Supervision has already ended.", code="ended")
    if kind == ChangeKind.LEVEL and proposed_level == enrolment.level:
        raise ValidationError("That is already the current level.", field="proposed_level")
    with transaction.atomic():
        if enrolment.changes.filter(decision=ChangeDecision.PENDING).exists():
            raise Conflict("A change is already waiting for a supervisor.", code="pending")
        request = ChangeRequest.objects.create(
            enrolment=enrolment,
            kind=kind,
            proposed_level=proposed_level if kind == ChangeKind.LEVEL else "",
            reason=reason.strip(),
            proposed_by=ctx.user,
            proposed_at=clock.now(),
        )
        _event(
            ctx,
            enrolment.person_id,
            action="propose",
            category="supervision",
            record_type="supervision.changerequest",
            record_id=request.pk,
            detail={"kind": kind, "level": request.proposed_level},
        )
    return request


def decide_change(
    *, ctx: AccessContext, request_id: Any, approve: bool, reason: str = ""
) -> ChangeRequest:
    """A supervisor, not the proposer, approves or declines; approval applies the change."""
    from .selectors import require_change

    if ctx.user.role != Role.SUPERVISOR:
        raise refuse_role(ctx, action="decide", category="supervision",
                          record_type="supervision.changerequest", record_id=request_id,
                          subject_id=subject_of(ChangeRequest, request_id,
                                                person_path="enrolment__person"),
                          message="Only a supervisor approves or declines a change.")
    request = require_change(ctx, request_id)
    if request.proposed_by_id == ctx.user.pk:
        raise refuse_role(ctx, action="decide", category="supervision",
                          record_type="supervision.changerequest", record_id=request.pk,
                          subject_id=request.enrolment.person_id, code="self_approval",
                          message="A change needs a second person: you proposed this one.")
    if request.decision != ChangeDecision.PENDING:
        raise Conflict("This change has already been decided.", code="already_decided")
    if not approve and len(reason.strip()) < 10:
        raise ValidationError(
            "Give the reason for declining in at least 10 characters.", field="reason"
        )
    now = clock.now()
    with transaction.atomic():
        decision = ChangeDecision.APPROVED if approve else ChangeDecision.DECLINED
        updated = ChangeRequest.objects.filter(
            pk=request.pk, decision=ChangeDecision.PENDING
        ).update(
            decision=decision, decided_by=ctx.user, decided_at=now, decision_reason=reason.strip()
        )
        if updated != 1:
            raise Conflict("This change has already been decided.", code="already_decided")
        enrolment = request.enrolment
        if approve and request.kind == ChangeKind.LEVEL:
            Enrolment.objects.filter(pk=enrolment.pk).update(
                level=request.proposed_level, updated_at=now
            )
        elif approve:
            _end_enrolment(enrolment, now, "terminated")
        _event(
            ctx,
            enrolment.person_id,
            action="decide",
            category="supervision",
            record_type="supervision.changerequest",
            record_id=request.pk,
            detail={"kind": request.kind, "decision": decision},
        )
    request.refresh_from_db()
    return request


def _end_enrolment(enrolment: Enrolment, now: datetime, reason: str) -> None:
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=EnrolmentStatus.ENDED, ended_at=now, end_reason=reason, updated_at=now
    )
    ReferencePhoto.objects.filter(enrolment=enrolment).update(
        active=False,
        delete_after=(now + timedelta(days=settings.ENROLMENT_PHOTO_RETENTION_DAYS)).date(),
    )
    enrolment.refresh_from_db()
    notices.plan_for_schedule(enrolment.schedule)  # an ended enrolment cancels what waits


# --- departure ------------------------------------------------------------------------------
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
    from caseledger.cases.services import transition_case

    from .selectors import require_enrolment

    if ctx.user.role not in STAFF_WRITERS:
        raise refuse_role(ctx, action="update", category="supervision",
                          record_type="supervision.enrolment", record_id=enrolment_id,
                          subject_id=subject_of(Enrolment, enrolment_id),
                          message="Only case officers and supervisors confirm departures.")
    if kind not in DepartureKind.values:
        raise ValidationError(f"Unknown departure kind '{kind}'.", field="kind")
    if evidence_kind not in EvidenceKind.values:
        raise ValidationError(f"Unknown evidence '{evidence_kind}'.", field="evidence_kind")
    if departed_on > clock.today():
        raise ValidationError("The departure date cannot be in the future.", field="departed_on")
    enrolment = require_enrolment(ctx, enrolment_id, action="update")
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict("Supervision has already ended.", code="ended")
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
    cases = Case.objects.filter(person_id=enrolment.person_id).exclude(
        status__in=[CaseStatus.CLOSED, CaseStatus.DEPARTED]
    )
    case = cases.filter(pk=case_id).first() if case_id else cases.order_by("-opened_on").first()
    now = clock.now()
    with transaction.atomic():
        departure = Departure(
            enrolment=enrolment,
            case=case,
            kind=kind,
            evidence_kind=evidence_kind,
            evidence_reference=evidence_reference.strip()[:120],
            checkin=checkin,
            departed_on=departed_on,
            confirmed_by=ctx.user,
            confirmed_at=now,
        )
        if evidence_file:
            departure.evidence_encrypted = _seal(evidence_file, departure.pk, "departure_evidence")
        departure.save(force_insert=True)
        _end_enrolment(enrolment, now, f"departed_{kind}")
        _event(
            ctx,
            enrolment.person_id,
            action="create",
            category="supervision",
            record_type="supervision.departure",
            record_id=departure.pk,
            detail={
                "kind": kind,
                "evidence": evidence_kind,
                "case": str(case.pk) if case else None,
            },
        )
        if case is not None:
            if CaseStatus.DEPARTED not in _next(case.status):
                raise Conflict(
                    f"The case is '{case.status}' and cannot be marked departed.",
                    code="illegal_transition",
                )
            transition_case(
                ctx=ctx,
                case_id=case.pk,
                to_status=CaseStatus.DEPARTED,
                reason=f"Departure confirmed ({evidence_kind})",
            )
            transition_case(
                ctx=ctx, case_id=case.pk, to_status=CaseStatus.CLOSED, reason=f"departed_{kind}"
            )
    return departure


def _next(status: str) -> frozenset[str]:
    from caseledger.cases.workflow import TRANSITIONS

    return TRANSITIONS.get(status, frozenset())
