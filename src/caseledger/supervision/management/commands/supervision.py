"""`caseledger supervision sweep [--loop]`: open reviews for missed check-in windows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from caseledger.supervision.services import sweep_missed_windows


class Command(BaseCommand):
    help = "Supervision jobs: sweep missed check-in windows into reviews."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sweep = sub.add_parser("sweep", help="Open a review for every missed window.")
        sweep.add_argument("--loop", action="store_true", help="Repeat every --every seconds.")
        sweep.add_argument("--every", type=int, default=300)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["loop"]:
            self.stdout.write(f"opened {sweep_missed_windows()} reviews for missed windows")
            return
        from caseledger.core.singleton import run_as_leader

        # One node sweeps at a time: the one-review-per-window constraint already prevents a
        # duplicate, but two sweeps racing would end one of them with an IntegrityError.
        run_as_leader("supervision sweep", sweep_missed_windows, every=max(10, options["every"]))
