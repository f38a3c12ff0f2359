"""The world the route matrix runs in: built once per module, inside one transaction that is
rolled back at the end (as Django's TestCase does for `setUpTestData`).

Four persons, each with the same set of records (case, hearing, enrolment with a failed
check-in under review and a pending change, an approved disclosure request, a refused
amendment request, a legal hold, an anomaly item, a ledger event naming them):

- `own`: on officer_east's caseload (east office); the participant's own record; the
  representative's client.
- `other_office`: on officer_west's caseload (west office).
- `no_relation`: on officer_east2's caseload (east office): the case officer has no relation
  to them; the east supervisor sees them (same office).
- `break_glass`: west office, with an open break-glass grant for the case officer, the
  supervisor and the privacy officer of the matrix.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.test import Client

from caseledger.access.gate import grant_break_glass
from caseledger.accounts.models import Office, Role, User
from caseledger.accounts.services import change_role, create_user
from caseledger.biometrics.verifier import StubVerifier
from caseledger.cases import services as cases
from caseledger.disclosures import services as disclosures
from caseledger.ledger.models import Event
from caseledger.ledger.services import integrate_pending
from caseledger.notices import calendars
from caseledger.notices.models import NoticeTemplate, TemplateStatus
from caseledger.people.models import Person
from caseledger.people.services import (
    AddressInput,
    NameInput,
    PersonInput,
    create_person,
    record_representation,
)
from caseledger.portal import services as portal
from caseledger.reports.models import AnomalyItem, AnomalyReport
from caseledger.reports.services import declare_household_member
from caseledger.retention import services as retention
from caseledger.retention.models import DeletionCertificate, PurgeRun, Schedule
from caseledger.supervision import services as supervision
from tests.conftest import PASSWORD, context, signed_in_client, token_client
from tests.disclosures.conftest import request_input

REASON = "Detainee transferred overnight; verifying identity before the hearing"
ENROL_PHOTO = b"matrix-enrolment-photo"
STRANGER = b"matrix-someone-else"
#: The acting user of each role in the matrix.
ACTORS = {
    "case_officer": "officer_east",
    "supervisor": "supervisor_east",
    "privacy_officer": "privacy",
    "administrator": "admin",
    "participant": "participant",
    "representative": "representative",
}
PERSON_SCENARIOS = ("own", "other_office", "no_relation", "break_glass")
WEEK = "2026-W01"
MISSING_WEEK = "2026-W02"


@dataclass
class Records:
    """The records of one person of the world (ids only)."""

    person: uuid.UUID
    case: uuid.UUID
    hearing: uuid.UUID
    enrolment: uuid.UUID
    review: uuid.UUID
    checkin: uuid.UUID
    change: uuid.UUID
    disclosure: uuid.UUID
    amendment: uuid.UUID
    hold: uuid.UUID
    item: uuid.UUID
    event: int
    address: uuid.UUID


@dataclass
class World:
    users: dict[str, User]
    records: dict[str, Records]
    web: dict[str, Client] = field(default_factory=dict)
    api: dict[str, Client] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _users() -> dict[str, User]:
    offices = {
        code: Office.objects.create(
            code=code, name=f"{code.title()} office", time_zone="America/New_York"
        )
        for code in ("east", "west")
    }

    def make(username: str, role: str, office: str | None = None) -> User:
        return create_user(username=username, password=PASSWORD, role=role,
                           office=offices[office] if office else None)

    return {
        "officer_east": make("officer.east", Role.CASE_OFFICER, "east"),
        "officer_east2": make("officer2.east", Role.CASE_OFFICER, "east"),
        "officer_west": make("officer.west", Role.CASE_OFFICER, "west"),
        "supervisor_east": make("supervisor.east", Role.SUPERVISOR, "east"),
        "supervisor_west": make("supervisor.west", Role.SUPERVISOR, "west"),
        "privacy": make("privacy", Role.PRIVACY_OFFICER),
        "privacy2": make("privacy2", Role.PRIVACY_OFFICER),
        "admin": make("admin", Role.ADMINISTRATOR),
        "representative": make("rep", Role.REPRESENTATIVE),
        "participant": make("participant", Role.PARTICIPANT),
    }


def _person(officer: User, given: str, family: str, n: int) -> Person:
    data = PersonInput(
        name=NameInput(given_names=given, family_names=family),
        a_number=f"A{20_000_000 + n:09d}",
        date_of_birth=date(1990, 5, 17),
        citizenship=["MX"],
        languages=["es"],
        address=AddressInput(line1="12 Main St", city="Newark", region="NJ",
                             postal_code="07102", valid_from=date(2024, 1, 1)),
    )
    return create_person(ctx=context(officer), data=data)


def _enrolment_input() -> supervision.EnrolmentInput:
    return supervision.EnrolmentInput(
        level="standard", photo=ENROL_PHOTO, language="es", acknowledged=True,
        alternatives_offered=["office_visit", "phone_call"], conditions=["attend_hearings"],
        first_window_at=datetime.now(UTC) - timedelta(hours=1), every_days=7, window_hours=24,
        grace_minutes=60, max_attempts=3)


def _records(users: dict[str, User], person: Person, officer: User, report: AnomalyReport,
             participant: User | None = None) -> Records:
    ctx = context(officer)
    case = cases.open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code="NEW",
                           opened_on=date.today() - timedelta(days=40))
    when = datetime.now(UTC).replace(hour=15, minute=0, second=0, microsecond=0)
    hearing = cases.schedule_hearing(ctx=ctx, case_id=case.pk, calendar="master",
                                     scheduled_at=when + timedelta(days=12), judge="Judge Park")
    if participant is not None:
        Person.objects.filter(pk=person.pk).update(participant_account=participant)
        person.refresh_from_db()
    enrolled = supervision.enrol(ctx=ctx, person_id=person.pk, data=_enrolment_input())
    account = person.participant_account if participant is None else participant
    account = account or Person.objects.get(pk=person.pk).participant_account
    supervision.submit_check_in(user=account, image=STRANGER, latitude="40.7128",
                                longitude="-74.0060", accuracy="20")
    review = enrolled.enrolment.reviews.get()
    change = supervision.propose_change(ctx=ctx, enrolment_id=enrolled.enrolment.pk,
                                        kind="level", reason="Complied for six months now",
                                        proposed_level="reduced")
    request = disclosures.create_request(context(users["privacy2"]), request_input(person))
    disclosures.decide(context(users["privacy"]), request.pk, decision="approve",
                       reason="Routine use ICE-A applies to this court.")
    amendment = portal.request_amendment(
        ctx=context(account), person_id=None, category="identity",
        what_is_wrong="My date of birth is wrong", correction="It is 17 May 1990")
    portal.decide_amendment(ctx=context(users["privacy"]), request_id=amendment.pk,
                            decision="refuse", reasons="The birth certificate on file agrees.")
    hold = retention.place_hold(ctx=context(users["privacy"]), person_id=person.pk,
                                reason="Litigation hold for the pending appeal")
    item = AnomalyItem.objects.create(
        report=report, rule="outside_policy", actor_id=str(officer.pk), actor_role=officer.role,
        office=officer.office.code if officer.office else "", subject_id=person.pk,
        window_start=report.starts_at, window_end=report.ends_at, event_count=1, measure=1,
        threshold=0)
    event = Event.objects.filter(subject_id=person.pk).order_by("id").values_list(
        "id", flat=True).first()
    return Records(
        person=person.pk, case=case.pk, hearing=hearing.pk, enrolment=enrolled.enrolment.pk,
        review=review.pk, checkin=review.checkin_id, change=change.pk, disclosure=request.pk,
        amendment=amendment.pk, hold=hold.pk, item=item.pk, event=event,
        address=person.addresses.get(valid_to__isnull=True).pk)


def _certificate(users: dict[str, User]) -> DeletionCertificate:
    run = PurgeRun.objects.create(started_at=datetime.now(UTC), trigger="command")
    schedule = Schedule.objects.order_by("data_class").first()
    return DeletionCertificate.objects.create(
        run=run, data_class=schedule.data_class, schedule=schedule,
        schedule_version=schedule.version, method=schedule.method, count=0,
        record_type="supervision.checkin", record_ids=[], persons=0,
        issued_at=datetime.now(UTC), ledger_event=uuid.uuid4())




def build() -> World:
    """Everything the matrix needs; call inside a transaction that is rolled back."""
    verifier = StubVerifier()
    verifier.add(ENROL_PHOTO, person="matrix")
    verifier.add(STRANGER, person="stranger")
    previous = getattr(settings, "FACE_VERIFIER", None)
    settings.FACE_VERIFIER = verifier
    try:
        return _build()
    finally:
        settings.FACE_VERIFIER = previous


def _build() -> World:
    users = _users()
    report = AnomalyReport.objects.create(
        week=WEEK, starts_at=datetime(2025, 12, 29, tzinfo=UTC),
        ends_at=datetime(2026, 1, 5, tzinfo=UTC), built_at=datetime(2026, 1, 5, tzinfo=UTC))
    own = _person(users["officer_east"], "Ana", "Ramirez", 1)
    record_representation(ctx=context(users["officer_east"]), person_id=own.pk,
                          representative=users["representative"], form="G-28",
                          filed_on=date(2025, 1, 1))
    persons = {
        "own": (own, users["officer_east"], users["participant"]),
        "other_office": (_person(users["officer_west"], "Jean", "Pierre", 2),
                         users["officer_west"], None),
        "no_relation": (_person(users["officer_east2"], "Luis", "Fernandez", 3),
                        users["officer_east2"], None),
        "break_glass": (_person(users["officer_west"], "Amina", "Diallo", 4),
                        users["officer_west"], None),
    }
    records = {
        name: _records(users, person, officer, report, participant)
        for name, (person, officer, participant) in persons.items()
    }
    for name in ("officer_east", "supervisor_east", "privacy"):
        grant_break_glass(user=users[name], person_id=records["break_glass"].person,
                          reason=REASON)
    world = World(users=users, records=records)
    world.extra["certificate"] = _certificate(users).pk
    world.extra["members"] = {
        name: declare_household_member(user=users[name], full_name=f"Kin of {name}").pk
        for name in ("officer_east", "officer_west", "supervisor_east", "privacy", "admin")
    }
    world.extra["template"] = NoticeTemplate.objects.create(
        kind="hearing", language="en", channel="email", subject="Hearing",
        body="Your hearing is on {date}.\n", version=99,
        status=TemplateStatus.DRAFT, created_by=users["admin"]).pk
    world.extra["feed_token"] = calendars.create_feed(users["participant"])
    world.extra["role_request"] = change_role(  # a privacy-officer role waiting for approval
        context(users["admin"]), users["supervisor_west"], role=Role.PRIVACY_OFFICER).pk
    for role, name in ACTORS.items():
        world.web[role] = signed_in_client(users[name])
        world.api[role] = token_client(users[name])
    world.web["anonymous"] = Client()
    world.api["anonymous"] = Client()
    integrate_pending()  # on PostgreSQL too, so that the tree (and its proofs) exist
    return world
