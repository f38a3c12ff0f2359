"""Reads at scale: the pages, searches, proofs and reports of issue #14, at two sizes.

Each size is a data set built once by COPY (`dataset.scale_database`: 10^5 persons with 10^6
ledger events, and 10^6 persons with 10^7 events) and kept in a database of its own on the
same PostgreSQL server, so a second run reuses it. Against each it times, as the users do:

- person search (`people.selectors.search_persons`) as the office's supervisor (every person
  visible) and as a case officer (a caseload of 150), with the query mix of `bench/search.py`;
- the person page, the caseload (people dashboard), the supervision dashboard and the review
  queue as whole pages through Django's test Client (session, TOTP step, middleware, gate,
  ledger event, template), as the case officer and as the supervisor;
- "who accessed my record" (`access.history.access_history`, first page) as 200
  participants and as one person whose record was read 10,000 times, and the whole My record
  page of that person;
- `GET /api/v1/ledger/proofs/inclusion` for random events of the log;
- the export of the whole log (`ledger.export.export_ledger`) and `caseledger-verify export`
  of it, as an auditor runs it (a subprocess);
- the weekly access-anomaly rules (`reports.anomalies.evaluate`) over the last full week;
- reminder planning (`notices.planner.plan_hearings`) for 10^4 and 10^5 upcoming hearings, in
  a transaction that is rolled back so the data set stays as built.

Every read writes its own ledger event, as in production (the data set grows by those). For
the slowest SQL statement of each kind of call it keeps the plan (EXPLAIN ANALYZE, BUFFERS),
and it draws the cost against the size (log-log SVG charts under docs/img/).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from . import report

NAME = "reads"
TITLE = "Reads at scale"
NEEDS_POPULATION = False
TARGET_MS = {"search": 50.0, "page": 200.0, "proof": 5.0}
TARGET_S = {"verify": 60.0, "anomaly": 30.0, "reminders": 30.0}
SEARCHES = 120
PAGE_CALLS = 30
SLOW_PAGE_CALLS = 6
PROOFS = 300
ANOMALY_RUNS = 3
PARTICIPANTS = 40
SLOW_CALL_S = 10.0
VERY_SLOW_CALL_S = 60.0
SLOW_CALLS = 3
MIN_CALLS = 5
BUDGET_S = 45.0
PROJECT_LIMIT_S = 120.0
HEAVY = 10_000  # dataset.HEAVY_EVENTS
CHARTS = ("bench-reads-persons.svg", "bench-reads-ledger.svg", "bench-reads-batch.svg")


@dataclass
class Measure:
    """One benchmark at one size: per-call durations (ms) or one duration (s)."""

    key: str
    label: str
    kind: str  # "search", "page", "first" (a one-off view, no target), "proof", "batch"
    ms: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU per call, ms
    seconds: float | None = None
    note: str = ""
    statements: float | None = None
    size: int = 0  # what the cost grows with: persons, ledger events or hearings
    unit: str = "persons"
    projected: bool = False  # not run: the figure is the smaller size's, in proportion
    captured: list = field(default_factory=list, repr=False)  # statements of the first call

    @property
    def p95(self) -> float:
        return report.percentile(self.ms, 95)

    @property
    def p50(self) -> float:
        return report.percentile(self.ms, 50)

    def cost(self) -> float:
        """What the chart plots: p95 in ms, or seconds for a batch."""
        return self.seconds if self.kind == "batch" else self.p95


@dataclass
class SizeResult:
    scale: Any
    data: Any
    measures: dict[str, Measure] = field(default_factory=dict)
    plans: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (sql, plan)
    load: str = ""
    events_in_log: int = 0
    previous: SizeResult | None = None

    def add(self, m: Measure) -> Measure:
        if not m.size:
            m.size = self.scale.persons
        self.measures[m.key] = m
        return m

    def by_events(self, m: Measure) -> Measure:
        m.size, m.unit = self.scale.events, "events"
        return self.add(m)


# --- timing helpers ---------------------------------------------------------------------------


def _timed(m: Measure, fn: Callable[[], Any], calls: int, warmup: int = 2) -> Measure:
    """Call `fn` `calls` times (after `warmup` untimed calls), keeping wall and CPU time; a
    call slower than SLOW_CALL_S is timed only SLOW_CALLS times, and timing stops once
    BUDGET_S is spent (at least MIN_CALLS calls)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _prepare(fn)
    t0 = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        fn()
    first = time.perf_counter() - t0
    m.captured = captured.captured_queries
    if first > VERY_SLOW_CALL_S:
        m.ms, m.cpu, m.note = [first * 1000], [math.nan], "one call only (the first)"
        return m
    if first > SLOW_CALL_S:
        calls, warmup = SLOW_CALLS, 0
        m.note = f"slow: {SLOW_CALLS} calls only"
    for _ in range(warmup - 1):
        _prepare(fn)
        fn()
    started = time.perf_counter()
    for n in range(calls):
        _once(m, fn)
        if n + 1 >= MIN_CALLS and time.perf_counter() - started > BUDGET_S:
            m.note = f"time budget: {n + 1} calls"
            break
    return m


def _projected(prev: SizeResult | None, key: str, ratio: float) -> float | None:
    """The seconds one call would take at this size, if the smaller size says it grows past
    PROJECT_LIMIT_S in proportion (then it is not run, and the report says so)."""
    if prev is None or key not in prev.measures or not prev.measures[key].ms:
        return None
    seconds = prev.measures[key].p50 / 1000 * ratio
    return seconds if seconds > PROJECT_LIMIT_S else None


def _once(m: Measure, fn: Callable[[], Any]) -> Any:
    _prepare(fn)
    c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
    out = fn()
    m.ms.append((time.perf_counter_ns() - t0) / 1e6)
    m.cpu.append((time.thread_time_ns() - c0) / 1e6)
    return out


def _slowest_statement(fn: Callable[[], Any]) -> tuple[str, float, int]:
    """The slowest SELECT of one call, its time and the number of statements of the call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    selects = [
        q
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    if not selects:
        return "", 0.0, len(captured.captured_queries)
    slow = max(selects, key=lambda q: float(q["time"]))
    return slow["sql"], float(slow["time"]) * 1000, len(captured.captured_queries)


def _explain(sql: str, settings: list[str] | None = None) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in settings or []:
            cursor.execute(statement)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def _plan_captured(res: SizeResult, key: str) -> None:
    """Keep the plan of the slowest SELECT of the measure's first call (and count them)."""
    m = res.measures[key]
    m.statements = len(m.captured)
    selects = [q for q in m.captured if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    if selects:
        sql = max(selects, key=lambda q: float(q["time"]))["sql"]
        res.plans[key] = (sql, _explain(sql))


def _plan(res: SizeResult, key: str, fn: Callable[[], Any]) -> None:
    """Keep the plan of the slowest statement of one call of `fn` (and count statements)."""
    sql, _ms, count = _slowest_statement(fn)
    if key in res.measures:
        res.measures[key].statements = count
    if sql:
        sets = _search_settings(fn) if key.startswith("search") else None
        res.plans[key] = (sql, _explain(sql, sets))


def _search_settings(fn: Callable[[], Any]) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return [
        q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith("SET ")
    ]


# --- the measurements -------------------------------------------------------------------------


def _client(user: Any) -> Any:
    """A browser-like client signed in as `user`, past the TOTP step (as tests do)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if getattr(user, "is_staff_role", False):
        device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
            user=user, name="bench", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def _get(client: Any, url: str) -> Callable[[], Any]:
    def call() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code}")
        return response

    return call


def bench_search(env: Any, res: SizeResult) -> None:
    from caseledger.access.context import AccessContext, Purpose
    from caseledger.people.selectors import search_persons

    from .search import make_queries

    data = res.data
    rng = random.Random(env.seed + 11)
    personas = (
        (
            "search_supervisor",
            "person search, supervisor (whole office)",
            AccessContext(
                user=data.supervisor, purpose=Purpose.OFFICE_SUPERVISION, request_id="bench-reads"
            ),
            data.sample,
        ),
        (
            "search_officer",
            "person search, case officer (caseload of 150)",
            AccessContext(user=data.officer, purpose=Purpose.CASELOAD, request_id="bench-reads"),
            data.caseload,
        ),
    )
    for key, label, ctx, targets in personas:
        queries = make_queries(targets, SEARCHES, rng)
        for q in queries[:5]:
            search_persons(ctx=ctx, query=q.text)
        m = res.add(Measure(key, label, "search"))
        for q in env.track(queries, f"{label} ({data.scale.label})"):
            _once(m, lambda ctx=ctx, q=q: search_persons(ctx=ctx, query=q.text))
        slow = max(queries, key=lambda q: len(q.text))
        misspelled = next((q for q in queries if q.kind == "misspelled"), slow)
        _plan(res, key, lambda ctx=ctx, text=misspelled.text: search_persons(ctx=ctx, query=text))
        _say(env, m)


def bench_pages(env: Any, res: SizeResult) -> None:
    data = res.data
    officer, supervisor = _client(data.officer), _client(data.supervisor)
    rng = random.Random(env.seed + 12)
    caseload_ids = [f.id for f in data.caseload]
    sample_ids = [f.id for f in data.sample]

    def person_page(client: Any, ids: list) -> Callable[[], Any]:
        return lambda: _get(client, f"/persons/{rng.choice(ids)}/")()

    pages = (
        (
            "person_officer",
            "person page, case officer",
            person_page(officer, caseload_ids),
            PAGE_CALLS,
        ),
        (
            "person_supervisor",
            "person page, supervisor",
            person_page(supervisor, sample_ids),
            PAGE_CALLS,
        ),
        (
            "caseload_officer",
            "caseload (people dashboard), case officer",
            _get(officer, "/persons/"),
            PAGE_CALLS,
        ),
        (
            "caseload_supervisor",
            "caseload (people dashboard), supervisor (office)",
            _get(supervisor, "/persons/"),
            PAGE_CALLS // 2,
        ),
        (
            "caseload_supervisor_refresh",
            "caseload (people dashboard), supervisor (office), office counts past their reuse "
            "time (recounted in the background)",
            _figures_past_their_time(_get(supervisor, "/persons/")),
            PAGE_CALLS // 2,
        ),
        (
            "caseload_supervisor_first",
            "caseload (people dashboard), supervisor (office), office counts counted in the "
            "view (none kept: a new deployment)",
            _no_figures_kept(_get(supervisor, "/persons/")),
            SLOW_PAGE_CALLS,
        ),
        (
            "dashboard_officer",
            "supervision dashboard, case officer",
            _get(officer, "/supervision/"),
            PAGE_CALLS,
        ),
        (
            "dashboard_supervisor",
            "supervision dashboard, supervisor (office)",
            _get(supervisor, "/supervision/"),
            PAGE_CALLS // 2,
        ),
        (
            "dashboard_supervisor_refresh",
            "supervision dashboard, supervisor (office), office counts past their reuse time "
            "(recounted in the background)",
            _figures_past_their_time(_get(supervisor, "/supervision/")),
            PAGE_CALLS // 2,
        ),
        (
            "dashboard_supervisor_first",
            "supervision dashboard, supervisor (office), office counts counted in the view "
            "(none kept: a new deployment)",
            _no_figures_kept(_get(supervisor, "/supervision/")),
            SLOW_PAGE_CALLS,
        ),
        (
            "reviews_officer",
            "review queue, case officer",
            _get(officer, "/supervision/reviews/"),
            PAGE_CALLS,
        ),
        (
            "reviews_supervisor",
            "review queue, supervisor (office)",
            _get(supervisor, "/supervision/reviews/"),
            PAGE_CALLS // 2,
        ),
    )
    prev = getattr(res, "previous", None)
    ratio = data.scale.persons / prev.scale.persons if prev else 1.0
    with _deadline_rows(env):
        _measure_pages(env, res, pages, prev, ratio)


def _prepare(fn: Callable[[], Any]) -> None:
    """What a call needs before it is timed (`_Prepared`), untimed."""
    prepare = getattr(fn, "prepare", None)
    if prepare is not None:
        prepare()


@dataclass
class _Prepared:
    """A call with an untimed step before each time it is made."""

    call: Callable[[], Any]
    prepare: Callable[[], None]

    def __call__(self) -> Any:
        return self.call()


def _figures_past_their_time(call: Callable[[], Any]) -> _Prepared:
    """`call` when the office's figures have passed their reuse time (`core.reuse`): the view
    gives the previous figures and starts their recount in a thread, as in service. Before
    each call, untimed: the recount the last call started is waited for, and the figures are
    made older than their reuse time (5 minutes: every office figure's)."""
    from django.conf import settings
    from django.db.models import F

    from caseledger.core import reuse
    from caseledger.core.models import Figure

    def age() -> None:
        settings.FIGURES_RECOUNT_IN_BACKGROUND = True
        reuse.wait_for_recounts()
        Figure.objects.update(computed_at=F("computed_at") - timedelta(seconds=301))

    return _Prepared(call, age)


def _no_figures_kept(call: Callable[[], Any]) -> _Prepared:
    """`call` with no office figure kept (the first view of a new deployment): the view counts
    them itself. The figures are forgotten before each call, untimed."""
    from caseledger.core import reuse
    from caseledger.core.models import Figure

    def forget() -> None:
        reuse.wait_for_recounts()
        Figure.objects.all().delete()

    return _Prepared(call, forget)


@contextlib.contextmanager
def _deadline_rows(env: Any) -> Iterator[None]:
    """One appeal deadline per decided case (due dates spread over 400 days, some in this
    week's window, most lapsed), so the dashboard's deadline board reads rows as a real office
    would: the data set's decided cases carry no decisions. Removed afterwards."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_open_deadline")
        if cursor.fetchone()[0]:
            yield
            return
        cursor.execute(
            "INSERT INTO cases_open_deadline (case_id, rule, trigger, due, time_zone) "
            "SELECT id, 'bia-appeal', current_date - (abs(hashtext(id::text)) % 400) - 30, "
            "current_date - (abs(hashtext(id::text)) % 400) + 170, 'America/New_York' "
            "FROM cases_case WHERE status = 'decided'"
        )
        env.console.print(f"  {cursor.rowcount:,} deadline rows added for the pages")
        cursor.execute("ANALYZE cases_open_deadline")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_open_deadline WHERE rule = 'bia-appeal'")


def _measure_pages(env: Any, res: SizeResult, pages: tuple, prev: Any, ratio: float) -> None:
    for key, label, call, calls in pages:
        env.console.print(f"  {label} ({res.data.scale.label}) ...")
        projected = _projected(prev, key, ratio)
        if projected is not None:
            m = res.add(
                Measure(
                    key,
                    label,
                    "page",
                    ms=[projected * 1000],
                    note=(
                        f"not run: {prev.measures[key].p50 / 1000:.0f} s per call at "
                        f"{prev.scale.persons:,} persons, in proportion ~{projected:,.0f} s here"
                    ),
                )
            )
            m.cpu = [math.nan]
            m.projected = True
            env.console.print(f"  {label}: {m.note}")
            continue
        kind = "first" if key.endswith("_first") else "page"  # "first": a one-off, no target
        m = res.add(_timed(Measure(key, label, kind), call, calls))
        _plan_captured(res, key)
        _say(env, m)


def bench_who_accessed(env: Any, res: SizeResult) -> None:
    from caseledger.access.context import AccessContext, Purpose
    from caseledger.access.history import access_history
    from caseledger.people.models import Person

    data = res.data
    participants = list(
        Person.objects.filter(participant_account__isnull=False)
        .exclude(pk=data.heavy_person)
        .select_related("participant_account")[:PARTICIPANTS]
    )
    contexts = [
        AccessContext(user=p.participant_account, purpose=Purpose.SELF_SERVICE)
        for p in participants
    ]
    prev = res.previous
    ratio = data.scale.events / prev.scale.events if prev else 1.0
    label = "who accessed my record, first page (participants)"
    projected = _projected(prev, "who_accessed", ratio)
    if projected is not None:
        m = res.by_events(
            Measure(
                "who_accessed",
                label,
                "page",
                ms=[projected * 1000],
                cpu=[math.nan],
                projected=True,
                note=(
                    f"not run: ~{prev.measures['who_accessed'].p50 / 1000:.0f} s per call at "
                    f"{prev.scale.events:,} events, in proportion ~{projected:,.0f} s here"
                ),
            )
        )
    else:
        calls = iter(contexts * 2)
        m = res.by_events(
            _timed(
                Measure("who_accessed", label, "page"),
                lambda: access_history(ctx=next(calls)),
                len(contexts),
                warmup=1,
            )
        )
        _plan_captured(res, "who_accessed")
    _say(env, m)
    # The same page with the query shape proposed in docs/BENCHMARKS.md (a UNION of the two
    # id sets instead of an OR with a sub-select): the selector's query, not its ledger event.
    shapes = iter([p.pk for p in participants] * 2)
    m = res.by_events(
        _timed(
            Measure(
                "who_accessed_union",
                "who accessed my record, first page, proposed query shape (UNION)",
                "page",
            ),
            lambda: _history_union(next(shapes)),
            len(participants),
            warmup=1,
        )
    )
    _plan_captured(res, "who_accessed_union")
    _say(env, m)
    heavy = Person.objects.select_related("participant_account").get(pk=data.heavy_person)
    ctx = AccessContext(user=heavy.participant_account, purpose=Purpose.SELF_SERVICE)
    m = res.by_events(
        _timed(
            Measure(
                "who_accessed_heavy",
                f"who accessed my record, first page, a person read {HEAVY:,} times",
                "page",
            ),
            lambda: access_history(ctx=ctx),
            PAGE_CALLS,
        )
    )
    _plan_captured(res, "who_accessed_heavy")
    _say(env, m)


def _history_union(person_id: Any) -> tuple[list, int]:
    """`access.history.access_history`'s query for a participant, as proposed: the events
    that name the person, UNION those that listed the person, then the staff roles."""
    from caseledger.access import policies
    from caseledger.access.policies import Ability
    from caseledger.ledger.models import Event, EventSubject

    named = Event.objects.filter(subject_id=person_id).values("pk")
    listed = EventSubject.objects.filter(subject_id=person_id).values("event_id")
    qs = Event.objects.filter(
        pk__in=named.union(listed), actor_role__in=policies.roles_with(Ability.STAFF_PAGES)
    )
    qs = qs.order_by("-time", "-id")
    return list(qs[:50]), qs.count()


def bench_proofs(env: Any, res: SizeResult) -> None:
    from django.test import Client

    from caseledger.ledger.models import Checkpoint, Entry

    size = Checkpoint.objects.order_by("-size").values_list("size", flat=True).first() or 0
    rng = random.Random(env.seed + 13)
    positions = [rng.randrange(size) for _ in range(PROOFS + 20)]
    ids = dict(Entry.objects.filter(position__in=positions).values_list("position", "event__uuid"))
    uuids = [str(ids[p]) for p in positions if p in ids]
    client = Client()

    def call(u: str) -> None:
        response = client.get(f"/api/v1/ledger/proofs/inclusion?event={u}")
        if response.status_code != 200:
            raise RuntimeError(f"proof {u}: {response.status_code} {response.content[:200]}")

    for u in uuids[:20]:
        call(u)
    m = res.by_events(Measure("proof", f"inclusion proof over HTTP (tree of {size:,})", "proof"))
    for u in uuids[20:]:
        _once(m, lambda u=u: call(u))
    _plan(res, "proof", lambda: call(uuids[0]))
    _say(env, m)


def bench_export(env: Any, res: SizeResult) -> None:
    """Export the log, then verify it with the auditor's tool; the export is deleted after."""
    from caseledger.ledger.export import export_ledger
    from caseledger.ledger.models import Entry

    total = Entry.objects.count()
    scratch = Path(
        tempfile.mkdtemp(
            prefix="caseledger-bench-export-", dir=os.environ.get("CASELEDGER_BENCH_TMP") or None
        )
    )
    try:
        out = scratch / "export"
        with env.progress_bar(f"export ({res.data.scale.label})", total) as bar:
            t0 = time.perf_counter()
            written, checkpoints = export_ledger(out, chunk=50_000, progress=bar)
            export_s = time.perf_counter() - t0
        size_mb = (out / "entries.jsonl").stat().st_size / 1e6
        res.by_events(
            Measure(
                "export",
                f"`caseledger ledger export` of {written:,} entries ({size_mb:,.0f} MB)",
                "batch",
                seconds=export_s,
            )
        )
        env.console.print(f"  export: {written:,} entries in {export_s:.1f} s")
        command = [
            sys.executable,
            "-m",
            "caseledger_verify",
            "export",
            str(out),
            "--state",
            str(scratch / "state"),
        ]
        cli_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        before = os.times()
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=cli_env, timeout=3600)
        wall = time.perf_counter() - t0
        after = os.times()
        cpu = (
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system
        )
        outcome = (done.stdout + done.stderr).strip().splitlines()
        verdict = "ok" if done.returncode == 0 else f"exit {done.returncode}"
        m = res.by_events(
            Measure(
                "verify",
                f"`caseledger-verify export` of {written:,} entries",
                "batch",
                seconds=wall,
                note=f"{verdict}, CPU {cpu:.1f} s, {checkpoints} checkpoint(s); "
                f"{outcome[-1] if outcome else ''}",
            )
        )
        env.console.print(f"  verify: {wall:.1f} s ({m.note})")
        if done.returncode != 0:
            raise RuntimeError("caseledger-verify refused the export:\n" + "\n".join(outcome))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def bench_anomaly(env: Any, res: SizeResult) -> None:
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from caseledger.core import clock
    from caseledger.ledger.models import Event
    from caseledger.reports import anomalies
    from caseledger.reports.periods import parse_week

    today = clock.now().date()
    last_week = today - timedelta(days=7)
    year, week, _ = last_week.isocalendar()
    period = parse_week(f"{year}-W{week:02d}")
    in_week = anomalies.week_events(period.start, period.end).count()
    values = anomalies.thresholds()
    timings: list[float] = []
    for _ in range(ANOMALY_RUNS):
        t0 = time.perf_counter()
        flags = anomalies.evaluate(period.start, period.end, values)
        timings.append(time.perf_counter() - t0)
        if timings[-1] > 60:
            break
    total = Event.objects.count()
    res.by_events(
        Measure(
            "anomaly",
            f"weekly anomaly rules, week {year}-W{week:02d} "
            f"({in_week:,} of {total:,} events), median of {len(timings)}",
            "batch",
            seconds=statistics.median(timings),
            note=f"{len(flags)} items; runs " + ", ".join(f"{t:.1f}" for t in timings),
        )
    )
    env.console.print(f"  anomaly: median {statistics.median(timings):.1f} s")
    with CaptureQueriesContext(connection) as captured:
        anomalies.evaluate(period.start, period.end, values)
    slow = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:2]
    for n, q in enumerate(slow):
        res.plans[f"anomaly{n + 1}"] = (q["sql"], _explain(q["sql"]))


def bench_reminders(env: Any, res: SizeResult) -> None:
    """`plan_hearings` over the first upcoming hearings, committed chunk by chunk as
    `notices plan-all` runs it; the reminders it made are deleted afterwards, so the next run
    plans them again. (Inside one transaction the planner never sees statistics of the
    growing `notices_reminder` table and each chunk's look-up reads every reminder made so
    far: quadratic, and not what a deployment runs.)"""
    from caseledger.cases.models import Hearing
    from caseledger.core import clock
    from caseledger.notices.models import Reminder
    from caseledger.notices.planner import plan_hearings

    n = min(100_000, res.data.scale.persons // 10)
    ids = list(
        Hearing.objects.filter(scheduled_at__gt=clock.now(), status="scheduled")
        .order_by("scheduled_at")
        .values_list("pk", flat=True)[:n]
    )
    _delete_reminders(ids)
    t0 = time.perf_counter()
    first = plan_hearings(Hearing.objects.filter(pk__in=ids).order_by("scheduled_at"))
    seconds = time.perf_counter() - t0
    made = Reminder.objects.filter(obligation_type="hearing").count()
    _delete_reminders(ids)
    res.add(
        Measure(
            "reminders",
            f"reminder planning, {len(ids):,} upcoming hearings (first pass)",
            "batch",
            seconds=seconds,
            note=f"{first.created:,} reminders planned ({made:,} rows; deleted after)",
            size=len(ids),
            unit="hearings",
        )
    )
    env.console.print(f"  reminders: {len(ids):,} hearings in {seconds:.1f} s")


def _delete_reminders(hearing_ids: list) -> None:
    from caseledger.notices.models import Reminder

    keys = [str(i) for i in hearing_ids]
    for start in range(0, len(keys), 5_000):
        Reminder.objects.filter(
            obligation_type="hearing", obligation_id__in=keys[start : start + 5_000]
        ).delete()


STEPS = (
    bench_search,
    bench_pages,
    bench_who_accessed,
    bench_proofs,
    bench_anomaly,
    bench_reminders,
    bench_export,
)


def _say(env: Any, m: Measure) -> None:
    env.console.print(
        f"  {m.label}: p50 {report.fmt_ms(m.p50)} ms, p95 "
        f"{report.fmt_ms(m.p95)} ms, CPU p50 "
        f"{report.fmt_ms(report.percentile(m.cpu, 50))} ms (n={len(m.ms)})"
    )


# --- running ----------------------------------------------------------------------------------


def _scales(env: Any) -> tuple:
    from . import dataset

    chosen = os.environ.get("CASELEDGER_BENCH_SCALES")
    all_scales = {
        s.label: s for s in (*dataset.SCALES, *dataset.QUICK_SCALES, *dataset.OTHER_SCALES)
    }
    if chosen:
        return tuple(all_scales[label] for label in chosen.split(","))
    return dataset.QUICK_SCALES if env.quick else dataset.SCALES


def run(env: Any) -> str:
    from django.db import connection

    from . import dataset

    if connection.vendor != "postgresql":
        return (
            f"## {TITLE}{env.label}\n\n{env.stamp()}\n\nNot run: the data set at scale is "
            "built by COPY on PostgreSQL (run `make bench`)."
        )
    results = []
    for scale in _scales(env):
        env.console.rule(f"{scale.persons:,} persons, {scale.events:,} events")
        with dataset.scale_database(
            scale, progress_bar=env.progress_bar, say=env.console.print
        ) as data:
            res = SizeResult(
                scale, data, load=report.load_average(), previous=results[-1] if results else None
            )
            _freeze_heap()
            for step in STEPS:
                if os.environ.get("CASELEDGER_BENCH_SKIP", "") and step.__name__ in os.environ[
                    "CASELEDGER_BENCH_SKIP"
                ].split(","):
                    continue
                step(env, res)
            res.events_in_log = _events_in_log()
            res.load += f" at start, {report.load_average()} at end"
            results.append(res)
            gc.unfreeze()
        _save(env, res)
    charts = _charts(env, results)
    return _markdown(env, results, charts)


def _freeze_heap() -> None:
    """Move what this process holds by now (the data set's facts for the queries, the modules)
    out of the collector's reach: otherwise a full collection, about one timed call in ten,
    walks all of it (millions of objects at 10^6 persons), 100-200 ms of Python in that call.
    A serving worker holds far less; whether and how long it pauses was not measured.
    (`gc.freeze()` in the server's workers was tried and not kept: it lowered check-ins per
    second; see docs/BENCHMARKS.md.)"""
    gc.collect()
    gc.freeze()


def _events_in_log() -> int:
    from caseledger.ledger.models import Entry

    return Entry.objects.count()


def _save(env: Any, res: SizeResult) -> None:
    """Keep the figures of one size (var/bench-scale/), for a look without a rerun."""
    from django.conf import settings

    path = Path(settings.BASE_DIR if hasattr(settings, "BASE_DIR") else ".") / "var"
    path = Path(__file__).resolve().parents[1] / "var" / "bench-scale"
    path.mkdir(parents=True, exist_ok=True)
    figures = {
        k: {
            "label": m.label,
            "kind": m.kind,
            "p50": m.p50 if m.ms else None,
            "cpu_p50": report.percentile(m.cpu, 50) if m.cpu else None,
            "p95": m.p95 if m.ms else None,
            "n": len(m.ms),
            "seconds": m.seconds,
            "note": m.note,
            "statements": m.statements,
        }
        for k, m in res.measures.items()
    }
    (path / f"results-{res.scale.label}{env.suffix}.json").write_text(
        json.dumps(
            {"scale": res.scale.__dict__, "load": res.load, "figures": figures, "plans": res.plans},
            indent=1,
            default=str,
        )
    )


# --- the report -------------------------------------------------------------------------------


def _target(m: Measure) -> tuple[str, bool | None]:
    if m.kind == "batch":
        limit = TARGET_S.get(m.key)
        if limit is None:
            return "–", None
        return f"≤ {limit:.0f} s", m.seconds is not None and m.seconds <= limit
    limit = TARGET_MS.get(m.kind)
    if limit is None:
        return "–", None
    return f"p95 ≤ {limit:.0f} ms", m.p95 <= limit


def _growth(a: float, b: float, ratio: float) -> str:
    """The exponent k of cost ∝ size^k between two sizes (1 linear, 0 flat)."""
    if not (a and b) or a <= 0 or b <= 0 or math.isnan(a) or math.isnan(b):
        return "–"
    return f"{math.log(b / a) / math.log(ratio):+.2f}"


def _markdown(env: Any, results: list[SizeResult], charts: list[str]) -> str:
    lines = [f"## {TITLE}{env.label}", "", env.stamp(), ""]
    lines += [_describe(r) for r in results]
    lines += ["", _summary_table(results), ""]
    for chart in charts:
        lines += [f"![{chart}](img/{chart})", ""]
    lines += _notes(results)
    for res in results:
        for key, (sql, plan) in res.plans.items():
            label = res.measures[key].label if key in res.measures else key
            lines += [
                "",
                f"<details><summary>Plan at {res.scale.persons:,} persons / "
                f"{res.scale.events:,} events: slowest statement of {label}</summary>",
                "",
                "```sql",
                _short(sql, 1500),
                "```",
                "",
                "```",
                "\n".join(_short(line, 300) for line in plan.splitlines()),
                "```",
                "",
                "</details>",
            ]
    return "\n".join(lines)


def _plain_label(label: str) -> str:
    """The label without the size it was measured at (the columns give the sizes)."""
    import re

    label = re.sub(r" \((tree of|week) [^)]*\)", "", label)
    label = re.sub(r" of [\d,]+ entries( \([^)]*\))?", "", label)
    label = re.sub(r", week \S+ \([^)]*\), median of \d+", ", last full week", label)
    return re.sub(r", [\d,]+ upcoming hearings", ", upcoming hearings", label)


def _short(text: str, limit: int) -> str:
    """Long IN lists of ids make plans unreadable: keep the head of a long line."""
    return text if len(text) <= limit else text[:limit] + " …"


def _describe(res: SizeResult) -> str:
    c, s, d = res.data.counts, res.data.seconds, res.data
    built = "reused from an earlier run" if d.reused else "built by this run"
    if d.migrated_since:
        built += f", {d.migrated_since} migration(s) applied to it since"
    return (
        f"- **{res.scale.persons:,} persons / {res.scale.events:,} events** "
        f"(`{res.scale.database}`, {built}, {d.built_at}): {c['names']:,} names "
        f"({c['aliases']:,} aliases), {c['addresses']:,} addresses, {c['contacts']:,} "
        f"contacts, {c['cases']:,} cases with as many proceedings, {c['hearings']:,} hearings "
        f"({c['upcoming_hearings']:,} upcoming); {c['caseload']:,} persons in caseloads of "
        f"{150} ({c['caseload'] // 150} officers), {c['enrolments']:,} enrolments with "
        f"{c['checkins']:,} check-ins and {c['reviews']:,} reviews ({c['open_reviews']:,} "
        f"open); {c['events']:,} ledger events ({c['event_subjects']:,} subject rows of "
        f"searches and lists), placed in the chain and the Merkle tree, one signed "
        f"checkpoint. Built in {sum(s.values()):.0f} s: persons {s['persons']:.0f} s, "
        f"events {s['events']:.0f} s ({c['events'] / max(s['events'], 1e-9):,.0f}/s), "
        f"integration {s['integrate']:.0f} s "
        f"({c['placed'] / max(s['integrate'], 1e-9):,.0f}/s). Load average {res.load}."
    )


def _summary_table(results: list[SizeResult]) -> str:
    keys = list(dict.fromkeys(k for r in results for k in r.measures))
    header = ["benchmark"]
    for r in results:
        header.append(f"{r.scale.persons:,} p. / {r.scale.events:,} ev.")
    header += ["growth k", "target", "met at largest"]
    rows = []
    for key in keys:
        ms = [r.measures.get(key) for r in results]
        first = next(m for m in ms if m is not None)
        cells = [_plain_label(first.label)]
        for m in ms:
            if m is None:
                cells.append("–")
            elif m.projected:
                cells.append(f"not run (~{m.ms[0] / 1000:,.0f} s projected)")
            elif m.kind == "batch":
                cells.append(f"**{m.seconds:.1f} s**")
            else:
                cpu = report.percentile([c for c in m.cpu if not math.isnan(c)], 50)
                cells.append(
                    f"p50 {report.fmt_ms(m.p50)}, **p95 {report.fmt_ms(m.p95)}** ms "
                    f"(CPU {report.fmt_ms(cpu)}, n={len(m.ms)})"
                )
        if any(m is not None and m.projected for m in ms):
            cells.append("–")
        elif len(results) == 2 and all(ms) and ms[0].size and ms[1].size > ms[0].size:
            ratio = ms[1].size / ms[0].size
            cells.append(f"{_growth(ms[0].cost(), ms[1].cost(), ratio)} ({ms[0].unit} ×{ratio:g})")
        else:
            cells.append("–")
        last = next(m for m in reversed(ms) if m is not None)
        target, ok = _target(last)
        verdict = "–" if ok is None else ("met" if ok else "**not met**")
        cells += [target, verdict + (" (projected)" if last.projected else "")]
        rows.append(cells)
    return report.table(header, rows, "l" + "r" * (len(header) - 1))


def _notes(results: list[SizeResult]) -> list[str]:
    out = ["Notes:", ""]
    out.append(
        "- *growth k* is the exponent of cost ∝ size^k between the two sizes, against what the "
        "benchmark's cost depends on (persons, ledger events or hearings; the factor is in "
        "brackets): 0 means the cost does not grow with the data, 1 that it grows in proportion "
        "(linearly), in between logarithmic-like growth. *CPU* is this process's CPU time per "
        "call (Django, the gate, the ledger event, the template; not the database server's), "
        "the figure least moved by the load of the shared machine."
    )
    for res in results:
        extra = [f"{m.label}: {m.note}" for m in res.measures.values() if m.note]
        stm = [
            f"{m.label} {m.statements:.0f}"
            for m in res.measures.values()
            if m.statements is not None
        ]
        out.append(
            f"- At {res.scale.persons:,} persons: " + "; ".join(extra) + ". SQL "
            "statements per call: " + ", ".join(stm) + "."
        )
    return out


def _charts(env: Any, results: list[SizeResult]) -> list[str]:
    """Log-log SVG charts of cost against size under docs/img/; their names."""
    try:
        import matplotlib

        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    if len(results) < 2:
        return []
    img = Path(getattr(env, "out", Path("docs/BENCHMARKS.md"))).parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    plt.rcParams["svg.hashsalt"] = "caseledger-bench"  # stable ids: diffs show real changes
    last = results[-1].measures
    groups = (
        (
            CHARTS[0],
            [k for k, m in last.items() if m.kind != "batch" and m.unit == "persons"],
            "persons",
            "p95 per call (ms)",
            [("target search 50 ms", 50), ("target page 200 ms", 200)],
        ),
        (
            CHARTS[1],
            [k for k, m in last.items() if m.kind != "batch" and m.unit == "events"],
            "ledger events",
            "p95 per call (ms)",
            [("target proof 5 ms", 5), ("target page 200 ms", 200)],
        ),
        (
            CHARTS[2],
            [k for k, m in last.items() if m.kind == "batch"],
            "ledger events (reminders: hearings)",
            "seconds per run",
            [("target 30 s", 30), ("target 60 s", 60)],
        ),
    )
    written = []
    for name, keys, xlabel, ylabel, targets in groups:
        if not keys:
            continue
        fig, ax = plt.subplots(figsize=(8, 5))
        for key in keys:
            points = [
                (r.measures[key].size, r.measures[key].cost())
                for r in results
                if key in r.measures and not r.measures[key].projected
            ]
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="o",
                label=last[key].label.split(" (")[0][:60],
            )
        for text, limit in targets:
            ax.axhline(limit, linestyle=":", linewidth=0.8, color="grey")
            ax.annotate(
                text,
                (ax.get_xlim()[0], limit),
                fontsize=7,
                color="grey",
                xytext=(4, 2),
                textcoords="offset points",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"size: {xlabel} (log)")
        ax.set_ylabel(f"{ylabel} (log)")
        ax.set_title("Cost against size (log-log: slope 1 = linear growth, 0 = flat)")
        ax.legend(fontsize=7, loc="best")
        ax.grid(True, which="both", linewidth=0.3)
        fig.tight_layout()
        fig.savefig(img / name, format="svg", metadata={"Date": None})
        plt.close(fig)
        written.append(name)
    return written
