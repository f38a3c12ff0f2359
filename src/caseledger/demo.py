"""Synthetic demo data: offices, staff, and persons with names from many languages.

Everything is written through the services, so the demo's ledger is a real one. Names come
from Faker's locales plus short lists where Faker has none (Haitian Creole) or where a
romanised name must match its native spelling (Arabic).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from anyascii import anyascii
from django.db import transaction
from faker import Faker
from rich.progress import Progress

from caseledger.access.context import AccessContext, Purpose
from caseledger.accounts.models import Office, Role, User
from caseledger.accounts.services import create_user
from caseledger.cases import services as cases
from caseledger.cases.models import CalendarType, CaseStatus, CaseType, Court, DecisionKind
from caseledger.core import clock
from caseledger.ledger.vocabulary import Category
from caseledger.people import services as people
from caseledger.people.services import AddressInput, ContactInput, NameInput, PersonInput

DEMO_PASSWORD = "caseledger-demo"
STAFF = [
    ("officer.east", Role.CASE_OFFICER, "east"),
    ("officer.west", Role.CASE_OFFICER, "west"),
    ("supervisor.east", Role.SUPERVISOR, "east"),
    ("privacy", Role.PRIVACY_OFFICER, ""),
    ("admin", Role.ADMINISTRATOR, ""),
    ("representative.demo", Role.REPRESENTATIVE, ""),
]
OFFICES = {
    "east": (
        "East Field Office (New York)",
        "America/New_York",
        ["NYC", "NEW", "BOS", "MIA", "ATL"],
    ),
    "west": (
        "West Field Office (Los Angeles)",
        "America/Los_Angeles",
        ["LOS", "SFR", "SEA", "PHO", "DEN"],
    ),
}

HAITIAN_GIVEN = [
    "Mackenson",
    "Wislande",
    "Jinette",
    "Fritznel",
    "Widlene",
    "Kervens",
    "Roodmy",
    "Guerline",
    "Rosemène",
    "Wilner",
    "Jean-Robert",
    "Marie-Carmel",
    "Esaie",
    "Nadège",
]
HAITIAN_FAMILY = [
    "Jean-Baptiste",
    "Pierre",
    "Joseph",
    "Louis",
    "Charles",
    "Désir",
    "Étienne",
    "Toussaint",
    "Dorsainvil",
    "Célestin",
    "Augustin",
    "Saint-Fleur",
]
ARABIC_GIVEN = [
    ("Mohammed", "محمد"),
    ("Ahmed", "أحمد"),
    ("Youssef", "يوسف"),
    ("Omar", "عمر"),
    ("Fatima", "فاطمة"),
    ("Aisha", "عائشة"),
    ("Khaled", "خالد"),
    ("Hassan", "حسن"),
    ("Mariam", "مريم"),
    ("Layla", "ليلى"),
    ("Abdullah", "عبد الله"),
    ("Nour", "نور"),
]
ARABIC_FAMILY = [
    ("Haddad", "حداد"),
    ("Nasser", "ناصر"),
    ("Khalil", "خليل"),
    ("Saleh", "صالح"),
    ("Mansour", "منصور"),
    ("Ibrahim", "إبراهيم"),
    ("Abboud", "عبود"),
    ("Hamdan", "حمدان"),
    ("Al-Hassan", "الحسن"),
]
ARABIC_VARIANTS = {
    "Mohammed": "Muhammad",
    "Ahmed": "Ahmad",
    "Youssef": "Yusuf",
    "Omar": "Umar",
    "Khaled": "Khalid",
    "Aisha": "Aicha",
    "Mariam": "Maryam",
}

# (weight, locale or special list, citizenship, languages)
ORIGINS: list[tuple[int, str, list[str], list[str]]] = [
    (22, "es_MX", ["MX"], ["es"]),
    (10, "es_CO", ["CO"], ["es"]),
    (8, "es_ES", ["VE"], ["es"]),
    (6, "es_ES", ["GT"], ["es"]),
    (10, "pt_BR", ["BR"], ["pt"]),
    (10, "haitian", ["HT"], ["ht", "fr"]),
    (8, "arabic", ["SY"], ["ar"]),
    (8, "zh_CN", ["CN"], ["zh"]),
    (6, "ru_RU", ["RU"], ["ru"]),
    (6, "uk_UA", ["UA"], ["uk", "ru"]),
    (6, "en_IN", ["IN"], ["hi", "en"]),
]


def _name(
    rng: random.Random, fakers: dict[str, Faker], origin: str
) -> tuple[NameInput, list[NameInput]]:
    """A primary name (Latin script, as officers type it) and aliases in other spellings."""
    aliases: list[NameInput] = []
    if origin == "haitian":
        given, family = rng.choice(HAITIAN_GIVEN), rng.choice(HAITIAN_FAMILY)
        if rng.random() < 0.3:
            aliases.append(
                NameInput(
                    given_names=anyascii(given),
                    family_names=anyascii(family),
                    kind="transliteration",
                )
            )
    elif origin == "arabic":
        (given, g_ar), (family, f_ar) = rng.choice(ARABIC_GIVEN), rng.choice(ARABIC_FAMILY)
        aliases.append(
            NameInput(
                given_names=g_ar,
                family_names=f_ar,
                full_name=f"{g_ar} {f_ar}",
                kind="transliteration",
            )
        )
        if given in ARABIC_VARIANTS and rng.random() < 0.5:
            aliases.append(NameInput(given_names=ARABIC_VARIANTS[given], family_names=family))
    else:
        fake = fakers[origin]
        female = rng.random() < 0.5
        given = fake.first_name_female() if female else fake.first_name_male()
        family = fake.last_name()
        if origin.startswith("es_") and rng.random() < 0.7:
            family = f"{family} {fake.last_name()}"
        if origin in {"zh_CN", "ru_RU", "uk_UA"}:
            native = f"{family}{given}" if origin == "zh_CN" else f"{given} {family}"
            aliases.append(
                NameInput(
                    given_names=given, family_names=family, full_name=native, kind="transliteration"
                )
            )
            given, family = anyascii(given).strip(), anyascii(family).strip()
        elif origin.startswith("es_") and " " in family and rng.random() < 0.4:
            aliases.append(NameInput(given_names=given, family_names=family.split(" ")[0]))
    return NameInput(given_names=given, family_names=family), aliases


AREA_CODES = ["212", "718", "305", "786", "404", "617", "213", "415", "206", "602", "303"]


def _phone(rng: random.Random) -> str:
    import phonenumbers

    while True:
        area = rng.choice(AREA_CODES)
        candidate = f"+1{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def _addresses(rng: random.Random, fake: Faker, today: date) -> list[AddressInput]:
    count = rng.choice([1, 1, 2, 2, 3])
    start = today - timedelta(days=rng.randint(400, 2500))
    out = []
    valid_from = start
    for _ in range(count):
        if valid_from >= today:
            break
        out.append(
            AddressInput(
                line1=fake.street_address(),
                city=fake.city(),
                region=fake.state_abbr(),
                postal_code=fake.zipcode(),
                valid_from=valid_from,
            )
        )
        valid_from += timedelta(days=rng.randint(120, 400))
    return out


def _hearing_time(rng: random.Random, day: date, court: Court) -> datetime:
    local = datetime.combine(
        day,
        time(rng.choice([8, 9, 10, 13, 14]), rng.choice([0, 30])),
        tzinfo=ZoneInfo(court.time_zone),
    )
    return local.astimezone(UTC)


def _seed_case(
    rng: random.Random,
    ctx: AccessContext,
    person_id: Any,
    court: Court,
    today: date,
    judges: list[str],
) -> None:
    opened = today - timedelta(days=rng.randint(60, 1500))
    case = cases.open_case(
        ctx=ctx,
        person_id=person_id,
        case_type=rng.choices(list(CaseType.values), [60, 10, 8, 7, 15])[0],
        court_code=court.code,
        opened_on=opened,
    )
    judge = rng.choice(judges)
    first = opened + timedelta(days=rng.randint(20, 60))
    if first < today:
        cases.schedule_hearing(
            ctx=ctx,
            case_id=case.pk,
            calendar=CalendarType.MASTER,
            scheduled_at=_hearing_time(rng, first, court),
            judge=judge,
            allow_past=True,
        )
    path = rng.choices(
        ["open", "decided", "appealed", "final", "relief", "closed"], [55, 10, 8, 10, 10, 7]
    )[0]
    if path == "open":
        future = today + timedelta(days=rng.randint(1, 120))
        while future.weekday() >= 5:
            future += timedelta(days=1)
        cases.schedule_hearing(
            ctx=ctx,
            case_id=case.pk,
            calendar=rng.choice([CalendarType.MASTER, CalendarType.INDIVIDUAL]),
            scheduled_at=_hearing_time(rng, future, court),
            judge=judge,
        )
        return
    decided = min(
        today - timedelta(days=rng.randint(1, 40)), first + timedelta(days=rng.randint(90, 400))
    )
    decided = max(decided, opened)
    kind = {"relief": DecisionKind.RELIEF_GRANTED, "closed": DecisionKind.TERMINATED}.get(
        path, rng.choice([DecisionKind.REMOVAL_ORDERED, DecisionKind.VOLUNTARY_DEPARTURE])
    )
    cases.record_decision(
        ctx=ctx, case_id=case.pk, kind=kind, decided_on=decided, oral=rng.random() < 0.7
    )
    steps = {
        "decided": [CaseStatus.DECIDED],
        "appealed": [CaseStatus.DECIDED, CaseStatus.APPEALED],
        "final": [CaseStatus.DECIDED, CaseStatus.FINAL_ORDER],
        "relief": [CaseStatus.DECIDED, CaseStatus.RELIEF_GRANTED],
        "closed": [CaseStatus.CLOSED],
    }[path]
    for status in steps:
        cases.transition_case(
            ctx=ctx, case_id=case.pk, to_status=status, reason="Recorded from the court's decision"
        )


def seed(*, persons: int = 320, random_seed: int = 2026, out: Any = None) -> None:
    rng = random.Random(random_seed)
    Faker.seed(random_seed)
    locales = sorted({o[1] for o in ORIGINS if "_" in o[1]} | {"en_US"})
    fakers = {loc: Faker(loc) for loc in locales}
    us = fakers["en_US"]
    today = clock.today()
    with transaction.atomic():
        offices = {
            code: Office.objects.create(code=code, name=name, time_zone=tz)
            for code, (name, tz, _courts) in OFFICES.items()
        }
        users = {
            u: create_user(
                username=u,
                password=DEMO_PASSWORD,
                role=r,
                office=offices.get(o),
                first_name=u.split(".")[0].title(),
            )
            for u, r, o in STAFF
        }
    courts = {c.code: c for c in Court.objects.all()}
    judges = [f"Judge {us.last_name()}" for _ in range(12)]
    weights = [o[0] for o in ORIGINS]
    with Progress(transient=True) as progress:
        task = progress.add_task("seeding demo persons", total=persons)
        for i in range(persons):
            office = "east" if i % 2 == 0 else "west"
            officer = users[f"officer.{office}"]
            ctx = AccessContext(user=officer, purpose=Purpose.CASELOAD, request_id="demo-seed")
            _w, origin, citizenship, languages = rng.choices(ORIGINS, weights)[0]
            name, aliases = _name(rng, fakers, origin)
            addresses = _addresses(rng, us, today)
            dob = today - timedelta(days=rng.randint(18 * 365, 70 * 365))
            contacts = [ContactInput(kind="phone", value=_phone(rng), preferred=True)]
            if rng.random() < 0.5:
                contacts.append(ContactInput(kind="email", value=f"person{i}@example.org"))
            person = people.create_person(
                ctx=ctx,
                data=PersonInput(
                    name=name,
                    aliases=aliases,
                    date_of_birth=dob,
                    a_number=f"A{rng.randint(10_000_000, 249_999_999):09d}"
                    if rng.random() < 0.9
                    else None,
                    citizenship=citizenship,
                    languages=languages,
                    interpreter_needed=languages[0] not in {"en"} and rng.random() < 0.8,
                    address=addresses[0] if addresses else None,
                    contacts=contacts,
                ),
            )
            for later in addresses[1:]:
                people.record_address(ctx=ctx, person_id=person.pk, data=later)
            court = courts[rng.choice(OFFICES[office][2])]
            for _ in range(rng.choice([1, 1, 1, 2])):
                _seed_case(rng, ctx, person.pk, court, today, judges)
            progress.advance(task)
    if out is not None:
        out.write(f"Seeded {persons} persons in offices east and west.")
    seed_participant(users["officer.east"], out=out)
    seed_reminders(users, offices, out=out)
    seed_privacy(out=out)


def seed_privacy(*, out: Any = None) -> None:
    """Privacy Act work on top of the persons: disclosure requests and their accounting, a
    legal hold and a purge run, a household declaration and last week's access review."""
    from caseledger.disclosures.demo import seed_demo as seed_disclosures
    from caseledger.reports.demo import seed_demo as seed_reports
    from caseledger.retention.demo import seed_demo as seed_retention

    seed_disclosures(out=out)
    seed_retention(out=out)
    seed_reports(out=out)
    seed_amendment(out=out)


def seed_amendment(*, out: Any = None) -> None:
    """participant.demo asked to correct their languages; the privacy officer acknowledged and
    refused it, and the participant filed a statement of disagreement."""
    from caseledger.portal import services as portal

    participant = User.objects.get(username=PARTICIPANT)
    privacy = User.objects.get(username="privacy")
    mine = AccessContext(user=participant, purpose=Purpose.SELF_SERVICE, request_id="demo-seed")
    staff = AccessContext(user=privacy, purpose=Purpose.PRIVACY_REVIEW, request_id="demo-seed")
    request = portal.request_amendment(
        ctx=mine,
        category=Category.LANGUAGE,
        what_is_wrong="My record lists English as a language I speak well.",
        correction="Please list Spanish only; I need an interpreter for English.",
    )
    portal.acknowledge_amendment(ctx=staff, request_id=request.pk)
    portal.decide_amendment(
        ctx=staff,
        request_id=request.pk,
        decision="refuse",
        reasons="The interview notes of 2025 record the interview held in English without an "
        "interpreter; the record is kept as it is.",
    )
    portal.file_statement(
        ctx=mine,
        request_id=request.pk,
        text="The 2025 interview was short and I did not understand everything. I ask for a "
        "Spanish interpreter at every hearing.",
    )
    if out is not None:
        out.write("Amendment request of participant.demo: refused, with a statement.")


def seed_reminders(users: dict[str, User], offices: dict[str, Office], *, out: Any = None) -> None:
    """Office phone numbers for the reminders, then plan every upcoming reminder (the demo
    writes them to var/outbox instead of sending them)."""
    from caseledger.notices.services import plan_upcoming, set_office_contact

    for code, phone in (("east", "+12125550100"), ("west", "+12135550100")):
        set_office_contact(user=users["admin"], office=offices[code], phone=phone,
                           email=f"{code}.office@example.gov")
    result = plan_upcoming()
    if out is not None:
        out.write(f"Planned reminders: {result}")


PARTICIPANT = "participant.demo"


def astronaut_photo() -> bytes:
    """The demo participant's enrolment photo: scikit-image's `data.astronaut()` (Eileen
    Collins, NASA, public domain), shipped inside the scikit-image package."""
    import io

    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


def seed_participant(officer: User, *, out: Any = None) -> None:
    """`participant.demo` on officer.east's caseload, enrolled with a window open now."""
    from caseledger.supervision.services import EnrolmentInput, enrol

    ctx = AccessContext(user=officer, purpose=Purpose.CASELOAD, request_id="demo-seed")
    person = people.create_person(ctx=ctx, data=PersonInput(
        name=NameInput(given_names="Eileen", family_names="Collins"),
        date_of_birth=date(1986, 11, 19), a_number="A201126001", citizenship=["MX"],
        languages=["es", "en"],
        address=AddressInput(line1="350 Fifth Avenue", city="New York", region="NY",
                             postal_code="10118", valid_from=clock.today() - timedelta(days=400)),
        contacts=[ContactInput(kind="email", value="participant.demo@example.org")]))
    Address = person.addresses.model
    Address.objects.filter(person=person).update(latitude="40.748400", longitude="-73.985700")
    result = enrol(ctx=ctx, person_id=person.pk, data=EnrolmentInput(
        level="standard", photo=astronaut_photo(), language="es", acknowledged=True,
        alternatives_offered=["office_visit", "phone_call"],
        conditions=["attend_hearings", "report_address_changes"],
        first_window_at=clock.now() - timedelta(hours=2), every_days=7, window_hours=48,
        grace_minutes=60, max_attempts=3))
    account = result.enrolment.person.participant_account
    account.username = PARTICIPANT
    account.set_password(DEMO_PASSWORD)
    account.save(update_fields=["username", "password"])
    representative = User.objects.filter(username="representative.demo").first()
    if representative is not None:
        people.record_representation(ctx=ctx, person_id=person.pk, representative=representative,
                                     form="EOIR-28", filed_on=clock.today() - timedelta(days=90))
    if out is not None:
        out.write(f"Enrolled {PARTICIPANT} (photo: scikit-image astronaut); check-in open now.")
