"""Import throughput: `caseledger import --kind persons` of a generated case list, against
plain COPY of the same rows, at two sizes.

A persons CSV is generated in a temporary directory (Faker, names from ten locales: the
Latin spelling in given_names/family_names and, for Cyrillic, Chinese and Arabic names, the
native script in full_name; US addresses and phone numbers; about 1% deliberately bad rows)
and imported through `caseledger.imports.services.import_file`, the code path of the
command: staged by COPY into a temporary table, checked set-wise and in Python chunk by
chunk, written set-wise with each person's ledger events (create, caseload assignment,
import) through `ledger.services.record_events`. The file is then imported a second time,
which must create nothing (every row unchanged), and that is timed too.

In the same run, the same file is loaded by one plain `COPY … (FORMAT csv)` into a table
with a UUID key and a unique index on `external_id`: what the database alone takes for these
rows, the floor under any import.

For each size: wall time, rows/s, the ratio to plain COPY, the CPU of the importing process
and of the PostgreSQL server per row, where the client's time goes (staging, reading chunks,
checking rows, writing the tables, writing the events), SQL statements, the events written
and the time `integrate_pending()` then takes to chain them (on PostgreSQL the chain is
extended out of line; on SQLite it is part of each chunk). A chart of seconds against rows
is written to docs/img/bench-imports.svg.

    run(quick: bool) -> dict    # 100,000 and 1,000,000 rows; 2,000 and 20,000 with quick=True
    python -m bench.imports [--quick] [--rows N]   # needs DATABASE_URL, like python -m bench

The database may already hold data (A-numbers are chosen not to collide, external ids are
unique to the run), but run this after `bench.dataset.load`, which wants an empty database.
Nothing here asserts a time.
"""

from __future__ import annotations

import csv
import functools
import os
import random
import secrets
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from anyascii import anyascii
from faker import Faker

NAME = "imports"
TITLE = "CSV import throughput (persons)"
FULL_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
TARGET_ROWS_PER_SECOND = 8_000
CHART = Path(__file__).resolve().parent.parent / "docs" / "img" / "bench-imports.svg"
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


# --- what the database alone takes ---------------------------------------------------------

PLAIN_TABLE = "bench_plain_person"


def plain_copy(path: Path) -> float | None:
    """Seconds for one `COPY … (FORMAT csv)` of the file into a table with a UUID key and a
    unique index on external_id (PostgreSQL only; the table is dropped afterwards)."""
    from django.db import connection

    from caseledger.imports.formats import COLUMNS

    if connection.vendor != "postgresql":
        return None
    columns = COLUMNS["persons"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
            + ", ".join(f"{c} text" for c in columns)
            + ", UNIQUE (external_id))"
        )
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {PLAIN_TABLE} ({', '.join(columns)}) FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy,
        path.open("rb") as fh,
    ):
        while block := fh.read(1 << 20):
            copy.write(block)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {PLAIN_TABLE}")
    return seconds


def _server_processes() -> list[int] | None:
    """The PostgreSQL server's processes (postmaster and its children) when it runs on this
    machine, found from our own backend's parent; None if that cannot be read."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postmaster = int(_stat(backend)[1])
        return [postmaster] + [
            int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == postmaster
        ]
    except OSError:
        return None


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _ppid(pid: int) -> int:
    try:
        return int(_stat(pid)[1])
    except (OSError, IndexError, ValueError):
        return -1


def _server_cpu(pids: list[int] | None) -> float | None:
    """CPU seconds (user + system) used so far by those processes still alive."""
    if pids is None:
        return None
    ticks = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


# --- one timed import ----------------------------------------------------------------------

PHASES = {
    "staging": "staging (parse, COPY into the temporary table, set-wise checks)",
    "read": "reading chunks (with the database's checks)",
    "check": "checking rows in Python",
    "tables": "writing persons, names, addresses, contacts, caseload, imported records",
    "events": "ledger events (encode, hash, COPY)",
    "rest": "the rest (quarantine rows, batch, loop)",
}


@contextmanager
def _phases() -> Any:
    """CPU seconds of this process per phase of the import, by wrapping the functions each
    phase runs once per chunk (so the wrappers cost nothing that shows)."""
    from caseledger.imports.services import batches, persons, staging

    spent = dict.fromkeys(PHASES, 0.0)
    targets = [
        (staging.StageTable, "load", "staging"),
        (staging.StageTable, "read", "read"),
        (batches._Importer, "_decide", "check"),
        (persons.PersonWriter, "write", "tables"),
        (persons, "record_events", "events"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def timed(function: Any, phase: str) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            before = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[phase] += time.process_time() - before

        return wrapper

    for owner, name, phase in targets:
        setattr(owner, name, timed(getattr(owner, name), phase))
    try:
        yield spent
        spent["tables"] -= spent["events"]  # the events are written from inside the writer
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _timed_import(path: Path, user: Any, console: Any, label: str) -> dict[str, Any]:
    """Import the file once: the result, SQL statements sent, CPU of this process (by phase)
    and of the database server."""
    from django.db import connection
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseledger.imports.services import import_file

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    server = _server_processes()
    server_before = _server_cpu(server)
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
        _phases() as spent,
    ):
        task = progress.add_task(label, total=None)
        result = import_file(
            path,
            kind="persons",
            user=user,
            on_start=lambda n: progress.update(task, total=n),
            progress=lambda n: progress.advance(task, n),
        )
    cpu = time.process_time() - cpu
    server_after = _server_cpu(server)
    spent["rest"] = max(cpu - sum(spent.values()), 0.0)
    return {
        "result": result,
        "statements": statements,
        "cpu": cpu,
        "server_cpu": None if server_before is None else server_after - server_before,
        "phases": dict(spent),
    }


def _integrate() -> tuple[float, float, float | None]:
    """`integrate_pending()` over what is pending: seconds, client and server CPU seconds."""
    from caseledger.ledger.services import integrate_pending

    server = _server_processes()
    server_before = _server_cpu(server)
    cpu, started = time.process_time(), time.perf_counter()
    integrate_pending()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_cpu = None if server_before is None else _server_cpu(server) - server_before
    return seconds, cpu, server_cpu


def measure(rows: int, *, seed: int, console: Any) -> dict[str, Any]:
    """Generate `rows` rows, COPY them plainly, import them, chain the events, import again."""
    from django.conf import settings

    from caseledger.ledger.models import Event

    user = _importer()
    with tempfile.TemporaryDirectory(prefix="caseledger-import-bench-") as tmp:
        path = Path(tmp) / f"persons-{rows}.csv"
        started = time.perf_counter()
        bad = generate(path, rows, seed=seed, prefix=f"bench-{secrets.token_hex(4)}")
        console.print(
            f"  generated {rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        plain = plain_copy(path)
        if plain is not None:
            console.print(f"  plain COPY: {plain:.2f} s ({rows / plain:,.0f} rows/s)")
        load_before = _load()
        first_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        first = _timed_import(path, user, console, "import")
        load_after = _load()
        events = Event.objects.filter(id__gt=first_event).count()
        integration = None
        if not settings.LEDGER_INTEGRATE_INLINE:
            integration = _integrate()
        again = _timed_import(path, user, console, "re-import")
        size = path.stat().st_size
    r = first["result"]
    measured = {
        "rows": rows,
        "file_mb": round(size / 1e6, 2),
        "bad_rows_generated": bad,
        "created": r.created,
        "quarantined": len(r.quarantined),
        "quarantined_by_reason": r.by_reason,
        "seconds": round(r.seconds, 2),
        "rows_per_second": round(r.rows_per_second, 1),
        "plain_copy_seconds": None if plain is None else round(plain, 3),
        "plain_copy_rows_per_second": None if plain is None else round(rows / plain),
        "ratio_to_plain_copy": None if plain is None else round(r.seconds / plain, 1),
        "client_cpu_us_per_row": round(1e6 * first["cpu"] / rows),
        "server_cpu_us_per_row": None if first["server_cpu"] is None
        else round(1e6 * first["server_cpu"] / rows),
        "phases_us_per_row": {k: round(1e6 * v / rows) for k, v in first["phases"].items()},
        "statements_per_row": round(first["statements"] / rows, 3),
        "events": events,
        "events_per_created_row": round(events / r.created, 2) if r.created else 0,
        "integrate": None if integration is None else {
            "seconds": round(integration[0], 2),
            "events_per_second": round(events / integration[0]) if integration[0] else 0,
            "client_cpu_us_per_event": round(1e6 * integration[1] / max(events, 1)),
            "server_cpu_us_per_event": None if integration[2] is None
            else round(1e6 * integration[2] / max(events, 1)),
        },
        "reimport_unchanged": again["result"].unchanged,
        "reimport_created": again["result"].created,
        "reimport_seconds": round(again["result"].seconds, 2),
        "reimport_rows_per_second": round(again["result"].rows_per_second, 1),
        "load_before": load_before,
        "load_after": load_after,
    }
    console.print(
        f"  import: {measured['rows_per_second']:,.0f} rows/s "
        f"(client {measured['client_cpu_us_per_row']} µs/row, server "
        f"{measured['server_cpu_us_per_row']} µs/row); re-import: "
        f"{measured['reimport_rows_per_second']:,.0f} rows/s"
    )
    return measured


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def run(quick: bool, *, rows: int | None = None, seed: int = 2026, console: Any = None) -> dict:
    """Measure each size; return the figures and the section's Markdown."""
    from django.db import connection
    from rich.console import Console

    console = console or Console(stderr=True)
    sizes = (rows,) if rows else (QUICK_SIZES if quick else FULL_SIZES)
    measured = []
    for i, n in enumerate(sizes):
        console.print(f"[bold]{n:,} rows[/bold]")
        measured.append(measure(n, seed=seed + i, console=console))
    result = {
        "name": NAME,
        "database": connection.vendor,
        "quick": quick,
        "sizes": measured,
        "chart": _chart(measured) if len(measured) > 1 and not rows else None,
    }
    result["markdown"] = markdown(result)
    return result


# --- the section ---------------------------------------------------------------------------


def _chart(measured: list[dict]) -> str | None:
    """An SVG of seconds against rows (both logarithmic): import, plain COPY, chaining the
    events, re-import. Returns the path relative to docs/, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [m["rows"] for m in measured]
    lines = {
        "import": [m["seconds"] for m in measured],
        "plain COPY of the same rows": [m["plain_copy_seconds"] for m in measured],
        "chaining the events (integrate_pending)": [
            (m["integrate"] or {}).get("seconds") for m in measured
        ],
        "re-import (all unchanged)": [m["reimport_seconds"] for m in measured],
    }
    plt.rcParams["svg.hashsalt"] = "caseledger-bench-imports"
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for label, seconds in lines.items():
        if all(s is not None for s in seconds):
            axes.plot(rows, seconds, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("rows in the file")
    axes.set_ylabel("seconds")
    axes.set_title("CSV import of persons: time against size")
    axes.grid(True, which="both", linewidth=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(CHART, format="svg", metadata={"Date": None})
    plt.close(figure)
    return f"img/{CHART.name}"


def _cores_for_target(m: dict) -> str:
    client, server = m["client_cpu_us_per_row"], m["server_cpu_us_per_row"]
    if server is None:
        return ""
    total = (client + server) * TARGET_ROWS_PER_SECOND / 1e6
    return (
        f"At this cost ({client} µs of the importing process and {server} µs of PostgreSQL per "
        f"row), {TARGET_ROWS_PER_SECOND:,} rows/s needs {total:.1f} cores of CPU time, and the "
        f"importing process alone (one core, single-threaded) gives at most "
        f"{1e6 / client:,.0f} rows/s."
    )


def markdown(r: dict) -> str:
    """The section body for docs/BENCHMARKS.md."""
    labels = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    sizes = r["sizes"]
    big = sizes[-1]
    target_met = big["rows_per_second"] >= TARGET_ROWS_PER_SECOND
    head = ["measure", *(f"{m['rows']:,} rows" for m in sizes)]

    def row(label: str, cell: Any) -> list[str]:
        return [label, *(cell(m) for m in sizes)]

    def opt(value: Any, fmt: str) -> str:
        return "—" if value is None else fmt.format(value)

    rows = [
        row("import (`import_file`)", lambda m: f"{m['seconds']:,} s, "
            f"**{m['rows_per_second']:,.0f} rows/s**"),
        row("plain COPY of the same rows", lambda m: opt(m["plain_copy_seconds"], "{:,} s")
            + opt(m["plain_copy_rows_per_second"], ", {:,} rows/s")),
        row("import / plain COPY (time)", lambda m: opt(m["ratio_to_plain_copy"], "{:,}×")),
        row("created / quarantined", lambda m: f"{m['created']:,} / {m['quarantined']:,}"),
        row("CPU of the importing process per row", lambda m: f"{m['client_cpu_us_per_row']} µs"),
        row("CPU of PostgreSQL per row", lambda m: opt(m["server_cpu_us_per_row"], "{} µs")),
        *(row(f"… {PHASES[k]}", lambda m, k=k: f"{m['phases_us_per_row'][k]} µs")
          for k in PHASES),
        row("SQL statements per row (COPY not counted)", lambda m: f"{m['statements_per_row']}"),
        row("ledger events written", lambda m: f"{m['events']:,} "
            f"({m['events_per_created_row']} per created row)"),
        row("chaining them (`integrate_pending`)", lambda m: "inline" if not m["integrate"]
            else f"{m['integrate']['seconds']:,} s, {m['integrate']['events_per_second']:,} "
            f"events/s ({m['integrate']['client_cpu_us_per_event']} + "
            f"{opt(m['integrate']['server_cpu_us_per_event'], '{}')} µs CPU per event)"),
        row("re-import of the same file (all unchanged)", lambda m: f"{m['reimport_seconds']:,} s, "
            f"{m['reimport_rows_per_second']:,.0f} rows/s"),
        row("load average (1 / 5 / 15 min), before → after the import",
            lambda m: f"{m['load_before']} → {m['load_after']}"),
    ]
    lines = [
        f"`caseledger import --kind persons` of generated case lists on "
        f"{labels.get(r['database'], r['database'])}: staged by COPY into a temporary table, "
        "checked set-wise (SQL) and in Python chunk by chunk (5,000 rows, one transaction "
        "each), written set-wise with each person's three ledger events (`create`, caseload "
        "`assign`, `import`) through `record_events`. Target: "
        f"{TARGET_ROWS_PER_SECOND:,} rows/s (10^6 persons in 120 s): "
        + ("**met**." if target_met else f"**not met** ({big['rows_per_second']:,.0f} rows/s "
                                          f"at {big['rows']:,} rows)."),
        "",
        " ".join(x for x in [_cores_for_target(big)] if x),
        "",
        _table(head, rows),
    ]
    if r.get("chart"):
        lines += ["", f"![Seconds against rows: import, plain COPY, chaining, re-import]"
                      f"({r['chart']})"]
    reasons = "; ".join(
        f"{m['rows']:,} rows: " + ", ".join(f"{k} {v}" for k, v in
                                            m["quarantined_by_reason"].items())
        for m in sizes if m["quarantined_by_reason"]
    )
    lines += [
        "",
        "Notes:",
        "",
        "- About 1% of the rows are spoiled on purpose (a date that does not exist, a malformed "
        "A-number, an unknown country code, a bad phone number or email); each is quarantined "
        f"with its reason. Quarantined by reason: {reasons or 'none'}.",
        "- *CPU per row* is CPU time (user + system) divided by the rows of the file; the "
        "PostgreSQL figure is every server process (the backend, WAL writer, checkpointer, "
        "autovacuum) over the same interval. The phases of the importing process are measured "
        "per chunk; *the rest* includes the quarantine rows, the batch and its event.",
        "- The machine is shared with other work (see the load average): wall times and rows/s "
        "move with it; the CPU per row and the ratio to plain COPY, measured in the same run, "
        "move much less.",
    ]
    return "\n".join(lines)


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |",
           "| " + " | ".join(["---"] + ["---:"] * (len(head) - 1)) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=TITLE)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZES} rows")
    parser.add_argument("--rows", type=int, help="one size, this many rows")
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
    print(json.dumps({k: v for k, v in result.items() if k != "markdown"}, indent=2,
                     default=str))
    print(result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
