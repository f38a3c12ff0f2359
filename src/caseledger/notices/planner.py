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

At scale (`plan_upcoming`, `caseledger notices plan-all`) the same decisions are made a chunk
of obligations at a time, one transaction per chunk, with a fixed number of statements per
chunk: the obligations read as plain values (hearings and cases locked for the chunk), their
reminders in one indexed look-up, retirements grouped into a few UPDATEs and new reminders
in one COPY. One obligation at a time is the same code with a chunk of one.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import batched
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from caseledger.core import clock
from caseledger.core.copying import copy_model_rows

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

    def add(self, other: PlanResult) -> None:
        self.created += other.created
        self.superseded += other.superseded
        self.cancelled += other.cancelled
        self.obligations += other.obligations

    def as_dict(self) -> dict[str, int]:
        return {
            "obligations": self.obligations,
            "created": self.created,
            "superseded": self.superseded,
            "cancelled": self.cancelled,
        }


@dataclass(slots=True)
class _Row:
    """An existing reminder as planning reads it: plain values, no model instance (a chunk of
    hearings reads thousands, and building `Reminder` objects was a third of the cost)."""

    pk: Any
    row_version: int
    obligation_id: str
    status: str
    kind: str
    obligation_at: datetime
    due_at: datetime
    sent_at: datetime | None
    claimed_at: datetime | None
    created_at: datetime


_ROW_FIELDS = tuple(f.name for f in _Row.__dataclass_fields__.values())


@dataclass(slots=True)
class _New:
    """A reminder to create, written by COPY (PostgreSQL) or `executemany` without `save()`."""

    person_id: Any
    obligation_type: str
    obligation_id: str
    obligation_at: datetime
    kind: str
    due_at: datetime
    previous_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


# The columns written for a new reminder; the others keep their model defaults (blank
# channel and error, no attempts, no template).
_NEW_COLUMNS = ("id", "created_at", "updated_at", "row_version", "person_id", "obligation_type",
                "obligation_id", "obligation_at", "previous_at", "kind", "due_at", "status",
                "channel", "attempts", "next_attempt_at", "claimed_at", "sent_at", "last_error",
                "template_id")


def _new_row(new: _New, at: datetime) -> tuple[Any, ...]:
    return (new.id, at, at, 1, new.person_id, str(new.obligation_type), new.obligation_id,
            new.obligation_at, new.previous_at, new.kind, new.due_at,
            ReminderStatus.PLANNED.value, "", 0, new.due_at, None, None, "", None)


@dataclass
class _Changes:
    create: list[_New] = field(default_factory=list)
    status: list[tuple[_Row, str, str]] = field(default_factory=list)
    alerts: list[tuple[_New, str]] = field(default_factory=list)


def reminder_time(at: datetime, days: int, time_zone: str) -> datetime:
    """`days` calendar days before `at`, at the send hour, local time of `time_zone`."""
    tz = ZoneInfo(time_zone)
    day = at.astimezone(tz).date() - timedelta(days=days)
    return datetime.combine(day, time(send_hour()), tz).astimezone(UTC)


def _told(sent: Sequence[_Row]) -> tuple[str, datetime] | None:
    """What the last reminder that went out told the person: (state, time)."""
    if not sent:
        return None
    last = max(sent, key=lambda r: (r.sent_at or r.claimed_at or r.created_at, r.created_at))
    if last.kind == "cancelled":
        return CANCELLED, last.obligation_at
    if last.kind == "postponed":
        return POSTPONED, last.obligation_at
    return ACTIVE, last.obligation_at


def _fits(reminder: _Row, desired: Desired) -> bool:
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
    existing: Sequence[_Row],
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
    kept: list[_Row] = []
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
            notice = _New(person_id, obligation_type, obligation_id, desired.at, kind, now,
                          previous)
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
        out.create.append(_New(person_id, obligation_type, obligation_id, desired.at, kind,
                               due))


def _retire_rows(rows: Sequence[Any], status: str, error: str) -> int:
    """Supersede or cancel waiting reminders as planned, each only if it is still waiting
    *and* still has the `row_version` it was read with (one UPDATE per version read, 900
    rows at a time); returns how many changed. One that changed since it was read (claimed
    for sending, sent, or re-planned by another run) is left as it is: it is theirs."""
    by_version: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_version[row.row_version].append(row.pk)
    changed = 0
    for version, pks in by_version.items():
        for start in range(0, len(pks), 900):
            changed += Reminder.objects.filter(
                pk__in=pks[start : start + 900], row_version=version,
                status__in=WAITING_STATUSES,
            ).update(status=status, last_error=error, row_version=F("row_version") + 1,
                     updated_at=clock.now())
    return changed


def _retire(reminder: Any, status: str, error: str) -> bool:
    """`_retire_rows` for one reminder: False when it changed since it was read."""
    return _retire_rows([reminder], status, error) == 1


def _insert(news: Sequence[_New]) -> list[_New]:
    """Write new reminders in one COPY (PostgreSQL) or `executemany`; if one collides with a
    reminder another planner wrote meanwhile (the unique constraint), the whole write is
    undone and the rest are added one by one. Returns those written."""
    at = timezone.now()
    try:
        with transaction.atomic():
            copy_model_rows(Reminder, _NEW_COLUMNS, (_new_row(n, at) for n in news))
        return list(news)
    except IntegrityError:
        created = []
        for new in news:
            try:
                with transaction.atomic():
                    copy_model_rows(Reminder, _NEW_COLUMNS, [_new_row(new, at)])
                created.append(new)
            except IntegrityError:
                continue
        return created


def _apply(changes: _Changes, now: datetime) -> PlanResult:
    """Write what `_sync` decided, in one transaction: retirements grouped by outcome, the
    new reminders in bulk, then the officer alerts of the new ones that call for one."""
    result = PlanResult()
    with transaction.atomic():
        outcomes: dict[tuple[str, str], list[_Row]] = defaultdict(list)
        for row, status, error in changes.status:
            outcomes[(status, error)].append(row)
        for (status, error), rows in outcomes.items():
            changed = _retire_rows(rows, status, error)
            if status == ReminderStatus.CANCELLED:
                result.cancelled += changed
            else:
                result.superseded += changed
        if changes.create:
            created = _insert(changes.create)
            result.created += len(created)
            made = {id(r) for r in created}
            alerted = [(new, kind) for new, kind in changes.alerts if id(new) in made]
            if alerted:  # the alerts point at the reminders just written: read in one look-up
                written = Reminder.objects.in_bulk([new.id for new, _kind in alerted])
                for new, kind in alerted:
                    raise_alert(new.person_id, kind, reminder=written[new.id], now=now)
    return result


# Ids per look-up of existing reminders. Small enough that PostgreSQL always prefers the
# (obligation_type, obligation_id) index to a scan of the table (with 900 ids it chose a
# parallel sequential scan of 141,000 reminders: 58 ms instead of 15).
LOOKUP_IDS = 250


def _existing(obligation_type: str, ids: Iterable[str]) -> dict[str, list[_Row]]:
    """The reminders of these obligations, by obligation id: one look-up on the index
    `notices_reminder_oblig` per LOOKUP_IDS ids."""
    found: dict[str, list[_Row]] = defaultdict(list)
    ids = list(ids)
    for start in range(0, len(ids), LOOKUP_IDS):
        for values in Reminder.objects.filter(
            obligation_type=obligation_type, obligation_id__in=ids[start : start + LOOKUP_IDS]
        ).order_by().values_list(*_ROW_FIELDS):
            row = _Row(*values)
            found[row.obligation_id].append(row)
    return found


# --- hearings ---------------------------------------------------------------------------------
# What planning needs of a hearing, read as plain values (one join, no model instances):
# id, time, status, the court's time zone, the person.
_HEARING_FIELDS = ("pk", "scheduled_at", "status", "court__time_zone",
                   "proceeding__case__person_id")
HearingValues = tuple[Any, datetime, str, str, Any]


def _hearing_desired(at: datetime, status: str, time_zone: str, now: datetime,
                     days: tuple[int, ...]) -> Desired:
    from caseledger.cases.models import HearingStatus

    if status == HearingStatus.SCHEDULED:
        if at <= now:
            return Desired(GONE, reason="obligation_past")
        return Desired(ACTIVE, at=at, time_zone=time_zone, days=days)
    if status == HearingStatus.CANCELLED:
        return Desired(CANCELLED, at=at, time_zone=time_zone)
    if status == HearingStatus.ADJOURNED:
        return Desired(POSTPONED, at=at, time_zone=time_zone)
    return Desired(GONE, reason="hearing_held")


def _hearing_values(hearing: Any) -> HearingValues:
    person_id = getattr(hearing, "person_id", None)
    if person_id is None:
        person_id = hearing.proceeding.case.person_id
    return (hearing.pk, hearing.scheduled_at, hearing.status, hearing.court.time_zone, person_id)


def _plan_hearing_chunk(rows: Sequence[HearingValues], now: datetime) -> PlanResult:
    """Plan a chunk of hearings with a fixed number of statements, whatever its size: one
    look-up of their reminders (per 900), the retirements (one UPDATE per outcome), one COPY
    of the new reminders; all in one transaction."""
    keys = [str(row[0]) for row in rows]
    existing = _existing(ObligationType.HEARING, keys)
    changes = _Changes()
    days = days_before()
    for (_pk, at, status, time_zone, person_id), key in zip(rows, keys, strict=True):
        _sync(ObligationType.HEARING, key, person_id,
              _hearing_desired(at, status, time_zone, now, days), existing.get(key, ()), now,
              changes)
    result = _apply(changes, now)
    result.obligations = len(rows)
    return result


def plan_for_hearing(
    hearing: Any, *, now: datetime | None = None, old_time: datetime | None = None
) -> PlanResult:
    """Bring one hearing's reminders in line with the hearing as it is now.

    What the person is told about a change is decided from what was actually sent to them
    (a move is announced "from" the last time they were told of), so `old_time` is only
    logged, for the record of the call."""
    if old_time is not None and old_time != hearing.scheduled_at:
        log.debug("re-planning hearing %s (was %s)", hearing.pk, old_time.isoformat())
    return _plan_hearing_chunk([_hearing_values(hearing)], now or clock.now())


def replan_hearing(
    hearing: Any, old_time: datetime | None, *, now: datetime | None = None
) -> PlanResult:
    """After a hearing moved (or was cancelled or adjourned): supersede what no longer fits,
    tell the person what changed, plan the reminders of the new time. Nothing is dropped
    silently: every unsent reminder keeps its row and the reason it was not sent."""
    return plan_for_hearing(hearing, now=now, old_time=old_time)


# A run analyses `notices_reminder` once it has written more reminders than this and than the
# table held when it began (see `_Statistics`).
ANALYZE_AFTER = 1000


def _estimated_reminders() -> float:
    """PostgreSQL's own estimate of the rows of `notices_reminder` (0 if never analysed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                       [Reminder._meta.db_table])
        return max(0.0, float(cursor.fetchone()[0]))


class _Statistics:
    """PostgreSQL plans the look-up of existing reminders from its statistics of
    `notices_reminder`. On a table that was empty (or never analysed) when a large run began,
    they say "no rows" until autovacuum catches up, and each chunk's look-up may then read
    every reminder written so far (quadratic; inside one transaction autovacuum never
    catches up). So once a run has written more reminders than the table held when it began
    (and more than ANALYZE_AFTER), it runs ANALYZE on the table, once: a few milliseconds. (A
    role that does not own the table gets a warning from PostgreSQL, not an error.) On other
    databases this does nothing."""

    def __init__(self) -> None:
        self.pending = connection.vendor == "postgresql"
        self.written = 0
        self.held = _estimated_reminders() if self.pending else 0.0

    def wrote(self, created: int) -> None:
        self.written += created
        if self.pending and self.written > max(self.held, ANALYZE_AFTER):
            self.pending = False
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(Reminder._meta.db_table)}")


@dataclass
class _HearingRun:
    """What a run over many hearings reads once: the hearings' ids in order, the person of
    each proceeding (one join over the whole run, not one per chunk: per chunk, PostgreSQL
    hash-joins the whole proceeding table) and the courts' time zones."""

    ids: list[Any]
    persons: dict[Any, Any]
    zones: dict[Any, str]

    @classmethod
    def of(cls, hearings: QuerySet[Any]) -> _HearingRun:
        from caseledger.cases.models import Court

        ids, persons = [], {}
        for pk, proceeding_id, person_id in hearings.values_list(
                "pk", "proceeding_id", "proceeding__case__person_id"):
            ids.append(pk)
            persons[proceeding_id] = person_id
        return cls(ids, persons, dict(Court.objects.values_list("pk", "time_zone")))

    def locked(self, ids: Sequence[Any]) -> list[HearingValues]:
        """The hearings as they are now, each locked until the chunk's transaction ends (FOR
        NO KEY UPDATE on PostgreSQL; SQLite writes one transaction at a time): a hearing moved
        during a long run is planned either before the move (whose own re-planning, in the
        move's transaction, then sees these reminders) or after it, never from a stale time;
        and two runs never plan the same hearing at once. One primary-key look-up."""
        from caseledger.cases.models import Court, Hearing, Proceeding

        rows = list(Hearing.objects.filter(pk__in=ids).order_by("pk")
                    .select_for_update(no_key=True)
                    .values_list("pk", "scheduled_at", "status", "court_id", "proceeding_id"))
        missing = {r[4] for r in rows if r[4] not in self.persons}
        if missing:  # moved to another proceeding since the run began
            self.persons.update(Proceeding.objects.filter(pk__in=missing)
                                .values_list("pk", "case__person_id"))
        if any(r[3] not in self.zones for r in rows):  # a court added since
            self.zones.update(Court.objects.values_list("pk", "time_zone"))
        return [(pk, at, status, self.zones[court], self.persons[proceeding])
                for pk, at, status, court, proceeding in rows]

    def plan(self, ids: Sequence[Any], now: datetime) -> PlanResult:
        with transaction.atomic():
            return _plan_hearing_chunk(self.locked(ids), now)


def plan_hearings(
    hearings: QuerySet[Any] | Iterable[Any],
    *,
    now: datetime | None = None,
    chunk: int = 900,
    progress: Callable[[int], None] | None = None,
) -> PlanResult:
    """`plan_for_hearing` for each hearing, a chunk at a time, each chunk its own transaction
    (for `notices plan-all`). A chunk costs a fixed number of statements, whatever its size:
    the hearings of a query set are listed first (`_HearingRun`), then each chunk reads its
    hearings as they are now, locked (one query), and their reminders (`_existing`), and
    writes what changed (`_apply`)."""
    now = now or clock.now()
    total = PlanResult()
    statistics = _Statistics()
    run = _HearingRun.of(hearings) if isinstance(hearings, QuerySet) else None
    items = run.ids if run else (_hearing_values(h) for h in hearings)
    for batch in batched(items, chunk):
        result = run.plan(batch, now) if run else _plan_hearing_chunk(batch, now)
        total.add(result)
        statistics.wrote(result.created)
        if progress:
            progress(len(batch))
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
    if schedule.enrolment.status != EnrolmentStatus.ACTIVE:
        changes = _Changes()
        for r in Reminder.objects.filter(obligation_type=ObligationType.CHECKIN,
                                         obligation_id__startswith=prefix,
                                         status__in=WAITING_STATUSES):
            changes.status.append((r, ReminderStatus.CANCELLED, "enrolment_ended"))
        return _apply(changes, now)
    return _plan_schedules([schedule], now, horizon)


def _windows_ahead(schedule: Any, now: datetime, horizon: timedelta) -> list[int]:
    """The indexes of the schedule's windows that open after `now`, within the horizon."""
    _opens, _closes, _until = schedule.next_window(now)
    index = schedule.window_index(_opens) if _opens >= schedule.first_window_at else 0
    indexes = []
    while True:
        opens = schedule.window(index)[0]
        if opens > now + horizon:
            return indexes
        if opens > now:
            indexes.append(index)
        index += 1


def _plan_schedules(schedules: Sequence[Any], now: datetime, horizon: timedelta) -> PlanResult:
    """The windows ahead of many schedules of active enrolments, in one transaction: one
    look-up of their reminders (per LOOKUP_IDS windows), one write. The first window ever
    planned for a schedule also gets the notice at scheduling; whether any was planned is
    asked of the database only for a schedule none of whose windows ahead has reminders."""
    windows = {s.pk: _windows_ahead(s, now, horizon) for s in schedules}
    existing = _existing(ObligationType.CHECKIN, [
        _window_key(s, i) for s in schedules for i in windows[s.pk]])
    changes = _Changes()
    for schedule in schedules:
        keys = [_window_key(schedule, i) for i in windows[schedule.pk]]
        first_plan = not any(k in existing for k in keys) and not Reminder.objects.filter(
            obligation_type=ObligationType.CHECKIN, obligation_id__startswith=f"{schedule.pk}:"
        ).exists()
        for index, key in zip(windows[schedule.pk], keys, strict=True):
            _sync(ObligationType.CHECKIN, key, schedule.enrolment.person_id,
                  _window_desired(schedule, index, now, first_plan), existing.get(key, ()),
                  now, changes)
            first_plan = False
    result = _apply(changes, now)
    result.obligations = sum(len(w) for w in windows.values())
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


@dataclass
class _CaseFacts:
    """What the deadlines of one case follow from (`cases.deadlines.deadlines_for_case`)."""

    time_zone: str = DEFAULT_TIME_ZONE
    decisions: list[Any] = field(default_factory=list)
    changes: list[Any] = field(default_factory=list)


def _case_facts(case_ids: Sequence[Any]) -> dict[Any, _CaseFacts]:
    """The facts of many cases in three look-ups, each on an indexed foreign key: their
    proceedings (the court of the latest gives the time zone), the proceedings' decisions
    (oldest first) and the cases' status changes."""
    from caseledger.cases.models import Decision, Proceeding, StatusChange

    facts = {pk: _CaseFacts() for pk in case_ids}
    case_of: dict[Any, Any] = {}
    zoned: set[Any] = set()
    for pk, case_id, time_zone in (Proceeding.objects.filter(case_id__in=case_ids)
                                   .order_by("case_id", "-started_on")
                                   .values_list("pk", "case_id", "court__time_zone")):
        if case_id not in zoned:  # the case's latest proceeding
            zoned.add(case_id)
            facts[case_id].time_zone = time_zone
        case_of[pk] = case_id
    if case_of:
        for decision in Decision.objects.filter(proceeding_id__in=list(case_of)).order_by(
                "decided_on"):
            facts[case_of[decision.proceeding_id]].decisions.append(decision)
    for change in StatusChange.objects.filter(case_id__in=case_ids):
        facts[change.case_id].changes.append(change)
    return facts


def _plan_cases(cases: Sequence[Any], now: datetime) -> PlanResult:
    """Every open deadline of each case (objects with `pk`, `status`, `person_id`), with a
    fixed number of statements for the lot; waiting reminders of deadlines that closed are
    cancelled. A case with two deadlines of the same rule (two decisions) is planned one
    deadline after the other, as each then sees what the previous one planned."""
    from caseledger.cases.deadlines import RULES, deadlines_for_case

    facts = _case_facts([c.pk for c in cases])
    existing = _existing(ObligationType.DEADLINE,
                         [_deadline_key(c, rule) for c in cases for rule in RULES])
    changes = _Changes()
    obligations = 0
    in_turn: list[tuple[Any, list[Any], str]] = []
    for case in cases:
        known = facts[case.pk]
        today = now.astimezone(ZoneInfo(known.time_zone)).date()
        deadlines = deadlines_for_case(case, known.decisions, known.changes, known.time_zone,
                                       today)
        obligations += len(deadlines)
        if len({d.rule for d in deadlines}) < len(deadlines):
            in_turn.append((case, deadlines, known.time_zone))
            continue
        for deadline in deadlines:
            key = _deadline_key(case, deadline.rule)
            _sync(ObligationType.DEADLINE, key, case.person_id,
                  _deadline_desired(deadline.due, known.time_zone, now), existing.get(key, ()),
                  now, changes)
        current = {d.rule for d in deadlines} | {"address-change"}
        for rule in RULES.keys() - current:
            for row in existing.get(_deadline_key(case, rule), ()):
                if row.status in WAITING_STATUSES:
                    changes.status.append((row, ReminderStatus.CANCELLED, "deadline_closed"))
    with transaction.atomic():
        result = _apply(changes, now)
        for case, deadlines, time_zone in in_turn:
            result.add(_plan_deadlines_in_turn(case, deadlines, time_zone, now))
    result.obligations = obligations
    return result


def _plan_deadlines_in_turn(case: Any, deadlines: Sequence[Any], time_zone: str, now: datetime
                            ) -> PlanResult:
    result = PlanResult()
    current = set()
    for deadline in deadlines:
        current.add(_deadline_key(case, deadline.rule))
        result.add(plan_for_deadline(case, deadline, now=now, time_zone=time_zone))
    closed = _Changes()
    for values in Reminder.objects.filter(obligation_type=ObligationType.DEADLINE,
                                          obligation_id__startswith=f"{case.pk}:",
                                          status__in=WAITING_STATUSES).values_list(*_ROW_FIELDS):
        row = _Row(*values)
        if row.obligation_id not in current and not row.obligation_id.endswith(
                ":address-change"):
            closed.status.append((row, ReminderStatus.CANCELLED, "deadline_closed"))
    result.add(_apply(closed, now))
    result.obligations = 0
    return result


def plan_for_case_deadlines(case: Any, *, now: datetime | None = None) -> PlanResult:
    """Every open deadline of a case; reminders of deadlines that closed are cancelled."""
    return _plan_cases([case], now or clock.now())


@dataclass(frozen=True)
class _CaseRow:
    pk: Any
    status: str
    person_id: Any


def _plan_case_ids(ids: Sequence[Any], now: datetime) -> PlanResult:
    """`_plan_cases` for cases as they are now, locked until the chunk's transaction ends (a
    decision recorded meanwhile re-plans the case in its own transaction, before or after)."""
    from caseledger.cases.models import Case

    with transaction.atomic():
        cases = [_CaseRow(*values) for values in Case.objects.filter(pk__in=ids).order_by("pk")
                 .select_for_update(no_key=True).values_list("pk", "status", "person_id")]
        return _plan_cases(cases, now)


def plan_for_address_change(
    person: Any, changed_on: date, *, now: datetime | None = None
) -> PlanResult:
    """The EOIR-33 deadline (5 business days) after a person's change of address, on their
    most recent open case; nothing if they have none."""
    from caseledger.cases.deadlines import CaseDeadline, compute, state_of
    from caseledger.cases.models import MOST_RECENT_FIRST, Case, CaseStatus

    now = now or clock.now()
    case = (Case.objects.filter(person=person)
            .exclude(status__in=[CaseStatus.CLOSED, CaseStatus.DEPARTED])
            .order_by(*MOST_RECENT_FIRST).first())
    if case is None:
        return PlanResult()
    tz = case_time_zone(case)
    due = compute("address-change", changed_on, time_zone=tz)
    today = now.astimezone(ZoneInfo(tz)).date()
    deadline = CaseDeadline("address-change", "Change of address (EOIR-33)", changed_on, due,
                            state_of(due, today), today)
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
# Cases (x 7 rules: 1,400 reminder keys) or schedules per transaction in `plan_upcoming`.
CASE_CHUNK = 200


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
    horizon = timedelta(days=int(getattr(settings, "NOTICE_HORIZON_DAYS", 14)))
    done = 0
    for batch in batched(schedules.iterator(chunk_size=CASE_CHUNK), CASE_CHUNK):
        total.add(_plan_schedules(batch, now, horizon))
        done += len(batch)
        if progress:
            progress("check-in windows", done, count)
    ids = list(Case.objects.filter(status__in=[CaseStatus.DECIDED, CaseStatus.APPEALED,
                                               CaseStatus.FINAL_ORDER])
               .order_by("pk").values_list("pk", flat=True))
    done = 0
    for batch in batched(ids, CASE_CHUNK):
        total.add(_plan_case_ids(batch, now))
        done += len(batch)
        if progress:
            progress("deadlines", done, len(ids))
    return total
