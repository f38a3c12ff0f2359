"""Planning reminders for one person's own obligations: hearings, check-in windows, deadlines.

Every function here plans for *one* obligation of *one* person (or, in `plan_hearings` and
`plan_upcoming`, repeats that for each obligation in turn). Planning is a synchronisation:
given the obligation as it is now and the reminders it already has, it

- keeps the reminders that still fit, and supersedes (or, for a cancelled obligation,
  cancels) the unsent ones that do not: nothing is deleted, each keeps its reason;
- adds an announcement when what the person was last told differs from what is now true:
  `scheduled` (first notice), `moved` (new time), `cancelled`, or `postponed` (adjourned,
  new date not yet known, which also alerts the officer): a change is never silent;
- adds the reminders N days before (settings.REMINDER_DAYS_BEFORE, default 7, 3, 1),
  sent at NOTICE_SEND_HOUR (10:00) local time of the court or office, when still ahead.

Planning writes no ledger event: reminders hold ids only, and the change that caused the
plan (scheduling, moving a hearing, a decision) has its own event; each delivery attempt
records one (see `delivery.py`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet

from caseledger.core import clock
from caseledger.core.errors import Conflict
from caseledger.core.versioning import update_versioned

from .alerts import raise_alert
from .models import (
    ANNOUNCEMENT_KINDS,
    WAITING_STATUSES,
    AlertKind,
    ObligationType,
    Reminder,
    ReminderStatus,
)

log = logging.getLogger(__name__)

ACTIVE, CANCELLED, POSTPONED, GONE = "active", "cancelled", "postponed", "gone"
# A reminder due less than this after an announcement that goes out now is left out.
MIN_GAP_AFTER_ANNOUNCEMENT = timedelta(hours=12)
DEADLINE_HOUR = 17  # a deadline "is" at close of business on its due day, local time
DEFAULT_TIME_ZONE = "America/New_York"


def days_before() -> tuple[int, ...]:
    return tuple(sorted({int(d) for d in settings.REMINDER_DAYS_BEFORE if int(d) > 0},
                        reverse=True))


def send_hour() -> int:
    return int(getattr(settings, "NOTICE_SEND_HOUR", 10))


@dataclass(frozen=True)
class Desired:
    """What is true of an obligation now, and how to announce it."""

    state: str  # active | cancelled | postponed | gone
    at: datetime | None = None  # the obligation's time (the old one if cancelled/postponed)
    time_zone: str = DEFAULT_TIME_ZONE
    days: tuple[int, ...] = ()
    first_kind: str | None = "scheduled"  # announcement of a first plan; None: none
    moved_kind: str | None = "moved"  # announcement of a change of time; None: none
    announce_end: bool = True  # announce cancelled / postponed
    reason: str = ""  # for GONE: why the waiting reminders are cancelled


@dataclass
class PlanResult:
    created: int = 0
    superseded: int = 0
    cancelled: int = 0
    obligations: int = 0
    reminders: list[Reminder] = field(default_factory=list)

    def add(self, other: PlanResult) -> None:
        self.created += other.created
        self.superseded += other.superseded
        self.cancelled += other.cancelled
        self.obligations += other.obligations
        self.reminders.extend(other.reminders)

    def as_dict(self) -> dict[str, int]:
        return {
            "obligations": self.obligations,
            "created": self.created,
            "superseded": self.superseded,
            "cancelled": self.cancelled,
        }


@dataclass
class _Changes:
    create: list[Reminder] = field(default_factory=list)
    status: list[tuple[Reminder, str, str]] = field(default_factory=list)
    alerts: list[tuple[Reminder, str]] = field(default_factory=list)


def reminder_time(at: datetime, days: int, time_zone: str) -> datetime:
    """`days` calendar days before `at`, at the send hour, local time of `time_zone`."""
    tz = ZoneInfo(time_zone)
    day = at.astimezone(tz).date() - timedelta(days=days)
    return datetime.combine(day, time(send_hour()), tz).astimezone(UTC)


def _told(sent: Sequence[Reminder]) -> tuple[str, datetime] | None:
    """What the last reminder that went out told the person: (state, time)."""
    if not sent:
        return None
    last = max(sent, key=lambda r: (r.sent_at or r.claimed_at or r.created_at, r.created_at))
    if last.kind == "cancelled":
        return CANCELLED, last.obligation_at
    if last.kind == "postponed":
        return POSTPONED, last.obligation_at
    return ACTIVE, last.obligation_at


def _fits(reminder: Reminder, desired: Desired) -> bool:
    if reminder.obligation_at != desired.at:
        return False
    if desired.state == ACTIVE:
        return reminder.kind not in ("cancelled", "postponed")
    if desired.state == CANCELLED:
        return reminder.kind == "cancelled"
    if desired.state == POSTPONED:
        return reminder.kind == "postponed"
    return False


def _sync(
    obligation_type: str,
    obligation_id: str,
    person_id: Any,
    desired: Desired,
    existing: Sequence[Reminder],
    now: datetime,
    out: _Changes,
) -> None:
    """Decide, without touching the database, what to change for one obligation."""
    waiting = [r for r in existing if r.status in WAITING_STATUSES]
    told_rows = [r for r in existing if r.status in (ReminderStatus.SENT, ReminderStatus.SENDING)]
    if desired.state == GONE or desired.at is None:
        for r in waiting:
            out.status.append((r, ReminderStatus.CANCELLED, desired.reason or "obligation_gone"))
        return
    kept: list[Reminder] = []
    for r in waiting:
        if _fits(r, desired):
            kept.append(r)
        elif desired.state == CANCELLED:
            out.status.append((r, ReminderStatus.CANCELLED, "obligation_cancelled"))
        else:
            reason = "obligation_postponed" if desired.state == POSTPONED else "obligation_moved"
            out.status.append((r, ReminderStatus.SUPERSEDED, reason))
    in_future = desired.at > now
    told = _told(told_rows)
    pending_announcement = any(r.kind in ANNOUNCEMENT_KINDS for r in kept)
    # When the person was (or is about to be) told of this obligation as it is now.
    announced = [r.due_at for r in kept + told_rows
                 if r.kind in ANNOUNCEMENT_KINDS and r.obligation_at == desired.at]
    if in_future and not pending_announcement and told != (desired.state, desired.at):
        kind: str | None = None
        previous: datetime | None = None
        if desired.state == ACTIVE:
            if told is not None and told[0] == ACTIVE:
                # The person knows another time: tell them it moved (from what they know).
                kind, previous = desired.moved_kind, told[1]
            else:
                # Nothing went out yet (even if planned for another time), or they were told
                # it was cancelled or postponed: a first notice of the time as it is now.
                kind = desired.first_kind
        elif desired.announce_end and existing:
            # Only an obligation we had planned reminders for gets an end notice.
            kind = "cancelled" if desired.state == CANCELLED else "postponed"
            previous = desired.at
        if kind:
            notice = _new(obligation_type, obligation_id, person_id, desired.at, kind, now, now)
            notice.previous_at = previous
            out.create.append(notice)
            announced.append(now)
            if kind == "postponed":
                out.alerts.append((notice, AlertKind.HEARING_DATE_UNKNOWN))
    if desired.state != ACTIVE:
        return
    have = {r.kind for r in kept + told_rows if r.obligation_at == desired.at}
    for days in desired.days:
        kind = f"{days}d"
        if kind in have:
            continue
        due = reminder_time(desired.at, days, desired.time_zone)
        if due <= now or due >= desired.at:
            continue
        if any(timedelta(0) <= due - at < MIN_GAP_AFTER_ANNOUNCEMENT for at in announced):
            continue  # a notice about it goes out shortly before: no second message
        out.create.append(_new(obligation_type, obligation_id, person_id, desired.at, kind, due,
                               now))


def _new(obligation_type: str, obligation_id: str, person_id: Any, at: datetime, kind: str,
         due: datetime, now: datetime) -> Reminder:
    return Reminder(
        person_id=person_id,
        obligation_type=obligation_type,
        obligation_id=obligation_id,
        obligation_at=at,
        kind=kind,
        due_at=due,
        next_attempt_at=due,
        status=ReminderStatus.PLANNED,
    )


def _retire(reminder: Reminder, status: str, error: str) -> bool:
    """Supersede or cancel a waiting reminder as planned; False when it changed since it was
    read (claimed for sending, sent, or re-planned by another run): then it is theirs."""
    try:
        update_versioned(reminder, None, where=Q(status__in=WAITING_STATUSES), what="reminder",
                         status=status, last_error=error)
    except Conflict:
        return False
    return True


def _apply(changes: _Changes, now: datetime) -> PlanResult:
    result = PlanResult()
    with transaction.atomic():
        for reminder, status, error in changes.status:
            if not _retire(reminder, status, error):
                continue
            if status == ReminderStatus.CANCELLED:
                result.cancelled += 1
            else:
                result.superseded += 1
        if changes.create:
            try:
                with transaction.atomic():
                    Reminder.objects.bulk_create(changes.create)
                created = list(changes.create)
            except IntegrityError:
                # Another planner got there first for some of them: add the rest one by one.
                created = []
                for reminder in changes.create:
                    try:
                        with transaction.atomic():
                            reminder.save(force_insert=True)
                        created.append(reminder)
                    except IntegrityError:
                        continue
            result.created += len(created)
            result.reminders.extend(created)
            if changes.alerts:
                made = {id(r) for r in created}
                for reminder, kind in changes.alerts:
                    if id(reminder) in made:
                        raise_alert(reminder.person_id, kind, reminder=reminder, now=now)
    return result


def _existing(obligation_type: str, ids: Iterable[str]) -> dict[str, list[Reminder]]:
    found: dict[str, list[Reminder]] = defaultdict(list)
    ids = list(ids)
    for start in range(0, len(ids), 900):
        for r in Reminder.objects.filter(
            obligation_type=obligation_type, obligation_id__in=ids[start : start + 900]
        ):
            found[r.obligation_id].append(r)
    return found


# --- hearings ---------------------------------------------------------------------------------
def _hearing_desired(hearing: Any, now: datetime) -> Desired:
    from caseledger.cases.models import HearingStatus

    tz = hearing.court.time_zone
    at = hearing.scheduled_at
    if hearing.status == HearingStatus.SCHEDULED:
        if at <= now:
            return Desired(GONE, reason="obligation_past")
        return Desired(ACTIVE, at=at, time_zone=tz, days=days_before())
    if hearing.status == HearingStatus.CANCELLED:
        return Desired(CANCELLED, at=at, time_zone=tz)
    if hearing.status == HearingStatus.ADJOURNED:
        return Desired(POSTPONED, at=at, time_zone=tz)
    return Desired(GONE, reason="hearing_held")


def _hearing_person(hearing: Any) -> Any:
    person_id = getattr(hearing, "person_id", None)
    if person_id is None:
        person_id = hearing.proceeding.case.person_id
    return person_id


def plan_for_hearing(
    hearing: Any, *, now: datetime | None = None, old_time: datetime | None = None
) -> PlanResult:
    """Bring one hearing's reminders in line with the hearing as it is now.

    What the person is told about a change is decided from what was actually sent to them
    (a move is announced "from" the last time they were told of), so `old_time` is only
    logged, for the record of the call."""
    if old_time is not None and old_time != hearing.scheduled_at:
        log.debug("re-planning hearing %s (was %s)", hearing.pk, old_time.isoformat())
    now = now or clock.now()
    changes = _Changes()
    key = str(hearing.pk)
    existing = _existing(ObligationType.HEARING, [key]).get(key, [])
    _sync(ObligationType.HEARING, key, _hearing_person(hearing), _hearing_desired(hearing, now),
          existing, now, changes)
    result = _apply(changes, now)
    result.obligations = 1
    return result


def replan_hearing(
    hearing: Any, old_time: datetime | None, *, now: datetime | None = None
) -> PlanResult:
    """After a hearing moved (or was cancelled or adjourned): supersede what no longer fits,
    tell the person what changed, plan the reminders of the new time. Nothing is dropped
    silently: every unsent reminder keeps its row and the reason it was not sent."""
    return plan_for_hearing(hearing, now=now, old_time=old_time)


def plan_hearings(
    hearings: QuerySet[Any] | Iterable[Any],
    *,
    now: datetime | None = None,
    chunk: int = 500,
    progress: Callable[[int], None] | None = None,
) -> PlanResult:
    """`plan_for_hearing` for each hearing, a chunk at a time (for `notices plan-all`)."""
    from caseledger.cases.models import Hearing

    now = now or clock.now()
    if isinstance(hearings, QuerySet):
        hearings = hearings.select_related("court").annotate(
            person_id=F("proceeding__case__person_id")
        )
    total = PlanResult()
    batch: list[Hearing] = []

    def flush() -> None:
        keys = [str(h.pk) for h in batch]
        existing = _existing(ObligationType.HEARING, keys)
        changes = _Changes()
        for hearing, key in zip(batch, keys, strict=True):
            _sync(ObligationType.HEARING, key, _hearing_person(hearing),
                  _hearing_desired(hearing, now), existing.get(key, []), now, changes)
        total.add(_apply(changes, now))
        total.obligations += len(batch)
        if progress:
            progress(len(batch))
        batch.clear()

    iterator = hearings.iterator(chunk_size=chunk) if isinstance(hearings, QuerySet) else hearings
    for hearing in iterator:
        batch.append(hearing)
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    return total


# --- check-in windows -------------------------------------------------------------------------
def _window_key(schedule: Any, index: int) -> str:
    return f"{schedule.pk}:{index}"


def _window_desired(schedule: Any, index: int, now: datetime, first: bool) -> Desired:
    from caseledger.supervision.models import EnrolmentStatus

    enrolment = schedule.enrolment
    if enrolment.status != EnrolmentStatus.ACTIVE:
        return Desired(GONE, reason="enrolment_ended")
    opens, _closes, _until = schedule.window(index)
    if opens <= now:
        return Desired(GONE, reason="obligation_past")
    tz = enrolment.person.office.time_zone or DEFAULT_TIME_ZONE
    # Reminders N days before a window make sense only within one interval of windows.
    days = tuple(d for d in days_before() if d < schedule.every_days)
    return Desired(ACTIVE, at=opens, time_zone=tz, days=days,
                   first_kind="scheduled" if first else None, moved_kind=None,
                   announce_end=False)


def plan_for_window(
    schedule: Any, index: int, *, now: datetime | None = None, announce: bool = False
) -> PlanResult:
    """Reminders of one check-in window (`announce`: also a notice now, for the first)."""
    now = now or clock.now()
    key = _window_key(schedule, index)
    changes = _Changes()
    existing = _existing(ObligationType.CHECKIN, [key]).get(key, [])
    _sync(ObligationType.CHECKIN, key, schedule.enrolment.person_id,
          _window_desired(schedule, index, now, announce), existing, now, changes)
    result = _apply(changes, now)
    result.obligations = 1
    return result


def plan_for_schedule(
    schedule: Any, *, now: datetime | None = None, horizon_days: int | None = None
) -> PlanResult:
    """The windows of one schedule that open within the horizon (default 14 days); the
    first window ever planned for the schedule also gets the notice at scheduling. An ended
    enrolment cancels what is still waiting."""
    from caseledger.supervision.models import EnrolmentStatus

    now = now or clock.now()
    horizon = timedelta(days=horizon_days or int(getattr(settings, "NOTICE_HORIZON_DAYS", 14)))
    prefix = f"{schedule.pk}:"
    result = PlanResult()
    if schedule.enrolment.status != EnrolmentStatus.ACTIVE:
        changes = _Changes()
        for r in Reminder.objects.filter(obligation_type=ObligationType.CHECKIN,
                                         obligation_id__startswith=prefix,
                                         status__in=WAITING_STATUSES):
            changes.status.append((r, ReminderStatus.CANCELLED, "enrolment_ended"))
        return _apply(changes, now)
    first_plan = not Reminder.objects.filter(
        obligation_type=ObligationType.CHECKIN, obligation_id__startswith=prefix
    ).exists()
    _opens, _closes, _until = schedule.next_window(now)
    index = schedule.window_index(_opens) if _opens >= schedule.first_window_at else 0
    while True:
        opens = schedule.window(index)[0]
        if opens > now + horizon:
            break
        if opens > now:
            result.add(plan_for_window(schedule, index, now=now, announce=first_plan))
            first_plan = False
        index += 1
    return result


# --- deadlines --------------------------------------------------------------------------------
def _deadline_key(case: Any, rule: str) -> str:
    return f"{case.pk}:{rule}"


def case_time_zone(case: Any) -> str:
    proceeding = case.proceedings.select_related("court").order_by("-started_on").first()
    return proceeding.court.time_zone if proceeding else DEFAULT_TIME_ZONE


def _deadline_desired(due: date | None, time_zone: str, now: datetime) -> Desired:
    if due is None:
        return Desired(GONE, reason="deadline_paused")
    at = datetime.combine(due, time(DEADLINE_HOUR), ZoneInfo(time_zone)).astimezone(UTC)
    if at <= now:
        return Desired(GONE, reason="obligation_past")
    return Desired(ACTIVE, at=at, time_zone=time_zone, days=days_before(),
                   moved_kind="scheduled", announce_end=False)


def plan_for_deadline(
    case: Any, deadline: Any, *, now: datetime | None = None, time_zone: str | None = None
) -> PlanResult:
    """Reminders of one deadline (a `cases.deadlines.CaseDeadline`) of one case."""
    now = now or clock.now()
    tz = time_zone or case_time_zone(case)
    key = _deadline_key(case, deadline.rule)
    changes = _Changes()
    existing = _existing(ObligationType.DEADLINE, [key]).get(key, [])
    _sync(ObligationType.DEADLINE, key, case.person_id, _deadline_desired(deadline.due, tz, now),
          existing, now, changes)
    result = _apply(changes, now)
    result.obligations = 1
    return result


def plan_for_case_deadlines(case: Any, *, now: datetime | None = None) -> PlanResult:
    """Every open deadline of a case; reminders of deadlines that closed are cancelled."""
    from caseledger.cases.deadlines import deadlines_for_case
    from caseledger.cases.models import Decision, StatusChange

    now = now or clock.now()
    tz = case_time_zone(case)
    decisions = list(Decision.objects.filter(proceeding__case=case))
    changes_rows = list(StatusChange.objects.filter(case=case))
    local_today = now.astimezone(ZoneInfo(tz)).date()
    deadlines = deadlines_for_case(case, decisions, changes_rows, tz, local_today)
    result = PlanResult()
    current = set()
    for deadline in deadlines:
        current.add(_deadline_key(case, deadline.rule))
        result.add(plan_for_deadline(case, deadline, now=now, time_zone=tz))
    closed = _Changes()
    for r in Reminder.objects.filter(obligation_type=ObligationType.DEADLINE,
                                     obligation_id__startswith=f"{case.pk}:",
                                     status__in=WAITING_STATUSES):
        if r.obligation_id not in current and not r.obligation_id.endswith(":address-change"):
            closed.status.append((r, ReminderStatus.CANCELLED, "deadline_closed"))
    result.add(_apply(closed, now))
    return result


def plan_for_address_change(
    person: Any, changed_on: date, *, now: datetime | None = None
) -> PlanResult:
    """The EOIR-33 deadline (5 business days) after a person's change of address, on their
    most recent open case; nothing if they have none."""
    from caseledger.cases.deadlines import CaseDeadline, compute
    from caseledger.cases.models import Case, CaseStatus

    now = now or clock.now()
    case = (Case.objects.filter(person=person)
            .exclude(status__in=[CaseStatus.CLOSED, CaseStatus.DEPARTED])
            .order_by("-opened_on").first())
    if case is None:
        return PlanResult()
    tz = case_time_zone(case)
    due = compute("address-change", changed_on, time_zone=tz)
    deadline = CaseDeadline("address-change", "Change of address (EOIR-33)", changed_on, due,
                            "upcoming")
    return plan_for_deadline(case, deadline, now=now, time_zone=tz)


# --- by obligation id (used when a reminder turns out stale at send time) ---------------------
def sync_obligation(obligation_type: str, obligation_id: str, *, now: datetime | None = None
                    ) -> PlanResult:
    from caseledger.cases.models import Case, Hearing
    from caseledger.supervision.models import Schedule

    now = now or clock.now()
    if obligation_type == ObligationType.HEARING:
        hearing = Hearing.objects.select_related("court", "proceeding__case").filter(
            pk=obligation_id).first()
        return plan_for_hearing(hearing, now=now) if hearing else _gone(
            obligation_type, obligation_id, now)
    if obligation_type == ObligationType.CHECKIN:
        schedule_id, _sep, index = obligation_id.partition(":")
        schedule = Schedule.objects.select_related("enrolment__person__office").filter(
            pk=schedule_id).first()
        if schedule is None:
            return _gone(obligation_type, obligation_id, now)
        return plan_for_window(schedule, int(index), now=now)
    case_id, _sep, rule = obligation_id.partition(":")
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return _gone(obligation_type, obligation_id, now)
    if rule == "address-change":
        return PlanResult()
    return plan_for_case_deadlines(case, now=now)


def _gone(obligation_type: str, obligation_id: str, now: datetime) -> PlanResult:
    changes = _Changes()
    for r in Reminder.objects.filter(obligation_type=obligation_type, obligation_id=obligation_id,
                                     status__in=WAITING_STATUSES):
        changes.status.append((r, ReminderStatus.CANCELLED, "obligation_gone"))
    return _apply(changes, now)


# --- everything upcoming (the periodic top-up; `caseledger notices plan-all`) -----------------
def plan_upcoming(
    *, now: datetime | None = None, progress: Callable[[str, int, int], None] | None = None
) -> PlanResult:
    """Plan each upcoming hearing, each active schedule's next windows and each open case's
    deadlines, obligation by obligation. Idempotent."""
    from caseledger.cases.models import Case, CaseStatus, Hearing, HearingStatus
    from caseledger.supervision.models import EnrolmentStatus, Schedule

    now = now or clock.now()
    total = PlanResult()
    hearings = Hearing.objects.filter(scheduled_at__gt=now).exclude(status=HearingStatus.HELD)
    count = hearings.count()
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("hearings", done, count)

    total.add(plan_hearings(hearings.order_by("scheduled_at"), now=now, progress=tick))
    schedules = Schedule.objects.select_related("enrolment__person__office").filter(
        enrolment__status=EnrolmentStatus.ACTIVE)
    count = schedules.count()
    for i, schedule in enumerate(schedules.iterator(chunk_size=200), 1):
        total.add(plan_for_schedule(schedule, now=now))
        if progress:
            progress("check-in windows", i, count)
    cases = Case.objects.filter(status__in=[CaseStatus.DECIDED, CaseStatus.APPEALED,
                                            CaseStatus.FINAL_ORDER])
    count = cases.count()
    for i, case in enumerate(cases.iterator(chunk_size=200), 1):
        total.add(plan_for_case_deadlines(case, now=now))
        if progress:
            progress("deadlines", i, count)
    return total
