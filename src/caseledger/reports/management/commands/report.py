"""`caseledger report anomalies --week 2026-W47` and
`caseledger report transparency --period 2026-Q4 --format html|pdf|json [--out FILE [--force]]`
and `caseledger report field --period 2026-Q4 [--office east] [--format json|text]`.
An existing --out FILE is never overwritten without --force (caseledger.core.cli_files)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.core.cli_files import check_output_file, write_output
from caseledger.core.errors import DomainError


class Command(BaseCommand):
    help = "Reports built from the ledger: the weekly access anomalies, the transparency report."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="report", required=True)
        anomalies = sub.add_parser("anomalies", help="Build the access-anomaly report of a week.")
        anomalies.add_argument("--week", default="", help="ISO week, e.g. 2026-W47")
        anomalies.add_argument("--quiet", action="store_true", help="No progress display.")
        anomalies.add_argument(
            "--loop",
            action="store_true",
            help="Keep going: every --every seconds, enqueue the build of the week that has "
            "just ended (building a week twice keeps the first build).",
        )
        anomalies.add_argument("--every", type=float, default=6 * 3600)
        anomalies.add_argument("--max-ticks", type=int, default=0, help=argparse.SUPPRESS)
        transp = sub.add_parser("transparency", help="Write the transparency report.")
        transp.add_argument(
            "--period",
            required=True,
            help="A quarter (2026-Q4), a month (2026-11) or a year (2026)",
        )
        transp.add_argument("--format", choices=("html", "pdf", "json"), default="json")
        transp.add_argument(
            "--out", default="", help="File to write (default: standard output; required for pdf)"
        )
        transp.add_argument(
            "--force", action="store_true", help="Replace the --out file if it exists."
        )

        fld = sub.add_parser(
            "field", help="The verifier's record in the field, per office (counts only)."
        )
        fld.add_argument(
            "--period", required=True, help="A quarter (2026-Q4), a month (2026-11) or a year"
        )
        fld.add_argument("--office", default="", help="An office code (default: every office)")
        fld.add_argument("--format", choices=("json", "text"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["report"] == "anomalies":
                self.anomalies(options)
            elif options["report"] == "field":
                self.field(options)
            else:
                self.transparency(options)
        except DomainError as exc:
            raise CommandError(exc.message) from None

    def anomalies(self, options: dict[str, Any]) -> None:
        if options["loop"]:
            self.anomalies_loop(options)
            return
        if not options["week"]:
            raise CommandError("Name the week: --week 2026-W47 (or use --loop).")
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from caseledger.reports.services import build_anomaly_report

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            transient=True,
            disable=options["quiet"],
        ) as progress:
            progress.add_task(f"Building the anomaly report of {options['week']}", total=None)
            result = build_anomaly_report(options["week"])
        report = result.report
        state = "built" if result.created else "already built"
        by_rule: dict[str, int] = {}
        for rule in report.items.values_list("rule", flat=True):
            by_rule[rule] = by_rule.get(rule, 0) + 1
        rules = " ".join(f"{k}={v}" for k, v in sorted(by_rule.items()))
        self.stdout.write(
            f"{report.week} {state}: events={report.events_scanned} "
            f"items={sum(by_rule.values())} {rules}".rstrip()
        )

    def anomalies_loop(self, options: dict[str, Any]) -> None:
        from caseledger.core.singleton import run_as_leader
        from caseledger.reports.tasks import build_weekly_anomaly_report

        # One node enqueues (a second build of a week would only return the first one).
        ticks = run_as_leader(
            "report anomalies",
            build_weekly_anomaly_report.enqueue,
            every=options["every"],
            max_ticks=options["max_ticks"],
        )
        self.stdout.write(f"enqueued {ticks} anomaly report build(s)")

    def transparency(self, options: dict[str, Any]) -> None:
        from caseledger.reports import rendering
        from caseledger.reports.selectors import transparency_report

        fmt, out = options["format"], options["out"]
        if fmt == "pdf" and not out:
            raise CommandError("A PDF needs --out FILE.")
        if out:  # refused before the report is built; write_output checks again
            check_output_file(Path(out), force=options["force"])
        data = transparency_report(None, options["period"])
        body = rendering.render(data, fmt)
        if out:
            write_output(Path(out), body, force=options["force"])
            self.stdout.write(f"wrote {out} ({len(body)} bytes)")
        else:
            self.stdout.write(body.decode(), ending="")

    def field(self, options: dict[str, Any]) -> None:
        from caseledger.reports import field

        report = field.field_report(None, options["period"], options["office"])
        body = field.to_json(report).decode() if options["format"] == "json" else field.to_text(
            report
        )
        self.stdout.write(body, ending="")
