"""Reads of supervision data, through the access gate, one ledger event each."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext as _

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, record_access, require_related
from caseledger.access.policies import Ability, Scope
from caseledger.biometrics import liveness
from caseledger.core import clock
from caseledger.core.errors import NotFound
from caseledger.core.ids import as_uuid
from caseledger.core.reuse import large, office_figure
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .models import (
    ChangeDecision,
    ChangeRequest,
    CheckIn,
    CheckInOutcome,
    Consent,
    Departure,
    Enrolment,
    EnrolmentStatus,
    ReferencePhoto,
    Review,
    Schedule,
)
from .sealing import unpack_frames, unseal


def _require(
    ctx: AccessContext, model: Any, pk: Any, *, action: str, related: tuple[str, ...] = ()
) -> Any:
    """The row `pk` of `model` if the policy lets the context see its person (the path
    declared in `access.policies`); otherwise a denial naming that person, and NotFound."""
    return require_related(ctx, model, pk, record_type=record_type_of(model),
                           category=Category.SUPERVISION, action=action, related=related)


def require_enrolment(
    ctx: AccessContext, enrolment_id: Any, *, action: str = Action.READ
) -> Enrolment:
    return _require(ctx, Enrolment, enrolment_id, action=action, related=("person", "schedule"))


def require_review(ctx: AccessContext, review_id: Any, *, action: str = Action.READ) -> Review:
    return _require(ctx, Review, review_id, action=action,
                    related=("enrolment", "enrolment__person", "checkin"))


def require_change(ctx: AccessContext, request_id: Any) -> ChangeRequest:
    return _require(ctx, ChangeRequest, request_id, action=Action.UPDATE,
                    related=("enrolment", "proposed_by"))


def active_enrolment(ctx: AccessContext) -> Enrolment:
    """The active enrolment of the context's own person, through the policy. Only a context
    whose reach is itself has one: anyone else (staff, a representative) and a participant
    who is not enrolled are "not enrolled"."""
    enrolment = None
    if policies.scope(ctx.user) is Scope.SELF:
        enrolment = (
            policies.restrict(Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE), ctx)
            .select_related("person", "schedule")
            .first()
        )
    if enrolment is None:
        raise NotFound(_("You have no active check-in schedule."), code="not_enrolled")
    return enrolment


def current_enrolment(ctx: AccessContext, person_id: Any) -> Enrolment | None:
    """The active enrolment of a person the context already reached (the enrol page, after
    the person's read), through the policy; None when there is none."""
    return (
        policies.restrict(
            Enrolment.objects.filter(person_id=person_id, status=EnrolmentStatus.ACTIVE), ctx
        )
        .only("pk", "person_id", "level", "started_at")
        .first()
    )


# --- reviews --------------------------------------------------------------------------------
#: Rows on one page of the review queue and of the supervision dashboard.
PER_PAGE = 25


def _reviews(ctx: AccessContext, *, include_decided: bool) -> Any:
    """The reviews of the persons the context sees (open ones only unless `include_decided`),
    the most overdue first; open ones walk the partial index `supervision_review_open_due`."""
    qs = (
        policies.restrict(Review.objects.all(), ctx)
        .select_related("enrolment", "enrolment__person", "checkin")
        .prefetch_related("enrolment__person__names")
    )
    if not include_decided:
        qs = qs.filter(disposition="")
    return qs.order_by("due_at", "pk")


def _record_reviews_listed(ctx: AccessContext, reviews: list[Review]) -> None:
    """One list event naming every person whose review was returned."""
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.SUPERVISION,
        record_type=record_type_of(Review),
        detail={"results": [str(r.pk) for r in reviews]},
        subjects=[r.enrolment.person_id for r in reviews],
    )


def review_queue(*, ctx: AccessContext, include_decided: bool = False) -> list[Review]:
    """Open reviews of the persons the context sees, the most overdue first (at most 500)."""
    reviews = list(_reviews(ctx, include_decided=include_decided)[:500])
    _record_reviews_listed(ctx, reviews)
    return reviews


def review_queue_page(*, ctx: AccessContext, page: Any = 1, per_page: int = PER_PAGE) -> Page:
    """One page of the open reviews the context sees, the most overdue first. `page` as the
    request gave it: not a number is page 1, past the end is the last page (as every list
    page of the project). The list event names the persons of this page only."""
    page_obj = Paginator(_reviews(ctx, include_decided=False), per_page).get_page(page)
    reviews = list(page_obj.object_list)
    page_obj.object_list = reviews
    _record_reviews_listed(ctx, reviews)
    return page_obj


@dataclass
class ReviewDetail:
    review: Review
    attempts: list[CheckIn]  # every check-in of the window, in order
    has_reference: bool = False  # the enrolment photo is kept and can be shown to reviewers

    @property
    def overdue(self) -> bool:
        return not self.review.disposition and self.review.due_at < clock.now()


def get_review(*, ctx: AccessContext, review_id: Any) -> ReviewDetail:
    review = require_review(ctx, review_id)
    attempts = list(
        CheckIn.objects.filter(
            enrolment=review.enrolment, window_opens_at=review.window_opens_at
        ).order_by("attempt")
    )
    record_access(
        ctx,
        action=Action.READ,
        category=Category.SUPERVISION,
        subject_id=review.enrolment.person_id,
        record_type=record_type_of(Review),
        record_id=review.pk,
        detail={"attempts": len(attempts)},
    )
    has_reference = (
        ReferencePhoto.objects.filter(enrolment=review.enrolment, active=True)
        .exclude(photo_encrypted=b"")
        .exists()
    )
    return ReviewDetail(review, attempts, has_reference)


def review_image(
    *, ctx: AccessContext, review_id: Any, checkin_id: Any, frame: int | None = None
) -> bytes:
    """The captured image of a check-in under review, decrypted for the reviewer only; the
    read is a biometric-category ledger event. For a liveness burst, `frame` (its position in
    the burst, from 0) picks a frame: the key frame is the check-in's photo, the others are
    there only while the review needs them; None is the key frame (or the single photo)."""
    review = require_review(ctx, review_id)
    key = as_uuid(checkin_id)
    checkin = None
    # Representatives see a review's disposition, never its images.
    if key and policies.allows(ctx.user, Ability.SEE_CHECKIN_IMAGES):
        checkin = CheckIn.objects.filter(
            pk=key,
            enrolment=review.enrolment,
            window_opens_at=review.window_opens_at,
            image_encrypted__isnull=False,
        ).first()
    data = _checkin_image(checkin, frame) if checkin is not None else None
    if data is None:
        raise deny(
            ctx,
            action=Action.READ,
            category=Category.BIOMETRIC,
            record_type=record_type_of(CheckIn),
            record_id=checkin_id,
            subject_id=review.enrolment.person_id,
        )
    detail: dict[str, Any] = {"review": str(review.pk)}
    if frame is not None:
        detail["frame"] = frame
    record_access(
        ctx,
        action=Action.READ,
        category=Category.BIOMETRIC,
        subject_id=review.enrolment.person_id,
        record_type=record_type_of(CheckIn),
        record_id=checkin.pk,  # type: ignore[union-attr]
        detail=detail,
    )
    return data


def burst_key_frame(checkin: CheckIn) -> int:
    """The position in its burst of the frame kept as the check-in's photo (0 for a photo)."""
    key = (checkin.liveness or {}).get("key_frame")
    return key if isinstance(key, int) else 0


def burst_frames_kept(checkin: CheckIn) -> list[int]:
    """The positions of the frames of a check-in that can still be shown: every frame of a
    burst while its other frames are kept, else the key frame alone (or the photo)."""
    if checkin.image_encrypted is None:
        return []
    count = len((checkin.liveness or {}).get("frames") or [])
    if checkin.frames_encrypted is not None and count:
        return list(range(count))
    return [burst_key_frame(checkin)]


def _checkin_image(checkin: CheckIn, frame: int | None) -> bytes | None:
    """The photo, the key frame or another frame of a burst, decrypted; None when that frame
    is not kept."""
    key = burst_key_frame(checkin)
    if frame is None or frame == key:
        return unseal(checkin.image_encrypted, checkin.pk, "checkin_image")
    if checkin.frames_encrypted is None or frame < 0:
        return None
    others = unpack_frames(unseal(checkin.frames_encrypted, checkin.pk, "checkin_frames"))
    position = frame - 1 if frame > key else frame
    return others[position] if position < len(others) else None


def review_reference_image(*, ctx: AccessContext, review_id: Any) -> bytes:
    """The enrolment photo the check-ins of a review were compared with, decrypted for the
    reviewer only, so they can compare the two faces themselves; a biometric-category read.
    NotFound when the photo is no longer kept."""
    review = require_review(ctx, review_id)
    person_id = review.enrolment.person_id
    # The policy of reference photos lets only the roles that see check-in images view them.
    reference = (
        policies.restrict(ReferencePhoto.objects.filter(enrolment=review.enrolment, active=True),
                          ctx)
        .exclude(photo_encrypted=b"")
        .order_by("-created_at")
        .first()
    )
    if reference is None or not reference.photo_encrypted:
        raise deny(
            ctx,
            action=Action.READ,
            category=Category.BIOMETRIC,
            record_type=record_type_of(ReferencePhoto),
            record_id=review_id,
            subject_id=person_id,
        )
    record_access(
        ctx,
        action=Action.READ,
        category=Category.BIOMETRIC,
        subject_id=person_id,
        record_type=record_type_of(ReferencePhoto),
        record_id=reference.pk,
        detail={"review": str(review.pk)},
    )
    return unseal(reference.photo_encrypted, reference.pk, "enrolment_photo")


# --- the officer's supervision dashboard ------------------------------------------------------
def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@dataclass
class SupervisionRow:
    enrolment: Enrolment
    next_due: datetime | None
    last_checkin: CheckIn | None
    distance_from_home_km: float | None
    recent: list[CheckIn]
    pending_reviews: int
    overdue_reviews: int


@dataclass
class Dashboard:
    rows: list[SupervisionRow]  # the enrolments of this page
    weekly: dict[str, Any]  # outcome counts of every enrolment the context sees
    page: Page


def _active_enrolments(ctx: AccessContext) -> Any:
    return policies.restrict(Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE), ctx)


#: How long an office's count of active enrolments, and its weekly outcome counts (the
#: chart), are reused (seconds); a caseload's are counted on every view.
OFFICE_COUNT_SECONDS = 60
OFFICE_WEEKLY_SECONDS = 300


def _office_figure(ctx: AccessContext, name: str, compute: Any, seconds: int,
                   worth: Any = large, as_of: str = "") -> Any:
    """`compute()`; for an office-wide reach, reused for `seconds` when large (`core.reuse`:
    a count, or the weekly counts of a large office)."""
    return office_figure(policies.office_reach(ctx), f"supervision-{name}", compute, seconds,
                         worth, as_of=as_of)


def supervision_dashboard(
    *, ctx: AccessContext, page: Any = 1
) -> tuple[list[SupervisionRow], dict[str, Any]]:
    """`dashboard_page` as (rows, weekly)."""
    board = dashboard_page(ctx=ctx, page=page)
    return board.rows, board.weekly


def dashboard_page(*, ctx: AccessContext, page: Any = 1, per_page: int = PER_PAGE) -> Dashboard:
    """One page of the active enrolments the context sees, with next due, last check-in and
    place, the last 3 days of check-ins and pending reviews; those with overdue, then pending
    reviews first (ordered in SQL, so a page reads `per_page` enrolments, not the office;
    within a page, by next due). Also the weekly outcome counts of all of them, counted in
    SQL. `page` as the request gave it (not a number: 1; past the end: the last page). The
    list event names the persons of this page only."""
    now = clock.now()
    ordered = (
        _active_enrolments(ctx)
        .select_related("person", "schedule", "officer")
        .prefetch_related("person__names", "person__addresses")
        .annotate(
            pending=Count("reviews", filter=Q(reviews__disposition=""), distinct=True),
            overdue=Count(
                "reviews", filter=Q(reviews__disposition="", reviews__due_at__lt=now), distinct=True
            ),
        )
        .order_by("-overdue", "-pending", "started_at", "pk")
    )
    paginator = Paginator(ordered, per_page)
    # Counted without the review join the page's order needs (`count` is a cached property).
    total = _office_figure(ctx, "enrolments", _active_enrolments(ctx).count,
                           OFFICE_COUNT_SECONDS)
    paginator.count = total
    page_obj = paginator.get_page(page)
    # The page's rows read fresh, not bounded by a reused count.
    first = (page_obj.number - 1) * per_page
    if large(total) and policies.office_reach(ctx) is not None:
        enrolments = _walked_page(ctx, now, first, per_page)
    else:
        enrolments = list(ordered[first:first + per_page])
    page_obj.object_list = enrolments
    rows = _dashboard_rows(enrolments, now)

    def weekly_counts() -> dict[str, Any]:
        return weekly_outcomes(_active_enrolments(ctx).values("pk"), now)

    weekly = (_office_figure(ctx, "weekly", weekly_counts, OFFICE_WEEKLY_SECONDS,
                             worth=lambda _counts: True, as_of=now.date().isoformat())
              if large(total) else weekly_counts())
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.SUPERVISION,
        record_type=record_type_of(Enrolment),
        detail={"results": [str(e.person_id) for e in enrolments]},
        subjects=[e.person_id for e in enrolments],
    )
    return Dashboard(rows, weekly, page_obj)


#: Candidates checked against the reach by the walk's first statement, at least.
WALK_BATCH = 64


def _flagged(now: datetime) -> list[tuple[Any, int, int]]:
    """(enrolment id, pending, overdue) of every active enrolment with an open review, in the
    dashboard's order (overdue, then pending, first; then started, id). Read from the open
    reviews alone (partial index `supervision_review_open_due`), whatever the reach."""
    rows = (
        Review.objects.filter(disposition="", enrolment__status=EnrolmentStatus.ACTIVE)
        .values("enrolment_id", "enrolment__started_at")
        .annotate(pending=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
        .order_by()
    )
    ranked = sorted(rows, key=lambda r: (-r["overdue"], -r["pending"],
                                         r["enrolment__started_at"], r["enrolment_id"]))
    return [(r["enrolment_id"], r["pending"], r["overdue"]) for r in ranked]


def _candidates(now: datetime, first_batch: int) -> Any:
    """Chunks of (enrolment id, pending, overdue) in the dashboard's order over every active
    enrolment: the flagged ones, then the others by (started, id); chunks double in size."""
    flagged = _flagged(now)
    batch = first_batch
    for i in range(0, len(flagged), batch):
        yield flagged[i:i + batch]
    quiet = (
        Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE)
        .exclude(pk__in=Review.objects.filter(disposition="").values("enrolment_id"))
        .order_by("started_at", "pk")
        .values_list("pk", flat=True)
    )
    offset = 0
    while True:
        chunk = list(quiet[offset:offset + batch])
        if chunk:
            yield [(pk, 0, 0) for pk in chunk]
        if len(chunk) < batch:
            return
        offset, batch = offset + batch, batch * 2


def _walked_page(ctx: AccessContext, now: datetime, first: int, count: int
                 ) -> list[Enrolment]:
    """The page `ordered[first:first + count]` of a large office, without ranking the office:
    candidates in the dashboard's order (`_candidates`) are checked against the reach a chunk
    at a time until the page is full. At 10^6 persons in one office, ranking every enrolment
    joined every one of them to its person's office (~500 ms); the walk checks the page's."""
    kept: list[tuple[Any, int, int]] = []
    seen: set[Any] = set()  # a review closed between the two reads: listed once
    for chunk in _candidates(now, max(WALK_BATCH, 2 * (first + count))):
        fresh = [c for c in chunk if c[0] not in seen]
        seen.update(c[0] for c in fresh)
        reach = set(_active_enrolments(ctx).filter(pk__in=[c[0] for c in fresh])
                    .values_list("pk", flat=True))
        kept += [c for c in fresh if c[0] in reach]
        if len(kept) >= first + count:
            break
    page = kept[first:first + count]
    by_id = (_active_enrolments(ctx).select_related("person", "schedule", "officer")
             .prefetch_related("person__names", "person__addresses")
             .in_bulk([pk for pk, _p, _o in page]))
    enrolments = []
    for pk, pending, overdue in page:
        if pk in by_id:  # not ended since it was checked
            enrolment = by_id[pk]
            enrolment.pending, enrolment.overdue = pending, overdue
            enrolments.append(enrolment)
    return enrolments


def _dashboard_rows(enrolments: list[Enrolment], now: datetime) -> list[SupervisionRow]:
    """The rows of the dashboard for these enrolments (a fixed number of statements)."""
    ids = [e.pk for e in enrolments]
    since = now - timedelta(days=3)
    recent: dict[Any, list[CheckIn]] = {}
    for checkin in CheckIn.objects.filter(enrolment_id__in=ids, submitted_at__gte=since).order_by(
        "-submitted_at"
    ):
        recent.setdefault(checkin.enrolment_id, []).append(checkin)
    # Each enrolment's own latest check-in (by id, so two enrolments with a check-in at the
    # same instant cannot pick each other's).
    latest = (
        Enrolment.objects.filter(pk__in=ids)
        .annotate(
            last_id=Subquery(
                CheckIn.objects.filter(enrolment=OuterRef("pk"))
                .order_by("-submitted_at", "-attempt")
                .values("pk")[:1]
            )
        )
        .values_list("pk", "last_id")
    )
    by_id = CheckIn.objects.in_bulk([last for _pk, last in latest if last])
    lasts = {pk: by_id[last] for pk, last in latest if last in by_id}
    rows = [
        _dashboard_row(enrolment, lasts.get(enrolment.pk), recent.get(enrolment.pk, []), now)
        for enrolment in enrolments
    ]
    rows.sort(
        key=lambda r: (
            -r.overdue_reviews,
            -r.pending_reviews,
            r.next_due or datetime.max.replace(tzinfo=now.tzinfo),
        )
    )
    return rows


def _dashboard_row(
    enrolment: Enrolment, last: CheckIn | None, recent: list[CheckIn], now: datetime
) -> SupervisionRow:
    home = next((a for a in enrolment.person.addresses.all() if a.valid_to is None), None)
    distance = None
    if (
        last
        and last.latitude is not None
        and home
        and home.latitude is not None
        and home.longitude is not None
    ):
        distance = round(
            distance_km(
                float(last.latitude),
                float(last.longitude),
                float(home.latitude),
                float(home.longitude),
            ),
            1,
        )
    schedule = getattr(enrolment, "schedule", None)
    next_due = schedule.next_window(now)[1] if schedule else None
    return SupervisionRow(
        enrolment, next_due, last, distance, recent, enrolment.pending, enrolment.overdue
    )


def weekly_outcomes(enrolment_ids: Any, now: datetime, weeks: int = 8) -> dict[str, Any]:
    """Check-in outcomes per ISO week (weeks from Monday, UTC) for the chart: {"weeks": [...],
    "verified": [...], "review": [...], "missed": [...]}. `enrolment_ids` is a list of ids or a
    subquery of them; the counting is done by the database (one statement each for check-ins
    and missed windows), whatever the number of enrolments."""
    start = (now - timedelta(weeks=weeks - 1)).date()
    start -= timedelta(days=start.weekday())
    labels = [(start + timedelta(weeks=i)) for i in range(weeks)]
    counts: Counter[tuple[date, str]] = Counter()
    for week, outcome, n in (
        CheckIn.objects.filter(enrolment_id__in=enrolment_ids, submitted_at__date__gte=start)
        .annotate(week=TruncWeek("submitted_at", tzinfo=UTC))
        .values_list("week", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[(_day(week), outcome)] += n
    missed: Counter[date] = Counter()
    for week, n in (
        Review.objects.filter(
            enrolment_id__in=enrolment_ids, kind="missed_window", window_opens_at__date__gte=start
        )
        .annotate(week=TruncWeek("window_opens_at", tzinfo=UTC))
        .values_list("week")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        missed[_day(week)] += n
    return {
        "weeks": [d.isoformat() for d in labels],
        "verified": [counts[(d, CheckInOutcome.VERIFIED)] for d in labels],
        "review": [counts[(d, CheckInOutcome.REVIEW)] for d in labels],
        "missed": [missed[d] for d in labels],
    }


def _day(week: datetime | date) -> date:
    """The Monday of a `TruncWeek` (a datetime in UTC on every backend here)."""
    return week.astimezone(UTC).date() if isinstance(week, datetime) else week


def pending_changes(*, ctx: AccessContext) -> list[ChangeRequest]:
    changes = list(
        policies.restrict(ChangeRequest.objects.filter(decision=ChangeDecision.PENDING), ctx)
        .select_related("enrolment", "enrolment__person", "proposed_by")
        .order_by("proposed_at")
    )
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.SUPERVISION,
        record_type=record_type_of(ChangeRequest),
        detail={"results": [str(c.pk) for c in changes]},
        subjects=[c.enrolment.person_id for c in changes],
    )
    return changes


# --- the participant's own view ---------------------------------------------------------------
@dataclass
class ParticipantStatus:
    enrolment: Enrolment
    window: tuple[datetime, datetime, datetime] | None  # open now
    next_window: tuple[datetime, datetime, datetime]
    attempts_used: int
    checked_in: bool
    recent: list[CheckIn]


def participant_status(*, ctx: AccessContext) -> ParticipantStatus:
    """The participant's own schedule and recent check-ins: one read event."""
    enrolment = active_enrolment(ctx)
    now = clock.now()
    schedule = enrolment.schedule
    window = schedule.current_window(now)
    in_window = (
        CheckIn.objects.filter(enrolment=enrolment, window_opens_at=window[0]) if window else None
    )
    recent = list(enrolment.checkins.order_by("-submitted_at")[:10])
    record_access(
        ctx,
        action=Action.READ,
        category=Category.SUPERVISION,
        subject_id=enrolment.person_id,
        record_type=record_type_of(Enrolment),
        record_id=enrolment.pk,
    )
    return ParticipantStatus(
        enrolment,
        window,
        schedule.next_window(now),
        in_window.count() if in_window is not None else 0,
        bool(in_window is not None and in_window.filter(outcome=CheckInOutcome.VERIFIED).exists()),
        recent,
    )


class CheckInState(StrEnum):
    """Where the participant stands in their check-in schedule, said one way everywhere."""

    VERIFIED = "verified"  # checked in and verified in the window open now: nothing more to do
    IN_REVIEW = "in_review"  # sent to an officer for review: nothing more to do
    RETAKE = "retake"  # the last try asked for one more (liveness or face not passed): retake now
    OPEN = "open"  # a window is open and nothing is stored in it yet: check in now
    CLOSED = "closed"  # no window open now: the next one opens at `next_window`


@dataclass(frozen=True)
class ParticipantState:
    """What happened in the participant's current check-in window and what they need to do
    next: the one answer that the portal's home page, check-in page and receipt all show, so
    they never contradict each other. Tries are the check-ins stored in the open window (a
    refused photo stores nothing and costs no try), counted here for every page. A stored
    try is verified, sent for review, or (a liveness burst not judged live, or a face that did
    not match, the first time in the window) asks for one retake: only then is another try
    wanted. The pages offer no further try after a try went to review (the service would
    still take one, up to the schedule's limit)."""

    state: CheckInState
    window: tuple[datetime, datetime, datetime] | None  # the window open now
    next_window: tuple[datetime, datetime, datetime]  # the next one to check in (may be `window`)
    attempts_used: int
    max_attempts: int
    recent: list[CheckIn]
    retake: CheckIn | None = None  # the try that asked for a retake (state RETAKE)

    @property
    def tries_left(self) -> int:
        return max(0, self.max_attempts - self.attempts_used)

    @property
    def can_check_in(self) -> bool:
        return self.state in (CheckInState.OPEN, CheckInState.RETAKE)

    @property
    def retake_needed(self) -> bool:
        """The participant should try once more now (in the window open now)."""
        return self.state is CheckInState.RETAKE

    @property
    def retake_message(self) -> str:
        """Why a retake is asked for, and what to do, in the active language."""
        return retake_message(self.retake) if self.retake is not None else ""


def retake_message(checkin: CheckIn) -> str:
    """What the participant reads after a try that asked for a retake: why (the liveness
    reason, or the face that did not match), that one more try is wanted, and that it is no
    violation. In the active language."""
    if checkin.liveness_outcome == liveness.NOT_LIVE:
        why = str(liveness.REASON_MESSAGES.get(checkin.liveness_reason, ""))
    else:
        why = _("Your face could not be matched with your enrolment photo. Face the camera in "
                "good light and try again.")
    again = _("Please try once more now. If it does not work again, an officer will look at "
              "the pictures.")
    not_a_violation = _("This is not a violation.")  # not in an f-string: xgettext skips those
    return f"{why} {again} {not_a_violation}".strip()


def window_state(
    schedule: Schedule, in_window: list[CheckIn], now: datetime
) -> tuple[CheckInState, tuple[datetime, datetime, datetime]]:
    """The state of the window open at `now` given its stored check-ins, and the window the
    participant checks in next (the open one while a check-in is still wanted)."""
    window = schedule.current_window(now)
    if window is None:
        return CheckInState.CLOSED, schedule.next_window(now)
    following = schedule.next_window(window[2] + timedelta(seconds=1))
    if any(c.outcome == CheckInOutcome.VERIFIED for c in in_window):
        return CheckInState.VERIFIED, following
    retake = any(c.outcome == CheckInOutcome.RETAKE for c in in_window)
    under_review = any(c.outcome != CheckInOutcome.RETAKE for c in in_window)
    if retake and not under_review and len(in_window) < schedule.max_attempts:
        return CheckInState.RETAKE, window
    if in_window:  # every other stored try that is not verified went to review
        return CheckInState.IN_REVIEW, following
    return CheckInState.OPEN, window


def participant_state(*, ctx: AccessContext) -> ParticipantState:
    """The participant's own state (see `ParticipantState`) and recent check-ins: one read
    event. NotFound when they have no active enrolment."""
    enrolment = active_enrolment(ctx)
    now = clock.now()
    schedule = enrolment.schedule
    window = schedule.current_window(now)
    in_window = (
        list(CheckIn.objects.filter(enrolment=enrolment, window_opens_at=window[0]))
        if window
        else []
    )
    state, upcoming = window_state(schedule, in_window, now)
    recent = list(enrolment.checkins.order_by("-submitted_at")[:10])
    record_access(
        ctx,
        action=Action.READ,
        category=Category.SUPERVISION,
        subject_id=enrolment.person_id,
        record_type=record_type_of(Enrolment),
        record_id=enrolment.pk,
    )
    retake = None
    if state is CheckInState.RETAKE:
        retake = max(in_window, key=lambda c: c.attempt)
    return ParticipantState(
        state, window, upcoming, len(in_window), schedule.max_attempts, recent, retake
    )


@dataclass(frozen=True)
class ReceiptProof:
    """Where a check-in's ledger event stands: integrated at `position`, and (once a checkpoint
    covers it) included in the signed tree of `checkpoint_size`, with the inclusion proof."""

    event_id: uuid.UUID
    position: int | None
    checkpoint_size: int | None
    proof: dict[str, Any] | None


def receipt_proof(*, ctx: AccessContext, checkin_id: Any) -> ReceiptProof:
    """For the participant's own check-in only: another's check-in, or anyone but the person
    who checks in asking, is a recorded denial (naming the check-in's person) and not found."""
    from caseledger.ledger import proofs
    from caseledger.ledger.models import Checkpoint

    if not policies.allows(ctx.user, Ability.CHECK_IN):
        raise deny(ctx, action=Action.READ, category=Category.SUPERVISION,
                   record_type=record_type_of(CheckIn), record_id=checkin_id,
                   subject_id=policies.person_of(CheckIn, checkin_id))
    checkin = _require(ctx, CheckIn, checkin_id, action=Action.READ)
    if checkin.ledger_event is None:
        raise NotFound("No such check-in.")
    found = proofs.locate(checkin.ledger_event)
    position = found[0] if found else None
    if position is None:
        return ReceiptProof(checkin.ledger_event, None, None, None)
    latest = Checkpoint.objects.order_by("-size").values_list("size", flat=True).first()
    if latest is None or latest <= position:
        return ReceiptProof(checkin.ledger_event, position, None, None)
    proof = proofs.inclusion_at(position, bytes(found[1]), latest)
    return ReceiptProof(checkin.ledger_event, position, latest, proof)


def recent_departures(*, ctx: AccessContext, days: int = 30) -> list[Departure]:
    """Departures confirmed in the last `days` for the persons the context sees, newest first:
    the officer's live view of who has left."""
    departures = list(
        policies.restrict(
            Departure.objects.filter(confirmed_at__gte=clock.now() - timedelta(days=days)), ctx
        )
        .select_related("enrolment", "enrolment__person", "case", "confirmed_by")
        .prefetch_related("enrolment__person__names")
        .order_by("-confirmed_at")[:100]
    )
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.SUPERVISION,
        record_type=record_type_of(Departure),
        detail={"results": [str(d.pk) for d in departures]},
        subjects=[d.enrolment.person_id for d in departures],
    )
    return departures


@dataclass
class EnrolmentPage:
    enrolment: Enrolment
    consent: Consent | None
    checkins: list[CheckIn]
    reviews: list[Review]
    changes: list[ChangeRequest]
    departures: list[Departure]

    @property
    def verified_checkins(self) -> list[CheckIn]:
        return [c for c in self.checkins if c.outcome == CheckInOutcome.VERIFIED]

    @property
    def pending_change(self) -> ChangeRequest | None:
        return next((c for c in self.changes if c.decision == "pending"), None)


def get_enrolment(*, ctx: AccessContext, enrolment_id: Any) -> EnrolmentPage:
    """The enrolment with its consent, check-ins, reviews, changes and departures: one read
    event."""
    enrolment = require_enrolment(ctx, enrolment_id)
    page = EnrolmentPage(
        enrolment,
        Consent.objects.filter(enrolment=enrolment).first(),
        list(enrolment.checkins.order_by("-submitted_at")[:50]),
        list(enrolment.reviews.select_related("decided_by").order_by("-opened_at")[:50]),
        list(
            enrolment.changes.select_related("proposed_by", "decided_by").order_by("-proposed_at")
        ),
        list(enrolment.departures.select_related("case", "confirmed_by")),
    )
    record_access(
        ctx,
        action=Action.READ,
        category=Category.SUPERVISION,
        subject_id=enrolment.person_id,
        record_type=record_type_of(Enrolment),
        record_id=enrolment.pk,
        detail={"checkins": len(page.checkins), "reviews": len(page.reviews)},
    )
    return page
