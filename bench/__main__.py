"""Run the benchmarks and write their sections of docs/BENCHMARKS.md.

    python -m bench [--quick] [--only NAME ...] [--out docs/BENCHMARKS.md]

`make bench` runs this against a throw-away PostgreSQL server (scripts/with_postgres.py
sets DATABASE_URL). It also runs on SQLite when DATABASE_URL is a sqlite URL naming a new
file; `--quick` uses smaller sizes. The database must be empty: the data set is created
by the run.

A benchmark is a module `bench/NAME.py` with `TITLE` and either `run(env) -> str` (the
section's Markdown; `NEEDS_POPULATION = False` if it does not use the person data set) or
`run(quick: bool) -> dict` (its figures; the section body is the dict's "markdown", or what
the module's `markdown(result)` returns, or else the figures as a list). A module that is
missing is skipped with a note; one that fails is reported and the others still run (the
exit status is then 1). `reads` builds (once per PostgreSQL server, then reuses) its own data
sets at scale in databases of their own (bench/dataset.py); CASELEDGER_BENCH_SCALES=1e5 runs
it at one size only. Files the application writes (signing key, checkpoints, static
files of the server) go to a temporary CASELEDGER_VAR.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
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
BENCHMARKS = (
    "search",
    "gate_cost",
    "ledger",
    "checkins",
    "reminders",
    "imports",
    "who_accessed",
    "retention",
    "anomaly",
    "decode",
    "load",
    "reads",
)


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

    @contextlib.contextmanager
    def progress_bar(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        with _progress(self.console) as progress:
            task = progress.add_task(description, total=total)
            yield lambda n: progress.advance(task, n)

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


def _machine_section(
    env: Env, ran: list[str], seconds: float | None, notes: list[str] | None = None
) -> str:
    from . import report

    facts = dict(env.facts)
    s = env.sizes
    if env._population is not None:
        facts["sizes"] = (
            f"{s.persons:,} persons, {s.queries} search queries per persona, "
            f"{s.reads:,} reads per variant and persona, caseload {s.caseload}"
            + (" (`--quick`)" if env.quick else "")
        )
    else:
        facts["sizes"] = "no person data set loaded" + (" (`--quick`)" if env.quick else "")
    facts["benchmarks run"] = ", ".join(ran) or "none"
    if notes:
        facts["notes"] = "; ".join(notes)
    facts["load average (1 / 5 / 15 min)"] = (
        f"{env.load_at_start} at start, {report.load_average()} at end"
    )
    if seconds is not None:
        facts["run time"] = f"{seconds / 60:.1f} min ({seconds:.0f} s, data set load included)"
    else:
        facts["run time"] = "(run in progress or interrupted)"
    return f"## Machine{env.label}\n\n{report.facts_list(facts)}"


def _load(name: str) -> tuple[object | None, str | None]:
    """The benchmark module, or None and why it is skipped."""
    if importlib.util.find_spec(f"bench.{name}") is None:
        return None, f"{name} skipped (bench/{name}.py is not present)"
    try:
        return importlib.import_module(f"bench.{name}"), None
    except Exception as exc:  # noqa: BLE001 - one broken benchmark must not stop the others
        return None, f"{name} skipped (bench/{name}.py failed to import: {exc!r})"


def _takes_env(module: object) -> bool:
    return "env" in inspect.signature(module.run).parameters  # type: ignore[attr-defined]


def _needs_population(module: object) -> bool:
    return _takes_env(module) and getattr(module, "NEEDS_POPULATION", True)


def _run(name: str, module: object, env: Env) -> str:
    """Run one benchmark and return its section."""
    if _takes_env(module):
        return module.run(env)  # type: ignore[attr-defined]
    params = inspect.signature(module.run).parameters  # type: ignore[attr-defined]
    kwargs = {"console": env.console} if "console" in params else {}
    result = module.run(env.quick, **kwargs)  # type: ignore[attr-defined]
    return _dict_section(name, module, env, result)


def _dict_section(name: str, module: object, env: Env, result: object) -> str:
    """The section of a benchmark that returns a dict: its own Markdown, or its figures."""
    from . import report

    title = getattr(module, "TITLE", name)
    body = result.get("markdown") if isinstance(result, dict) else None
    render = getattr(module, "markdown", None)
    if (not isinstance(body, str) or not body.strip()) and callable(render):
        body = render(result)
    if not isinstance(body, str) or not body.strip():
        figures = result if isinstance(result, dict) else {"result": result}
        body = report.facts_list(
            {str(k): f"`{v}`" for k, v in figures.items() if k not in ("markdown", "name")}
        )
    body = body.strip()
    first, _, rest = body.partition("\n")
    if first.startswith("## "):  # the module wrote its own heading: keep it, stamp under it
        return f"{first}{env.label}\n\n{env.stamp()}\n\n{rest.strip()}"
    return f"## {title}{env.label}\n\n{env.stamp()}\n\n{body}"


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
    # The check-in benchmarks post many photos from one address for a few participants: the
    # per-participant and per-address upload limits (a defence against floods) are off here.
    os.environ.setdefault("CASELEDGER_CHECKIN_UPLOADS_PER_PARTICIPANT", "0")
    os.environ.setdefault("CASELEDGER_CHECKIN_UPLOADS_PER_ADDRESS", "0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "caseledger.settings"
    var_dir = None
    if not os.environ.get("CASELEDGER_VAR"):
        var_dir = tempfile.mkdtemp(prefix="caseledger-bench-var-")
        os.environ["CASELEDGER_VAR"] = var_dir
    try:
        return _main(args)
    finally:
        if var_dir:
            shutil.rmtree(var_dir, ignore_errors=True)


def _main(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from . import report

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
    env.out = out  # where the report goes; charts go to img/ beside it
    selected = [name for name in BENCHMARKS if not args.only or name in args.only]
    modules: dict[str, object] = {}
    notes: list[str] = []
    for name in selected:
        module, note = _load(name)
        if module is None:
            notes.append(str(note))
            console.print(f"[yellow]{note}[/yellow]")
        else:
            modules[name] = module
    if any(_needs_population(m) for m in modules.values()):
        env.population  # noqa: B018 (load the data set first, into the empty database)
    ran: list[str] = []
    failed = False
    for name, module in modules.items():
        console.rule(str(getattr(module, "TITLE", name)))
        started = time.perf_counter()
        try:
            body = _run(name, module, env)
        except Exception:  # noqa: BLE001 - report it, keep the other benchmarks
            console.print_exception()
            notes.append(f"{name} failed (see the console output of the run)")
            failed = True
            continue
        took = time.perf_counter() - started
        console.print(f"  ({name}: {took:.0f} s)")
        ran.append(f"{name} ({took:.0f} s)")
        report.write_sections(
            out,
            {
                f"machine{env.suffix}": _machine_section(env, ran, None, notes),
                name + env.suffix: body,
            },
        )
    seconds = time.perf_counter() - wall
    report.write_sections(out, {f"machine{env.suffix}": _machine_section(env, ran, seconds, notes)})
    console.rule(f"done in {seconds / 60:.1f} min; wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
