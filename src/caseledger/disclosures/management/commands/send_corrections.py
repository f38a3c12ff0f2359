"""`caseledger send_corrections`: retry the correction notices whose next attempt is due."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Deliver correction notices to earlier recipients that are due (retries included)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500)
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        from rich.progress import Progress

        from caseledger.disclosures import delivery

        total = len(delivery.due(options["limit"]))
        with Progress(disable=options["quiet"]) as progress:
            task = progress.add_task("Correction notices", total=total)
            counts = delivery.retry_due(options["limit"], progress=lambda: progress.advance(task))
        self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
