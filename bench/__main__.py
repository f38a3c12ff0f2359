"""Run the benchmarks and write their sections of docs/BENCHMARKS.md.

    python -m bench [--quick] [--only NAME ...] [--out docs/BENCHMARKS.md]

`make bench` runs this against a throw-away PostgreSQL server (scripts/with_postgres.py
sets DATABASE_URL). It also runs on SQLite when DATABASE_URL is a sqlite URL naming a new
file; `--quick` uses smaller sizes. The database must be empty: the data set is created
by the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
BENCHMARKS = ("search", "gate_cost")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


class Env:
    """What every benchmark gets: sizes, seed, console, the (lazily loaded) data set."""

    def __init__(self, *, quick: bool, seed: int, persons: int | None, console: Console) -> None:
        from django.db import connection

        from . import dataset, report

        sizes = dataset.QUICK if quick else dataset.FULL
        if persons:
            sizes = dataset.Sizes(**{**sizes.__dict__, "persons": persons})
        self.sizes = sizes
        self.quick = quick
        self.seed = seed
        self.console = console
        self.vendor = connection.vendor
        self.started = datetime.now(UTC)
        self.facts = report.machine_facts(self.started)
        self.load_at_start = report.load_average()
        reference = self.vendor == "postgresql" and not quick and persons is None
        parts = [] if reference else [self.vendor] + (["quick"] if quick else [])
        self.suffix = "".join(f"-{p}" for p in parts)
        labels = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
        shown = [labels.get(p, p) for p in parts]
        if persons and not quick:
            shown.append(f"{persons:,} persons")
        self.label = f" ({', '.join(shown)})" if shown else ""
        self._population = None

    @property
    def population(self):
        if self._population is None:
            from . import dataset

            self.console.rule(f"Loading {self.sizes.persons:,} persons")
            with _progress(self.console) as progress:
                task = progress.add_task("persons (bulk_create)", total=self.sizes.persons)
                self._population = dataset.load(
                    self.sizes, seed=self.seed, progress=lambda n: progress.advance(task, n)
                )
            s = self._population.seconds
            self.console.print(
                f"  loaded in {s['load']:.1f} s (+ cases {s['cases']:.1f} s, "
                f"vacuum/analyze {s['analyze']:.1f} s)"
            )
        return self._population

    def track(self, items: Iterable[T], description: str) -> Iterator[T]:
        items = list(items)
        with _progress(self.console) as progress:
            task = progress.add_task(description, total=len(items))
            for item in items:
                yield item
                progress.advance(task)

    def stamp(self) -> str:
        f = self.facts
        return (
            f"_Measured {f['date']} on {f['database']}, {f['CPU']} ({f['cores']} cores), "
            f"Python {f['Python'].split()[0]}; machine details under "
            f"[Machine{self.label}](#machine{self.suffix})._"
        )


def _machine_section(env: Env, ran: list[str], seconds: float | None) -> str:
    from . import report

    facts = dict(env.facts)
    s = env.sizes
    facts["sizes"] = (
        f"{s.persons:,} persons, {s.queries} search queries per persona, "
        f"{s.reads:,} reads per variant and persona, caseload {s.caseload}"
        + (" (`--quick`)" if env.quick else "")
    )
    facts["benchmarks run"] = ", ".join(ran)
    facts["load average (1 / 5 / 15 min)"] = (
        f"{env.load_at_start} at start, {report.load_average()} at end"
    )
    if seconds is not None:
        facts["run time"] = f"{seconds / 60:.1f} min ({seconds:.0f} s, data set load included)"
    else:
        facts["run time"] = "(run in progress or interrupted)"
    return f"## Machine{env.label}\n\n{report.facts_list(facts)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (5,000 persons)")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--out", default="docs/BENCHMARKS.md", help="report file to update")
    parser.add_argument("--persons", type=int, help="override the number of persons")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data set")
    args = parser.parse_args(argv)

    if not os.environ.get("DATABASE_URL"):
        parser.exit(
            2,
            "DATABASE_URL is not set. Run `make bench` (a throw-away PostgreSQL), or set "
            "DATABASE_URL=sqlite:///var/bench.sqlite3 (a new file) for SQLite.\n",
        )
    os.environ["CASELEDGER_TESTING"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "caseledger.settings"

    import django

    django.setup()
    from django.core.management import call_command

    from . import gate_cost, report, search

    console = Console()
    wall = time.perf_counter()
    console.rule("caseledger benchmarks")
    call_command("migrate", verbosity=0)
    env = Env(quick=args.quick, seed=args.seed, persons=args.persons, console=console)
    console.print(
        f"{env.facts['database']} · {env.facts['CPU']} · {env.facts['cores']} cores · "
        f"{env.facts['memory']} · Python {env.facts['Python'].split()[0]}"
    )
    out = Path(args.out)
    modules = {"search": search, "gate_cost": gate_cost}
    selected = [name for name in BENCHMARKS if not args.only or name in args.only]
    ran: list[str] = []
    for name in selected:
        module = modules[name]
        if env._population is None:
            env.population  # noqa: B018 (load the data set outside the benchmark's own rule)
        console.rule(module.TITLE)
        body = module.run(env)
        ran.append(name)
        report.write_sections(
            out,
            {f"machine{env.suffix}": _machine_section(env, ran, None), name + env.suffix: body},
        )
    seconds = time.perf_counter() - wall
    report.write_sections(out, {f"machine{env.suffix}": _machine_section(env, ran, seconds)})
    console.rule(f"done in {seconds / 60:.1f} min; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
