"""What the access gate and the ledger add to a read of one person's record.

Three ways to read the same data (person, names, addresses, contacts, cases with their
proceedings: the statements `people.selectors.get_person` issues), in the same run,
interleaved so that caches and drift treat them alike:

- plain: the ORM alone, by primary key;
- gate only: the same, starting from `access.gate.visible_persons(ctx)` (no event);
- audited: `get_person(ctx=..., person_id=...)`, the gate plus its ledger event.

On PostgreSQL events are written by the read and chained later by the integrator
(`LEDGER_INTEGRATE_INLINE` is false), so the benchmark also times `integrate_pending()`
over the events these reads produced. On SQLite the chain is extended inside each write,
so that cost is already part of the audited read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from . import report

NAME = "gate_cost"
TITLE = "Access gate + ledger cost per read"
REQUEST_ID = "bench-gate"
WARMUP = 20


def _read_rows(person) -> tuple:
    names = list(person.names.order_by("kind", "full_name"))
    addresses = list(person.addresses.order_by("-valid_from"))
    contacts = list(person.contacts.order_by("kind", "-preferred"))
    cases = list(person.cases.order_by("-opened_on").prefetch_related("proceedings"))
    return person, names, addresses, contacts, cases


def plain_read(pid) -> tuple:
    from caseledger.people.models import Person

    return _read_rows(Person.objects.filter(pk=pid).first())


def gate_only_read(ctx, pid) -> tuple:
    from caseledger.access.gate import visible_persons

    return _read_rows(visible_persons(ctx).filter(pk=pid).first())


def audited_read(ctx, pid):
    from caseledger.people.selectors import get_person

    return get_person(ctx=ctx, person_id=pid)


def _statements(fn: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def run(env) -> str:
    from caseledger.access.context import AccessContext, Purpose
    from caseledger.ledger.models import Event
    from caseledger.ledger.services import integrate_pending

    pop = env.population
    n = pop.sizes.reads
    rng = random.Random(env.seed + 2)
    inline = settings.LEDGER_INTEGRATE_INLINE
    officer_ids = [pop.caseload[i % len(pop.caseload)].id for i in range(n)]
    rng.shuffle(officer_ids)
    personas = [
        (
            "case officer (caseload)",
            AccessContext(user=pop.officer, purpose=Purpose.CASELOAD, request_id=REQUEST_ID),
            officer_ids,
        ),
        (
            "supervisor (whole office)",
            AccessContext(
                user=pop.supervisor, purpose=Purpose.OFFICE_SUPERVISION, request_id=REQUEST_ID
            ),
            list(pop.supervisor_reads[:n]),
        ),
    ]

    # Start from an empty backlog so the timed integration covers exactly these reads' events.
    if not inline:
        integrate_pending()
    events = 0

    results: dict[str, dict[str, list[int]]] = {}
    statements: dict[str, dict[str, int]] = {}
    for label, ctx, ids in personas:
        variants: dict[str, Callable[[object], object]] = {
            "plain ORM": plain_read,
            "gate only": lambda pid, ctx=ctx: gate_only_read(ctx, pid),
            "audited (get_person)": lambda pid, ctx=ctx: audited_read(ctx, pid),
        }
        names = list(variants)
        counted: dict[str, list[int]] = {name: [] for name in names}
        for pid in ids[:WARMUP]:
            for name in names:
                counted[name].append(_statements(lambda f=variants[name], p=pid: f(p)))
        statements[label] = {name: sum(c) / len(c) for name, c in counted.items()}
        timings: dict[str, list[int]] = {name: [] for name in names}
        events_before = Event.objects.filter(request_id=REQUEST_ID).count()
        for i, pid in enumerate(env.track(ids, f"reads as {label}")):
            order = names[i % 3 :] + names[: i % 3]  # rotate who goes first
            for name in order:
                t0 = time.perf_counter_ns()
                variants[name](pid)
                timings[name].append(time.perf_counter_ns() - t0)
        events += Event.objects.filter(request_id=REQUEST_ID).count() - events_before
        results[label] = timings
        plain = report.summarize_ms(timings["plain ORM"])["p50"]
        audited = report.summarize_ms(timings["audited (get_person)"])["p50"]
        env.console.print(
            f"  {label}: plain {report.fmt_ms(plain)} ms, audited {report.fmt_ms(audited)} ms "
            f"(x{audited / plain:.2f})"
        )

    integration = None
    if not inline:
        pending = Event.objects.filter(entry__isnull=True).count()
        t0 = time.perf_counter()
        placed = integrate_pending()
        seconds = time.perf_counter() - t0
        integration = (pending, placed, seconds)
        env.console.print(
            f"  integrate_pending: {placed:,} events in {seconds:.2f} s "
            f"({placed / max(seconds, 1e-9):,.0f} events/s)"
        )
    ledger_size = Event.objects.count()
    return _markdown(env, results, statements, events, integration, inline, ledger_size)


def _markdown(env, results, statements, events, integration, inline: bool, ledger_size: int) -> str:
    pop = env.population
    lines = [
        f"## {TITLE}{env.label}",
        "",
        env.stamp(),
        "",
        f"Same data set as the search benchmark ({pop.counts['persons']:,} persons). The case "
        f"officer reads the {len(pop.caseload)} persons of their caseload in turn; the "
        f"supervisor reads {len(pop.supervisor_reads[: pop.sizes.reads]):,} different persons "
        "of the office. Each read fetches the person, names, addresses, contacts and cases "
        "with their proceedings; the three variants read the same person one after another, "
        f"in rotating order, after {WARMUP} untimed warm-up reads.",
        "",
    ]
    rows = []
    for label, timings in results.items():
        plain = report.summarize_ms(timings["plain ORM"])
        for name, values in timings.items():
            s = report.summarize_ms(values)
            rows.append(
                [
                    label,
                    name,
                    report.fmt_int(s["n"]),
                    f"{statements[label][name]:.1f}",
                    report.fmt_ms(s["p50"]),
                    report.fmt_ms(s["p95"]),
                    report.fmt_ms(s["p50"] - plain["p50"]),
                    f"{s['p50'] / plain['p50']:.2f}",
                ]
            )
    lines.append(
        report.table(
            [
                "persona",
                "read",
                "reads",
                "SQL statements (mean)",
                "median ms",
                "p95 ms",
                "median − plain ms",
                "ratio to plain",
            ],
            rows,
            "llrrrrrr",
        )
    )
    lines += ["", "Notes:", ""]
    drift = []
    for label, timings in results.items():
        audited = timings["audited (get_person)"]
        quarter = max(len(audited) // 4, 1)
        first = report.summarize_ms(audited[:quarter])["p50"]
        last = report.summarize_ms(audited[-quarter:])["p50"]
        drift.append(f"{label} {report.fmt_ms(first)} → {report.fmt_ms(last)} ms")
    lines.append(
        "- Median audited read in the first vs the last quarter of each persona's reads "
        f"(the ledger grows by one event per read, {ledger_size:,} events at the end): "
        + "; ".join(drift)
        + "."
    )
    lines.append(
        "- *SQL statements* is the mean per read over the warm-up reads (the ledger's share "
        "varies with the event's place in the log)."
    )
    lines.append(
        f"- The {sum(len(t['audited (get_person)']) for t in results.values()):,} timed "
        f"audited reads wrote {events:,} ledger events, "
        "each a canonical encoding and SHA-256 leaf hash inserted in its own transaction "
        "before the data is returned."
    )
    if integration:
        pending, placed, seconds = integration
        lines.append(
            "- `LEDGER_INTEGRATE_INLINE` is false on PostgreSQL: a read only inserts its event; "
            "the integrator chains committed events out of line. `integrate_pending()` then "
            f"placed {placed:,} of {pending:,} pending events (the timed reads' and the warm-up "
            f"reads') in {seconds:.2f} s: "
            f"**{placed / max(seconds, 1e-9):,.0f} events/s** (one batch of up to 5,000 per "
            "transaction, hash chain computed in Python, entries written with `bulk_create`)."
        )
    elif inline:
        lines.append(
            "- `LEDGER_INTEGRATE_INLINE` is true here (SQLite): each event is chained as it is "
            "written, so the integration cost is inside the audited read's time."
        )
    return "\n".join(lines)
