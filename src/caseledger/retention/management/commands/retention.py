"""`caseledger retention run [--dry-run] [--class X] [--batch-size N] [--as USERNAME]`
and `caseledger retention run --loop` (enqueue the daily purge task for the worker).

Without `--as` the purge runs as the system (the scheduled job); with it, as that privacy
officer. A rich progress bar per data class, then a summary table.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

DAY = 86_400.0


class Command(BaseCommand):
    help = "Retention: purge what is due (with a deletion certificate per batch)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Purge what is due today, except what holds keep.")
        run.add_argument("--dry-run", action="store_true", help="Count only; delete nothing.")
        run.add_argument(
            "--class",
            dest="data_class",
            default=None,
            metavar="CODE",
            help="Only this data class (see /retention/ for the codes).",
        )
        run.add_argument(
            "--batch-size",
            type=int,
            default=1000,
            help="Records per batch: one transaction and certificate each.",
        )
        run.add_argument(
            "--as",
            dest="as_user",
            default=None,
            metavar="USERNAME",
            help="Run as this privacy officer (default: the system).",
        )
        run.add_argument("--quiet", action="store_true", help="No progress bar.")
        run.add_argument(
            "--loop",
            action="store_true",
            help="Keep going: enqueue the purge task every --every seconds.",
        )
        run.add_argument("--every", type=float, default=DAY)
        run.add_argument(
            "--max-ticks",
            type=int,
            default=0,
            help="With --loop: stop after this many ticks (0: never).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["loop"]:
            self.loop(options)
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.table import Table

        from caseledger.accounts.models import User
        from caseledger.core.errors import DomainError
        from caseledger.retention.models import DataClass
        from caseledger.retention.services import SYSTEM_CONTEXT, run_purge

        ctx = SYSTEM_CONTEXT
        if options["as_user"]:
            from caseledger.access.context import AccessContext, default_purpose

            user = (
                User.objects.select_related("office")
                .filter(username=options["as_user"], is_active=True)
                .first()
            )
            if user is None:
                raise CommandError(f"There is no active user '{options['as_user']}'.")
            ctx = AccessContext(user=user, purpose=default_purpose(user), request_id="cli")
        console = Console(file=self.stdout)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=options["quiet"] or options["dry_run"],
        ) as progress:
            bars: dict[str, Any] = {}

            def tick(code: str, done: int, total: int) -> None:
                if code not in bars:
                    bars[code] = progress.add_task(f"purging {code}", total=total)
                progress.update(bars[code], completed=done, total=total)

            try:
                result = run_purge(
                    ctx,
                    dry_run=options["dry_run"],
                    data_class=options["data_class"],
                    batch_size=options["batch_size"],
                    progress=tick,
                    trigger="command",
                )
            except DomainError as exc:
                raise CommandError(exc.message) from None
        labels = dict(DataClass.choices)
        title = "Dry run: nothing deleted" if result.dry_run else f"Purge run {result.run_id}"
        table = Table(title=title)
        table.add_column("data class")
        for name in (
            "due",
            "held",
            "would delete" if result.dry_run else "deleted",
            "certificates",
        ):
            table.add_column(name, justify="right")
        table.add_column("note")
        for code, r in result.classes.items():
            done = r.takeable if result.dry_run else r.deleted
            table.add_row(
                f"{labels.get(code, code)} ({code})",
                str(r.due),
                str(r.held),
                str(done),
                str(len(r.certificates)),
                r.skipped,
            )
        total = result.takeable if result.dry_run else result.deleted
        table.add_row(
            "total",
            str(result.due),
            str(result.held),
            str(total),
            str(len(result.certificates)),
            "",
        )
        console.print(table)

    def loop(self, options: dict[str, Any]) -> None:
        from caseledger.core.singleton import run_as_leader
        from caseledger.retention.tasks import purge_due

        # One node enqueues: the daily purge runs once a day, not once per node a day.
        ticks = run_as_leader(
            "retention run",
            lambda: purge_due.enqueue(batch_size=options["batch_size"]),
            every=options["every"],
            max_ticks=options["max_ticks"],
        )
        self.stdout.write(f"enqueued {ticks} purge task(s)")
