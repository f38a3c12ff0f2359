"""`caseledger send_corrections`: retry the correction notices whose next attempt is due
(a thin wrapper on `disclosures.delivery`, the correction notices' adapter to the one
delivery engine, `notices.engine`)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Deliver correction notices to earlier recipients that are due (retries included)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500)
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--loop", action="store_true", help="Keep going: retry what is due every --every s."
        )
        parser.add_argument("--every", type=float, default=300)
        parser.add_argument("--max-ticks", type=int, default=0, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["loop"]:
            self.once(options)
            return
        from caseledger.core.singleton import run_as_leader

        # One node at a time walks the due notices. The delivery engine's claim already keeps
        # two senders from sending one notice; leading keeps two nodes from racing for each.
        run_as_leader(
            "send_corrections",
            lambda: self.once({**options, "quiet": True}),
            every=options["every"],
            max_ticks=options["max_ticks"],
        )

    def once(self, options: dict[str, Any]) -> None:
        from rich.progress import Progress

        from caseledger.disclosures import delivery

        total = len(delivery.due(options["limit"]))
        with Progress(disable=options["quiet"]) as progress:
            task = progress.add_task("Correction notices", total=total)
            counts = delivery.retry_due(options["limit"], progress=lambda: progress.advance(task))
        self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
