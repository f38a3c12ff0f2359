"""The demo's history, decided before anything is written.

Who enrols when and on which schedule, what each check-in window brings (a verified selfie, a
retake, a covered face sent to review, nobody), when and how each review is decided, and the
staff's day: caseload lists, review rounds, break-glass, disclosures, after-hours reads,
weekly access reviews, the daily purge. Nothing here touches the database: the same seed gives
the same plan, so a test can count what the full-size demo will show (`expected_figures`, in
the shape of the transparency report's raw figures) without seeding it, and a seeded small
demo can be compared with its plan.

A few participants have a fixed part to play (`ROLES`), so that even a small demo has every
kind of history: participant 0 is `participant.demo`, with a window open now; participant 1
departs; 2 has a level change waiting for a supervisor; and so on.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from caseledger.cases.deadlines import is_business_day

from .photos import FACES

ZONES = {"east": ZoneInfo("America/New_York"), "west": ZoneInfo("America/Los_Angeles")}
OFFICE_CODES = ("east", "west")
MIN_PARTICIPANTS = 8
#: officer.west is on leave for the last days of the history: the west office's reviews wait.
LEAVE = timedelta(days=4)

ROLES = {
    0: "demo",  # participant.demo: a window open now, a history of its own
    1: "departs",  # checks in from abroad; the officer confirms the departure
    2: "pending_change",  # a level change proposed, waiting for a supervisor
    3: "approved_change",  # intensive, then standard after a supervisor's approval
    4: "impersonation",  # someone else's face; suspected impersonation; a change declined
    5: "misses",  # misses windows: needs contact; the last one waits (overdue)
    6: "open_review",  # a covered face an hour ago: a review open, not yet overdue
    7: "technical",  # a new phone: two faces, a cracked lens, a missed window
}
#: Participants whose attorney of record is representative.demo.
REPRESENTED = (0, 2, 3)
LEVELS = {  # level: (every days, window hours, grace minutes)
    "intensive": (3, 24, 60),
    "standard": (7, 24, 60),
    "reduced": (28, 72, 120),
}
#: Per profile: the weights of what a window brings (see `Window.behaviour`).
PROFILES = {
    "steady": {"self": 90, "retake": 5, "two_faces": 1, "early": 1, "covered": 1, "missed": 2},
    "struggles": {"self": 69, "covered": 14, "covered_then_self": 5, "retake": 7, "missed": 3,
                  "early": 2},
    "unreliable": {"self": 59, "missed": 20, "covered": 9, "retake": 7, "early": 3,
                   "two_faces": 2},
}
LEARNING_WINDOWS, LEARNING = 3, {"covered": 6, "retake": 6}
PROFILE_WEIGHTS = {"steady": 55, "struggles": 30, "unreliable": 15}
#: What an upload of a behaviour consists of: (photo kind, minutes after the first upload).
UPLOADS = {
    "self": [("self", 0)],
    "retake": [("no_face", 0), ("self", 3)],
    "two_faces": [("two_faces", 0), ("self", 2)],
    "early": [("early", 0), ("self", 95)],
    "covered": [("covered", 0)],
    "covered_then_self": [("covered", 0), ("self", 6)],
    "other": [("other", 0)],
    "abroad": [("self", 0)],
    "missed": [],
}
REFUSALS = {"no_face": "no_face", "two_faces": "multiple_faces", "early": "outside_window"}


def local(day: date, hour: int, minute: int, office: str) -> datetime:
    """`hour:minute` on `day` in the office's zone, in UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONES[office]).astimezone(UTC)


def local_day(moment: datetime, office: str) -> date:
    return moment.astimezone(ZONES[office]).date()


def business_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class Upload:
    at: datetime
    photo: str  # a photos.KINDS key, or "early" (a "self" photo before the window opens)
    turn: int  # which photo of its kind (a retry is another photo)
    abroad: bool = False

    @property
    def refusal(self) -> str | None:
        return REFUSALS.get(self.photo)

    @property
    def outcome(self) -> str | None:
        """The stored check-in's outcome; None for a refused upload (no row)."""
        if self.refusal:
            return None
        return "verified" if self.photo == "self" else "review"


@dataclass
class Window:
    index: int
    opens: datetime
    closes: datetime
    until: datetime
    behaviour: str
    uploads: list[Upload] = field(default_factory=list)
    review: str = ""  # "failed_check", "missed_window" or ""
    opened_at: datetime | None = None
    disposition: str = ""
    decided_at: datetime | None = None  # None: still open at the end

    @property
    def images(self) -> int:
        """Check-ins of the window whose photo is kept (sent to review)."""
        return sum(1 for u in self.uploads if u.outcome == "review")


@dataclass
class Change:
    proposed_at: datetime
    kind: str  # "level" or "termination"
    level: str
    reason: str
    decided_at: datetime | None = None
    approve: bool = False
    decision_reason: str = ""


@dataclass
class Participant:
    index: int
    office: str
    role: str
    profile: str
    face: str
    level: str
    enrol_at: datetime
    first_window_at: datetime
    every_days: int
    window_hours: int
    grace_minutes: int
    windows: list[Window] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    departs_at: datetime | None = None
    language_hint: str = ""

    def window_times(self, index: int) -> tuple[datetime, datetime, datetime]:
        opens = self.first_window_at + timedelta(days=self.every_days * index)
        closes = opens + timedelta(hours=self.window_hours)
        return opens, closes, closes + timedelta(minutes=self.grace_minutes)


@dataclass
class Disclosure:
    office: str
    subject: tuple[str, int]  # ("participant", index) or (office, k-th other person)
    agency: str
    authority: str
    official: tuple[str, str, str]  # name, title, rank
    activity: str
    categories: list[str]
    enter_at: datetime
    decide_at: datetime | None
    decision: str = ""
    reason: str = ""
    withhold: bool = False


@dataclass
class Step:
    """One thing that happens at `at` (executed in time order; `seq` keeps ties in order)."""

    at: datetime
    kind: str
    args: dict[str, Any]
    seq: int = 0


@dataclass
class Plan:
    start: datetime  # the first day of the history (enrolments begin)
    end: datetime  # now
    setup_start: datetime  # staff and persons are created in the week before `start`
    persons: int
    participants: list[Participant]
    disclosures: list[Disclosure]
    break_glass: list[Step]
    steps: list[Step]
    purge_days: list[date]
    report_weeks: list[tuple[date, date]]  # (Monday, next Monday) of each week built

    def add(self, at: datetime, kind: str, **args: Any) -> Step | None:
        """Add a step; one that would come at or after the end (now) is left out."""
        if at >= self.end:
            return None
        step = Step(at, kind, args, len(self.steps))
        self.steps.append(step)
        return step

    def ordered(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: (s.at, s.seq))


# --- participants ------------------------------------------------------------------------------
def _choose(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, [weights[k] for k in keys])[0]


def _enrol_at(rng: random.Random, index: int, office: str, start: datetime,
              weeks: int) -> datetime:
    first = local_day(start, office)
    days = business_days(first, first + timedelta(days=13))
    if index < MIN_PARTICIPANTS:
        day = days[min(index // 2, len(days) - 1)]
    elif index % 10 == 9 and weeks >= 5:  # a few enrol later
        later = business_days(first + timedelta(days=15), first + timedelta(days=34))
        day = rng.choice(later)
    else:
        day = rng.choice(days)
    return local(day, 10, 0, office) + timedelta(minutes=rng.randint(0, 330))


def _anchor(p: Participant, at: datetime) -> None:
    """Place the schedule so that a window opens at `at` (the first one at least half a
    day after the enrolment)."""
    every = timedelta(days=p.every_days)
    n = math.floor((at - p.enrol_at - timedelta(hours=12)) / every)
    p.first_window_at = at - n * every


def _participant(rng: random.Random, index: int, start: datetime, end: datetime,
                 weeks: int) -> Participant:
    office = OFFICE_CODES[index % 2]
    role = ROLES.get(index, "")
    profile = _choose(rng, PROFILE_WEIGHTS) if not role else "steady"
    if role:
        level = "intensive" if role == "approved_change" else "standard"
    else:
        level = _choose(rng, {"intensive": 20, "standard": 70, "reduced": 10})
    every, hours, grace = LEVELS[level]
    if role == "demo":
        hours = 48
    enrol_at = _enrol_at(rng, index, office, start, weeks)
    first_day = local_day(enrol_at, office) + timedelta(days=rng.randint(1, 3))
    p = Participant(index, office, role, profile, FACES[(index // 2) % 2], level, enrol_at,
                    local(first_day, 8, 0, office), every, hours, grace)
    anchors = {"demo": end - timedelta(hours=2), "misses": end - timedelta(days=3, hours=12),
               "open_review": end - timedelta(hours=3)}
    if role in anchors:
        _anchor(p, anchors[role])
    return p


def _scripted(p: Participant, w: Window, span: tuple[datetime, datetime]) -> str | None:
    """The behaviour a participant's part fixes for window `w`, if any."""
    start, end = span
    at = (w.opens - start) / (end - start)
    first_after = {  # role: (fraction of the history, behaviour of the first window after it)
        "demo": [(0.2, "covered"), (0.45, "retake")],
        "departs": [(0.3, "abroad")],
        "impersonation": [(0.3, "other")],
        "misses": [(0.25, "missed")],
        "technical": [(0.55, "missed")],
        "approved_change": [(0.15, "covered_then_self")],
    }
    for fraction, behaviour in first_after.get(p.role, []):
        previous = w.opens - timedelta(days=p.every_days)
        if at >= fraction and (previous - start) / (end - start) < fraction:
            return behaviour
    if p.role == "technical" and w.index < 2:  # a new phone: two people in the first selfie,
        return ("two_faces", "covered")[w.index]  # then a cracked lens (a technical problem)
    if p.role == "misses" and w.until <= end and w.opens >= end - timedelta(days=4):
        return "missed"
    if p.role == "open_review" and w.opens <= end < w.until:
        return "covered_now"
    return None


def _uploads(rng: random.Random, p: Participant, w: Window, end: datetime) -> list[Upload]:
    """The uploads of a window: a first one some time after it opens (participants check in
    in their morning), retries a few minutes later; an early one before it opens."""
    if w.behaviour == "covered_now":
        return [Upload(end - timedelta(minutes=50), "covered", w.index)]
    latest = max(30, min(11 * 60, p.window_hours * 60 - 120))
    first = w.opens + timedelta(minutes=rng.randint(20, latest))
    uploads = []
    for turn, (photo, minutes) in enumerate(UPLOADS[w.behaviour]):
        if photo == "early":
            at = w.opens - timedelta(minutes=rng.randint(20, 90))
        else:
            at = first + timedelta(minutes=minutes)
        uploads.append(Upload(at, photo, w.index + turn, abroad=w.behaviour == "abroad"))
    return [u for u in uploads if u.at < end]


def _weights(p: Participant, index: int) -> dict[str, int]:
    """What a window brings, by profile; the first windows bring more retakes and covered
    faces (the app is new to the participant)."""
    weights = dict(PROFILES[p.profile])
    if index < LEARNING_WINDOWS:
        for behaviour, extra in LEARNING.items():
            weights[behaviour] = weights.get(behaviour, 0) + extra
    return weights


def _windows(rng: random.Random, p: Participant, start: datetime, end: datetime) -> None:
    index = 0
    while True:
        opens, closes, until = p.window_times(index)
        if opens >= end or (p.departs_at and opens >= p.departs_at):
            return
        w = Window(index, opens, closes, until, "")
        w.behaviour = _scripted(p, w, (start, end)) or _choose(rng, _weights(p, index))
        if p.role == "demo" and opens <= end < until:
            w.behaviour = "current"  # participant.demo checks in live, in the demo
        w.uploads = [] if w.behaviour == "current" else _uploads(rng, p, w, end)
        if w.behaviour == "abroad" and w.uploads:
            p.departs_at = _departure_time(w.uploads[0].at, p.office)
        p.windows.append(w)
        index += 1


def _departure_time(checked_in: datetime, office: str) -> datetime:
    """The officer confirms a departure within office hours after the check-in from abroad."""
    day = local_day(checked_in, office)
    while True:
        moment = local(day, 11, 30, office)
        if is_business_day(day) and moment > checked_in + timedelta(minutes=30):
            return moment
        day += timedelta(days=1)


# --- reviews ------------------------------------------------------------------------------------
def _rounds(office: str, after: datetime, end: datetime) -> datetime | None:
    """The officer's next review round (10:30 and 15:30 on business days) at least an hour
    after `after`; None when it would come after the end, or while officer.west is away."""
    day = local_day(after, office)
    while True:
        for hour in (10, 15):
            moment = local(day, hour, 30, office)
            if moment < after + timedelta(hours=1) or not is_business_day(day):
                continue
            if moment >= end or (office == "west" and moment >= end - LEAVE):
                return None
            return moment
        day += timedelta(days=1)


DISPOSITIONS = {  # (review kind, behaviour): weights of the officer's disposition
    "failed_check": {"verified_by_review": 84, "technical_problem": 16},
    "other": {"suspected_impersonation": 1},
    "missed_window": {"needs_contact": 60, "technical_problem": 40},
}


def _review(rng: random.Random, p: Participant, w: Window, end: datetime) -> None:
    stored = [u for u in w.uploads if u.outcome]
    failed = [u for u in stored if u.outcome == "review"]
    if failed:
        w.review, w.opened_at = "failed_check", failed[0].at
    elif not stored and w.until + timedelta(minutes=5) < end and w.behaviour != "current":
        w.review, w.opened_at = "missed_window", w.until + timedelta(minutes=5)
    if not w.review or w.opened_at is None:
        return
    w.decided_at = _rounds(p.office, w.opened_at, end)
    if p.departs_at and w.decided_at and w.decided_at >= p.departs_at:
        w.decided_at = None
    if w.decided_at is None:
        return
    key = "other" if w.behaviour == "other" else w.review
    if p.role == "demo":
        w.disposition = "verified_by_review"
    elif p.role == "technical":
        w.disposition = "technical_problem"
    elif p.role == "misses" and w.review == "missed_window":
        w.disposition = "needs_contact"
    else:
        w.disposition = _choose(rng, DISPOSITIONS[key])


# --- changes ------------------------------------------------------------------------------------
def _next_business(moment: datetime, office: str, hour: int, minute: int = 0) -> datetime:
    day = local_day(moment, office) + timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return local(day, hour, minute, office)


def _last_business(before: datetime, office: str, hour: int) -> datetime:
    day = local_day(before, office)
    while True:
        moment = local(day, hour, 0, office)
        if is_business_day(day) and moment < before:
            return moment
        day -= timedelta(days=1)


def _changes(p: Participant, start: datetime, end: datetime) -> None:
    span = end - start
    if p.role == "pending_change":
        p.changes.append(Change(_last_business(end - timedelta(hours=2), p.office, 14),
                                "level", "reduced",
                                "Every check-in verified since enrolment; a monthly check-in "
                                "is enough until the individual hearing."))
    elif p.role == "approved_change":
        proposed = _next_business(start + span * 0.5, p.office, 10)
        p.changes.append(Change(proposed, "level", "standard",
                                "Six weeks of check-ins on time and a stable address: "
                                "weekly check-ins from now on.",
                                _next_business(proposed, p.office, 11), True))
    elif p.role == "impersonation":
        review = next((w for w in p.windows if w.behaviour == "other" and w.decided_at), None)
        if review is not None and review.decided_at is not None:
            proposed = _next_business(review.decided_at, p.office, 14)
            p.changes.append(Change(proposed, "termination", "",
                                    "The photo of the last check-in shows someone else; end "
                                    "supervision and refer the case.",
                                    _next_business(proposed, p.office, 11), False,
                                    "The individual hearing is pending: keep supervision, "
                                    "meet the participant in person and enrol a new photo."))
    p.changes = [c for c in p.changes if c.proposed_at < end and c.proposed_at > p.enrol_at]
    for change in p.changes:
        if change.decided_at is not None and change.decided_at >= end:
            change.decided_at = None


# --- oversight: break-glass, disclosures, after-hours, reports ----------------------------------
BREAK_GLASS_REASONS = [
    "The participant called the duty line about tomorrow's hearing; their officer is away.",
    "Court clerk asked to confirm the hearing address on file; assigned officer on leave.",
    "Attorney of record phoned about a missed check-in; covering for the assigned officer.",
    "Emergency: participant reported at the front desk of this office without appointment.",
    "Interpreter scheduling for a hearing this week; the case officer is out sick today.",
    "Participant's family reported a hospital admission; need the contact on the record.",
]
AGENCY_OFFICIALS = {
    "EOIR": ("Dana Cruz", "Court Administrator", "supervisor"),
    "CONGRESS": ("Robin Hale", "Caseworker", "agent"),
    "FBI": ("Lee Park", "Section Chief", "section_chief"),
    "NJSP": ("Sam Ortiz", "Detective", "agent"),
    "DOJ-OIL": ("Avery Stone", "Trial Attorney", "agent"),
}
#: (agency, authority, categories, decision, reason, withhold, activity, count at full size)
DISCLOSURE_KINDS = [
    ("EOIR", "ICE-A", ["identity", "hearings"], "approve",
     "Routine use A: the person's proceedings are pending before EOIR.", False,
     "Removal proceedings before the immigration court", 14),
    ("CONGRESS", "ICE-D", ["cases", "hearings", "decisions"], "approve",
     "Routine use D: written request of the person to their Member of Congress.", False,
     "Congressional inquiry on the person's written request", 3),
    ("FBI", "b7", ["identity", "addresses"], "approve",
     "Written (b)(7) request signed by a section chief, one record, stated activity; the "
     "requester asked in writing that the person not be told.", True,
     "Investigation of document fraud, case 2026-NK-114", 2),
    ("NJSP", "ICE-C", ["identity", "addresses"], "decline",
     "No specific violation is stated; routine use C requires one.", False,
     "General inquiry about residents of a county (no specific violation)", 3),
    ("FBI", "b7", ["identity", "contacts"], "decline",
     "The letter does not name the law-enforcement activity the record is needed for.", False,
     "Background check for an unrelated investigation", 1),
    ("DOJ-OIL", "ICE-B", ["identity", "cases"], "", "", False,
     "Litigation in which the agency is a party (habeas petition)", 1),
    ("EOIR", "ICE-A", ["identity", "hearings"], "", "", False,
     "Removal proceedings before the immigration court", 1),
]


def _scaled(full: int, participants: int) -> int:
    return max(1, round(full * participants / 40))


def _spread(days: list[date], count: int, rng: random.Random) -> list[date]:
    """`count` days spread evenly over `days` (in order)."""
    if not days:
        return []
    return [days[min(len(days) - 1, (i * len(days)) // count + rng.randint(0, 1))]
            for i in range(count)]


def _disclosures(rng: random.Random, plan: Plan, participants: int) -> None:
    """Requests entered by the subject's supervisor on business days and decided by the
    privacy officer the next business day; the last two are still waiting."""
    days = [d for d in business_days(local_day(plan.start, "east"), local_day(plan.end, "east"))
            if local(d, 16, 0, "east") < plan.end]
    decided = [k for k in DISCLOSURE_KINDS if k[3] for _ in range(_scaled(k[7], participants))]
    rng.shuffle(decided)
    pending = [k for k in DISCLOSURE_KINDS if not k[3]]
    dates = _spread(days[:-3], len(decided), rng) + days[-2:][: len(pending)]
    demo_subject = {"EOIR", "FBI"}  # participant.demo sees one release; the FBI's is withheld
    for n, (kind, day) in enumerate(zip(decided + pending, dates, strict=False)):
        agency, authority, categories, decision, reason, withhold, activity, _full = kind
        if decision == "approve" and agency in demo_subject:
            demo_subject.discard(agency)
            office, subject = "east", ("participant", 0)
        else:
            office = OFFICE_CODES[n % 2]
            subject = (office, 3 + n)
        enter = local(day, 14, 0, "east") + timedelta(minutes=rng.randint(0, 90))
        decide = None
        if decision:
            decide = _next_business(enter, "east", 11) + timedelta(minutes=rng.randint(0, 200))
        plan.disclosures.append(Disclosure(
            office, subject, agency, authority, AGENCY_OFFICIALS[agency], activity, categories,
            enter, decide if decide and decide < plan.end else None, decision, reason, withhold))


def _report_weeks(setup_start: datetime, end: datetime) -> list[tuple[date, date]]:
    monday = setup_start.date() - timedelta(days=setup_start.date().weekday())
    weeks = []
    while True:
        after = monday + timedelta(days=7)
        if datetime.combine(after, time(6), tzinfo=UTC) > end:
            return weeks
        weeks.append((monday, after))
        monday = after


def _oversight(rng: random.Random, plan: Plan, participants: int) -> None:
    """Break-glass uses, a refused one, reads outside the policy, after-hours bursts, a
    household match and a bulk listing, each in a week whose report is built."""
    weeks = [w for w in plan.report_weeks if datetime.combine(w[0], time(), tzinfo=UTC)
             >= plan.start - timedelta(days=1)] or plan.report_weeks[-1:]
    days = business_days(local_day(plan.start, "east"), local_day(plan.end, "east"))
    actors = ["officer.east", "officer.west", "supervisor.east", "supervisor.west"]
    for n, day in enumerate(_spread(days[:-1], _scaled(12, participants), rng)):
        actor = actors[n % len(actors)]
        office = actor.split(".")[1]
        other = "west" if office == "east" else "east"
        at = local(day, 10 + rng.randint(0, 5), rng.randint(0, 59), office)
        step = plan.add(at, "break_glass", actor=actor, person=(other, 5 + n),
                        reason=BREAK_GLASS_REASONS[n % len(BREAK_GLASS_REASONS)], reads=1 + n % 2)
        if step is not None:
            plan.break_glass.append(step)

    def week(n: int, weekday: int = 0) -> date:
        """The `weekday` of the n-th week, or the next business day (never a holiday)."""
        day = weeks[min(n, len(weeks) - 1)][0] + timedelta(days=weekday)
        while weekday < 5 and not is_business_day(day):
            day += timedelta(days=1)
        return day

    plan.add(local(week(1, 1), 12, 5, "east"), "break_glass_refused", actor="admin",
             person=("east", 2))
    plan.add(local(week(3, 2), 14, 0, "west"), "denied_reads", actor="officer.west",
             persons=[("east", k) for k in (7, 8, 9)])
    # after hours: a Saturday evening, a weeknight (all the reads within one clock hour)
    plan.add(local(week(2, 5), 22, 5, "east"), "after_hours_reads", actor="officer.east",
             office="east", reads=22)
    plan.add(local(week(5, 2), 23, 5, "west"), "after_hours_reads", actor="officer.west",
             office="west", reads=21)
    plan.add(local(week(4, 0), 9, 30, "east"), "household_declare", actor="officer.east",
             person=("east", 11))
    plan.add(local(week(4, 1), 10, 0, "east"), "household_read", actor="officer.east",
             person=("east", 11))
    plan.add(local(week(6, 3), 10, 0, "west"), "bulk_list", actor="supervisor.west")
    plan.add(local(week(1, 1), 10, 0, "east"), "legal_hold", person=("east", 1))
    for monday, after in plan.report_weeks:
        built = datetime.combine(after, time(6), tzinfo=UTC)
        plan.add(built, "anomaly_report", week=monday)
        closing = datetime.combine(after + timedelta(days=8), time(15), tzinfo=UTC)
        if closing < plan.end:
            plan.add(closing, "close_findings", week=monday)


def _routine(rng: random.Random, plan: Plan) -> None:
    """The staff's ordinary days: caseload and dashboards in the morning, a few records
    opened, review rounds; the daily purge."""
    for office in OFFICE_CODES:
        for day in business_days(local_day(plan.start, office), local_day(plan.end, office)):
            for hour, minute, kind, actor in ((8, 45, "caseload", f"officer.{office}"),
                                              (9, 0, "dashboard", f"officer.{office}"),
                                              (9, 15, "dashboard", f"supervisor.{office}")):
                plan.add(local(day, hour, minute, office), kind, actor=actor)
            for n in range(rng.randint(1, 3)):
                plan.add(local(day, 11 + 2 * n, rng.randint(0, 59), office), "read",
                         actor=f"officer.{office}", person=(office, rng.randint(0, 10_000)))
            for hour in (10, 15):
                plan.add(local(day, hour, 30, office), "review_round", office=office)
    for day in business_days(local_day(plan.start, "east"), local_day(plan.end, "east")):
        if day.weekday() == 1:  # the attorney looks at the clients' records on Tuesdays
            for n, index in enumerate(REPRESENTED):
                plan.add(local(day, 16, 5 * n, "east"), "read", actor="representative.demo",
                         person=("participant", index))
    day = plan.setup_start.date() + timedelta(days=1)
    while datetime.combine(day, time(2), tzinfo=UTC) < plan.end:
        plan.purge_days.append(day)
        plan.add(datetime.combine(day, time(2), tzinfo=UTC), "purge")
        day += timedelta(days=1)


def _participant_steps(plan: Plan, p: Participant) -> None:
    plan.add(p.enrol_at, "enrol", p=p.index)
    for w in p.windows:
        for upload in w.uploads:
            plan.add(upload.at, "checkin", p=p.index, window=w.index, upload=upload)
        if w.review == "missed_window" and w.opened_at is not None:
            plan.add(w.opened_at, "sweep")
    for n, change in enumerate(p.changes):
        plan.add(change.proposed_at, "propose_change", p=p.index, change=n)
        if change.decided_at is not None:
            plan.add(change.decided_at, "decide_change", p=p.index, change=n)
    if p.departs_at is not None and p.departs_at < plan.end:
        plan.add(p.departs_at, "departure", p=p.index)


def build(*, participants: int, persons: int, weeks: int, end: datetime,
          rng: random.Random) -> Plan:
    """The whole plan: `weeks` of history ending at `end` (now)."""
    if participants < MIN_PARTICIPANTS:
        raise ValueError(f"The demo needs at least {MIN_PARTICIPANTS} participants.")
    start = end - timedelta(weeks=weeks)
    setup_start = datetime.combine(start.date() - timedelta(days=7), time(15), tzinfo=UTC)
    plan = Plan(start, end, setup_start, persons, [], [], [], [], [],
                _report_weeks(setup_start, end))
    for index in range(participants):
        p = _participant(rng, index, start, end, weeks)
        _windows(rng, p, start, end)
        for w in p.windows:
            _review(rng, p, w, end)
        _changes(p, start, end)
        plan.participants.append(p)
        _participant_steps(plan, p)
    _amendment(plan, plan.participants[0])
    _disclosures(rng, plan, participants)
    for disclosure in plan.disclosures:
        plan.add(disclosure.enter_at, "disclosure_enter", disclosure=disclosure)
        if disclosure.decide_at is not None:
            plan.add(disclosure.decide_at, "disclosure_decide", disclosure=disclosure)
    _oversight(rng, plan, participants)
    _routine(rng, plan)
    return plan


def _amendment(plan: Plan, p: Participant) -> None:
    """participant.demo asks to correct their languages; the privacy officer refuses; a
    statement of disagreement follows."""
    asked = local(local_day(plan.start + (plan.end - plan.start) * 0.3, "east"), 19, 40, "east")
    plan.add(asked, "amendment_request", p=p.index)
    plan.add(_next_business(asked, "east", 10), "amendment_acknowledge")
    decided = _next_business(_next_business(asked, "east", 10), "east", 15)
    plan.add(decided, "amendment_decide")
    plan.add(local(local_day(decided, "east") + timedelta(days=1), 20, 15, "east"),
             "amendment_statement", p=p.index)


# --- what the transparency report will count ----------------------------------------------------
def _purged_on(due: date, days: list[date]) -> date | None:
    """The purge day that removes a row whose delete-after date is `due` (due before today)."""
    return next((d for d in days if d > due), None)


def expected_figures(plan: Plan) -> dict[str, Any]:
    """The raw figures (`reports.transparency.raw_figures`) of a period holding the whole
    plan, as the plan says they will be."""
    outcomes: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    opened: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    deleted: Counter[str] = Counter()
    runs: dict[str, set[date]] = {}
    for p in plan.participants:
        for w in p.windows:
            for u in w.uploads:
                if u.refusal:
                    refused[u.refusal] += 1
                else:
                    outcomes[u.outcome or ""] += 1
            if w.review:
                opened[w.review] += 1
            if w.review == "failed_check" and w.decided_at is not None:
                decisions[w.disposition] += 1
                kept = timedelta(days=settings.FAILED_IMAGE_RETENTION_DAYS)
                day = _purged_on((w.decided_at + kept).date(), plan.purge_days)
                if day is not None and w.images:
                    deleted["failed_check_image"] += w.images
                    runs.setdefault("failed_check_image", set()).add(day)
        if p.departs_at is not None:
            kept = timedelta(days=settings.ENROLMENT_PHOTO_RETENTION_DAYS)
            day = _purged_on((p.departs_at + kept).date(), plan.purge_days)
            for data_class in ("face_template", "enrolment_photo"):
                if day is not None:
                    deleted[data_class] += 1
                    runs.setdefault(data_class, set()).add(day)
    released = [d for d in plan.disclosures if d.decide_at and d.decision == "approve"]
    declined = [d for d in plan.disclosures if d.decide_at and d.decision == "decline"]
    review_count = outcomes["review"]
    return {
        "enrolments": len(plan.participants),
        "checkins": {
            "accepted": sum(outcomes.values()),
            "by_outcome": dict(sorted(outcomes.items())),
            "refused": sum(refused.values()),
            "refused_by_reason": dict(sorted(refused.items())),
        },
        "failed_verifications": {
            "total": review_count,
            "by_face_result": {"no_match": review_count} if review_count else {},
            "reviews_opened_by_kind": dict(sorted(opened.items())),
            "review_decisions": sum(decisions.values()),
            "review_decisions_by_disposition": dict(sorted(decisions.items())),
        },
        "disclosures": {
            "disclosed": len(released),
            "declined": len(declined),
            "disclosed_by_authority": dict(sorted(Counter(d.authority for d in released)
                                                  .items())),
            "disclosed_by_agency": dict(sorted(Counter(d.agency for d in released).items())),
            "declined_by_authority": dict(sorted(Counter(d.authority for d in declined)
                                                 .items())),
        },
        "deletions": {
            "records_deleted": sum(deleted.values()),
            "records_by_data_class": dict(sorted(deleted.items())),
            "purge_runs_by_data_class": {k: len(v) for k, v in sorted(runs.items())},
        },
        "break_glass": {
            "granted": len(plan.break_glass),
            "refused": sum(1 for s in plan.steps if s.kind == "break_glass_refused"),
        },
    }
