"""Deadline rules of immigration proceedings.

Each rule is a small function from the triggering date (in the court's time zone) to the due
date, with its legal source in the docstring. Business days skip Saturdays, Sundays and U.S.
federal holidays as observed (the maintained `holidays` package). Where the law extends a
deadline that falls on a weekend or holiday to the next business day, the rule says so; the
voluntary-departure periods are not extended that way (they are periods of permission to stay,
and departing late has severe consequences, so the conservative date is shown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.utils.translation import gettext_noop


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("US", years=[year - 1, year, year + 1], observed=True)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def next_business_day_on_or_after(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(start: date, days: int) -> date:
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def local_date(moment: datetime | date, time_zone: str) -> date:
    """The calendar date of `moment` in the court's time zone (dates pass through)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("a datetime needs a time zone")
        return moment.astimezone(ZoneInfo(time_zone)).date()
    return moment


def bia_appeal(trigger: date) -> date:
    """Notice of appeal to the BIA: received within 30 calendar days of an oral decision or of
    the mailing or electronic service of a written one; a last day on a Saturday, Sunday or
    legal holiday moves to the next business day. 8 CFR 1003.38(b)."""
    return next_business_day_on_or_after(trigger + timedelta(days=30))


def voluntary_departure_pre_conclusion(trigger: date) -> date:
    """Voluntary departure granted before the conclusion of proceedings: up to 120 days.
    INA 240B(a)(2)(A); 8 CFR 1240.26(e)(1). Not extended for weekends or holidays."""
    return trigger + timedelta(days=120)


def voluntary_departure_post_conclusion(trigger: date) -> date:
    """Voluntary departure granted at the conclusion of proceedings: up to 60 days.
    INA 240B(b)(2); 8 CFR 1240.26(e)(2). Not extended for weekends or holidays."""
    return trigger + timedelta(days=60)


def voluntary_departure_bond(trigger: date) -> date:
    """The voluntary-departure bond must be posted with DHS within 5 business days of the
    immigration judge's order granting post-conclusion voluntary departure.
    INA 240B(b)(3); 8 CFR 1240.26(c)(3)(i)."""
    return add_business_days(trigger, 5)


def address_change(trigger: date) -> date:
    """Form EOIR-33 (change of address) within 5 business days of the change.
    8 CFR 1003.15(d)(2); INA 239(a)(1)(F)(ii)."""
    return add_business_days(trigger, 5)


def motion_to_reopen(trigger: date) -> date:
    """Motion to reopen: within 90 days of the final administrative order; a last day on a
    weekend or holiday moves to the next business day (EOIR Practice Manual 3.1(c)).
    INA 240(c)(7)(C)(i); 8 CFR 1003.23(b)(1)."""
    return next_business_day_on_or_after(trigger + timedelta(days=90))


def in_absentia_rescission(trigger: date) -> date:
    """Motion to rescind an in-absentia order for exceptional circumstances: within 180 days of
    the order; a last day on a weekend or holiday moves to the next business day.
    INA 240(b)(5)(C)(i); 8 CFR 1003.23(b)(4)(ii)."""
    return next_business_day_on_or_after(trigger + timedelta(days=180))


@dataclass(frozen=True)
class Rule:
    code: str
    label: str
    compute: Callable[[date], date]
    pausable: bool = False


RULES: dict[str, Rule] = {
    r.code: r
    for r in [
        Rule("bia-appeal", gettext_noop("Appeal to the BIA"), bia_appeal),
        Rule(
            "vd-pre",
            gettext_noop("Voluntary departure (pre-conclusion)"),
            voluntary_departure_pre_conclusion,
            pausable=True,
        ),
        Rule(
            "vd-post",
            gettext_noop("Voluntary departure (post-conclusion)"),
            voluntary_departure_post_conclusion,
            pausable=True,
        ),
        Rule("vd-bond", gettext_noop("Voluntary departure bond"), voluntary_departure_bond),
        Rule("address-change", gettext_noop("Change of address (EOIR-33)"), address_change),
        Rule("motion-reopen", gettext_noop("Motion to reopen"), motion_to_reopen),
        Rule(
            "absentia-rescission",
            gettext_noop("Rescission of an in-absentia order"),
            in_absentia_rescission,
        ),
    ]
}


def compute(
    rule: str,
    trigger: datetime | date,
    *,
    time_zone: str = "America/New_York",
    pauses: Iterable[tuple[date, date | None]] = (),
) -> date | None:
    """The due date of `rule` for an event at `trigger`, computed in the court's time zone.

    `pauses` are periods (start, end) during which the clock stood still — a pending appeal
    stops the voluntary-departure clock. An open pause (end None) means no due date yet
    (None); a closed one adds its length in days.
    """
    if rule not in RULES:
        raise KeyError(f"unknown deadline rule '{rule}'; rules: {', '.join(RULES)}")
    spec = RULES[rule]
    start = local_date(trigger, time_zone)
    due = spec.compute(start)
    if not spec.pausable:
        return due
    paused_days = 0
    for begin, end in _ordered(pauses):
        if begin > due + timedelta(days=paused_days):
            continue
        if end is None:
            return None
        paused_days += max(0, (end - max(begin, start)).days)
    return due + timedelta(days=paused_days)


def _ordered(pauses: Iterable[tuple[date, date | None]]) -> Sequence[tuple[date, date | None]]:
    return sorted(pauses, key=lambda p: p[0])


@dataclass(frozen=True)
class CaseDeadline:
    rule: str
    label: str
    trigger: date
    due: date | None  # None: the clock is stopped (e.g. an appeal is pending)
    state: str  # overdue, due_soon (within 7 days), upcoming, paused
    as_of: date  # today in the court's time zone, against which `state` was judged

    @property
    def days_left(self) -> int | None:
        """Days from `as_of` to the due date (0: due today; negative: overdue)."""
        return None if self.due is None else (self.due - self.as_of).days


APPEALABLE = {"removal_ordered", "voluntary_departure", "relief_granted", "terminated"}


def state_of(due: date | None, today: date) -> str:
    """overdue, due_soon (within 7 days), upcoming, or paused (no due date)."""
    if due is None:
        return "paused"
    if due < today:
        return "overdue"
    return "due_soon" if (due - today).days <= 7 else "upcoming"


def deadlines_for_case(
    case: Any, decisions: Sequence[Any], status_changes: Sequence[Any], time_zone: str, today: date
) -> list[CaseDeadline]:
    """The open deadlines that follow from a case's decisions and status history.

    - a decision that can be appealed, while the case is `decided`: the BIA appeal deadline,
      counted from the oral decision or the service of a written one;
    - voluntary departure granted: the departure date (stopped while an appeal is pending)
      and the bond, while the case has not reached departed/closed;
    - a final order: the motion-to-reopen deadline.
    """
    status = case.status
    out: list[CaseDeadline] = []

    def add(rule: str, trigger: date, pauses: Iterable[tuple[date, date | None]] = ()) -> None:
        due = compute(rule, trigger, time_zone=time_zone, pauses=pauses)
        out.append(CaseDeadline(rule, RULES[rule].label, trigger, due, state_of(due, today),
                                today))

    appeal_periods: list[tuple[date, date | None]] = []
    opened: date | None = None
    for change in sorted(status_changes, key=lambda c: c.changed_at):
        day = local_date(change.changed_at, time_zone)
        if change.to_status == "appealed":
            opened = day
        elif opened is not None:
            appeal_periods.append((opened, day))
            opened = None
    if opened is not None:
        appeal_periods.append((opened, None))
    for decision in decisions:
        kind = decision.kind
        served = decision.served_on
        trigger = decision.decided_on if decision.oral else (served or decision.decided_on)
        if kind in APPEALABLE and status == "decided":
            add("bia-appeal", trigger)
        if kind == "voluntary_departure" and status not in {"departed", "closed"}:
            add("vd-post", decision.decided_on, appeal_periods)
            if status == "decided":
                add("vd-bond", decision.decided_on)
    if status == "final_order":
        final = [c for c in status_changes if c.to_status == "final_order"]
        if final:
            last_final = max(c.changed_at for c in final)
            add("motion-reopen", local_date(last_final, time_zone))
    return sorted(out, key=lambda d: (d.due is None, d.due or today))
