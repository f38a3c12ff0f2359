"""`caseledger deadlines compute --rule R --from DATE [--court CODE]`, `caseledger deadlines
rules`, `caseledger deadlines refresh` (recompute every case's kept deadline rows)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.cases.deadlines import RULES, compute
from caseledger.cases.models import Court


def _parse_moment(value: str) -> date | datetime:
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise CommandError("A --from time needs a time zone, e.g. 2026-12-24T15:00Z.")
            return moment
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD) or ISO time.") from None


class Command(BaseCommand):
    help = "Compute immigration-court deadlines."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        comp = sub.add_parser("compute", help="Print the due date as YYYY-MM-DD.")
        comp.add_argument(
            "--rule",
            required=True,
            choices=sorted(RULES),
            help="; ".join(f"{code}: {r.label}" for code, r in RULES.items()),
        )
        comp.add_argument(
            "--from",
            dest="start",
            required=True,
            help="Triggering date (YYYY-MM-DD, court time) or ISO time with zone.",
        )
        comp.add_argument("--court", default="", help="Court code; its time zone is used.")
        sub.add_parser("rules", help="List the rules and their sources.")
        refresh = sub.add_parser(
            "refresh",
            help="Recompute every case's deadline rows (after a rules change, or data loaded "
            "outside the case services).",
        )
        refresh.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "refresh":
            self._refresh(quiet=options["quiet"])
            return
        if options["action"] == "rules":
            for code, rule in RULES.items():
                doc = " ".join((rule.compute.__doc__ or "").split())
                self.stdout.write(f"{code}: {doc}")
            return
        time_zone = "America/New_York"
        if options["court"]:
            court = Court.objects.filter(code=options["court"].upper()).first()
            if court is None:
                codes = ", ".join(Court.objects.values_list("code", flat=True))
                raise CommandError(f"Unknown court '{options['court']}'. Courts: {codes}.")
            time_zone = court.time_zone
        due = compute(options["rule"], _parse_moment(options["start"]), time_zone=time_zone)
        self.stdout.write(due.isoformat() if due else "paused")

    def _refresh(self, *, quiet: bool) -> None:
        from rich.progress import Progress

        from caseledger.cases.deadline_rows import refresh_all

        with Progress(transient=True, disable=quiet) as progress:
            task = progress.add_task("Deadline rows", total=None)
            written = refresh_all(
                progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
        self.stdout.write(f"{written} deadline row(s) written.")
