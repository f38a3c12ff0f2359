"""The weekly access-anomaly report over 1,000,000 ledger events (50,000 with `quick`).

Writes synthetic events straight into `ledger_event` (COPY on PostgreSQL, bulk_create
elsewhere), each with its real canonical leaf and leaf hash from `caseledger.ledger.encoding`
so that the ledger stays verifiable; they are not integrated into the chain here (the
integrator places them later, like any committed event). 80 % fall in the report week
(ISO week 2031-W10, far from any other benchmark's data) and 20 % in the four weeks before
(the history of the bulk-viewing rule).

The population: 400 case officers in two offices (New York and Los Angeles time), each
reading persons of a 40-person caseload in office hours; planted in it: one bulk viewer
(600 distinct persons), one after-hours burst (30 reads at 23:00 local), one officer with 5
refused reads, and 3 break-glass events. The rules are evaluated (SQL aggregation only)
several times; the median and slowest run are reported with events per second, then the
report is built and saved once. The ledger is append-only, so the events stay.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

NAME = "anomaly"
TITLE = "Weekly access-anomaly report over the ledger"
FULL_EVENTS = 1_000_000
QUICK_EVENTS = 50_000
WEEK = "2031-W10"
RUNS = 5
CHUNK = 20_000
OFFICES = (
    ("bench-anomaly-east", "America/New_York"),
    ("bench-anomaly-west", "America/Los_Angeles"),
)


def _event(
    moment: datetime,
    actor: str,
    office: str,
    subject: uuid.UUID | None,
    *,
    action: str = "read",
    purpose: str = "caseload",
    outcome: str = "allowed",
    detail: dict[str, Any] | None = None,
) -> tuple:
    from caseledger.ledger import encoding

    fields = SimpleNamespace(
        uuid=uuid.uuid4(),
        time=moment,
        actor_id=actor,
        actor_role="case_officer",
        office=office,
        action=action,
        subject_id=subject,
        record_type="people.person",
        record_id=str(subject) if subject else "",
        data_category="identity",
        purpose=purpose,
        outcome=outcome,
        request_id="",
        detail=detail or {},
    )
    leaf = encoding.canonical_bytes(encoding.event_fields(fields))
    return (
        fields.uuid,
        moment,
        actor,
        "case_officer",
        office,
        action,
        subject,
        "people.person",
        fields.record_id,
        "identity",
        purpose,
        outcome,
        "",
        fields.detail,
        leaf,
        encoding.leaf_hash(leaf),
    )


def _office_time(rng: random.Random, monday: date, tz: ZoneInfo) -> datetime:
    day = monday + timedelta(days=rng.randrange(5))
    local = datetime(day.year, day.month, day.day, 8, tzinfo=tz) + timedelta(
        seconds=rng.randrange(10 * 3600)
    )
    return local.astimezone(UTC)


def _generate(n: int, seed: int):  # type: ignore[no-untyped-def]
    """Yield event rows: ordinary caseload reads, then the planted patterns."""
    from caseledger.reports.periods import parse_week

    rng = random.Random(seed)
    period = parse_week(WEEK)
    monday = period.start.date()
    officers = []
    for i in range(400):
        code, zone = OFFICES[i % 2]
        officers.append(
            (str(uuid.uuid4()), code, ZoneInfo(zone), [uuid.uuid4() for _ in range(40)])
        )
    planted = 600 + 30 + 5 + 3
    for k in range(n - planted):
        actor, code, tz, caseload = officers[k % len(officers)]
        week_back = 0 if rng.random() < 0.8 else rng.randint(1, 4)
        moment = _office_time(rng, monday - timedelta(days=7 * week_back), tz)
        yield _event(moment, actor, code, rng.choice(caseload))
    tuesday_10 = datetime(
        monday.year, monday.month, monday.day, 10, tzinfo=ZoneInfo(OFFICES[0][1])
    ) + timedelta(days=1)
    bulk = officers[0]
    for i in range(600):
        yield _event(
            (tuesday_10 + timedelta(seconds=30 * i)).astimezone(UTC), bulk[0], bulk[1], uuid.uuid4()
        )
    night = officers[1]
    wednesday_23 = datetime(monday.year, monday.month, monday.day, 23, tzinfo=night[2]) + timedelta(
        days=2
    )
    for i in range(30):
        yield _event(
            (wednesday_23 + timedelta(minutes=i)).astimezone(UTC),
            night[0],
            night[1],
            night[3][i % 40],
        )
    nosy = officers[2]
    for i in range(5):
        yield _event(
            (tuesday_10 + timedelta(hours=2, minutes=i)).astimezone(UTC),
            nosy[0],
            nosy[1],
            uuid.uuid4(),
            outcome="denied",
        )
    for i in range(3):
        officer = officers[10 + i]
        yield _event(
            (tuesday_10 + timedelta(hours=3 + i)).astimezone(UTC),
            officer[0],
            officer[1],
            uuid.uuid4(),
            action="break_glass",
            purpose="break_glass",
            detail={"flagged": True},
        )


def _insert(n: int, seed: int, progress: Any = None) -> float:
    import json

    from django.db import connection, transaction

    from caseledger.ledger.models import Event
    from caseledger.ledger.services import EVENT_COLUMNS as COLUMNS

    started = time.perf_counter()
    rows = _generate(n, seed)
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            sql = f"COPY ledger_event ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for i, row in enumerate(rows, 1):
                    copy.write_row((*row[:13], json.dumps(row[13]), row[14], row[15]))
                    if progress and i % CHUNK == 0:
                        progress(i)
    else:
        batch: list[Event] = []
        for i, row in enumerate(rows, 1):
            batch.append(Event(**dict(zip(COLUMNS, row, strict=True))))
            if len(batch) == CHUNK:
                Event.objects.bulk_create(batch)
                batch = []
                if progress:
                    progress(i)
        if batch:
            Event.objects.bulk_create(batch)
    if progress:
        progress(n)
    return time.perf_counter() - started


def run(quick: bool, console: Any = None) -> dict[str, Any]:
    from django.db import connection

    from caseledger.accounts.models import Office
    from caseledger.reports import anomalies
    from caseledger.reports.periods import parse_week
    from caseledger.reports.services import build_anomaly_report

    n = QUICK_EVENTS if quick else FULL_EVENTS
    for code, zone in OFFICES:
        Office.objects.get_or_create(code=code, defaults={"name": code, "time_zone": zone})
    period = parse_week(WEEK)
    if console is not None:
        from rich.progress import Progress

        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"writing {n:,} events", total=n)
            insert_s = _insert(n, 2026, lambda done: bar.update(task, completed=done))
    else:
        insert_s = _insert(n, 2026)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ledger_event")
    in_week = anomalies.week_events(period.start, period.end).count()
    values = anomalies.thresholds()
    timings, flags = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        flags = anomalies.evaluate(period.start, period.end, values)
        timings.append(time.perf_counter() - t0)
    # Only a week that has ended is built: the benchmark's week lies in the future, so the
    # build runs with the clock just past its end.
    with mock.patch("caseledger.core.clock.now", return_value=period.end + timedelta(hours=1)):
        t0 = time.perf_counter()
        result = build_anomaly_report(WEEK)
        build_s = time.perf_counter() - t0
    by_rule: dict[str, int] = {}
    for f in flags:
        by_rule[str(f.rule)] = by_rule.get(str(f.rule), 0) + 1
    median = statistics.median(timings)
    return {
        "database": connection.vendor,
        "date": date.today().isoformat(),
        "events_written": n,
        "insert_seconds": round(insert_s, 2),
        "insert_events_per_second": round(n / insert_s),
        "events_in_week": in_week,
        "runs": RUNS,
        "evaluate_median_seconds": round(median, 3),
        "evaluate_max_seconds": round(max(timings), 3),
        "events_per_second": round(in_week / median) if median else 0,
        "build_and_save_seconds": round(build_s, 3),
        "created": result.created,
        "items_by_rule": dict(sorted(by_rule.items())),
    }


def markdown(result: dict[str, Any]) -> str:
    r = result
    rules = ", ".join(f"{k} {v}" for k, v in r["items_by_rule"].items()) or "none"
    return (
        f"## {TITLE}\n\n"
        f"{r['events_written']:,} synthetic ledger events ({r['database']}, {r['date']}), "
        f"{r['events_in_week']:,} of them in the report week; written in "
        f"{r['insert_seconds']:.1f} s ({r['insert_events_per_second']:,} events/s).\n\n"
        "| step | seconds |\n| --- | ---: |\n"
        f"| evaluate the five rules, median of {r['runs']} | "
        f"{r['evaluate_median_seconds']:.3f} |\n"
        f"| evaluate, slowest run | {r['evaluate_max_seconds']:.3f} |\n"
        f"| build and save the report (once) | {r['build_and_save_seconds']:.3f} |\n\n"
        f"{r['events_per_second']:,} events of the week per second (median run). "
        f"Items flagged: {rules} (planted: 1 bulk viewer, 1 after-hours burst, "
        "1 officer with refused reads, 3 break-glass).\n"
    )


if __name__ == "__main__":
    import json
    import os
    import sys

    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL (a throw-away database)")
    os.environ.setdefault("CASELEDGER_TESTING", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseledger.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    outcome = run(quick="--quick" in sys.argv)
    print(json.dumps(outcome, indent=2))
    print(markdown(outcome))
