"""The week before the history: offices, staff, persons with their cases and past hearings,
through the services (each a ledger event, as an officer entering them would leave). Offices
alone are written directly: they are reference data an installer sets up (no person's data,
so no ledger event), and no service creates them."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from caseledger.access.context import AccessContext, default_purpose
from caseledger.accounts.models import Office, Role, User
from caseledger.accounts.services import create_user
from caseledger.cases import services as cases
from caseledger.cases.models import CalendarType, CaseStatus, CaseType, Court, DecisionKind
from caseledger.ledger.services import integrate_pending
from caseledger.people import services as people
from caseledger.people.models import Address, Person

from . import plan as planning
from .names import DEMO_PARTICIPANT, DEMO_PARTICIPANT_HOME, GUATEMALA, Home, Identities
from .seedclock import SeedClock

DEMO_PASSWORD = "caseledger-demo"
PARTICIPANT = "participant.demo"
#: (username, role, office, first name, last name)
STAFF = [
    ("officer.east", Role.CASE_OFFICER, "east", "Daniel", "Okafor"),
    ("officer.west", Role.CASE_OFFICER, "west", "Lucía", "Fernández"),
    ("supervisor.east", Role.SUPERVISOR, "east", "Grace", "Whitfield"),
    ("supervisor.west", Role.SUPERVISOR, "west", "Tomás", "Reyes"),
    ("privacy", Role.PRIVACY_OFFICER, "", "Priya", "Raman"),
    ("admin", Role.ADMINISTRATOR, "", "Alex", "Morgan"),
    ("representative.demo", Role.REPRESENTATIVE, "", "Jordan", "Ellis"),
]
OFFICES = {
    "east": ("East Field Office (New York)", "America/New_York",
             ["NYC", "NEW", "BOS", "MIA", "ATL"]),
    "west": ("West Field Office (Los Angeles)", "America/Los_Angeles",
             ["LOS", "SFR", "SEA", "PHO", "DEN"]),
}
OFFICE_CONTACTS = {"east": "+12125550100", "west": "+12135550100"}
PATHS = {"open": 60, "appealed": 8, "final": 15, "relief": 10, "closed": 7}
PARTICIPANT_PATHS = {"open": 88, "appealed": 12}
#: What follows a decision recorded in the history, and after how many days.
FOLLOW_UP = {
    DecisionKind.REMOVAL_ORDERED: (CaseStatus.FINAL_ORDER, 31),
    DecisionKind.VOLUNTARY_DEPARTURE: (CaseStatus.FINAL_ORDER, 31),
    DecisionKind.RELIEF_GRANTED: (CaseStatus.RELIEF_GRANTED, 31),
}


@dataclass
class Enrolled:
    """A participant as seeded: their person, home, and (after enrolment) login."""

    person_id: Any
    home: tuple[Decimal, Decimal]
    languages: list[str]
    enrolment_id: Any = None
    user: User | None = None


@dataclass
class World:
    """What the history refers to: staff by username, the persons of each office (not
    enrolled) and the participants, by their index in the plan."""

    rng: random.Random
    clock: SeedClock
    plan: planning.Plan
    staff: dict[str, User] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)
    others: dict[str, list[Any]] = field(default_factory=lambda: {"east": [], "west": []})
    enrolled: dict[int, Enrolled] = field(default_factory=dict)

    def ctx(self, username: str, purpose: str | None = None, reason: str = "") -> AccessContext:
        """A context of one request of `username` (a fresh server-made request id)."""
        user = self.staff[username]
        return AccessContext(user=user, purpose=purpose or default_purpose(user), reason=reason,
                             request_id=uuid.UUID(int=self.rng.getrandbits(128)).hex)

    def person(self, ref: tuple[str, int]) -> Any:
        """A person the plan names: ("participant", i) or (office, k): the k-th (modulo)
        person of the office who is not enrolled."""
        kind, number = ref
        if kind == "participant":
            return self.enrolled[number].person_id
        persons = self.others[kind]
        return persons[number % len(persons)]


def _hearing_time(rng: random.Random, day: date, court: Court) -> datetime:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    local = datetime.combine(day, time(rng.choice([8, 9, 10, 13, 14]), rng.choice([0, 30])),
                             tzinfo=ZoneInfo(court.time_zone))
    return local.astimezone(UTC)


def create_staff(world: World) -> None:
    for code, (name, zone, _courts) in OFFICES.items():
        world.offices[code] = Office.objects.create(code=code, name=name, time_zone=zone)
    for username, role, office, first, last in STAFF:
        world.staff[username] = create_user(
            username=username, password=DEMO_PASSWORD, role=role,
            office=world.offices.get(office), first_name=first, last_name=last,
            email=f"{username}@example.gov",
        )
    from caseledger.notices.services import set_office_contact

    for code, phone in OFFICE_CONTACTS.items():
        set_office_contact(user=world.staff["admin"], office=world.offices[code], phone=phone,
                           email=f"{code}.office@example.gov")


class CaseSeeder:
    """A person's cases: past hearings with what became of them, decisions and status changes
    of finished cases, and upcoming hearings (whose outcome, if they fall in the history, is
    a step of the plan)."""

    def __init__(self, world: World, judges: list[str]) -> None:
        self.world, self.rng, self.judges = world, world.rng, judges
        self.courts = {c.code: c for c in Court.objects.all()}
        self.past = 0  # past hearings made so far
        self.participant = False

    def seed(self, ctx: AccessContext, person_id: Any, office: str, path: str, *,
             participant: bool = False) -> None:
        """One case on `path`; a participant's next hearing is after the history (they
        have a hearing to attend)."""
        self.participant = participant
        rng, today = self.rng, self.world.clock.now.date()
        court = self.courts[rng.choice(OFFICES[office][2])]
        opened = today - timedelta(days=rng.randint(60, 1500 if path != "vd" else 400))
        case = cases.open_case(ctx=ctx, person_id=person_id, court_code=court.code,
                               case_type=rng.choices(list(CaseType.values),
                                                     [60, 10, 8, 7, 15])[0], opened_on=opened)
        judge = rng.choice(self.judges)
        first = opened + timedelta(days=rng.randint(20, 60))
        if first < today - timedelta(days=2):
            self._past_hearing(ctx, case.pk, court, first, judge, CalendarType.MASTER)
        if path == "open":
            self._upcoming(ctx, case.pk, court, judge, office)
            return
        self._decided(ctx, case.pk, court, judge, path, first, today)

    def _past_hearing(self, ctx: AccessContext, case_id: Any, court: Court, day: date,
                      judge: str, calendar: str, fate: str = "") -> None:
        """A hearing of the past and what became of it: held, or adjourned (and held on a
        later date), or cancelled (and another held later)."""
        when = _hearing_time(self.rng, day, court)
        hearing = cases.schedule_hearing(ctx=ctx, case_id=case_id, calendar=calendar,
                                         scheduled_at=when, judge=judge, allow_past=True)
        if not fate:
            # the third past hearing left to chance is adjourned and the fifth cancelled, so
            # that even a small demo has each; the others as they come
            self.past += 1
            fate = {3: "adjourned", 5: "cancelled"}.get(self.past) or self.rng.choices(
                ["held", "adjourned", "cancelled"], [85, 10, 5])[0]
        if fate == "held":
            cases.record_hearing_held(ctx=ctx, hearing_id=hearing.pk)
            return
        if fate == "adjourned":
            cases.adjourn_hearing(ctx=ctx, hearing_id=hearing.pk)
        else:
            cases.cancel_hearing(ctx=ctx, hearing_id=hearing.pk)
        later = day + timedelta(days=self.rng.randint(30, 70))
        if later < self.world.clock.now.date() - timedelta(days=2):
            self._past_hearing(ctx, case_id, court, later, judge, calendar)
        else:
            self._upcoming(ctx, case_id, court, judge, ctx.user.office.code)

    def _upcoming(self, ctx: AccessContext, case_id: Any, court: Court, judge: str,
                  office: str) -> None:
        rng = self.rng
        first = self.world.plan.end if self.participant else self.world.clock.now
        day = first.date() + timedelta(days=rng.randint(3, 150))
        when = _hearing_time(rng, day, court)
        calendar = rng.choice([CalendarType.MASTER, CalendarType.INDIVIDUAL])
        hearing = cases.schedule_hearing(ctx=ctx, case_id=case_id, calendar=calendar,
                                         scheduled_at=when, judge=judge)
        self._outcome_step(hearing.pk, when, court, calendar, office)

    def _outcome_step(self, hearing_id: Any, when: datetime, court: Court, calendar: str,
                      office: str) -> None:
        """If the hearing falls in the history: the officer records what became of it."""
        plan, rng = self.world.plan, self.rng
        fate = rng.choices(["held", "adjourned", "cancelled"], [80, 15, 5])[0]
        zone = ZoneInfo(court.time_zone)
        if fate == "cancelled":
            at = when - timedelta(days=rng.randint(2, 6))
        else:
            at = datetime.combine(when.astimezone(zone).date(), time(16, 45),
                                  tzinfo=zone).astimezone(UTC)
        decision = ""
        if fate == "held" and calendar == CalendarType.INDIVIDUAL and rng.random() < 0.35:
            decision = rng.choice([DecisionKind.RELIEF_GRANTED, DecisionKind.REMOVAL_ORDERED,
                                   DecisionKind.VOLUNTARY_DEPARTURE])
        plan.add(at, "hearing_outcome", hearing=hearing_id, office=office, fate=fate,
                 decision=decision, court=court.code, calendar=calendar)
        if decision:  # the decision becomes final (or is appealed) after the 30 days
            status, days = FOLLOW_UP[decision]
            if decision == DecisionKind.REMOVAL_ORDERED and rng.random() < 0.3:
                status, days = CaseStatus.APPEALED, 24
            plan.add(at + timedelta(days=days), "case_status", hearing=hearing_id,
                     office=office, status=status)

    def _decided(self, ctx: AccessContext, case_id: Any, court: Court, judge: str, path: str,
                 first: date, today: date) -> None:
        rng = self.rng
        if path == "vd":
            decided = today - timedelta(days=20)
        else:
            decided = min(today - timedelta(days=rng.randint(35, 400)),
                          first + timedelta(days=rng.randint(90, 400)))
        decided = max(decided, first + timedelta(days=7))
        if decided >= today:
            self._upcoming(ctx, case_id, court, judge, ctx.user.office.code)
            return
        self._past_hearing(ctx, case_id, court, decided, judge, CalendarType.INDIVIDUAL, "held")
        kind = {"relief": DecisionKind.RELIEF_GRANTED, "closed": DecisionKind.TERMINATED,
                "vd": DecisionKind.VOLUNTARY_DEPARTURE}.get(
            path, rng.choice([DecisionKind.REMOVAL_ORDERED, DecisionKind.VOLUNTARY_DEPARTURE]))
        cases.record_decision(ctx=ctx, case_id=case_id, kind=kind, decided_on=decided,
                              oral=rng.random() < 0.7)
        steps = {
            "vd": [CaseStatus.DECIDED],
            "appealed": [CaseStatus.DECIDED, CaseStatus.APPEALED],
            "final": [CaseStatus.DECIDED, CaseStatus.FINAL_ORDER],
            "relief": [CaseStatus.DECIDED, CaseStatus.RELIEF_GRANTED],
            "closed": [CaseStatus.CLOSED],
        }[path]
        for status in steps:
            cases.transition_case(ctx=ctx, case_id=case_id, to_status=status,
                                  reason="Recorded from the court's decision")


class PersonSeeder:
    """Every person of the demo: the participants first (alternating offices), then the
    others; spread over the business hours of the week before the history."""

    def __init__(self, world: World, identities: Identities, cases_: CaseSeeder) -> None:
        self.world, self.ids, self.cases = world, identities, cases_

    def seed_all(self, tick: Any = None) -> None:
        plan, clock = self.world.plan, self.world.clock
        moments = _office_minutes(plan.setup_start, plan.persons)
        for index in range(plan.persons):
            clock.set(moments[index])
            if index < len(plan.participants):
                self._participant(plan.participants[index])
            else:
                self._other(index)
            if index % 20 == 19:
                integrate_pending()
            if tick:
                tick()

    def _participant(self, p: planning.Participant) -> None:
        world, today = self.world, self.world.clock.now.date()
        ctx = world.ctx(f"officer.{p.office}")
        if p.role == "demo":
            line1, city, region, postal, lat, lon = DEMO_PARTICIPANT_HOME
            home = Home(people.AddressInput(line1=line1, city=city, region=region,
                                            postal_code=postal,
                                            valid_from=today - timedelta(days=400)),
                        Decimal(lat), Decimal(lon))
            data, later = DEMO_PARTICIPANT.model_copy(update={"address": home.address}), []
        else:
            home = self.ids.home(p.office, today)
            origin = GUATEMALA if p.role == "departs" else None
            data, later = self.ids.person(p.index, p.office, today, origin=origin, home=home)
        person = people.create_person(ctx=ctx, data=data)
        # No service sets coordinates (there is no geocoder): the home's, for the distance of
        # each check-in on the supervision dashboard.
        Address.objects.filter(person=person, valid_to__isnull=True).update(
            latitude=home.latitude, longitude=home.longitude)
        for address in later:
            people.record_address(ctx=ctx, person_id=person.pk, data=address)
        if p.role:
            path = "vd" if p.role == "departs" else "open"
        else:
            path = world.rng.choices(list(PARTICIPANT_PATHS), list(PARTICIPANT_PATHS.values()))[0]
        self.cases.seed(ctx, person.pk, p.office, path, participant=True)
        if p.index in planning.REPRESENTED:
            people.record_representation(ctx=ctx, person_id=person.pk,
                                         representative=world.staff["representative.demo"],
                                         form="EOIR-28", filed_on=today - timedelta(days=90))
        world.enrolled[p.index] = Enrolled(person.pk, (home.latitude, home.longitude),
                                           list(data.languages))

    def _other(self, index: int) -> None:
        world, today = self.world, self.world.clock.now.date()
        office = planning.OFFICE_CODES[index % 2]
        ctx = world.ctx(f"officer.{office}")
        data, later = self.ids.person(index, office, today)
        person = people.create_person(ctx=ctx, data=data)
        for address in later:
            people.record_address(ctx=ctx, person_id=person.pk, data=address)
        for _ in range(world.rng.choice([1, 1, 1, 2])):
            path = world.rng.choices(list(PATHS), list(PATHS.values()))[0]
            self.cases.seed(ctx, person.pk, office, path)
        world.others[office].append(person.pk)


def _office_minutes(start: datetime, count: int) -> list[datetime]:
    """`count` moments spread over five business days from `start`, 15:00-23:00 UTC (office
    hours in New York and in Los Angeles, summer or winter)."""
    days, day = [], start.date()
    while len(days) < 5:
        if planning.is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    minutes = 5 * 8 * 60
    out = []
    for n in range(count):
        offset = n * minutes // max(1, count)
        moment = datetime.combine(days[offset // 480], time(15), tzinfo=UTC)
        out.append(moment + timedelta(minutes=offset % 480))
    return out


def judges(identities: Identities) -> list[str]:
    return [f"Judge {identities.us.last_name()}" for _ in range(12)]


def persons_of(office: str) -> list[Any]:
    """The persons of an office, in the order they were created (for tests)."""
    return list(Person.objects.filter(office__code=office).order_by("created_at")
                .values_list("pk", flat=True))

