"""Person search: `people.selectors.search_persons` over the whole population.

Two personas: the supervisor of the office that holds every person (the most a search can
see, so the worst case) and a case officer whose caseload is ~150 of them. Each runs the
same mix of queries an officer types: exact names, misspellings (a letter dropped,
doubled or swapped), transliteration variants (another romanisation, the name in its own
script, family name first) and A-numbers in the usual formats. A timed call is the whole
selector: the gate's visibility filter, the trigram/skeleton ranking (rapidfuzz in memory
on SQLite), the ledger event and the fetch of the persons returned.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext

from . import report
from .dataset import Facts, icao, spelling_variant

NAME = "search"
TITLE = "Person search"
KINDS = (("exact", 0.25), ("misspelled", 0.30), ("transliterated", 0.30), ("a_number", 0.15))
CASELOAD_SHARE = 0.75  # of the officer's queries aim at their own caseload; the rest outside


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    target: uuid.UUID


@dataclass(frozen=True)
class Outcome:
    query: Query
    ns: int
    results: int
    found: bool
    visible: bool


def misspell(name: str, rng: random.Random) -> str:
    words = name.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4]
    i = rng.choice(long_words or [i for i, w in enumerate(words) if len(w) >= 2] or [0])
    word = words[i]
    if len(word) < 3:
        words[i] = word + word[-1:]
        return " ".join(words)
    op = rng.choice(("drop", "double", "swap"))
    pos = rng.randrange(1, len(word) - 1)
    if op == "swap" and word[pos] != word[pos + 1]:
        word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
    elif op == "double":
        word = word[:pos] + word[pos] + word[pos:]
    else:
        word = word[:pos] + word[pos + 1 :]
    words[i] = word
    return " ".join(words)


def transliterate(facts: Facts, rng: random.Random) -> str:
    """Another spelling of the name, the way a different document or clerk writes it."""
    if facts.script == "cyrillic":
        given = icao(facts.native_given, facts.locale)
        passport = f"{given} {icao(facts.native_family, facts.locale)}"
        if rng.random() < 0.4 or passport.lower() == facts.latin_full.lower():
            return facts.native_full
        return passport
    if facts.script == "han":
        return facts.native_full if rng.random() < 0.5 else f"{facts.family} {facts.given}"
    if facts.given_variants or facts.family_variants:
        if rng.random() < 0.7:
            given = rng.choice(facts.given_variants or (facts.given,))
            family = rng.choice(facts.family_variants or (facts.family,))
            if (given, family) != (facts.given, facts.family):
                return f"{given} {family}"
        return facts.native_full
    if facts.script == "arabic":
        return facts.native_full
    return spelling_variant(facts.latin_full, rng) or f"{facts.family} {facts.given}"


def format_a_number(a_number: str, rng: random.Random) -> str:
    digits = a_number[1:]
    return rng.choice(
        (
            a_number,
            f"A-{digits[:3]}-{digits[3:6]}-{digits[6:]}",
            digits,
            f"a{digits}",
            f"A {digits[:3]} {digits[3:6]} {digits[6:]}",
        )
    )


def make_queries(targets: Sequence[Facts], n: int, rng: random.Random) -> list[Query]:
    if n <= 0 or not targets:
        return []
    counts = [round(n * share) for _kind, share in KINDS]
    counts[0] += n - sum(counts)
    numbered = [f for f in targets if f.a_number]
    queries = []
    for (kind, _share), count in zip(KINDS, counts, strict=True):
        for _ in range(count):
            facts = rng.choice(numbered if kind == "a_number" and numbered else targets)
            if kind == "exact":
                text = facts.latin_full
            elif kind == "misspelled":
                text = misspell(facts.latin_full, rng)
            elif kind == "transliterated":
                text = transliterate(facts, rng)
            else:
                text = format_a_number(facts.a_number or "", rng)
            queries.append(Query(kind, text, facts.id))
    rng.shuffle(queries)
    return queries


def _plan(ctx, text: str) -> tuple[str, bool]:
    """EXPLAIN ANALYZE of the ranking statement of one name search (PostgreSQL only)."""
    from caseledger.people.selectors import search_persons

    with CaptureQueriesContext(connection) as captured:
        search_persons(ctx=ctx, query=text)
    statements = [q["sql"] for q in captured.captured_queries]
    # The selector sets pg_trgm's threshold (a SET statement, itself mentioning "similarity")
    # before its ranking SELECT: explain the SELECT, under the same settings.
    set_statements = [sql for sql in statements if sql.lstrip().upper().startswith("SET ")]
    ranking = [
        sql
        for sql in statements
        if sql.lstrip().upper().startswith("SELECT") and "similarity" in sql.lower()
    ]
    if not ranking:
        return "", False
    with connection.cursor() as cursor:
        for sql in set_statements:
            cursor.execute(sql)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + ranking[0])
        lines = [row[0] for row in cursor.fetchall()]
    uses_trigram_index = any("_trgm" in line for line in lines)
    return "\n".join(lines), uses_trigram_index


def run(env) -> str:
    from caseledger.access.context import AccessContext, Purpose
    from caseledger.access.gate import visible_persons
    from caseledger.people.selectors import SEARCH_LIMIT, search_persons

    pop = env.population
    sizes = pop.sizes
    rng = random.Random(env.seed + 1)
    caseload_ids = {f.id for f in pop.caseload}
    outsiders = [f for f in pop.persons if f.id not in caseload_ids]
    inside = round(sizes.queries * CASELOAD_SHARE)
    personas = [
        (
            "supervisor (whole office)",
            AccessContext(
                user=pop.supervisor, purpose=Purpose.OFFICE_SUPERVISION, request_id="bench-search"
            ),
            make_queries(pop.persons, sizes.queries, rng),
            make_queries(pop.persons, sizes.warmup, rng),
        ),
        (
            "case officer (caseload)",
            AccessContext(user=pop.officer, purpose=Purpose.CASELOAD, request_id="bench-search"),
            make_queries(pop.caseload, inside, rng)
            + make_queries(outsiders, sizes.queries - inside, rng),
            make_queries(pop.caseload, sizes.warmup, rng),
        ),
    ]

    outcomes: dict[str, list[Outcome]] = {}
    visible_counts: dict[str, int] = {}
    plans: dict[str, tuple[str, bool]] = {}
    for label, ctx, queries, warmup in personas:
        visible_ids = set(visible_persons(ctx).values_list("pk", flat=True))
        visible_counts[label] = len(visible_ids)
        for q in warmup:
            search_persons(ctx=ctx, query=q.text)
        rows = []
        for q in env.track(queries, f"search as {label}"):
            t0 = time.perf_counter_ns()
            hits = search_persons(ctx=ctx, query=q.text)
            elapsed = time.perf_counter_ns() - t0
            ids = {person.pk for person, _hit in hits}
            rows.append(Outcome(q, elapsed, len(hits), q.target in ids, q.target in visible_ids))
        outcomes[label] = rows
        if connection.vendor == "postgresql":
            sample = next((q for q in queries if q.kind == "misspelled"), queries[0])
            plans[label] = _plan(ctx, sample.text)
        summary = report.summarize_ms([o.ns for o in rows])
        env.console.print(
            f"  {label}: p50 {report.fmt_ms(summary['p50'])} ms, "
            f"p95 {report.fmt_ms(summary['p95'])} ms, max {report.fmt_ms(summary['max'])} ms"
        )

    return _markdown(env, outcomes, visible_counts, plans, SEARCH_LIMIT)


def _found(rows: Sequence[Outcome]) -> str:
    visible = [o for o in rows if o.visible]
    if not visible:
        return "–"
    return f"{sum(o.found for o in visible) / len(visible):.0%}"


def _markdown(env, outcomes, visible_counts, plans, limit: int) -> str:
    pop = env.population
    lines = [
        f"## {TITLE}{env.label}",
        "",
        env.stamp(),
        "",
        _describe_population(pop),
        "",
        "Per persona (all query kinds together):",
        "",
    ]
    rows = []
    for label, data in outcomes.items():
        s = report.summarize_ms([o.ns for o in data])
        rows.append(
            [
                label,
                report.fmt_int(visible_counts[label]),
                report.fmt_int(s["n"]),
                report.fmt_ms(s["p50"]),
                report.fmt_ms(s["p95"]),
                report.fmt_ms(s["max"]),
                f"{sum(o.results for o in data) / max(len(data), 1):.1f}",
                _found(data),
            ]
        )
    lines.append(
        report.table(
            [
                "persona",
                "visible persons",
                "queries",
                "p50 ms",
                "p95 ms",
                "max ms",
                "mean results",
                "target found",
            ],
            rows,
        )
    )
    lines += ["", "By query kind:", ""]
    rows = []
    for label, data in outcomes.items():
        for kind, _share in KINDS:
            subset = [o for o in data if o.query.kind == kind]
            if not subset:
                continue
            s = report.summarize_ms([o.ns for o in subset])
            rows.append(
                [
                    label,
                    kind,
                    report.fmt_int(s["n"]),
                    report.fmt_ms(s["p50"]),
                    report.fmt_ms(s["p95"]),
                    report.fmt_ms(s["max"]),
                    f"{sum(o.results for o in subset) / len(subset):.1f}",
                    _found(subset),
                ]
            )
    lines.append(
        report.table(
            ["persona", "kind", "queries", "p50 ms", "p95 ms", "max ms", "mean results", "found"],
            rows,
            "llrrrrrr",
        )
    )
    officer = outcomes.get("case officer (caseload)", [])
    outside = [o for o in officer if not o.visible]
    leaked = sum(o.found for o in outside)
    lines += [
        "",
        "Notes:",
        "",
        f"- A result list holds at most {limit} persons (`SEARCH_LIMIT`). *Target found* is the "
        "share of queries, among those whose intended person is visible to the persona, "
        "that returned that person.",
        f"- {len(outside)} of the case officer's queries aim at persons outside the caseload; "
        f"{leaked} of them returned their target (the gate must keep this at 0).",
        f"- Each persona first ran {pop.sizes.warmup} untimed warm-up queries. Every timed "
        "search also wrote its ledger event (one per search, with the ids returned).",
    ]
    if connection.vendor != "postgresql":
        lines.append(
            "- SQLite has no trigram index: the selector reads every visible name and ranks "
            "them in memory with rapidfuzz, so its time grows with what the persona can see."
        )
    indexed = [label for label, (plan, uses) in plans.items() if plan and uses]
    scanning = [label for label, (plan, _) in plans.items() if "Seq Scan on people_name" in plan]
    if indexed:
        lines.append(
            "- On PostgreSQL the ranking statement takes its candidates with pg_trgm's `%>` "
            "operators (`pg_trgm.word_similarity_threshold` set to the minimum score first): "
            f"as {' and '.join(indexed)} the plan below reads them from the trigram GIN "
            "indexes on `search_key` and `skeleton`, then scores only those candidates."
        )
    if scanning:
        lines.append(
            f"- As {' and '.join(scanning)} the plan below scans `people_name` sequentially "
            "and scores every name, so the time grows with the number of names visible."
        )
    for label, (plan, uses_index) in plans.items():
        if not plan:
            continue
        lines += [
            "",
            f"<details><summary>Plan of one misspelled-name search as {label} "
            f"(trigram GIN index used: {'yes' if uses_index else 'no'})</summary>",
            "",
            "```",
            plan,
            "```",
            "",
            "</details>",
        ]
    return "\n".join(lines)


def _describe_population(pop) -> str:
    from .dataset import describe

    return describe(pop)
