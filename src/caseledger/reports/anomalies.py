"""The weekly access-anomaly rules, computed from `ledger.Event` by SQL aggregation.

Each rule is a handful of GROUP BY queries over the week's events (the `time` index narrows
them to the week); Python only sees the grouped rows, never the events one by one, so a
week of a million events costs the same few queries as a week of a hundred.

An item records the rule, the actor, the subject (per-person rules) and a time window; its
events are found again by `item_events(item)` with the same conditions, so the report keeps
no copy of the ledger. The thresholds are in `DEFAULTS`, overridable with the setting
`REPORTS_ANOMALY_THRESHOLDS` (a dict) or per build; each build stores the values it used.
See docs/REPORTS.md.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import ExtractHour, TruncDate, TruncHour

from caseledger.access.context import Purpose
from caseledger.access.gate import ROLE_PURPOSES
from caseledger.accounts.models import Role
from caseledger.ledger.models import Event, Outcome

from .models import Rule

#: Ledger actions that show a person's record to the actor.
VIEW_ACTIONS = ("read",)
#: Roles whose reads are reviewed (participants and representatives see only their own).
STAFF = (Role.CASE_OFFICER, Role.SUPERVISOR, Role.PRIVACY_OFFICER, Role.ADMINISTRATOR)

DEFAULTS: dict[str, Any] = {
    # bulk viewing: flagged when distinct persons > max(min_persons, factor x usual), where
    # usual = max(caseload size, mean weekly distinct persons over the history weeks)
    "bulk_min_persons": 50,
    "bulk_factor": 3,
    "bulk_history_weeks": 4,
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


def _views(qs: QuerySet[Event]) -> QuerySet[Event]:
    return qs.filter(
        action__in=VIEW_ACTIONS,
        outcome=Outcome.ALLOWED,
        subject_id__isnull=False,
        actor_role__in=STAFF,
    ).exclude(actor_id="")


def _unusual_purpose() -> Q:
    """A read under a purpose that is not the actor role's ordinary one (break-glass apart:
    it has its own rule)."""
    q = Q(pk__in=[])
    for role in STAFF:
        ordinary = set(ROLE_PURPOSES.get(role, frozenset())) | {Purpose.BREAK_GLASS}
        q |= Q(actor_role=role) & ~Q(purpose__in=sorted(ordinary))
    return Q(action__in=VIEW_ACTIONS) & q


def _outside_policy() -> Q:
    denied = Q(outcome=Outcome.DENIED) & ~Q(action="login")
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


def bulk_viewing(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    rows = list(
        _views(week_events(start, end))
        .values("actor_id")
        .annotate(
            persons=Count("subject_id", distinct=True),
            events=Count("id"),
            role=Max("actor_role"),
            office_code=Max("office"),
        )
        .filter(persons__gt=t["bulk_min_persons"])
    )
    if not rows:
        return []
    ids = [r["actor_id"] for r in rows]
    weeks = int(t["bulk_history_weeks"])
    history: dict[str, list[int]] = {a: [] for a in ids}
    for back in range(1, weeks + 1):
        w_start, w_end = start - timedelta(days=7 * back), end - timedelta(days=7 * back)
        counts = dict(
            _views(week_events(w_start, w_end))
            .filter(actor_id__in=ids)
            .values("actor_id")
            .annotate(n=Count("subject_id", distinct=True))
            .values_list("actor_id", "n")
        )
        for a in ids:
            history[a].append(counts.get(a, 0))
    caseload = _caseload_sizes(ids, start, end)
    flags = []
    for r in rows:
        a = r["actor_id"]
        usual_history = math.ceil(sum(history[a]) / weeks) if weeks else 0
        usual = max(caseload.get(a, 0), usual_history)
        limit = max(int(t["bulk_min_persons"]), math.ceil(float(t["bulk_factor"]) * usual))
        if r["persons"] > limit:
            flags.append(
                Flag(
                    Rule.BULK_VIEWING,
                    a,
                    r["role"],
                    r["office_code"],
                    start,
                    end,
                    r["events"],
                    r["persons"],
                    limit,
                    detail={
                        "caseload": caseload.get(a, 0),
                        "usual_weekly": usual_history,
                        "history_weeks": weeks,
                    },
                )
            )
    return flags


# --- rule 2: outside the ordinary policy -------------------------------------------------------
def outside_policy(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    rows = (
        week_events(start, end)
        .exclude(actor_id="")
        .filter(_outside_policy())
        .values("actor_id")
        .annotate(
            events=Count("id"),
            denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
            persons=Count("subject_id", distinct=True),
            role=Max("actor_role"),
            office_code=Max("office"),
        )
        .filter(events__gte=t["outside_min_events"])
    )
    return [
        Flag(
            Rule.OUTSIDE_POLICY,
            r["actor_id"],
            r["role"],
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
                n=Count("id"), persons=Count("subject_id", distinct=True), role=Max("actor_role")
            )
            .filter(n__gte=t["burst_min_reads"])
            .order_by("bucket")
        )
        for r in rows:
            bucket = r["bucket"]
            flags.append(
                Flag(
                    Rule.AFTER_HOURS,
                    r["actor_id"],
                    r["role"],
                    code,
                    bucket,
                    bucket + timedelta(hours=1),
                    r["n"],
                    r["n"],
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
        .filter(action="break_glass")
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
                subject_id=g["subject_id"],
            )
            .exclude(action="break_glass")
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
def household(start: datetime, end: datetime, t: dict[str, Any]) -> list[Flag]:
    from caseledger.people.models import PersonName

    from .models import HouseholdMember

    declared: dict[str, dict[str, str]] = {}
    for user_id, key, pk in HouseholdMember.objects.values_list("user_id", "search_key", "pk"):
        declared.setdefault(str(user_id), {})[key] = str(pk)
    flags = []
    for actor, keys in sorted(declared.items()):
        rows = (
            week_events(start, end)
            .filter(actor_id=actor, outcome=Outcome.ALLOWED, subject_id__isnull=False)
            .filter(
                subject_id__in=PersonName.objects.filter(search_key__in=list(keys)).values(
                    "person_id"
                )
            )
            .values("subject_id")
            .annotate(n=Count("id"), role=Max("actor_role"), office_code=Max("office"))
            .order_by("subject_id")
        )
        for r in rows:
            matched = sorted(
                keys[k]
                for k in PersonName.objects.filter(
                    person_id=r["subject_id"], search_key__in=list(keys)
                ).values_list("search_key", flat=True)
            )
            flags.append(
                Flag(
                    Rule.HOUSEHOLD,
                    actor,
                    r["role"],
                    r["office_code"],
                    start,
                    end,
                    r["n"],
                    r["n"],
                    1,
                    subject_id=r["subject_id"],
                    detail={"declarations": matched},
                )
            )
    return flags


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
        qs = _views(qs).filter(actor_id=item.actor_id)
    elif item.rule == Rule.OUTSIDE_POLICY:
        qs = qs.filter(actor_id=item.actor_id).filter(_outside_policy())
    elif item.rule == Rule.AFTER_HOURS:
        tz = ZoneInfo(item.detail.get("time_zone") or settings.TIME_ZONE)
        qs = _views(qs).filter(actor_id=item.actor_id, office=item.office)
        qs = _with_local(qs, tz).filter(
            _after_hours(tz, t, _non_business_days(item.window_start, item.window_end))
        )
    elif item.rule == Rule.BREAK_GLASS:
        glass = Q(uuid=item.detail.get("event"))
        if item.subject_id:
            glass |= Q(purpose=Purpose.BREAK_GLASS, subject_id=item.subject_id) & ~Q(
                action="break_glass"
            )
        qs = qs.filter(actor_id=item.actor_id).filter(glass)
    elif item.rule == Rule.HOUSEHOLD:
        qs = qs.filter(actor_id=item.actor_id, subject_id=item.subject_id, outcome=Outcome.ALLOWED)
    else:  # pragma: no cover - rules are a closed set
        qs = qs.none()
    return qs.order_by("time", "id")
