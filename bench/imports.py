"""Import throughput: `caseledger import --kind persons` of a generated case list, in rows/s.

A persons CSV is generated in a temporary directory (Faker, names from ten locales: the
Latin spelling in given_names/family_names and, for Cyrillic, Chinese and Arabic names, the
native script in full_name; US addresses and phone numbers; about 1% deliberately bad rows)
and imported through `caseledger.imports.services.import_file`, the code path of the
command: each row in its own transaction, through `people.services.create_person`, with its
ledger events (create, caseload assignment, import). The file is then imported a second
time, which must create nothing (every row unchanged) and is timed too.

On PostgreSQL the ledger chain is extended out of line (`LEDGER_INTEGRATE_INLINE` false), so
the time `integrate_pending()` takes over the events of the import is reported separately; on
SQLite it is part of each row's transaction.

    run(quick: bool) -> dict         # 100,000 rows, or 2,000 with quick=True
    python -m bench.imports [--quick] [--rows N]   # needs DATABASE_URL, like python -m bench

The database may already hold data (A-numbers are chosen not to collide, external ids are
unique to the run), but run this after `bench.dataset.load`, which wants an empty database.
Nothing here asserts a time.
"""

from __future__ import annotations

import csv
import os
import random
import secrets
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from anyascii import anyascii
from faker import Faker

NAME = "imports"
TITLE = "CSV import throughput (persons)"
FULL_ROWS = 100_000
QUICK_ROWS = 2_000
BAD_SHARE = 0.01
NAME_POOL = 400
USERNAME = "bench.importer"
OFFICE = "bench-import"

# Locale, weight, citizenship, languages, script of the native name.
LOCALES = (
    ("es_MX", 22, "MX", "es", "latin"),
    ("es_CO", 8, "CO", "es", "latin"),
    ("pt_BR", 10, "BR", "pt", "latin"),
    ("fr_FR", 7, "HT", "fr;ht", "latin"),
    ("en_IN", 10, "IN", "hi;en", "latin"),
    ("vi_VN", 5, "VN", "vi", "latin"),
    ("ru_RU", 8, "RU", "ru", "native"),
    ("uk_UA", 5, "UA", "uk;ru", "native"),
    ("zh_CN", 10, "CN", "zh", "native"),
    ("ar_AA", 10, "SY", "ar", "native"),
)
AREA_CODES = ("201", "212", "305", "312", "404", "415", "503", "602", "617", "713", "973")


def _name_pools(seed: int) -> dict[str, tuple[list[str], list[str]]]:
    pools = {}
    for locale, *_ in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools[locale] = (
            [fake.first_name() for _ in range(NAME_POOL)],
            [fake.last_name() for _ in range(NAME_POOL)],
        )
    return pools


def _latin(text: str) -> str:
    return " ".join(anyascii(text).split()).title()


def _free_a_numbers(rng: random.Random, count: int) -> list[str]:
    from caseledger.people.models import Person

    taken = set(Person.objects.exclude(a_number=None).values_list("a_number", flat=True))
    out: list[str] = []
    while len(out) < count:
        candidate = f"A{rng.randint(10_000_000, 999_999_999):09d}"
        if candidate not in taken:
            taken.add(candidate)
            out.append(candidate)
    return out


def _bad(row: list[str], rng: random.Random) -> list[str]:
    """Spoil one value, as real case lists do."""
    row = list(row)
    kind = rng.randrange(5)
    if kind == 0:
        row[4] = "2023-02-30"  # a date that does not exist
    elif kind == 1:
        row[5] = "A12"  # malformed A-number
    elif kind == 2:
        row[6] = "XX"  # unknown country code
    elif kind == 3:
        row[14] = "12345"  # not a phone number
    else:
        row[15] = "not-an-email"
    return row


def generate(path: Path, rows: int, *, seed: int, prefix: str) -> int:
    """Write a persons CSV of `rows` rows; returns how many were spoiled on purpose."""
    from caseledger.imports.formats import COLUMNS

    rng = random.Random(seed)
    pools = _name_pools(seed)
    us = Faker("en_US")
    us.seed_instance(seed)
    streets = [us.street_address() for _ in range(NAME_POOL)]
    cities = [(us.city(), us.state_abbr(), us.zipcode()) for _ in range(NAME_POOL)]
    a_numbers = iter(_free_a_numbers(rng, rows))
    weights = [w for _, w, *_ in LOCALES]
    today = date.today()
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS["persons"])
        for i in range(rows):
            locale, _, country, languages, script = rng.choices(LOCALES, weights)[0]
            firsts, lasts = pools[locale]
            given, family = rng.choice(firsts), rng.choice(lasts)
            full = ""
            if script == "native":
                full = f"{family}{given}" if locale == "zh_CN" else f"{given} {family}"
                given, family = _latin(given), _latin(family)
            street = rng.choice(streets)
            city, region, postal = rng.choice(cities)
            born = today - timedelta(days=rng.randint(18 * 365, 70 * 365))
            moved = today - timedelta(days=rng.randint(30, 5 * 365))
            phone = (
                f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            )
            email = f"person{i}@example.org" if rng.random() < 0.4 else ""
            row = [
                f"{prefix}-{i:07d}",
                given,
                family,
                full,
                born.isoformat(),
                next(a_numbers) if rng.random() < 0.85 else "",
                country,
                languages,
                "true" if rng.random() < 0.6 else "false",
                street,
                city,
                region,
                postal,
                moved.isoformat(),
                phone,
                email,
            ]
            if rng.random() < BAD_SHARE:
                row = _bad(row, rng)
                bad += 1
            writer.writerow(row)
    return bad


def _importer():
    from caseledger.accounts.models import Office, Role, User
    from caseledger.accounts.services import create_user

    user = User.objects.select_related("office").filter(username=USERNAME).first()
    if user:
        return user
    office, _ = Office.objects.get_or_create(
        code=OFFICE, defaults={"name": "Benchmark import office"}
    )
    create_user(
        username=USERNAME,
        password=secrets.token_urlsafe(24),
        role=Role.CASE_OFFICER,
        office=office,
    )
    return User.objects.select_related("office").get(username=USERNAME)


def _timed_import(path: Path, user: Any, console: Any, label: str) -> tuple[Any, int, float]:
    """The import's result, the SQL statements it sent and the CPU seconds of this process."""
    from django.db import connection
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseledger.imports.services import import_file

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    cpu = time.process_time()
    with (
        Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,
        connection.execute_wrapper(count),
    ):
        task = progress.add_task(label, total=None)
        result = import_file(
            path,
            kind="persons",
            user=user,
            on_start=lambda n: progress.update(task, total=n),
            progress=lambda n: progress.advance(task, n),
        )
    return result, statements, time.process_time() - cpu


def run(quick: bool, *, rows: int | None = None, seed: int = 2026, console: Any = None) -> dict:
    """Generate a persons CSV, import it twice, return the measurements."""
    from django.conf import settings
    from django.db import connection
    from rich.console import Console

    from caseledger.ledger.models import Event
    from caseledger.ledger.services import integrate_pending

    console = console or Console(stderr=True)
    rows = rows or (QUICK_ROWS if quick else FULL_ROWS)
    user = _importer()
    with tempfile.TemporaryDirectory(prefix="caseledger-import-bench-") as tmp:
        path = Path(tmp) / f"persons-{rows}.csv"
        started = time.perf_counter()
        bad = generate(path, rows, seed=seed, prefix=f"bench-{secrets.token_hex(4)}")
        generated = time.perf_counter() - started
        size = path.stat().st_size
        console.print(f"  generated {rows:,} rows ({size / 1e6:.1f} MB) in {generated:.1f} s")

        first_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        first, statements, cpu = _timed_import(path, user, console, "import")
        events = Event.objects.filter(id__gt=first_event).count()
        integrate_seconds = None
        if not settings.LEDGER_INTEGRATE_INLINE:
            started = time.perf_counter()
            integrate_pending()
            integrate_seconds = time.perf_counter() - started
        again, _, _ = _timed_import(path, user, console, "re-import")

    result = {
        "name": NAME,
        "database": connection.vendor,
        "quick": quick,
        "rows": rows,
        "file_mb": round(size / 1e6, 2),
        "bad_rows_generated": bad,
        "created": first.created,
        "quarantined": len(first.quarantined),
        "quarantined_by_reason": first.by_reason,
        "seconds": round(first.seconds, 2),
        "rows_per_second": round(first.rows_per_second, 1),
        "client_cpu_seconds": round(cpu, 2),
        "client_cpu_ms_per_row": round(1000 * cpu / rows, 2),
        "statements_per_row": round(statements / rows, 1),
        "load_average": " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if Path("/proc/loadavg").exists()
        else "",
        "events": events,
        "events_per_created_row": round(events / first.created, 2) if first.created else 0,
        "ledger_inline": settings.LEDGER_INTEGRATE_INLINE,
        "integrate_seconds": None if integrate_seconds is None else round(integrate_seconds, 2),
        "reimport_unchanged": again.unchanged,
        "reimport_created": again.created,
        "reimport_seconds": round(again.seconds, 2),
        "reimport_rows_per_second": round(again.rows_per_second, 1),
    }
    result["markdown"] = markdown(result)
    console.print(
        f"  import: {result['rows_per_second']:,.0f} rows/s; "
        f"re-import: {result['reimport_rows_per_second']:,.0f} rows/s"
    )
    return result


def markdown(r: dict) -> str:
    """The section body for docs/BENCHMARKS.md."""
    labels = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    lines = [
        f"`caseledger import --kind persons` of {r['rows']:,} generated rows "
        f"({r['file_mb']} MB, {r['bad_rows_generated']} spoiled on purpose) on "
        f"{labels.get(r['database'], r['database'])}; each row in its own transaction "
        "through `create_person`, with its ledger events.",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| import | {r['seconds']:,} s, **{r['rows_per_second']:,.0f} rows/s** |",
        f"| created / quarantined | {r['created']:,} / {r['quarantined']:,} |",
        f"| SQL statements per row | {r['statements_per_row']} |",
        f"| CPU of the importing process | {r['client_cpu_ms_per_row']} ms per row |",
        f"| ledger events written | {r['events']:,} ({r['events_per_created_row']} per row) |",
    ]
    if r["integrate_seconds"] is not None:
        chained = r["integrate_seconds"]
        lines.append(f"| chaining those events (`integrate_pending`) | {chained} s |")
    lines.append(
        f"| re-import of the same file (all unchanged) | {r['reimport_seconds']:,} s, "
        f"{r['reimport_rows_per_second']:,.0f} rows/s |"
    )
    if r["load_average"]:
        lines.append(f"| load average at the end (1 / 5 / 15 min) | {r['load_average']} |")
    reasons = ", ".join(f"{k} {v}" for k, v in r["quarantined_by_reason"].items())
    if reasons:
        lines += ["", f"Quarantined by reason: {reasons}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=TITLE)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows")
    parser.add_argument("--rows", type=int, help="number of rows (overrides --quick)")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        parser.exit(2, "DATABASE_URL is not set (see python -m bench --help).\n")
    os.environ["CASELEDGER_TESTING"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "caseledger.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result = run(args.quick, rows=args.rows)
    print(json.dumps({k: v for k, v in result.items() if k != "markdown"}, indent=2))
    print(result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
