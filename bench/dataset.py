"""The synthetic population the benchmarks run against, loaded fast with bulk_create.

Persons are written straight into their tables (not through the services) so that 100,000
of them load in well under a minute; the services would also write a ledger event per
person, which is not what these benchmarks measure. The staff users are created through
`accounts.services.create_user`, as in a real deployment.

Names come from Faker's locales in the proportions of an immigration court's docket, in the
Latin spelling an officer types (Cyrillic, Chinese and Arabic romanised with anyascii, or
from a short list of common Arabic names with their usual spellings). About 30% of persons
also carry an alias: the name in its own script, another spelling, a shorter surname, or
another given name. `search_key` and `skeleton` come from `caseledger.people.names`.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from anyascii import anyascii
from django.db import connection, transaction
from faker import Faker

CHUNK = 5_000
LOADED_TABLES = (
    "people_person",
    "people_name",
    "people_address",
    "people_contact",
    "accounts_caseload",
    "cases_case",
    "cases_proceeding",
)
ALIAS_SHARE = 0.30
A_NUMBER_SHARE = 0.85


@dataclass(frozen=True)
class Sizes:
    persons: int
    queries: int
    reads: int
    caseload: int
    warmup: int


FULL = Sizes(persons=100_000, queries=200, reads=2_000, caseload=150, warmup=10)
QUICK = Sizes(persons=5_000, queries=60, reads=300, caseload=150, warmup=5)


@dataclass(frozen=True)
class Origin:
    weight: int
    locale: str
    countries: tuple[str, ...]
    languages: tuple[str, ...]
    script: str  # latin, cyrillic, han, arabic


ORIGINS = (
    Origin(22, "es_MX", ("MX",), ("es",), "latin"),
    Origin(8, "es_CO", ("CO", "VE", "GT", "HN"), ("es",), "latin"),
    Origin(10, "pt_BR", ("BR",), ("pt",), "latin"),
    Origin(7, "fr_FR", ("HT", "SN", "CD"), ("fr",), "latin"),
    Origin(10, "en_IN", ("IN",), ("hi", "en"), "latin"),
    Origin(5, "vi_VN", ("VN",), ("vi",), "latin"),
    Origin(8, "ru_RU", ("RU",), ("ru",), "cyrillic"),
    Origin(5, "uk_UA", ("UA",), ("uk", "ru"), "cyrillic"),
    Origin(10, "zh_CN", ("CN",), ("zh",), "han"),
    Origin(10, "ar_AA", ("SY", "EG", "IQ", "YE", "SD"), ("ar",), "arabic"),
)

# Common Arabic names: the native spelling and the romanisations officers meet.
ARABIC_GIVEN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("محمد", ("Mohammed", "Muhammad", "Mohamed", "Mohammad")),
    ("أحمد", ("Ahmed", "Ahmad")),
    ("يوسف", ("Youssef", "Yusuf", "Yousef")),
    ("عمر", ("Omar", "Umar")),
    ("خالد", ("Khaled", "Khalid")),
    ("حسن", ("Hassan", "Hasan")),
    ("حسين", ("Hussein", "Hussain", "Husain")),
    ("علي", ("Ali",)),
    ("إبراهيم", ("Ibrahim", "Ebrahim")),
    ("مصطفى", ("Mustafa", "Moustafa")),
    ("فاطمة", ("Fatima", "Fatma")),
    ("عائشة", ("Aisha", "Aicha", "Ayesha")),
    ("مريم", ("Mariam", "Maryam")),
    ("ليلى", ("Layla", "Leila", "Laila")),
    ("نور", ("Nour", "Noor", "Nur")),
    ("زينب", ("Zainab", "Zeinab")),
    ("سارة", ("Sara", "Sarah")),
    ("هدى", ("Huda", "Houda", "Hoda")),
)
ARABIC_FAMILY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("حداد", ("Haddad",)),
    ("ناصر", ("Nasser", "Naser")),
    ("خليل", ("Khalil",)),
    ("صالح", ("Saleh", "Salih")),
    ("منصور", ("Mansour", "Mansur")),
    ("عبود", ("Abboud", "Abbud")),
    ("حمدان", ("Hamdan",)),
    ("الحسن", ("Al-Hassan", "Alhasan", "El Hassan")),
    ("الشامي", ("Al-Shami", "Alshami", "El Chami")),
    ("قاسم", ("Kassem", "Qasim", "Qassem")),
    ("عثمان", ("Othman", "Osman", "Uthman")),
    ("العلي", ("Al-Ali", "Alali")),
    ("درويش", ("Darwish", "Darwich")),
    ("شريف", ("Sharif", "Cherif")),
    ("عيسى", ("Issa", "Eissa")),
)

# Spelling variants that romanisation and hearing produce ("Yusuf"/"Jusuf", "Vasquez"/"Basquez").
SPELLING_RULES: tuple[tuple[str, str], ...] = (
    ("ph", "f"),
    ("f", "ph"),
    ("ou", "u"),
    ("u", "ou"),
    ("ee", "i"),
    ("i", "y"),
    ("y", "i"),
    ("v", "b"),
    ("b", "v"),
    ("z", "s"),
    ("s", "z"),
    ("ll", "y"),
    ("j", "y"),
    ("c", "k"),
    ("k", "c"),
    ("sh", "sch"),
    ("kh", "h"),
    ("x", "ks"),
    ("w", "v"),
    ("th", "t"),
    ("ai", "ay"),
    ("ei", "ey"),
    ("ia", "ya"),
    ("ya", "ia"),
    ("ã", "an"),
    ("ç", "s"),
    ("qu", "k"),
)

# Passport (ICAO 9303) romanisation of Cyrillic: a second spelling beside anyascii's.
ICAO_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e",
    "є": "ie", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
ICAO_UKRAINIAN = {**ICAO_CYRILLIC, "г": "h", "и": "y"}


def icao(text: str, locale: str) -> str:
    table = ICAO_UKRAINIAN if locale == "uk_UA" else ICAO_CYRILLIC
    out = []
    for char in text:
        latin = table.get(char.lower())
        if latin is None:
            out.append(char)
        else:
            out.append(latin.capitalize() if char.isupper() and latin else latin)
    return "".join(out)


def latin(text: str) -> str:
    """anyascii without the apostrophes and backticks it uses for soft signs and ayn."""
    out = anyascii(text).replace("'", "").replace("`", "")
    return " ".join(w[:1].upper() + w[1:].lower() if w else w for w in out.split())


@dataclass(frozen=True)
class Facts:
    """What query generation needs to know about a person (kept in memory, not read back)."""

    id: uuid.UUID
    locale: str
    script: str
    given: str  # as typed by an officer, Latin script
    family: str
    native_given: str = ""  # in the person's own script, if not Latin
    native_family: str = ""
    given_variants: tuple[str, ...] = ()  # other usual romanisations (Arabic list)
    family_variants: tuple[str, ...] = ()
    a_number: str | None = None

    @property
    def latin_full(self) -> str:
        return f"{self.given} {self.family}"

    @property
    def native_full(self) -> str:
        if not self.native_given:
            return ""
        if self.script == "han":
            return f"{self.native_family}{self.native_given}"
        return f"{self.native_given} {self.native_family}"


@dataclass
class Population:
    sizes: Sizes
    office: object
    supervisor: object
    officer: object
    persons: list[Facts]
    caseload: list[Facts]
    supervisor_reads: list[uuid.UUID]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    by_id: dict[uuid.UUID, Facts] = field(default_factory=dict)


def spelling_variant(name: str, rng: random.Random) -> str | None:
    """The name with one spelling rule applied at one place, or None if no rule applies."""
    lowered = name.lower()
    rules = [r for r in SPELLING_RULES if r[0] in lowered]
    rng.shuffle(rules)
    for old, new in rules:
        starts = [i for i in range(len(lowered)) if lowered.startswith(old, i)]
        at = rng.choice(starts)
        piece = new.capitalize() if name[at].isupper() else new
        candidate = name[:at] + piece + name[at + len(old) :]
        if candidate.lower() != lowered:
            return candidate
    return None


class NameMaker:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers: dict[str, Faker] = {}
        for origin in ORIGINS:
            fake = Faker(origin.locale)
            fake.seed_instance(seed)
            self.fakers[origin.locale] = fake
        self.weights = [o.weight for o in ORIGINS]

    def origin(self) -> Origin:
        return self.rng.choices(ORIGINS, self.weights)[0]

    def given(self, origin: Origin) -> str:
        fake = self.fakers[origin.locale]
        return fake.first_name_female() if self.rng.random() < 0.5 else fake.first_name_male()

    def person(self, origin: Origin, pid: uuid.UUID, a_number: str | None) -> Facts:
        rng, fake = self.rng, self.fakers[origin.locale]
        if origin.script == "latin":
            family = fake.last_name()
            if origin.locale.startswith("es_") and rng.random() < 0.6:
                family = f"{family} {fake.last_name()}"
            return Facts(pid, origin.locale, "latin", self.given(origin), family, a_number=a_number)
        if origin.script == "arabic" and rng.random() < 0.5:
            (g_native, g_latin), (f_native, f_latin) = (
                rng.choice(ARABIC_GIVEN),
                rng.choice(ARABIC_FAMILY),
            )
            return Facts(
                pid,
                origin.locale,
                "arabic",
                g_latin[0],
                f_latin[0],
                g_native,
                f_native,
                g_latin[1:],
                f_latin[1:],
                a_number,
            )
        native_given, native_family = self.given(origin), fake.last_name()
        return Facts(
            pid,
            origin.locale,
            origin.script,
            latin(native_given),
            latin(native_family),
            native_given,
            native_family,
            a_number=a_number,
        )

    def alias(self, facts: Facts) -> tuple[str, str, str, str] | None:
        """(kind, given, family, full) of an alias, or None."""
        rng = self.rng
        if facts.native_given and rng.random() < 0.6:
            return ("transliteration", facts.native_given, facts.native_family, facts.native_full)
        if facts.given_variants or facts.family_variants:
            given = rng.choice(facts.given_variants or (facts.given,))
            family = rng.choice(facts.family_variants or (facts.family,))
            if (given, family) != (facts.given, facts.family):
                return ("transliteration", given, family, f"{given} {family}")
        if " " in facts.family and facts.locale.startswith("es_") and rng.random() < 0.5:
            family = facts.family.split(" ")[0]
            return ("alias", facts.given, family, f"{facts.given} {family}")
        if rng.random() < 0.5:
            variant = spelling_variant(facts.latin_full, rng)
            if variant:
                given, _, family = variant.partition(" ")
                return ("transliteration", given, family, variant)
        origin = next(o for o in ORIGINS if o.locale == facts.locale)
        given = latin(self.given(origin)) if origin.script != "latin" else self.given(origin)
        if given == facts.given:
            return None
        return ("alias", given, facts.family, f"{given} {facts.family}")


class Pools:
    """Street names and cities drawn once from Faker, then combined (Faker per row is slow)."""

    def __init__(self, seed: int) -> None:
        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.streets = [fake.street_name() for _ in range(3_000)]
        self.places = [(fake.city(), fake.state_abbr(), fake.zipcode()) for _ in range(2_000)]


def _empty_database_check() -> None:
    from caseledger.people.models import Person

    if Person.objects.exists():
        raise SystemExit(
            "The database already holds persons: the benchmarks need a fresh, empty database "
            "(make bench creates one; for SQLite point DATABASE_URL at a new file)."
        )


def load(
    sizes: Sizes,
    *,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
) -> Population:
    """Create the office, its staff, `sizes.persons` persons and the officer's caseload."""
    from caseledger.accounts.models import CaseloadAssignment, Office, Role
    from caseledger.accounts.services import create_user
    from caseledger.cases.models import Case, CaseStatus, CaseType, Court, Proceeding
    from caseledger.people.models import Address, Contact, Person, PersonName
    from caseledger.people.names import search_key, skeleton

    _empty_database_check()
    rng = random.Random(seed)
    maker = NameMaker(seed)
    pools = Pools(seed)
    today = date.today()
    counts = {"persons": 0, "names": 0, "aliases": 0, "addresses": 0, "contacts": 0}
    seconds = {"generate": 0.0, "insert": 0.0}

    office = Office.objects.create(code="bench", name="Benchmark Field Office")
    password = secrets.token_urlsafe(24)
    supervisor = create_user(
        username="bench.supervisor", password=password, role=Role.SUPERVISOR, office=office
    )
    officer = create_user(
        username="bench.officer", password=password, role=Role.CASE_OFFICER, office=office
    )

    a_numbers = iter(rng.sample(range(10_000_000, 999_999_999), sizes.persons))
    persons: list[Facts] = []
    started = time.perf_counter()
    for chunk_start in range(0, sizes.persons, CHUNK):
        t0 = time.perf_counter()
        rows_p, rows_n, rows_a, rows_c = [], [], [], []
        for _ in range(min(CHUNK, sizes.persons - chunk_start)):
            origin = maker.origin()
            number = next(a_numbers)
            a_number = f"A{number:09d}" if rng.random() < A_NUMBER_SHARE else None
            facts = maker.person(origin, uuid.uuid4(), a_number)
            persons.append(facts)
            dob = today - timedelta(days=rng.randint(18 * 365, 75 * 365))
            rows_p.append(
                Person(
                    id=facts.id,
                    office=office,
                    a_number=a_number,
                    date_of_birth=dob,
                    citizenship=[rng.choice(origin.countries)],
                    languages=list(origin.languages),
                    interpreter_needed=origin.languages[0] != "en" and rng.random() < 0.7,
                )
            )
            names = [("primary", facts.given, facts.family, facts.latin_full)]
            if rng.random() < ALIAS_SHARE:
                alias = maker.alias(facts)
                if alias:
                    names.append(alias)
            for kind, given, family, full in names:
                rows_n.append(
                    PersonName(
                        person_id=facts.id,
                        kind=kind,
                        given_names=given,
                        family_names=family,
                        full_name=full,
                        search_key=search_key(full),
                        skeleton=skeleton(full),
                    )
                )
            counts["aliases"] += len(names) - 1
            city, region, postal = rng.choice(pools.places)
            moved_in = today - timedelta(days=rng.randint(30, 900))
            rows_a.append(
                Address(
                    person_id=facts.id,
                    line1=f"{rng.randint(1, 9999)} {rng.choice(pools.streets)}",
                    city=city,
                    region=region,
                    postal_code=postal,
                    valid_from=moved_in,
                )
            )
            if rng.random() < 0.3:
                city, region, postal = rng.choice(pools.places)
                rows_a.append(
                    Address(
                        person_id=facts.id,
                        line1=f"{rng.randint(1, 9999)} {rng.choice(pools.streets)}",
                        line2=f"Apt {rng.randint(1, 40)}",
                        city=city,
                        region=region,
                        postal_code=postal,
                        valid_from=moved_in - timedelta(days=rng.randint(200, 1500)),
                        valid_to=moved_in - timedelta(days=1),
                    )
                )
            rows_c.append(
                Contact(
                    person_id=facts.id,
                    kind="phone",
                    value=f"+1{rng.choice(('212', '305', '713', '213', '602'))}"
                    f"{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
                    preferred=True,
                )
            )
            if rng.random() < 0.4:
                handle = search_key(facts.latin_full).replace(" ", ".") or "person"
                rows_c.append(
                    Contact(
                        person_id=facts.id,
                        kind="email",
                        value=f"{handle}{rng.randint(1, 999)}@example.org",
                    )
                )
        t1 = time.perf_counter()
        with transaction.atomic():
            Person.objects.bulk_create(rows_p, batch_size=2_000)
            PersonName.objects.bulk_create(rows_n, batch_size=2_000)
            Address.objects.bulk_create(rows_a, batch_size=2_000)
            Contact.objects.bulk_create(rows_c, batch_size=2_000)
        t2 = time.perf_counter()
        seconds["generate"] += t1 - t0
        seconds["insert"] += t2 - t1
        counts["persons"] += len(rows_p)
        counts["names"] += len(rows_n)
        counts["addresses"] += len(rows_a)
        counts["contacts"] += len(rows_c)
        if progress:
            progress(len(rows_p))
    seconds["load"] = time.perf_counter() - started

    # The officer's caseload, and the persons the supervisor will open, get cases.
    t0 = time.perf_counter()
    caseload = rng.sample(persons, min(sizes.caseload, len(persons)))
    caseload_ids = {f.id for f in caseload}
    others = [f.id for f in persons if f.id not in caseload_ids]
    supervisor_reads = rng.sample(others, min(sizes.reads, len(others)))
    courts = list(Court.objects.all())
    now = officer.date_joined
    cases, proceedings = [], []
    for n, pid in enumerate([*(f.id for f in caseload), *supervisor_reads]):
        for _ in range(1 if rng.random() < 0.8 else 2):
            opened = today - timedelta(days=rng.randint(60, 1500))
            case = Case(
                person_id=pid,
                reference=f"BENCH-{len(cases) + 1:07d}",
                case_type=rng.choices(CaseType.values, [60, 10, 8, 7, 15])[0],
                status=rng.choices([CaseStatus.OPEN, CaseStatus.DECIDED], [80, 20])[0],
                opened_on=opened,
            )
            cases.append(case)
            for k in range(1 if rng.random() < 0.6 else 2):
                proceedings.append(
                    Proceeding(
                        case=case,
                        kind="removal" if k == 0 else "bond",
                        court=courts[(n + k) % len(courts)],
                        started_on=opened + timedelta(days=k * 30),
                    )
                )
    with transaction.atomic():
        CaseloadAssignment.objects.bulk_create(
            [
                CaseloadAssignment(officer=officer, person_id=pid, started_at=now)
                for pid in (f.id for f in caseload)
            ]
        )
        Case.objects.bulk_create(cases, batch_size=2_000)
        Proceeding.objects.bulk_create(proceedings, batch_size=2_000)
    counts["caseload"] = len(caseload_ids)
    counts["cases"] = len(cases)
    counts["proceedings"] = len(proceedings)
    seconds["cases"] = time.perf_counter() - t0

    # PostgreSQL's autovacuum would analyze the loaded tables soon; do it now so that every
    # run plans alike. The ledger tables are left to autovacuum, as in a deployment
    # (statistics taken now would describe an empty ledger). SQLite has no automatic ANALYZE
    # and the application never runs one, so neither does the benchmark.
    t0 = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE " + ", ".join(LOADED_TABLES))
    seconds["analyze"] = time.perf_counter() - t0

    population = Population(
        sizes=sizes,
        office=office,
        supervisor=supervisor,
        officer=officer,
        persons=persons,
        caseload=caseload,
        supervisor_reads=supervisor_reads,
        counts=counts,
        seconds=seconds,
    )
    population.by_id = {f.id: f for f in persons}
    return population


def describe(population: Population) -> str:
    """One paragraph on the data set, for the report."""
    c, s = population.counts, population.seconds
    return (
        f"Data set: {c['persons']:,} persons in one office with {c['names']:,} names "
        f"({c['aliases']:,} aliases, {c['aliases'] / max(c['persons'], 1):.0%}), "
        f"{c['addresses']:,} addresses and {c['contacts']:,} contacts, from "
        f"{len(ORIGINS)} Faker locales ({', '.join(o.locale for o in ORIGINS)}); "
        f"{c['caseload']} persons in the case officer's caseload; {c['cases']:,} cases "
        f"({c['proceedings']:,} proceedings) for the persons the benchmarks open. "
        f"Loading the persons took {s['load']:.1f} s with `bulk_create` "
        f"({s['generate']:.1f} s generating, {s['insert']:.1f} s inserting, "
        f"{c['persons'] / max(s['load'], 1e-9):,.0f} persons/s), the cases "
        f"{s['cases']:.1f} s"
        + (
            f", and `VACUUM ANALYZE` of the loaded tables {s['analyze']:.1f} s."
            if connection.vendor == "postgresql"
            else " (no ANALYZE on SQLite, as in the application)."
        )
    )
