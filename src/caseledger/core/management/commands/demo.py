"""`caseledger demo`: migrate, seed synthetic data once, print the logins, serve."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.accounts.models import User


class Command(BaseCommand):
    help = "Set up the demo: migrate, seed synthetic persons and cases, serve on port 8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=320, help="How many persons to seed.")
        parser.add_argument("--no-serve", action="store_true", help="Seed only; do not serve.")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (repeatable data).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError(
                "The demo needs CASELEDGER_DEMO=1 (it creates well-known "
                "passwords). `make demo` sets it."
            )
        call_command("migrate", interactive=False, verbosity=0)
        from caseledger.ledger.checkpoints import ensure_demo_key

        created = ensure_demo_key()
        if created:
            self.stdout.write(f"Created this demo database's ledger signing key: {created}")
        from caseledger.demo import DEMO_PASSWORD, PARTICIPANT, STAFF, seed

        if User.objects.exists():
            self.stdout.write("Demo data already present; not seeding again.")
        else:
            seed(persons=options["persons"], random_seed=options["seed"], out=self.stdout)
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, office in STAFF:
            self.stdout.write(f"  {username:<18} {role}{' (' + office + ')' if office else ''}")
        self.stdout.write(f"  {PARTICIPANT:<18} participant (officer.east's caseload)")
        call_command("ledger", "checkpoint", stdout=self.stdout)
        if not options["no_serve"]:
            call_command("serve", port=options["port"])
