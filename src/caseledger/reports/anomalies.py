"""The weekly access-anomaly rules, computed from `ledger.Event` by SQL aggregation.

Each rule is a handful of GROUP BY queries over the week's events (the `time` index narrows
them to the week); Python only sees the grouped rows, never the events one by one, so a
week of a million events costs the same few queries as a week of a hundred. (The household
rule also compares, in Python, the names of the persons each declaring actor read that week:
bounded by what that actor read.)

The persons an actor reached are counted from both places the ledger names them: the one
person of a read (`Event.subject_id`) and every person a search or list page returned (one
`ledger_event_subject` row each, `EventSubject`). A search that returned 40 persons reached 40
persons, each counted once however often they were seen. (An event names either one person or
a list; were an event to carry both, its list would be what is counted.)

An item records the rule, the actor, the subject (per-person rules) and a time window; its
events are found again by `item_events(item)` with the same conditions, so the report keeps
no copy of the ledger. The thresholds are in `DEFAULTS`, overridable with the setting
`REPORTS_ANOMALY_THRESHOLDS` (a dict) or per build; each build stores the values it used.
See docs/REPORTS.md.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, ExtractHour, TruncDate, TruncHour

from caseledger.access import policies
from caseledger.access.gate import ROLE_PURPOSES
from caseledger.access.policies import Ability
from caseledger.ledger.models import Event, EventSubject, Outcome
from caseledger.ledger.vocabulary import Action, Purpose

from .models import Rule

#: Ledger actions that show persons to the actor: a record opened, and the persons a search
#: or a list page returned.
VIEW_ACTIONS = (Action.READ, Action.SEARCH, Action.LIST)
#: Roles whose reads are reviewed, as stored in events (participants and representatives see
#: only their own).
STAFF = tuple(policies.roles_with(Ability.STAFF_PAGES))
#: The person one row of `reached(...)` stands for: a subject row of a search or list, else
#: the event's own subject.
_PERSON = Coalesce("subject_rows__subject_id", "subject_id")

DEFAULTS: dict[str, Any] = {
    # bulk viewing: flagged when distinct persons > max(min_persons, factor x usual), where
    # usual = max(caseload size, mean weekly distinct persons over the history weeks); a
    # history week that was itself over its limit is left out (counts as 0), and for an actor
    # with a caseload the history counts for at most caseload_factor x the caseload
    "bulk_min_persons": 50,
    "bulk_factor": 3,
    "bulk_history_weeks": 4,
    "bulk_history_caseload_factor": 2,
    # outside the ordinary policy: at least this many denied or unusual-purpose events
    "outside_min_events": 3,
    # after hours: office hours are [start, end) local time on business days
    "office_hours_start": 7,
    "office_hours_end": 19,
    "burst_min_reads": 20,
}


def thresholds(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {**DEFAULTS, **getattr(settings, "REPORTS_ANOMALY_THRESHOLDS", {})}
    values.update(overrides or {})
    return values


@dataclass
class Flag:
    rule: str
    actor_id: str
    actor_role: str
    office: str
    window_start: datetime
    window_end: datetime
    event_count: int
    measure: int
    threshold: int
    subject_id: Any = None
    detail: dict[str, Any] = field(default_factory=dict)


def week_events(start: datetime, end: datetime) -> QuerySet[Event]:
    return Event.objects.filter(time__gte=start, time__lt=end)


def reached(qs: QuerySet[Event], *, only_persons: bool = True) -> QuerySet[Event]:
    """`qs` with one row per person each event reached, annotated `person` (a LEFT JOIN to
    `ledger_event_subject`). An event that returned 40 persons is 40 rows: count events with
    `Count("id", distinct=True)` and persons with `Count("person", distinct=True)`.
    `only_persons=False` keeps the events that reached nobody (person NULL)."""
    qs = qs.annotate(person=_PERSON)
    return qs.filter(person__isnull=False) if only_persons else qs


def touches(person_id: Any) -> Q:
    """Events that reached `person_id`: named it as their subject or returned it in a search
    or list."""
    # One UNION of two index lookups: an OR of the two walks the whole ledger on PostgreSQL
    # (see access.history.access_history).
    named = Event.objects.filter(subject_id=person_id).values("pk")
    listed = EventSubject.objects.filter(subject_id=person_id).values("event_id")
    return Q(pk__in=named.union(listed))


def _staff_views(qs: QuerySet[Event]) -> QuerySet[Event]:
    return qs.filter(
        action__in=VIEW_ACTIONS,
        outcome=Outcome.ALLOWED,
        actor_role__in=STAFF,
    ).exclude(actor_id="")


def _views(qs: QuerySet[Event]) -> QuerySet[Event]:
    """Staff views of persons, one row per person reached (see `reached`)."""
    return reached(_staff_views(qs))


def _view_events(qs: QuerySet[Event]) -> QuerySet[Event]:
    """The same views, one row per event (to list an item's events)."""
    return _staff_views(qs).filter(
        Q(subject_id__isnull=False) | Q(Exists(EventSubject.objects.filter(event=OuterRef("pk"))))
    )


def _unusual_purpose() -> Q:
    """A read under a purpose that is not the actor role's ordinary one (break-glass apart:
    it has its own rule)."""
    q = Q(pk__in=[])
    for role in STAFF:
        ordinary = set(ROLE_PURPOSES.get(role, frozenset())) | {Purpose.BREAK_GLASS}
        q |= Q(actor_role=role) & ~Q(purpose__in=sorted(ordinary))
    return Q(action__in=VIEW_ACTIONS) & q


def _outside_policy() -> Q:
    denied = Q(outcome=Outcome.DENIED) & ~Q(action=Action.LOGIN)
    return denied | _unusual_purpose()


# --- rule 1: many distinct persons ------------------------------------------------------------
def _caseload_sizes(actor_ids: list[str], start: datetime, end: datetime) -> dict[str, int]:
    """Persons on each officer's caseload at some time in the week (0 for other roles)."""
    from caseledger.accounts.models import CaseloadAssignment

    return {
        str(officer): n
        for officer, n in CaseloadAssignment.objects.filter(
            officer_id__in=_uuids(actor_ids), started_at__lt=end
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=start))
        .values("officer_id")
        .annotate(n=Count("person_id", distinct=True))
        .values_list("officer_id", "n")
    }


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


def _limit(t: dict[str, Any], caseload: int, usual_history: int) -> int:
    usual = max(caseload, usual_history)
    return max(int(t["bulk_min_persons"]), math.ceil(float(t["bulk_factor"]) * usual))


def _usual(t: dict[str, Any], caseload: int, kept: list[int | None]) -> int:
    """The usual weekly volume from the history weeks before a week (most recent first; None
    for a week before the window, unknown): the mean over the known weeks, a week left out
    counting 0; capped for an actor with a caseload."""
    weeks = int(t["bulk_history_weeks"])
    known = [n for n in kept[:weeks] if n is not None]
    usual = math.ceil(sum(known) / len(known)) if known else 0
    if caseload > 0:
        usual = min(usual, math.ceil(float(t["bulk_history_caseload_factor"]) * caseload))
    return usual


def _judged_history(t: dict[str, Any], caseload: int, counts: list[int]) -> list[int]:
    """`counts`: distinct persons in each of the weeks before (most recent first). Walks them
    from the oldest: a week over the limit its own history gave it is left out (0), so
    repeated bulk viewing never becomes the usual. Weeks before the window are unknown."""
    kept: list[int | None] = [None] * len(counts)
    for i in range(len(counts) - 1, -1, -1):
        before = kept[i + 1 :]
        if not any(n is not None for n in before):
            # the oldest week of the window has no known history: judged on the caseload alone
            # only when there is one (an actor without caseload has nothing to compare with)
            over = caseload > 0 and counts[i] > _limit(t, caseload, 0)
        else:
            over = counts[i] > _limit(t, caseload, _usual(t, caseload, before))
        kept[i] = 0 if over else counts[i]
    return [n or 0 for n in kept]


def bulk_viewing(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    rows = list(
        _views(week_events(start, end))
        .values("actor_id")
        .annotate(
            persons=Count("person", distinct=True),
            events=Count("id", distinct=True),
            acting_role=Max("actor_role"),
            office_code=Max("office"),
        )
        .filter(persons__gt=t["bulk_min_persons"])
    )
    if not rows:
        return []
    ids = [r["actor_id"] for r in rows]
    weeks = int(t["bulk_history_weeks"])
    # the history weeks and, to judge each of them, the weeks before them: one query
    window = 3 * weeks
    buckets = {
        f"w{back}": Count(
            "person",
            distinct=True,
            filter=Q(
                time__gte=start - timedelta(days=7 * back), time__lt=end - timedelta(days=7 * back)
            ),
        )
        for back in range(1, window + 1)
    }
    history: dict[str, list[int]] = {a: [0] * window for a in ids}
    if window:
        for row in (
            _views(week_events(start - timedelta(days=7 * window), start))
            .filter(actor_id__in=ids)
            .values("actor_id")
            .annotate(**buckets)
        ):
            history[row["actor_id"]] = [row[f"w{back}"] for back in range(1, window + 1)]
    caseload = _caseload_sizes(ids, start, end)
    flags = []
    for r in rows:
        a = r["actor_id"]
        cases = caseload.get(a, 0)
        kept = _judged_history(t, cases, history[a])
        usual_history = _usual(t, cases, list(kept)) if weeks else 0
        limit = _limit(t, cases, usual_history)
        if r["persons"] > limit:
            flags.append(
                Flag(
                    Rule.BULK_VIEWING,
                    a,
                    r["acting_role"],
                    r["office_code"],
                    start,
                    end,
                    r["events"],
                    r["persons"],
                    limit,
                    detail={
                        "caseload": cases,
                        "usual_weekly": usual_history,
                        "history_weeks": weeks,
                        "weeks_left_out": sum(
                            1
                            for n, k in zip(history[a][:weeks], kept[:weeks], strict=True)
                            if n and not k
                        ),
                    },
                )
            )
    return flags


# --- rule 2: outside the ordinary policy -------------------------------------------------------
def outside_policy(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    rows = (
        reached(week_events(start, end).exclude(actor_id="").filter(_outside_policy()),
                only_persons=False)
        .values("actor_id")
        .annotate(
            events=Count("id", distinct=True),
            denied=Count("id", distinct=True, filter=Q(outcome=Outcome.DENIED)),
            persons=Count("person", distinct=True),
            acting_role=Max("actor_role"),
            office_code=Max("office"),
        )
        .filter(events__gte=t["outside_min_events"])
    )
    return [
        Flag(
            Rule.OUTSIDE_POLICY,
            r["actor_id"],
            r["acting_role"],
            r["office_code"],
            start,
            end,
            r["events"],
            r["events"],
            int(t["outside_min_events"]),
            detail={
                "denied": r["denied"],
                "unusual_purpose": r["events"] - r["denied"],
                "persons": r["persons"],
            },
        )
        for r in rows
    ]


# --- rule 3: after-hours bursts ----------------------------------------------------------------
def _office_zones(codes: Iterable[str]) -> dict[str, str]:
    from caseledger.accounts.models import Office

    zones = dict(Office.objects.filter(code__in=list(codes)).values_list("code", "time_zone"))
    return {code: zones.get(code) or settings.TIME_ZONE for code in codes}


def _non_business_days(start: datetime, end: datetime) -> list[date]:
    from caseledger.cases.deadlines import is_business_day

    first, last = (start - timedelta(days=1)).date(), (end + timedelta(days=1)).date()
    days, day = [], first
    while day <= last:
        if not is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _after_hours(tz: ZoneInfo, t: dict[str, Any], closed_days: list[date]) -> Q:
    return (
        Q(local_hour__lt=int(t["office_hours_start"]))
        | Q(local_hour__gte=int(t["office_hours_end"]))
        | Q(local_day__in=closed_days)
    )


def _with_local(qs: QuerySet[Event], tz: ZoneInfo) -> QuerySet[Event]:
    return qs.annotate(
        local_hour=ExtractHour("time", tzinfo=tz),
        local_day=TruncDate("time", tzinfo=tz),
        bucket=TruncHour("time", tzinfo=tz),
    )


def after_hours(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    views = _views(week_events(start, end))
    codes = sorted(set(views.values_list("office", flat=True).distinct()))
    closed = _non_business_days(start, end)
    flags = []
    for code, zone in _office_zones(codes).items():
        tz = ZoneInfo(zone)
        rows = (
            _with_local(views.filter(office=code), tz)
            .filter(_after_hours(tz, t, closed))
            .values("actor_id", "bucket")
            .annotate(
                n=Count("id", distinct=True),
                persons=Count("person", distinct=True),
                acting_role=Max("actor_role"),
            )
            # a burst: that many reads in the hour, or that many persons reached (one search
            # after hours can show more persons than twenty reads)
            .filter(Q(n__gte=t["burst_min_reads"]) | Q(persons__gte=t["burst_min_reads"]))
            .order_by("bucket")
        )
        for r in rows:
            bucket = r["bucket"]
            measure = max(r["n"], r["persons"])
            flags.append(
                Flag(
                    Rule.AFTER_HOURS,
                    r["actor_id"],
                    r["acting_role"],
                    code,
                    bucket,
                    bucket + timedelta(hours=1),
                    r["n"],
                    measure,
                    int(t["burst_min_reads"]),
                    detail={
                        "time_zone": zone,
                        "local_hour": bucket.astimezone(tz).hour,
                        "local_date": bucket.astimezone(tz).date().isoformat(),
                        "persons": r["persons"],
                    },
                )
            )
    return flags


# --- rule 4: every break-glass -----------------------------------------------------------------
def break_glass(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    glass = list(
        week_events(start, end)
        .filter(action=Action.BREAK_GLASS)
        .order_by("time", "id")
        .values("id", "uuid", "time", "actor_id", "actor_role", "office", "subject_id", "outcome")
    )
    flags = []
    for g in glass:
        # the grant's reads: this actor, this person, under break-glass, from the grant on
        reads = (
            Event.objects.filter(
                time__gte=g["time"],
                time__lt=end,
                actor_id=g["actor_id"],
                purpose=Purpose.BREAK_GLASS,
            )
            .filter(touches(g["subject_id"]))
            .exclude(action=Action.BREAK_GLASS)
            .count()
            if g["subject_id"]
            else 0
        )
        flags.append(
            Flag(
                Rule.BREAK_GLASS,
                g["actor_id"],
                g["actor_role"],
                g["office"],
                g["time"],
                end,
                1 + reads,
                reads,
                0,
                subject_id=g["subject_id"],
                detail={"event": str(g["uuid"]), "outcome": g["outcome"]},
            )
        )
    return flags


# --- rule 5: household names -------------------------------------------------------------------
def household_match(declared_key: str, declared_skeleton: str, key: str, skel: str) -> str:
    """How a person's name matches a declared name: "exact" (same search key), "spelling"
    (same consonant skeleton: Diaz / Dias), "words" (every word of the declared name is in the
    person's name, by search key or skeleton: Rosa Diaz / Rosa Maria Diaz, Rosa Maria Dias),
    or "" (no match). A one-word declaration matches only exactly or by spelling."""
    if key == declared_key:
        return "exact"
    if declared_skeleton and skel == declared_skeleton:
        return "spelling"
    words = declared_key.split()
    if len(words) < 2:
        return ""
    if not Counter(words) - Counter(key.split()):
        return "words"
    if not Counter(declared_skeleton.split()) - Counter(skel.split()):
        return "words"
    return ""


def household(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    """Reads of persons whose name matches a name the actor declared. Bounded: only the
    names of the persons the declaring actor read in the week are compared, in one query per
    declaring actor."""
    from caseledger.people.models import PersonName
    from caseledger.people.names import skeleton

    from .models import HouseholdMember

    declared: dict[str, list[tuple[str, str, str]]] = {}
    for user_id, key, pk in HouseholdMember.objects.order_by("pk").values_list(
        "user_id", "search_key", "pk"
    ):
        declared.setdefault(str(user_id), []).append((key, skeleton(key), str(pk)))
    flags = []
    for actor, names in sorted(declared.items()):
        events = reached(week_events(start, end).filter(actor_id=actor, outcome=Outcome.ALLOWED))
        matches: dict[Any, dict[str, str]] = {}
        for person_id, key, skel in (
            PersonName.objects.filter(person_id__in=events.values("person"))
            .values_list("person_id", "search_key", "skeleton")
            .iterator()
        ):
            for d_key, d_skel, pk in names:
                how = household_match(d_key, d_skel, key, skel)
                if how:
                    best = matches.setdefault(person_id, {})
                    if _MATCH_RANK[how] < _MATCH_RANK.get(best.get(pk, ""), 9):
                        best[pk] = how
        if not matches:
            continue
        rows = (
            events.filter(person__in=list(matches))
            .values("person")
            .annotate(n=Count("id", distinct=True), acting_role=Max("actor_role"),
                      office_code=Max("office"))
            .order_by("person")
        )
        for r in rows:
            found = matches[r["person"]]
            flags.append(
                Flag(
                    Rule.HOUSEHOLD,
                    actor,
                    r["acting_role"],
                    r["office_code"],
                    start,
                    end,
                    r["n"],
                    r["n"],
                    1,
                    subject_id=r["person"],
                    detail={
                        "declarations": sorted(found),
                        "match": min(found.values(), key=lambda how: _MATCH_RANK[how]),
                    },
                )
            )
    return flags


_MATCH_RANK = {"exact": 0, "spelling": 1, "words": 2}


RULES = (bulk_viewing, outside_policy, after_hours, break_glass, household)


def evaluate(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    flags: list[Flag] = []
    for rule in RULES:
        flags.extend(rule(start, end, t))
    return flags


def item_events(item: Any) -> QuerySet[Event]:
    """The ledger events behind an item, found again from its rule, actor, subject, window."""
    t = thresholds(item.report.thresholds)
    qs = Event.objects.filter(time__gte=item.window_start, time__lt=item.window_end)
    if item.rule == Rule.BULK_VIEWING:
        qs = _view_events(qs).filter(actor_id=item.actor_id)
    elif item.rule == Rule.OUTSIDE_POLICY:
        qs = qs.filter(actor_id=item.actor_id).filter(_outside_policy())
    elif item.rule == Rule.AFTER_HOURS:
        tz = ZoneInfo(item.detail.get("time_zone") or settings.TIME_ZONE)
        qs = _view_events(qs).filter(actor_id=item.actor_id, office=item.office)
        qs = _with_local(qs, tz).filter(
            _after_hours(tz, t, _non_business_days(item.window_start, item.window_end))
        )
    elif item.rule == Rule.BREAK_GLASS:
        glass = Q(uuid=item.detail.get("event"))
        if item.subject_id:
            glass |= (
                Q(purpose=Purpose.BREAK_GLASS)
                & touches(item.subject_id)
                & ~Q(action=Action.BREAK_GLASS)
            )
        qs = qs.filter(actor_id=item.actor_id).filter(glass)
    elif item.rule == Rule.HOUSEHOLD:
        qs = qs.filter(actor_id=item.actor_id, outcome=Outcome.ALLOWED).filter(
            touches(item.subject_id)
        )
    else:  # pragma: no cover - rules are a closed set
        qs = qs.none()
    return qs.order_by("time", "id")
