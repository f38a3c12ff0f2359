"""`caseledger ledger verify|integrate`."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.ledger.models import Entry
from caseledger.ledger.services import integrate_pending
from caseledger.ledger.verify import verify_ledger


class Command(BaseCommand):
    help = "Work with the access ledger: verify its integrity, integrate pending events."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="Check every entry: bytes, hashes, chain, order.")
        verify.add_argument(
            "--no-integrate", action="store_true", help="Do not integrate pending events first."
        )
        verify.add_argument("--quiet", action="store_true", help="No progress bar.")
        integrate = sub.add_parser("integrate", help="Place committed events in the chain.")
        integrate.add_argument(
            "--loop",
            action="store_true",
            help="Keep integrating every LEDGER_INTEGRATE_INTERVAL_SECONDS.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self.verify(options)
        else:
            self.integrate(options)

    def verify(self, options: dict[str, Any]) -> None:
        if not options["no_integrate"]:
            integrate_pending()
        total = Entry.objects.count()
        if options["quiet"] or total < 20_000:
            result = verify_ledger()
        else:
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("verifying ledger", total=total)
                result = verify_ledger(progress=lambda n: progress.advance(task, n))
        if not result.ok:
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(result.summary())

    def integrate(self, options: dict[str, Any]) -> None:
        if not options["loop"]:
            self.stdout.write(f"integrated {integrate_pending()} events")
            return
        interval = settings.LEDGER_INTEGRATE_INTERVAL_SECONDS
        while True:  # pragma: no cover - a service loop, stopped by its supervisor
            integrate_pending()
            time.sleep(interval)
