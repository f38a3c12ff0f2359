"""Supervision endpoints: check-ins (participants), reviews and enrolments (staff)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile
from pydantic import BaseModel, Field

from caseledger.access.api_auth import access_context
from caseledger.biometrics import liveness
from caseledger.core.api_common import ERRORS, StrictIn, links
from caseledger.core.errors import ValidationError

from . import selectors, services
from .models import Disposition

router = Router(tags=["supervision"])


def _read_upload(upload: UploadedFile | None, field: str) -> bytes:
    """At most one byte more than a photo may have: the service refuses an oversize photo
    (`too_large`) like any other unusable one, in the person's language, recorded and counted
    against the upload limits, without this reading the rest."""
    if upload is None:
        raise ValidationError("Attach a photo.", field=field, code="empty")
    return upload.read(settings.FACE_MAX_UPLOAD_BYTES + 1)


class ReceiptOut(BaseModel):
    id: uuid.UUID
    time: datetime
    outcome: Literal["verified", "review", "retake"] = Field(
        description="`retake`: the burst was not judged live, or the face did not match, "
        "for the first time in this window: ask for a new challenge and try once more"
    )
    message: str
    attempt: int
    attempts_left: int
    window_closes_at: datetime
    event_id: uuid.UUID = Field(
        description="Ledger event of this check-in (ask for its "
        "inclusion proof once a checkpoint covers it)"
    )
    repeated: bool = Field(
        default=False,
        description="True when this answers a retry: the same submission_id with the same "
        "photo was already received, and this is its receipt (nothing new was stored)",
    )


RATE_LIMITED_DOC = {
    "responses": {
        429: {
            "description": "Too many photos in a short time, from this participant or from "
            "this address (refused photos count too). Wait the time given, then try again.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before the next upload is accepted",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    }
}


def _read_frames(uploads: list[UploadedFile] | None) -> list[bytes] | None:
    """The frames of a burst: at most one more than a burst may have, each at most one byte
    more than a frame may have (the service refuses too many or too large frames, recorded
    and counted, without this reading the rest)."""
    if uploads is None:
        return None
    return [u.read(liveness.MAX_FRAME_BYTES + 1) for u in uploads[: liveness.MAX_FRAMES + 1]]


class ChallengeOut(BaseModel):
    id: uuid.UUID = Field(description="Send it back as `challenge_id` with the frames")
    prompts: list[Literal["turn_left", "turn_right"]] = Field(
        description="In order; `turn_left` is the participant's own left"
    )
    instructions: list[str] = Field(description="The prompts in the participant's language")
    issued_at: datetime
    expires_at: datetime = Field(description="Two minutes after issue; single use")
    frames: int = Field(description="Frames to record (at most)")
    interval_ms: int = Field(description="Time between frames")
    prompt_after_frames: list[int] = Field(
        description="Show prompt k right after recording frame `prompt_after_frames[k]` "
        "(from 0): recording starts before the first prompt"
    )
    max_side: int = Field(description="Longest side of a frame, in pixels")
    max_frame_bytes: int


@router.post(
    "/checkins/challenge",
    response={201: ChallengeOut, **ERRORS},
    openapi_extra=RATE_LIMITED_DOC,
)
def checkin_challenge(request: HttpRequest) -> Status:
    """The head-turn prompts for one check-in burst, chosen at random by the server for the
    participant's window open now: single use, expires in two minutes. Record the burst
    while the participant follows them (frames not mirrored, the first before the first
    prompt is shown, under two seconds), then send it to `POST /checkins`."""
    issued = services.issue_challenge(
        user=request.user, request_id=getattr(request, "request_id", "")
    )
    return Status(201, ChallengeOut(**{**issued.__dict__, "prompts": list(issued.prompts)}))


@router.post(
    "/checkins",
    response={201: ReceiptOut, 200: ReceiptOut, **ERRORS},
    openapi_extra=RATE_LIMITED_DOC,
)
def check_in(
    request: HttpRequest,
    latitude: Form[str],
    longitude: Form[str],
    accuracy: Form[str],
    frames: File[list[UploadedFile]] = None,  # type: ignore[assignment]
    challenge_id: Form[str] = "",
    image: File[UploadedFile] = None,  # type: ignore[assignment]
    submission_id: Form[str] = "",
) -> Status:
    """A participant's check-in: the face and the location of this moment, in one submission.

    The face is a liveness burst: `frames` (several files, JPEG/PNG/WebP, at most 6 of at
    most 480 px and 512 KiB) recorded while following the prompts of `challenge_id` (from
    `POST /checkins/challenge`). `outcome` is `verified`; `retake` when the burst was not
    judged live or the face did not match, the first time in the window (get a new
    challenge and try once more); `review` after that (a person will look; never a
    violation). A burst that cannot be used is a 422 naming the reason; an unknown or
    another participant's challenge 404, a used one 409, an expired one 422. A single photo
    (`image`) is refused (422 `liveness_required`) unless liveness is turned off.

    Idempotent by `submission_id`: sending the same id with the same photo again (after a lost
    answer) returns the first receipt with status 200 and `repeated: true`; the same id with
    another photo is a 409 `replay`. Photo uploads are rate-limited per participant and per
    client address, refused photos included: over a limit the answer is 429 with
    `Retry-After`."""
    burst = _read_frames(frames) if frames or challenge_id else None
    receipt = services.submit_check_in(
        user=request.user,
        image=b"" if burst is not None else _read_upload(image, "image"),
        frames=burst,
        challenge_id=challenge_id or None,
        latitude=latitude,
        longitude=longitude,
        accuracy=accuracy,
        submission_id=submission_id or None,
        request_id=getattr(request, "request_id", ""),
        client_address=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.headers.get("User-Agent", ""),
    )
    return Status(200 if receipt.repeated else 201, ReceiptOut(**receipt.__dict__))


class CheckInOut(BaseModel):
    id: uuid.UUID
    attempt: int
    submitted_at: datetime
    outcome: str
    face_outcome: str
    distance: float | None
    threshold: float
    threshold_version: str
    model_id: str
    quality: dict
    has_image: bool
    liveness_outcome: str = Field(
        description="live, not_live or unusable for a liveness burst; empty for a photo"
    )
    liveness_reason: str
    liveness: dict = Field(
        description="The liveness record: challenge, limits, per-frame pose and quality, "
        "continuity distances, planarity fits (no image)"
    )
    frames_kept: list[int] = Field(
        description="Positions of the burst's frames that can still be viewed (the other "
        "frames go when the review is decided)"
    )


class ReviewOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    enrolment: uuid.UUID
    kind: str
    window_opens_at: datetime
    opened_at: datetime
    due_at: datetime
    overdue: bool
    disposition: str
    note: str
    attempts: list[CheckInOut] = Field(default_factory=list)


def _review_out(review, attempts=()) -> ReviewOut:  # type: ignore[no-untyped-def]
    from caseledger.core import clock

    return ReviewOut(
        id=review.pk,
        person=review.enrolment.person_id,
        enrolment=review.enrolment_id,
        kind=review.kind,
        window_opens_at=review.window_opens_at,
        opened_at=review.opened_at,
        due_at=review.due_at,
        overdue=not review.disposition and review.due_at < clock.now(),
        disposition=review.disposition,
        note=review.note,
        attempts=[
            CheckInOut(
                id=c.pk,
                attempt=c.attempt,
                submitted_at=c.submitted_at,
                outcome=c.outcome,
                face_outcome=c.face_outcome,
                distance=c.distance,
                threshold=c.threshold,
                threshold_version=c.threshold_version,
                model_id=c.model_id,
                quality={k: v for k, v in c.quality.items() if k != "image_sha256"},
                has_image=c.image_encrypted is not None,
                liveness_outcome=c.liveness_outcome,
                liveness_reason=c.liveness_reason,
                liveness=c.liveness,
                frames_kept=selectors.burst_frames_kept(c),
            )
            for c in attempts
        ],
    )


REVIEW = {"review_id": "$response.body#/0/id"}
REVIEW_LINKS = links(
    200, {f"caseledger_supervision_api_{op}": REVIEW for op in ("review", "disposition")}
)


@router.get("/reviews", response={200: list[ReviewOut], **ERRORS}, openapi_extra=REVIEW_LINKS)
def reviews(request: HttpRequest, include_decided: bool = False) -> list[ReviewOut]:
    """Open reviews of your caseload (supervisors: office), the most overdue first."""
    ctx = access_context(request)
    return [
        _review_out(r) for r in selectors.review_queue(ctx=ctx, include_decided=include_decided)
    ]


@router.get("/reviews/{review_id}", response={200: ReviewOut, **ERRORS})
def review(request: HttpRequest, review_id: str) -> ReviewOut:
    ctx = access_context(request)
    detail = selectors.get_review(ctx=ctx, review_id=review_id)
    return _review_out(detail.review, detail.attempts)


class DispositionIn(StrictIn):
    disposition: Literal[
        "verified_by_review", "technical_problem", "needs_contact", "suspected_impersonation"
    ]
    note: str = Field(default="", max_length=2000)


@router.post("/reviews/{review_id}/disposition", response={200: ReviewOut, **ERRORS})
def disposition(request: HttpRequest, review_id: str, payload: DispositionIn) -> ReviewOut:
    """A person's decision: the only thing that changes the participant's compliance."""
    ctx = access_context(request)
    services.dispose_review(
        ctx=ctx,
        review_id=review_id,
        disposition=Disposition(payload.disposition),
        note=payload.note,
    )
    detail = selectors.get_review(ctx=ctx, review_id=review_id)
    return _review_out(detail.review, detail.attempts)


class EnrolmentOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    level: str
    status: str
    compliance: str
    participant_username: str
    temporary_password: str | None = Field(description="Shown once, when a login was issued")
    notice_version: str
    notice_sha256: str


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@router.post("/enrolments", response={201: EnrolmentOut, **ERRORS})
def enrol(
    request: HttpRequest,
    photo: File[UploadedFile],
    person: Form[uuid.UUID],
    level: Form[str],
    language: Form[str],
    acknowledged: Form[bool],
    first_window_at: Form[datetime],
    alternatives_offered: Form[str] = "office_visit,phone_call",
    conditions: Form[str] = "",
    every_days: Form[int] = 7,
    window_hours: Form[int] = 24,
    grace_minutes: Form[int] = 60,
    max_attempts: Form[int] = 3,
) -> Status:
    """Enrol a person: level, conditions, schedule, consent (bound to the notice's hash), the
    reference photo (quality-checked, stored encrypted) and a participant login."""
    ctx = access_context(request, person_id=person)
    result = services.enrol(
        ctx=ctx,
        person_id=person,
        data=services.EnrolmentInput(
            level=level,
            photo=_read_upload(photo, "photo"),
            language=language,
            acknowledged=acknowledged,
            alternatives_offered=_split(alternatives_offered),
            conditions=_split(conditions),
            first_window_at=first_window_at,
            every_days=every_days,
            window_hours=window_hours,
            grace_minutes=grace_minutes,
            max_attempts=max_attempts,
        ),
    )
    e = result.enrolment
    return Status(
        201,
        EnrolmentOut(
            id=e.pk,
            person=e.person_id,
            level=e.level,
            status=e.status,
            compliance=e.compliance,
            participant_username=result.username,
            temporary_password=result.temporary_password,
            notice_version=e.consent.notice_version,
            notice_sha256=e.consent.notice_sha256,
        ),
    )
