"""Machine facts, percentiles and the Markdown report that keeps every benchmark's section.

The report is one file made of sections, each delimited by HTML comments:

    <!-- bench:search -->
    ...
    <!-- /bench:search -->

A run rewrites only the sections of the benchmarks it ran (and its machine section); every
other section, and any text outside the sections, stays as it was. A run that is not the
reference run (PostgreSQL, full sizes) writes its sections under a suffixed name such as
`search-sqlite-quick`, so a quick local run never replaces the reference figures.
"""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

PREAMBLE = """# Benchmarks

Written by `make bench` (`python -m bench`); do not edit the sections by hand, they are
replaced on the next run. Each benchmark owns the text between its
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers; sections from other benchmarks
are kept as they are. Sections measured on SQLite or with `--quick` carry that suffix in
their name. Times are wall-clock, per call, in milliseconds; p50/p95 interpolate linearly
between the nearest ranks. These are measurements, not thresholds: nothing asserts them (the
ledger and check-in sections say whether the issue's targets were met).

The benchmarks (`--only NAME`): `search` (person search over 100,000 persons),
`gate_cost` (what the access gate and the ledger add to a read), `ledger` (verifying an
export of 10^6 entries with `caseledger-verify`, serving and verifying inclusion proofs,
audited writes under 16 concurrent clients), `checkins` (face-verified check-in latency with
the real dlib verifier, and check-ins per second on `caseledger serve`), `reminders`
(planning reminders for 10,000 hearings), `imports` (CSV import of 100,000 persons),
`who_accessed` ("who accessed my record" for a person with 10,000 ledger events),
`retention` (a purge of 100,000 expired check-in images), `anomaly` (the weekly access
anomaly report over 1,000,000 ledger events) and `reads` (search, pages, "who accessed my
record", proofs, export, anomaly report and reminder planning at two sizes of a data set
built by COPY and kept between runs, with charts of cost against size in `img/`). The
thresholds of the face verifier and their measured error rates are in the [calibration table of
FACE_VERIFICATION.md](FACE_VERIFICATION.md#calibration-chosen-threshold).

To run: `make bench` (a throw-away PostgreSQL 15 server, full sizes; about ten minutes on
two cores), or against SQLite with a new database file:
`DATABASE_URL=sqlite:///var/bench.sqlite3 .venv/bin/python -m bench --quick`.
`--only NAME` runs one benchmark, `--out FILE` writes elsewhere. The machine was not
isolated: the load average recorded with each run shows what else was running.
"""


# --- numbers ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summarize_ms(durations_ns: Sequence[int]) -> dict[str, float]:
    """n, p50 (the median), p95, max and mean of durations measured in nanoseconds, in ms."""
    ms = [d / 1e6 for d in durations_ns]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "max": max(ms) if ms else math.nan,
        "mean": sum(ms) / len(ms) if ms else math.nan,
    }


def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_int(value: int | float) -> str:
    return f"{value:,.0f}"


def table(header: Sequence[str], rows: Iterable[Sequence[object]], align: str = "") -> str:
    """A Markdown table; `align` is one letter per column, l or r (default: first l, rest r)."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- machine ------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024**2 if match else None


def _cores() -> str:
    logical = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = logical
    return f"{usable}" if usable == logical else f"{usable} usable of {logical}"


def database_facts() -> dict[str, str]:
    """Engine, server version and the settings that matter for write costs."""
    from django.db import connection

    if connection.vendor == "postgresql":
        facts = {}
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            facts["database"] = f"PostgreSQL {cursor.fetchone()[0]}"
            settings = []
            for name in ("shared_buffers", "work_mem", "fsync", "synchronous_commit", "jit"):
                cursor.execute(f"SHOW {name}")
                settings.append(f"{name}={cursor.fetchone()[0]}")
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'")
            row = cursor.fetchone()
            if row:
                settings.append(f"pg_trgm {row[0]}")
        facts["database settings"] = ", ".join(settings)
        facts["connection"] = "local Unix socket" if _pg_over_socket() else "TCP"
        return facts
    if connection.vendor == "sqlite":
        import sqlite3

        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                cursor.fetchone()[0], "?"
            )
        return {
            "database": f"SQLite {sqlite3.sqlite_version}",
            "database settings": f"journal_mode={journal}, synchronous={synchronous}",
        }
    return {"database": connection.vendor}


def _pg_over_socket() -> bool:
    from django.db import connection

    host = connection.settings_dict.get("HOST") or ""
    return not host or host.startswith("/")


def machine_facts(started: datetime) -> dict[str, str]:
    import django

    memory = _memory_gib()
    facts = {
        "date": started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _cpu_model(),
        "cores": _cores(),
        "memory": f"{memory:.1f} GiB" if memory else "unknown",
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "Django": django.get_version(),
    }
    facts.update(database_facts())
    return facts


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def facts_list(facts: Mapping[str, str]) -> str:
    return "\n".join(f"- **{key}**: {value}" for key, value in facts.items())


# --- the file -----------------------------------------------------------------------------


def _block(name: str, body: str) -> str:
    return f"<!-- bench:{name} -->\n{body.strip()}\n<!-- /bench:{name} -->"


def write_sections(path: Path, sections: Mapping[str, str]) -> None:
    """Replace (or append) the named sections of the report at `path`, keeping the rest."""
    text = path.read_text(encoding="utf-8") if path.exists() else PREAMBLE
    for name, body in sections.items():
        pattern = re.compile(
            rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.DOTALL
        )
        block = _block(name, body)
        if pattern.search(text):
            text = pattern.sub(lambda _m, block=block: block, text, count=1)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
