"""Reads of case data, through the access gate; one ledger event per read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Max, Min, Prefetch, Q, QuerySet

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import record_access, require_related, visible_persons
from caseledger.core import clock
from caseledger.core.ids import as_uuid
from caseledger.core.reuse import large, office_figure
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .deadline_rows import DEADLINE_STATUSES, DEFAULT_ZONE
from .deadlines import RULES, CaseDeadline, deadlines_for_case, state_of
from .models import (
    MOST_RECENT_FIRST,
    Case,
    Court,
    Hearing,
    OpenDeadline,
    Proceeding,
    StatusChange,
)
from .workflow import allowed_next


def require_case(
    ctx: AccessContext, case_id: Any, *, action: str = Action.READ,
    category: str = Category.CASE,
) -> Case:
    """The case if its person is visible to ctx; a denial event and NotFound otherwise."""
    return require_related(
        ctx,
        Case,
        case_id,
        person_path=policies.person_path(Case),
        record_type=record_type_of(Case),
        category=category,
        action=action,
        related=("person",),
    )


def person_within_reach(
    ctx: AccessContext, model: type[Case] | type[Hearing], pk: Any
) -> uuid.UUID | None:
    """The person of the `model` row `pk` when `ctx` may see it, else None. Read through the
    policy, so it tells nothing about a row outside the context's reach; used only to choose
    a page's access context (no event: the gated read that follows records the access)."""
    key = as_uuid(pk)
    if key is None:
        return None
    rows = policies.restrict(model.objects.filter(pk=key), ctx)
    return rows.values_list(policies.person_path(model), flat=True).first()


def open_deadlines(
    case: Case, proceedings: list[Proceeding], status_changes: list[StatusChange]
) -> list[CaseDeadline]:
    """A case's open deadlines, in the time zone of its latest proceeding's court
    (proceedings and status changes already loaded, decisions prefetched)."""
    decisions = [d for p in proceedings for d in p.decisions.all()]
    zone = proceedings[-1].court.time_zone if proceedings else DEFAULT_ZONE
    return deadlines_for_case(case, decisions, status_changes, zone, clock.today_in(zone))


@dataclass
class CaseDetail:
    case: Case
    proceedings: list[Proceeding]
    status_changes: list[StatusChange]
    next_statuses: list[str]

    @property
    def deadlines(self) -> list[CaseDeadline]:
        return open_deadlines(self.case, self.proceedings, self.status_changes)

    @property
    def hearings(self) -> list[Hearing]:
        return sorted(
            (h for p in self.proceedings for h in p.hearings.all()), key=lambda h: h.scheduled_at
        )


def get_case(*, ctx: AccessContext, case_id: Any) -> CaseDetail:
    case = require_case(ctx, case_id)
    proceedings = list(
        case.proceedings.select_related("court").prefetch_related(
            Prefetch("hearings", queryset=Hearing.objects.select_related("court")), "decisions"
        )
    )
    changes = list(case.status_changes.select_related("changed_by"))
    record_access(
        ctx,
        action=Action.READ,
        category=Category.CASE,
        subject_id=case.person_id,
        record_type=record_type_of(Case),
        record_id=case.pk,
        detail={"categories": ["case", "hearing", "decision"]},
    )
    return CaseDetail(case, proceedings, changes, allowed_next(case.status))


#: Deadlines overdue by more than this many days have lapsed: the window to act has passed
#: and nothing was recorded since (the case page still lists them; "show all" names them).
LAPSED_AFTER_DAYS = 30
#: Cases with an open obligation shown on the dashboard before "show all".
DEADLINE_CASES_SHOWN = 10
#: The most cases "show all" lists in each of its two lists (due, lapsed): an office of 10^6
#: persons has ~10^5 cases with a lapsed deadline, which no page can list (nor one list event
#: name). The soonest (due) and the latest (lapsed) come first; the board says how many more.
DEADLINE_CASES_ALL = 200


@dataclass(frozen=True)
class CaseDeadlines:
    """One case's open obligations, the next one first."""

    case: Case
    deadlines: list[CaseDeadline]

    @property
    def next(self) -> CaseDeadline:
        return self.deadlines[0]

    @property
    def later(self) -> list[CaseDeadline]:
        return self.deadlines[1:]


@dataclass(frozen=True)
class DeadlineBoard:
    """The dashboard's deadlines: the cases shown (`groups`), how many cases have an open
    obligation (`total`), and the lapsed ones (listed only when all are asked for)."""

    groups: list[CaseDeadlines]
    total: int
    lapsed: list[CaseDeadlines]
    lapsed_total: int
    showing_all: bool

    @property
    def more(self) -> int:
        """Cases with a deadline not on the short board (0 once all are asked for)."""
        return 0 if self.showing_all else self.total - len(self.groups)

    @property
    def unlisted(self) -> int:
        """Asked for all: the cases with a deadline beyond `DEADLINE_CASES_ALL`."""
        return self.total - len(self.groups) if self.showing_all else 0

    @property
    def lapsed_unlisted(self) -> int:
        return self.lapsed_total - len(self.lapsed) if self.showing_all else 0

    @property
    def lapsed_after_days(self) -> int:
        return LAPSED_AFTER_DAYS


def _rows_in_reach(ctx: AccessContext) -> QuerySet[OpenDeadline]:
    """The kept deadline rows (`deadline_rows`) of the cases the context sees that can have
    a deadline. Not recorded here: the callers record what they return."""
    return policies.restrict(OpenDeadline.objects.all(), ctx).filter(
        case__status__in=DEADLINE_STATUSES, due__isnull=False
    )


def _courts_today() -> dict[str, date]:
    """Today in each court's time zone (and the default's): a kept deadline row is read
    against today at its own court, never UTC's date, which in an American evening is
    already tomorrow."""
    zones = {*Court.objects.values_list("time_zone", flat=True).distinct(), DEFAULT_ZONE}
    return {zone: clock.today_in(zone) for zone in sorted(zones)}


def _days_key(days: dict[str, date]) -> str:
    """What the board's counts are reused `as_of` (`core.reuse`, 64 characters at most):
    every court's day, as the earliest and each zone's days after it (in `days`' order,
    which is by zone name) - '2026-12-07:011001' - so counts made before any court's day
    changed are not reused after."""
    first = min(days.values())
    return f"{first.isoformat()}:{''.join(str((d - first).days) for d in days.values())}"


def _window(today: date, within_days: int) -> tuple[date, date]:
    """Due dates of open obligations: overdue by at most LAPSED_AFTER_DAYS, or due within
    `within_days`."""
    return today - timedelta(days=LAPSED_AFTER_DAYS), today + timedelta(days=within_days)


def _by_court_day(days: dict[str, date], condition: Callable[[date], Q]) -> Q:
    """Rows meeting `condition(today)` with today at their court (`_courts_today`), one
    branch per day (the zones on it together: two days at most, most of the time); a row of
    a zone no court has now (a court since moved) is read against the default's today."""
    zones_on: dict[date, list[str]] = {}
    for zone, today in days.items():
        zones_on.setdefault(today, []).append(zone)
    return reduce(or_, (Q(time_zone__in=zones) & condition(today)
                        for today, zones in zones_on.items()),
                  ~Q(time_zone__in=list(days)) & condition(days[DEFAULT_ZONE]))


def _due_within(days: dict[str, date], within_days: int) -> Q:
    """Open obligations (`_window`), each by its court's day."""
    return _by_court_day(days, lambda today: Q(due__range=_window(today, within_days)))


def _lapsed(days: dict[str, date]) -> Q:
    """Deadlines that closed more than LAPSED_AFTER_DAYS ago at their court."""
    return _by_court_day(days, lambda today: Q(due__lt=_window(today, 0)[0]))


def _groups(ctx: AccessContext, case_ids: list[Any], rows: QuerySet[OpenDeadline]
            ) -> list[CaseDeadlines]:
    """The cases `case_ids` the context sees, in that order, each with its `rows` (by due
    date) as deadlines, each judged against today in its court's time zone (kept on the
    row)."""
    cases = (policies.restrict(Case.objects.all(), ctx).select_related("person")
             .prefetch_related("person__names").in_bulk(case_ids))
    today: dict[str, date] = {}
    deadlines: dict[Any, list[CaseDeadline]] = {pk: [] for pk in case_ids}
    for row in rows.filter(case_id__in=case_ids).order_by("due", "id"):
        as_of = today.setdefault(row.time_zone, clock.today_in(row.time_zone))
        deadlines[row.case_id].append(CaseDeadline(
            row.rule, RULES[row.rule].label, row.trigger, row.due, state_of(row.due, as_of),
            as_of))
    return [CaseDeadlines(cases[pk], deadlines[pk]) for pk in case_ids
            if pk in cases and deadlines[pk]]  # a case gone or changed meanwhile: left out


def _record_deadline_list(ctx: AccessContext, cases: list[Case], **detail: Any) -> None:
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.CASE,
        record_type=record_type_of(Case),
        detail={"results": sorted({str(c.pk) for c in cases}), "view": "deadlines", **detail},
        subjects=[c.person_id for c in cases],
    )


def deadlines_due(*, ctx: AccessContext, within_days: int = 7) -> list[tuple[Case, CaseDeadline]]:
    """Open obligations over the cases the context sees: deadlines overdue (for at most
    `LAPSED_AFTER_DAYS`) or due within `within_days`, soonest first."""
    rows = _rows_in_reach(ctx).filter(_due_within(_courts_today(), within_days))
    ids = list(dict.fromkeys(rows.order_by("case_id").values_list("case_id", flat=True)))
    due = [(group.case, deadline) for group in _groups(ctx, ids, rows)
           for deadline in group.deadlines]
    due.sort(key=lambda item: (item[1].due, item[0].reference))
    _record_deadline_list(ctx, [c for c, _ in due])
    return due


#: How long a large office's deadline counts are reused (seconds; `core.reuse`).
BOARD_COUNT_SECONDS = 60
#: Deadline rows read by the walk's first statement, at least.
WALK_BATCH = 64


def _walked_firsts(ctx: AccessContext, window: Q, limit: int) -> list[Any]:
    """The first `limit` cases of the board (by next due date in the window, then reference)
    for a large office, without grouping the office's rows: rows in (due, reference) order,
    whatever the reach, checked against the reach a chunk at a time. A case's first row met
    is its next deadline. At 10^6 persons (240,000 decided cases) grouping and sorting the
    office's rows took ~300 ms; this reads the rows before the page."""
    rows = (OpenDeadline.objects.filter(window, case__status__in=DEADLINE_STATUSES)
            .order_by("due", "case__reference", "case_id").values_list("case_id", flat=True))
    chosen: list[Any] = []
    seen: set[Any] = set()
    offset, batch = 0, max(WALK_BATCH, 4 * limit)
    while len(chosen) < limit:
        chunk = list(rows[offset:offset + batch])
        fresh = list(dict.fromkeys(c for c in chunk if c not in seen))
        seen.update(fresh)
        reach = set(policies.restrict(Case.objects.filter(pk__in=fresh), ctx)
                    .values_list("pk", flat=True))
        chosen += [c for c in fresh if c in reach]
        if len(chunk) < batch:
            break
        offset, batch = offset + batch, batch * 2
    return chosen[:limit]


def deadline_board(
    *, ctx: AccessContext, within_days: int = 7, show_all: bool = False,
    shown: int | None = None,
) -> DeadlineBoard:
    """The dashboard's "overdue or due this week": one entry per case with an open obligation,
    its next deadline first, the cases whose next deadline comes first at the top; at most
    `shown` (`DEADLINE_CASES_SHOWN`) cases unless `show_all`, which lists up to
    `DEADLINE_CASES_ALL` of them and as many of the cases whose deadlines lapsed (the most
    recent first). One list event naming the persons of the cases returned.

    Read from the kept rows by due date (index `cases_open_deadline_due`): the cost is the
    cases shown, not every case in reach."""
    days = _courts_today()
    window = _due_within(days, within_days)
    rows = _rows_in_reach(ctx)
    due = rows.filter(window)
    gone = rows.filter(_lapsed(days))
    firsts = (due.values("case_id").annotate(first=Min("due"))
              .order_by("first", "case__reference"))
    office = policies.office_reach(ctx)
    key, as_of = f"deadlines:{within_days}", _days_key(days)
    total = office_figure(office, key, firsts.count, BOARD_COUNT_SECONDS, as_of=as_of)
    lapsed_total = office_figure(office, f"{key}:lapsed",
                                 gone.values("case_id").distinct().count, BOARD_COUNT_SECONDS,
                                 as_of=as_of)
    limit = DEADLINE_CASES_SHOWN if shown is None else max(0, shown)
    if show_all:
        limit = DEADLINE_CASES_ALL
    if office is not None and large(total):
        chosen = _walked_firsts(ctx, window, limit)
    else:
        chosen = [r["case_id"] for r in firsts[:limit]]
    groups = _groups(ctx, chosen, due)
    lapsed: list[CaseDeadlines] = []
    if show_all:
        lasts = (gone.values("case_id").annotate(last=Max("due"))
                 .order_by("-last", "-case__reference"))
        lapsed = _groups(ctx, [r["case_id"] for r in lasts[:DEADLINE_CASES_ALL]], gone)
    _record_deadline_list(ctx, [g.case for g in groups + lapsed], shown=len(groups), total=total)
    return DeadlineBoard(groups, total, lapsed, lapsed_total, show_all)


@dataclass
class Obligations:
    hearings: list[Hearing]
    deadlines: list[tuple[Case, CaseDeadline]]


def my_obligations(*, ctx: AccessContext) -> Obligations:
    """A participant's own upcoming hearings and open deadlines (self-service, one event)."""
    person = visible_persons(ctx).first()
    if person is None:
        return Obligations([], [])
    cases = list(
        Case.objects.filter(person=person).prefetch_related(
            "proceedings__court", "proceedings__decisions", "status_changes"
        )
    )
    hearings = list(
        Hearing.objects.filter(
            proceeding__case__in=cases, scheduled_at__gte=clock.now(), status="scheduled"
        )
        .select_related("court", "proceeding__case")
        .order_by("scheduled_at")
    )
    deadlines: list[tuple[Case, CaseDeadline]] = []
    for case in cases:
        deadlines += [
            (case, d)
            for d in open_deadlines(
                case, list(case.proceedings.all()), list(case.status_changes.all())
            )
        ]
    record_access(
        ctx,
        action=Action.READ,
        category=Category.CASE,
        subject_id=person.pk,
        record_type=record_type_of(Case),
        detail={"view": "my_obligations", "hearings": len(hearings)},
    )
    return Obligations(hearings, deadlines)


@dataclass
class HearingDetail:
    hearing: Hearing
    case: Case

    @property
    def can_move(self) -> bool:
        return self.hearing.status in ("scheduled", "adjourned")

    @property
    def can_adjourn(self) -> bool:
        return self.hearing.status == "scheduled"


def get_hearing(*, ctx: AccessContext, hearing_id: Any) -> HearingDetail:
    """One hearing with its case, if the case's person is visible to ctx."""
    hearing = require_related(
        ctx,
        Hearing,
        hearing_id,
        person_path=policies.person_path(Hearing),
        record_type=record_type_of(Hearing),
        category=Category.HEARING,
        related=("court", "proceeding__case__person"),
    )
    case = hearing.proceeding.case
    record_access(
        ctx,
        action=Action.READ,
        category=Category.HEARING,
        subject_id=case.person_id,
        record_type=record_type_of(Hearing),
        record_id=hearing.pk,
    )
    return HearingDetail(hearing, case)


def address_change_deadline(person_id: Any, changed_on: Any) -> tuple[Any, str] | None:
    """(EOIR-33 due date, court name) for a change of address on `changed_on`, at the court
    of the person's most recent open case; None when no case is open. Not a read of personal
    data by itself: callers reach it through a gated selector."""
    from .deadlines import compute
    from .models import CaseStatus

    case = (
        Case.objects.filter(person_id=person_id)
        .exclude(status__in=[CaseStatus.CLOSED, CaseStatus.DEPARTED])
        .order_by(*MOST_RECENT_FIRST)
        .first()
    )
    if case is None:
        return None
    proceeding = case.proceedings.select_related("court").order_by("-started_on").first()
    if proceeding is None:
        return None
    court = proceeding.court
    return compute("address-change", changed_on, time_zone=court.time_zone), court.name
