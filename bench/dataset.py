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

import contextlib
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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


# --- the data set at scale: COPY, kept in a database of its own ----------------------------
#
# The read benchmarks (bench/reads.py) run against 10^5 and 10^6 persons with 10^6 and 10^7
# ledger events. Such a data set is written by COPY (no model, no service, no ledger event
# per row: what the services would cost is measured elsewhere) into a database of its own on
# the same server, `caseledger_scale_<label>`, and kept there: the `bench_dataset` table
# records what was built (sizes, generator version, the applied migrations), so a later run
# on the same server reuses it and a run after a new migration or generator rebuilds it. The
# ledger part goes through the ledger's own code: each event's leaf is
# `ledger.encoding.canonical_bytes` of its fields (codes checked by `ledger.vocabulary`),
# written by COPY; `ledger.services.integrate_pending` then places them in the hash chain and
# the Merkle tree (entries and nodes by COPY, ~70,000 events/s) and
# `ledger.checkpoints.sign_checkpoint` signs the tree head, so proofs, `caseledger ledger
# verify` and `caseledger-verify export` work on it as on a real log.

SCALE_VERSION = 2  # bump when the generator below changes what it writes (2: UUIDv7 event ids)
SCALE_WEEKS = 26  # the events span the 26 weeks before the Monday of the build
SCALE_OFFICERS_PER = 2_000  # one case officer per 2,000 persons, each with a caseload of 150
SCALE_CASELOAD = 150
SCALE_ENROLLED_SHARE = 0.20  # of the persons in a caseload
SCALE_CHECKIN_WEEKS = 8
HEAVY_EVENTS = 10_000  # one person whose record was read this many times
SAMPLE_FACTS = 3_000  # persons whose name facts the search benchmark draws its queries from


@dataclass(frozen=True)
class Scale:
    label: str
    persons: int
    events: int

    @property
    def database(self) -> str:
        return f"caseledger_scale_{self.label}"


SCALES = (Scale("1e5", 100_000, 1_000_000), Scale("1e6", 1_000_000, 10_000_000))
QUICK_SCALES = (Scale("q1e3", 1_000, 10_000), Scale("q1e4", 10_000, 100_000))
# 10^6 persons with 3 * 10^6 events, a middle size for a third point of the growth curves
# (CASELEDGER_BENCH_SCALES=1e5,1e6e3,1e6); the sizes (SCALES) build in 16 minutes here.
OTHER_SCALES = (Scale("1e6e3", 1_000_000, 3_000_000),)


@dataclass
class ScaleData:
    """What the read benchmarks need to know about a data set at scale (from its marker)."""

    scale: Scale
    office_id: str
    supervisor: object
    officer: object
    caseload: list[Facts]
    sample: list[Facts]
    heavy_person: uuid.UUID
    counts: dict[str, int]
    seconds: dict[str, float]
    built_at: str
    reused: bool = False
    migrated_since: int | None = None  # migrations applied after the build (None: unknown)


def _schema_fingerprint() -> str:
    """The generator's version and a digest of the migrations applied when it ran."""
    import hashlib

    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        text = "\n".join(f"{a}.{n}" for a, n in cursor.fetchall())
    return f"v{SCALE_VERSION}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _migration_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        return cursor.fetchone()[0]


def _reusable(marker: dict | None) -> bool:
    """A data set is reused when the same generator version built it. Migrations added since
    are applied to it by `migrate` (as to any populated database); the report says how many.
    CASELEDGER_BENCH_REBUILD=1 forces a rebuild."""
    import os

    if marker is None or os.environ.get("CASELEDGER_BENCH_REBUILD") == "1":
        return False
    version = marker["schema"].partition(":")[0] if ":" in marker["schema"] else "v1"
    return version == f"v{SCALE_VERSION}"


def _admin_execute(sql: str) -> None:
    """A statement that cannot run in a transaction (CREATE/DROP DATABASE), on `default`."""
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _databases() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        return {r[0] for r in cursor.fetchall()}


def _wait_for_other_build(scale: Scale, say: Callable[[str], None]) -> None:
    """Another process connected to the data set's database is building it (or using it):
    wait until it has gone (a build takes minutes), rather than drop it under that process."""
    announced = False
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid()",
                [scale.database],
            )
            busy = cursor.fetchone()[0]
        if not busy:
            return
        if not announced:
            say(f"  {scale.database} is in use by another process (a build?): waiting")
            announced = True
        time.sleep(15)


def _forget_log(var: Path) -> None:
    """Remove the signing key and checkpoints of the log held by the current database (about
    to be dropped), so that var/bench-scale/ keeps only the logs that still exist."""
    import shutil

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('ledger_log_identity') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return
        cursor.execute("SELECT log_id FROM ledger_log_identity")
        for (log,) in cursor.fetchall():
            shutil.rmtree(var / "ledgers" / str(log), ignore_errors=True)


def _switch(name: str) -> None:
    connection.close()
    connection.settings_dict["NAME"] = name


MARKER_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_dataset (label text PRIMARY KEY, persons bigint, "
    "events bigint, schema text, built_at timestamptz, facts jsonb)"
)


def _marker(scale: Scale) -> dict | None:
    import json

    with connection.cursor() as cursor:
        cursor.execute(MARKER_TABLE)
        cursor.execute(
            "SELECT persons, events, schema, built_at, facts FROM bench_dataset WHERE label = %s",
            [scale.label],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    facts = row[4] if isinstance(row[4], dict) else json.loads(row[4])
    return {
        "persons": row[0],
        "events": row[1],
        "schema": row[2],
        "built_at": row[3],
        "facts": facts,
    }


@contextlib.contextmanager
def scale_database(
    scale: Scale, *, progress_bar: Callable, say: Callable[[str], None] = print
) -> Iterator[ScaleData]:
    """Use (building it first if needed) the data set `scale` in its own database on this
    PostgreSQL server; `default` points at it inside the block, back at the original after.

    Files of that database's log (its signing key, its checkpoint store) are kept under
    `var/bench-scale/` of the checkout, so a later run verifies the same checkpoints."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    if connection.vendor != "postgresql":
        raise SystemExit("The data set at scale needs PostgreSQL (make bench, or PGHOST).")
    original = connection.settings_dict["NAME"]
    var = Path(__file__).resolve().parents[1] / "var" / "bench-scale"
    try:
        if scale.database not in _databases():
            _admin_execute(f'CREATE DATABASE "{scale.database}"')
        _wait_for_other_build(scale, say)
        _switch(scale.database)
        call_command("migrate", verbosity=0)
        marker = _marker(scale)
        if not _reusable(marker):
            if marker is not None:
                say(f"  {scale.database}: built by another generator version: rebuilding")
            _forget_log(var)
            _switch(original)
            _admin_execute(f'DROP DATABASE "{scale.database}"')
            _admin_execute(f'CREATE DATABASE "{scale.database}"')
            _switch(scale.database)
            call_command("migrate", verbosity=0)
            marker = None
        fingerprint = _schema_fingerprint()
        with override_settings(VAR_DIR=var):
            if marker is None:
                build_scale(scale, fingerprint, progress_bar=progress_bar, say=say)
                marker = _marker(scale)
                reused = False
            else:
                reused = True
                say(f"  reusing {scale.database} (built {marker['built_at']:%Y-%m-%d %H:%M})")
            yield _scale_data(scale, marker, reused)
    finally:
        _switch(original)


def _facts_json(f: Facts) -> dict:
    return {
        k: (str(v) if k == "id" else list(v) if isinstance(v, tuple) else v)
        for k, v in f.__dict__.items()
    }


def _facts_of(d: dict) -> Facts:
    return Facts(
        **{
            **d,
            "id": uuid.UUID(d["id"]),
            "given_variants": tuple(d["given_variants"]),
            "family_variants": tuple(d["family_variants"]),
        }
    )


def _scale_data(scale: Scale, marker: dict, reused: bool) -> ScaleData:
    from caseledger.accounts.models import User

    f = marker["facts"]
    return ScaleData(
        scale=scale,
        office_id=f["office_id"],
        supervisor=User.objects.get(username=f["supervisor"]),
        officer=User.objects.get(username=f["officer"]),
        caseload=[_facts_of(d) for d in f["caseload"]],
        sample=[_facts_of(d) for d in f["sample"]],
        heavy_person=uuid.UUID(f["heavy_person"]),
        counts=f["counts"],
        seconds=f["seconds"],
        built_at=f"{marker['built_at']:%Y-%m-%d %H:%M} UTC",
        reused=reused,
        migrated_since=_migration_count() - f["migrations"] if "migrations" in f else None,
    )


class _Copier:
    """COPY of rows into one table (text format, values adapted by psycopg). Columns the rows
    do not give that are NOT NULL get their field's default (or "" for a blank text field),
    so a column added by a later migration does not break the data set."""

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        import json

        from django.apps import apps

        model = next(m for m in apps.get_models() if m._meta.db_table == table)
        extra = [
            f
            for f in model._meta.concrete_fields
            if f.column not in columns and not f.null and not f.primary_key
        ]
        self.defaults: tuple = ()
        for f in extra:
            value = f.get_default() if f.has_default() else ("" if f.blank else None)
            if value is None:
                raise SystemExit(f"bench: no value for {table}.{f.column} (NOT NULL)")
            if f.get_internal_type() == "JSONField":
                value = json.dumps(value)
            self.defaults += (value,)
        names = [*columns, *(f.column for f in extra)]
        self.sql = f"COPY {table} ({', '.join(names)}) FROM STDIN"

    def __call__(self, rows: Iterable[Sequence[object]]) -> int:
        count = 0
        extra = self.defaults
        with connection.cursor() as cursor, cursor.cursor.copy(self.sql) as copy:
            for row in rows:
                copy.write_row((*row, *extra) if extra else row)
                count += 1
        return count


BASE = ("id", "created_at", "updated_at", "row_version")


def _base(now: datetime) -> tuple:
    return (uuid.uuid4(), now, now, 1)


class _Names:
    """Names for many persons from a pool made with `NameMaker`: a pool entry, half the time
    with the given name of another entry of the same locale, so 10^6 persons get many more
    distinct names than the pool holds (and common names repeat, as they do)."""

    def __init__(self, seed: int, size: int) -> None:
        from caseledger.people.names import search_key, skeleton

        self.maker = NameMaker(seed)
        self.rng = random.Random(seed + 7)
        self.pool: list[Facts] = []
        for _ in range(size):
            self.pool.append(self.maker.person(self.maker.origin(), uuid.uuid4(), None))
        self.by_locale: dict[str, list[Facts]] = {}
        for f in self.pool:
            self.by_locale.setdefault(f.locale, []).append(f)
        self.keys: dict[str, tuple[str, str]] = {}
        self._search_key, self._skeleton = search_key, skeleton

    def keyed(self, full: str) -> tuple[str, str]:
        found = self.keys.get(full)
        if found is None:
            found = self.keys[full] = (self._search_key(full), self._skeleton(full))
        return found

    def person(self, pid: uuid.UUID, a_number: str | None) -> Facts:
        rng = self.rng
        base = rng.choice(self.pool)
        if rng.random() < 0.5 and not base.given_variants:
            other = rng.choice(self.by_locale[base.locale])
            if not other.given_variants:
                base = Facts(
                    pid,
                    base.locale,
                    base.script,
                    other.given,
                    base.family,
                    other.native_given if base.native_given else "",
                    base.native_family,
                )
        return Facts(
            pid,
            base.locale,
            base.script,
            base.given,
            base.family,
            base.native_given,
            base.native_family,
            base.given_variants,
            base.family_variants,
            a_number,
        )


def build_scale(
    scale: Scale,
    fingerprint: str,
    *,
    progress_bar: Callable,
    say: Callable[[str], None] = print,
    seed: int = 2026,
) -> None:
    """Write the data set `scale` into the current (migrated, empty) database."""
    import json

    from caseledger.ledger import checkpoints
    from caseledger.ledger.services import integrate_pending

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    staff = _scale_staff(scale)
    seconds["staff"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with progress_bar("persons, names, addresses, contacts, cases (COPY)", scale.persons) as bar:
        people = _scale_people(scale, staff, seed, bar)
    seconds["persons"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    supervision = _scale_supervision(scale, staff, people, seed)
    seconds["supervision"] = time.perf_counter() - t0
    _analyze()
    t0 = time.perf_counter()
    with progress_bar("ledger events (COPY)", scale.events) as bar:
        ledger = _scale_events(scale, staff, people, seed, bar)
    seconds["events"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with progress_bar("integrate (chain, Merkle nodes)", scale.events) as bar:
        placed = 0
        while True:
            n = integrate_pending(batch_size=200_000)
            placed += n
            bar(n)
            if n == 0:
                break
    seconds["integrate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    checkpoints.sign_checkpoint(force=True)
    seconds["checkpoint"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _analyze(vacuum=True)
    seconds["analyze"] = time.perf_counter() - t0
    counts = {**people["counts"], **supervision, **ledger["counts"], "placed": placed}
    rng = random.Random(seed + 3)
    sample = rng.sample(people["facts"], min(SAMPLE_FACTS, len(people["facts"])))
    facts = {
        "office_id": str(staff["office"].pk),
        "supervisor": staff["supervisor"].username,
        "officer": staff["officer"].username,
        "caseload": [_facts_json(f) for f in people["caseload"]],
        "sample": [_facts_json(f) for f in sample],
        "heavy_person": str(ledger["heavy_person"]),
        "counts": counts,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "migrations": _migration_count(),
    }
    with connection.cursor() as cursor:
        cursor.execute(MARKER_TABLE)
        cursor.execute(
            "INSERT INTO bench_dataset VALUES (%s, %s, %s, %s, now(), %s)",
            [scale.label, scale.persons, scale.events, fingerprint, json.dumps(facts)],
        )
    say(f"  built {scale.database}: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))


def _analyze(*, vacuum: bool = False) -> None:
    """Planner statistics; with `vacuum`, also the visibility map that autovacuum keeps for
    an insert-only table in service (index-only scans rely on it), which a bulk load lacks."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")


def _scale_staff(scale: Scale) -> dict:
    """One office, its supervisor and its case officers (the first is the benchmark's)."""
    from caseledger.accounts.models import Office, Role, User
    from caseledger.accounts.services import create_user

    office = Office.objects.create(
        code="bench", name="Benchmark Field Office", time_zone="America/New_York"
    )
    password = secrets.token_urlsafe(24)
    supervisor = create_user(
        username="bench.supervisor", password=password, role=Role.SUPERVISOR, office=office
    )
    officer = create_user(
        username="bench.officer", password=password, role=Role.CASE_OFFICER, office=office
    )
    others = [
        User(username=f"bench.officer{i:04d}", role=Role.CASE_OFFICER, office=office)
        for i in range(1, max(1, scale.persons // SCALE_OFFICERS_PER))
    ]
    for user in others:
        user.set_unusable_password()
    User.objects.bulk_create(others)
    return {
        "office": office,
        "supervisor": supervisor,
        "officer": officer,
        "officers": [officer, *others],
    }


def _scale_people(scale: Scale, staff: dict, seed: int, bar: Callable[[int], None]) -> dict:
    """Persons with names, addresses, contacts, a case or two with proceedings and hearings,
    and the caseloads: each table filled by one COPY, from one pass over the persons."""
    import json

    from caseledger.cases.models import CaseType, Court

    rng = random.Random(seed)
    rand, bits = rng.random, rng.getrandbits

    def new_id() -> str:
        return _uuid_text(bits(128))

    def randint(low: int, high: int) -> int:
        return low + int(rand() * (high - low + 1))

    case_types = list(CaseType.values)
    origins = {o.locale: o for o in ORIGINS}
    names = _Names(seed, min(50_000, max(2_000, scale.persons // 4)))
    pools = Pools(seed)
    now = datetime.now(UTC)
    today = now.date()
    office_id = staff["office"].pk
    courts = list(Court.objects.values_list("pk", flat=True))
    n_caseload = len(staff["officers"]) * SCALE_CASELOAD
    a_numbers = iter(rng.sample(range(10_000_000, 999_999_999), scale.persons))
    facts_all: list[Facts] = []
    counts = dict.fromkeys(
        (
            "persons",
            "names",
            "aliases",
            "addresses",
            "contacts",
            "cases",
            "proceedings",
            "hearings",
            "upcoming_hearings",
            "caseload",
        ),
        0,
    )
    rows: dict[str, list] = {}
    copiers = {
        "people_person": _Copier(
            "people_person",
            (
                *BASE,
                "office_id",
                "a_number",
                "date_of_birth",
                "citizenship",
                "languages",
                "interpreter_needed",
            ),
        ),
        "people_name": _Copier(
            "people_name",
            (
                *BASE,
                "person_id",
                "kind",
                "given_names",
                "family_names",
                "full_name",
                "search_key",
                "skeleton",
            ),
        ),
        "people_address": _Copier(
            "people_address",
            (
                *BASE,
                "person_id",
                "line1",
                "line2",
                "city",
                "region",
                "postal_code",
                "country",
                "valid_from",
                "valid_to",
                "source",
            ),
        ),
        "people_contact": _Copier(
            "people_contact", (*BASE, "person_id", "kind", "value", "preferred")
        ),
        "accounts_caseload": _Copier(
            "accounts_caseload", (*BASE, "officer_id", "person_id", "started_at")
        ),
        "cases_case": _Copier(
            "cases_case",
            (*BASE, "person_id", "reference", "case_type", "status", "opened_on", "closed_reason"),
        ),
        "cases_proceeding": _Copier(
            "cases_proceeding", (*BASE, "case_id", "kind", "court_id", "started_on")
        ),
        "cases_hearing": _Copier(
            "cases_hearing",
            (*BASE, "proceeding_id", "calendar", "court_id", "judge", "scheduled_at", "status"),
        ),
    }
    # The first persons make the caseloads (in order: officer k has persons 150k..150k+149).
    officers = [u.pk for u in staff["officers"]]

    def flush() -> None:
        with transaction.atomic():
            for table, copier in copiers.items():
                copier(rows.get(table, ()))
        rows.clear()

    for i in range(scale.persons):
        pid = new_id()
        number = next(a_numbers)
        facts = names.person(pid, f"A{number:09d}" if rand() < A_NUMBER_SHARE else None)
        facts_all.append(facts)
        origin = origins[facts.locale]
        dob = today - timedelta(days=randint(18 * 365, 75 * 365))
        rows.setdefault("people_person", []).append(
            (
                pid,
                now,
                now,
                1,
                office_id,
                facts.a_number,
                dob,
                json.dumps([rng.choice(origin.countries)]),
                json.dumps(list(origin.languages)),
                origin.languages[0] != "en" and rand() < 0.7,
            )
        )
        person_names = [("primary", facts.given, facts.family, facts.latin_full)]
        if rand() < ALIAS_SHARE:
            alias = names.maker.alias(facts)
            if alias:
                person_names.append(alias)
        for kind, given, family, full in person_names:
            key, skel = names.keyed(full)
            rows.setdefault("people_name", []).append(
                (new_id(), now, now, 1, pid, kind, given, family, full, key, skel)
            )
        counts["names"] += len(person_names)
        counts["aliases"] += len(person_names) - 1
        city, region, postal = rng.choice(pools.places)
        moved_in = today - timedelta(days=randint(30, 900))
        street = f"{randint(1, 9999)} {rng.choice(pools.streets)}"
        addresses = rows.setdefault("people_address", [])
        addresses.append(
            (
                new_id(),
                now,
                now,
                1,
                pid,
                street,
                "",
                city,
                region,
                postal,
                "US",
                moved_in,
                None,
                "staff",
            )
        )
        if rand() < 0.3:
            city, region, postal = rng.choice(pools.places)
            addresses.append(
                (
                    new_id(),
                    now,
                    now,
                    1,
                    pid,
                    f"{randint(1, 9999)} {rng.choice(pools.streets)}",
                    f"Apt {randint(1, 40)}",
                    city,
                    region,
                    postal,
                    "US",
                    moved_in - timedelta(days=randint(200, 1500)),
                    moved_in - timedelta(days=1),
                    "staff",
                )
            )
        contacts = rows.setdefault("people_contact", [])
        phone = f"+1{rng.choice(('212', '305', '713'))}{randint(200, 999)}{randint(0, 9999):04d}"
        contacts.append((new_id(), now, now, 1, pid, "phone", phone, True))
        if rand() < 0.4:
            email = f"p{i}.{randint(1, 999)}@example.org"
            contacts.append((new_id(), now, now, 1, pid, "email", email, False))
        if i < n_caseload:
            rows.setdefault("accounts_caseload", []).append(
                (
                    new_id(),
                    now,
                    now,
                    1,
                    officers[i // SCALE_CASELOAD],
                    pid,
                    now - timedelta(days=200),
                )
            )
            counts["caseload"] += 1
        for c in range(1 if rand() < 0.8 else 2):
            case_id = new_id()
            opened = today - timedelta(days=randint(60, 1500))
            rows.setdefault("cases_case", []).append(
                (
                    case_id,
                    now,
                    now,
                    1,
                    pid,
                    f"SCALE-{i:07d}-{c}",
                    rng.choices(case_types, [60, 10, 8, 7, 15])[0],
                    "open" if rand() < 0.8 else "decided",
                    opened,
                    "",
                )
            )
            counts["cases"] += 1
            proceeding_id, court = new_id(), courts[(i + c) % len(courts)]
            rows.setdefault("cases_proceeding", []).append(
                (proceeding_id, now, now, 1, case_id, "removal", court, opened)
            )
            counts["proceedings"] += 1
            for h in range(rng.choice((1, 1, 2, 3))):
                ahead = rand() < 0.3 and h == 0
                at = (
                    now + timedelta(days=randint(1, 180))
                    if ahead
                    else now - timedelta(days=randint(1, 1200))
                )
                at = at.replace(
                    hour=randint(13, 21),
                    minute=rng.choice((0, 15, 30, 45)),
                    second=0,
                    microsecond=0,
                )
                rows.setdefault("cases_hearing", []).append(
                    (
                        new_id(),
                        now,
                        now,
                        1,
                        proceeding_id,
                        "master",
                        court,
                        "",
                        at,
                        "scheduled" if ahead else "held",
                    )
                )
                counts["hearings"] += 1
                counts["upcoming_hearings"] += ahead
        counts["persons"] += 1
        if (i + 1) % CHUNK == 0:
            counts["addresses"] += len(rows["people_address"])
            counts["contacts"] += len(rows["people_contact"])
            flush()
            bar(CHUNK)
    if rows:
        counts["addresses"] += len(rows.get("people_address", ()))
        counts["contacts"] += len(rows.get("people_contact", ()))
        flush()
        bar(scale.persons % CHUNK)
    return {
        "facts": facts_all,
        "caseload": facts_all[:SCALE_CASELOAD],
        "caseload_size": n_caseload,
        "counts": counts,
    }


def _scale_supervision(scale: Scale, staff: dict, people: dict, seed: int) -> dict[str, int]:
    """Enrolments (a fifth of the caseload persons) with weekly schedules, eight weeks of
    check-ins and their reviews (a fifth of the reviews still open); participant logins for
    the persons whose "who accessed my record" is timed."""
    import json

    from caseledger.accounts.models import Role, User

    rng = random.Random(seed + 1)
    now = datetime.now(UTC).replace(microsecond=0)
    officers = [u.pk for u in staff["officers"]]
    enrolled = [
        (i, f.id)
        for i, f in enumerate(people["facts"][: people["caseload_size"]])
        if rng.random() < SCALE_ENROLLED_SHARE
    ]
    counts = {"enrolments": 0, "checkins": 0, "reviews": 0, "open_reviews": 0}
    enrol, sched, checkins, reviews = [], [], [], []
    monday = (now - timedelta(days=now.weekday())).replace(hour=13, minute=0, second=0)
    for i, pid in enrolled:
        eid = uuid.uuid4()
        start = monday - timedelta(weeks=SCALE_CHECKIN_WEEKS, days=rng.randint(0, 4))
        enrol.append(
            (
                eid,
                now,
                now,
                1,
                pid,
                officers[i // SCALE_CASELOAD],
                "standard",
                "{}",
                "active",
                "compliant",
                start,
                "",
            )
        )
        sched.append((*_base(now), eid, start, 7, 24, 60, 3))
        for week in range(SCALE_CHECKIN_WEEKS):
            opens = start + timedelta(weeks=week)
            if opens > now:
                break
            at = opens + timedelta(minutes=rng.randint(5, 600))
            verified = rng.random() < 0.9
            cid = uuid.uuid4()
            checkins.append(
                (
                    cid,
                    now,
                    now,
                    1,
                    eid,
                    uuid.uuid4(),
                    opens,
                    1,
                    at,
                    "verified" if verified else "review",
                    "match" if verified else "no_match",
                    round(rng.uniform(0.2, 0.45) if verified else rng.uniform(0.55, 0.8), 4),
                    "dlib-resnet-v1",
                    0.5,
                    "bench",
                    json.dumps({"width": 640}),
                    round(40.7 + rng.uniform(-0.2, 0.2), 6),
                    round(-74.0 + rng.uniform(-0.2, 0.2), 6),
                    25.0,
                    (at + timedelta(days=90)).date(),
                )
            )
            if not verified:
                open_ = rng.random() < 0.2 or week == SCALE_CHECKIN_WEEKS - 1
                decided = None if open_ else at + timedelta(hours=rng.randint(1, 30))
                reviews.append(
                    (
                        *_base(now),
                        eid,
                        cid,
                        opens,
                        "failed_check",
                        at,
                        at + timedelta(hours=48),
                        "" if open_ else "verified_by_review",
                        None if open_ else staff["supervisor"].pk,
                        decided,
                        "",
                    )
                )
                counts["open_reviews"] += open_
    with transaction.atomic():
        _Copier(
            "supervision_enrolment",
            (
                *BASE,
                "person_id",
                "officer_id",
                "level",
                "conditions",
                "status",
                "compliance",
                "started_at",
                "end_reason",
            ),
        )(enrol)
        _Copier(
            "supervision_schedule",
            (
                *BASE,
                "enrolment_id",
                "first_window_at",
                "every_days",
                "window_hours",
                "grace_minutes",
                "max_attempts",
            ),
        )(sched)
        # On partitioned check-ins (PostgreSQL), each month of the windows gets its partition
        # first: nothing is left in the default partition.
        from caseledger.core.partitions import ensure_partitions as ensure_monthly
        from caseledger.supervision.partitions import CHECKINS

        if checkins:
            ensure_monthly(CHECKINS, since=min(c[6] for c in checkins))
        # each check-in's client nonce, which it references (supervision migration 0007)
        _Copier("supervision_checkin_submission", ("submission_id", "window_opens_at"))(
            (c[5], c[6]) for c in checkins
        )
        _Copier(
            "supervision_checkin",
            (
                *BASE,
                "enrolment_id",
                "submission_id",
                "window_opens_at",
                "attempt",
                "submitted_at",
                "outcome",
                "face_outcome",
                "distance",
                "model_id",
                "threshold",
                "threshold_version",
                "quality",
                "latitude",
                "longitude",
                "accuracy_m",
                "location_delete_after",
            ),
        )(checkins)
        _Copier(
            "supervision_review",
            (
                *BASE,
                "enrolment_id",
                "checkin_id",
                "window_opens_at",
                "kind",
                "opened_at",
                "due_at",
                "disposition",
                "decided_by_id",
                "decided_at",
                "note",
            ),
        )(reviews)
        # Participant logins: the heavy person (the first) and 200 others.
        chosen = [people["facts"][0].id, *(f.id for f in rng.sample(people["facts"], 200))]
        users = [
            User(username=f"bench.participant{k:03d}", role=Role.PARTICIPANT)
            for k in range(len(chosen))
        ]
        for user in users:
            user.set_unusable_password()
        User.objects.bulk_create(users)
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE people_person SET participant_account_id = %s WHERE id = %s",
                [(u.pk, pid) for u, pid in zip(users, chosen, strict=True)],
            )
    counts.update(
        enrolments=len(enrol), checkins=len(checkins), reviews=len(reviews), participants=len(users)
    )
    return counts


# The kinds of staff access the synthetic ledger holds, with their weights: (action,
# category, record type, weight). Searches and lists name their results as subjects.
EVENT_KINDS = (
    ("read", "identity", "people.person", 40),
    ("read", "case", "cases.case", 14),
    ("read", "supervision", "supervision.enrolment", 8),
    ("search", "identity", "people.person", 9),
    ("list", "caseload", "people.person", 4),
    ("update", "address", "people.address", 10),
    ("create", "hearing", "cases.hearing", 5),
    ("read", "check_ins", "supervision.checkin", 5),
    ("read", "identity", "people.person", 5),  # a supervisor's read
)


# The leaf of an event without detail, in the layout of `ledger.encoding.canonical_bytes`
# (compact JSON, sorted keys); filled by %-formatting, ~4x cheaper than encoding each event.
# Every CHECK_EVERY-th event is also encoded by `canonical_bytes` and compared (a difference
# stops the build), and events with detail (searches, lists) always go through it.
_LEAF = (
    '{"action":"%s","actor":"%s","category":"%s","detail":{},"id":"%s","office":"bench",'
    '"outcome":"allowed","purpose":"%s","record":["%s","%s"],"request":"","role":"%s",'
    '"subject":"%s","time":"%s","v":1}'
)
CHECK_EVERY = 997
NULL = "\\N"  # COPY text format


def _uuid_text(bits: int) -> str:
    """A version-4 UUID in text form from 128 random bits."""
    n = (bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid7_text(millis: int, bits: int) -> str:
    """A version-7 UUID in text form, as `ledger.ids.new_event_id` makes for an event written at
    `millis` (Unix milliseconds), its 74 random bits taken from `bits` (the seeded generator:
    the data set is the same on every build)."""
    n = (millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (bits >> 62 & 0xFFF) << 64
    n |= 0x2 << 62 | bits & ((1 << 62) - 1)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _EventMaker:
    """Synthetic staff accesses as COPY text lines of `ledger_event` (and its subject rows)."""

    def __init__(self, scale: Scale, staff: dict, people: dict, seed: int) -> None:
        from zoneinfo import ZoneInfo

        self.rng = random.Random(seed + 2)
        self.ids = [str(f.id) for f in people["facts"]]
        self.heavy = self.ids[0]
        self.officers = [(str(u.pk), "case_officer", "caseload") for u in staff["officers"]]
        self.supervisor = (str(staff["supervisor"].pk), "supervisor", "office_supervision")
        zone = ZoneInfo("America/New_York")
        today = datetime.now(zone).date()
        monday = today - timedelta(days=today.weekday())
        first = monday - timedelta(weeks=SCALE_WEEKS)
        # (UTC epoch of local midnight, weekday) of each day of the span
        self.days = []
        for k in range(SCALE_WEEKS * 7):
            day = first + timedelta(days=k)
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            self.days.append((int(midnight.timestamp()), day.weekday()))
        self.kinds = [k[:3] for k in EVENT_KINDS]
        self.weights = [k[3] for k in EVENT_KINDS]
        self.heavy_every = max(1, scale.events // min(HEAVY_EVENTS, max(1, scale.events // 100)))
        self.counts = {"events": 0, "event_subjects": 0, "heavy_events": 0}

    def _time(self) -> tuple[str, int]:
        """An event's time as the leaf writes it, and in Unix milliseconds (for its id)."""
        rng = self.rng
        midnight, weekday = rng.choice(self.days)
        if weekday < 5 and rng.random() < 0.97:
            seconds = 8 * 3600 + rng.randrange(10 * 3600)
        else:
            seconds = rng.randrange(86400)
        moment = datetime.fromtimestamp(midnight + seconds, UTC)
        micro = rng.randrange(1_000_000)
        millis = (midnight + seconds) * 1000 + micro // 1000
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{micro:06d}Z", millis

    def lines(self, first_id: int, start: int, count: int) -> tuple[list[str], list[str]]:
        import hashlib

        rng, ids, n = self.rng, self.ids, len(self.ids)
        events: list[str] = []
        subjects: list[str] = []
        for k in range(start, start + count):
            event_id = first_id + k
            action, category, record_type = rng.choices(self.kinds, self.weights)[0]
            actor, role, purpose = (
                self.supervisor if rng.random() < 0.05 else rng.choice(self.officers)
            )
            subject = ids[int(n * rng.random() ** 2)]
            if k % self.heavy_every == 0:
                subject, action, category, record_type = (
                    self.heavy,
                    "read",
                    "identity",
                    "people.person",
                )
                self.counts["heavy_events"] += 1
            moment, millis = self._time()
            event_uuid = _uuid7_text(millis, rng.getrandbits(128))
            if action in ("search", "list"):
                listed = sorted(
                    {ids[int(n * rng.random() ** 2)] for _ in range(rng.randint(1, 12))}
                )
                detail = {"results": listed, "subjects": listed}
                if action == "search":
                    detail = {"kind": "name", **detail}
                leaf = self._encoded(
                    event_uuid,
                    moment,
                    actor,
                    role,
                    action,
                    None,
                    record_type,
                    "",
                    category,
                    purpose,
                    detail,
                )
                subject_text, detail_text = NULL, json.dumps(detail, separators=(",", ":"))
                subjects.extend(f"{event_id}\t{s}\t{moment}\n" for s in listed)
            else:
                leaf = (
                    _LEAF
                    % (
                        action,
                        actor,
                        category,
                        event_uuid,
                        purpose,
                        record_type,
                        subject,
                        role,
                        subject,
                        moment,
                    )
                ).encode("ascii")
                if k % CHECK_EVERY == 0:
                    again = self._encoded(
                        event_uuid,
                        moment,
                        actor,
                        role,
                        action,
                        subject,
                        record_type,
                        subject,
                        category,
                        purpose,
                        {},
                    )
                    if again != leaf:
                        raise SystemExit(
                            f"bench: leaf layout differs from ledger.encoding:\n{leaf!r}\n{again!r}"
                        )
                subject_text, detail_text = subject, "{}"
            digest = hashlib.sha256(b"\x00" + leaf).digest()
            record_id = subject if subject_text != NULL else ""
            events.append(
                f"{event_id}\t{event_uuid}\t{moment}\t{actor}\t{role}\tbench\t{action}\t"
                f"{subject_text}\t{record_type}\t{record_id}\t"
                f"{category}\t{purpose}\tallowed\t\t{detail_text}\t\\\\x{leaf.hex()}\t"
                f"\\\\x{digest.hex()}\n"
            )
        self.counts["events"] += count
        self.counts["event_subjects"] += len(subjects)
        return events, subjects

    @staticmethod
    def _encoded(
        event_uuid: str,
        moment: str,
        actor: str,
        role: str,
        action: str,
        subject: str | None,
        record_type: str,
        record_id: str,
        category: str,
        purpose: str,
        detail: dict,
    ) -> bytes:
        """The leaf as `ledger.encoding` makes it, from the event's fields."""
        from caseledger.ledger import encoding
        from caseledger.ledger.services import _Fields

        when = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        fields = _Fields(
            uuid.UUID(event_uuid),
            when,
            actor,
            role,
            "bench",
            action,
            uuid.UUID(subject) if subject else None,
            record_type,
            record_id,
            category,
            purpose,
            "allowed",
            "",
            detail,
        )
        return encoding.canonical_bytes(encoding.event_fields(fields))


def _scale_events(
    scale: Scale, staff: dict, people: dict, seed: int, bar: Callable[[int], None]
) -> dict:
    """`scale.events` staff accesses over SCALE_WEEKS weeks, each with its canonical leaf and
    leaf hash, written by COPY (text) with the secondary indexes built afterwards."""
    from caseledger.ledger.services import EVENT_COLUMNS, _record_type

    for action, category, record_type, _w in EVENT_KINDS:
        for purpose in ("caseload", "office_supervision"):
            _record_type(action, category, purpose, "allowed", record_type)  # codes valid
    maker = _EventMaker(scale, staff, people, seed)
    # On a partitioned ledger (PostgreSQL), each month of the span gets its partition first:
    # nothing is left in the default partition.
    from caseledger.ledger.partitions import ensure_partitions

    ensure_partitions(since=datetime.fromtimestamp(maker.days[0][0], UTC))
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('ledger_event', 'id'))")
        first_id = cursor.fetchone()[0]
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('ledger_event', 'id'), %s)",
            [first_id + scale.events],
        )
    event_sql = f"COPY ledger_event (id, {', '.join(EVENT_COLUMNS)}) FROM STDIN"
    subject_sql = "COPY ledger_event_subject (event_id, subject_id, event_time) FROM STDIN"
    chunk = 50_000
    with _indexes_dropped(("ledger_event", "ledger_event_subject")):
        for start in range(0, scale.events, chunk):
            count = min(chunk, scale.events - start)
            events, subjects = maker.lines(first_id, start, count)
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.cursor.copy(event_sql) as copy:
                    copy.write("".join(events))
                with cursor.cursor.copy(subject_sql) as copy:
                    copy.write("".join(subjects))
            bar(count)
    return {"counts": maker.counts, "heavy_person": uuid.UUID(maker.heavy)}


@contextlib.contextmanager
def _indexes_dropped(tables: Sequence[str]) -> Iterator[None]:
    """Bulk-load without the secondary indexes of `tables` (plain or partitioned tables),
    then build them again with the same definitions: one sort per index instead of 10^7
    random inserts. Unique constraints other than the primary key are dropped and added back
    the same way. (An index of a partitioned table is dropped and built on every partition.)"""
    saved_constraints: list[tuple[str, str, str]] = []
    saved_indexes: list[str] = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [table])
            if cursor.fetchone()[0] not in ("r", "p"):
                continue
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
            for name, definition in cursor.fetchall():
                saved_constraints.append((table, name, definition))
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [table],
            )
            for name, definition in cursor.fetchall():
                saved_indexes.append(definition.replace(" ON ONLY ", " ON ", 1))
                cursor.execute(f"DROP INDEX {name}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for definition in saved_indexes:
                cursor.execute(definition)
            for table, name, definition in saved_constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute("RESET maintenance_work_mem")
