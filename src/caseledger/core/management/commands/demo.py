"""`caseledger demo`: migrate, seed synthetic data once, say what was made and how to sign
in, serve."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.accounts.models import User


def participants_for(persons: int) -> int:
    """A fifth of the persons, between 8 and the default of 40."""
    from caseledger import demo

    return max(8, min(demo.DEFAULT_PARTICIPANTS, persons // 5))


class Command(BaseCommand):
    help = (
        "Set up the demo: migrate, seed two offices with persons, cases and eight weeks of "
        "supervised release and oversight (written through the services with the clock moved "
        "back), then serve on port 8000."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        from caseledger import demo

        parser.add_argument("--persons", type=int, default=demo.DEFAULT_PERSONS,
                            help="How many persons to seed (participants included).")
        parser.add_argument("--participants", type=int, default=None,
                            help="How many of them are enrolled in supervision (at least 8; "
                            f"default: a fifth of the persons, at most "
                            f"{demo.DEFAULT_PARTICIPANTS}).")
        parser.add_argument("--weeks", type=int, default=demo.DEFAULT_WEEKS,
                            help="Weeks of history before today.")
        parser.add_argument("--no-serve", action="store_true", help="Seed only; do not serve.")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED,
                            help="Random seed (the same seed gives the same data).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError(
                "The demo needs CASELEDGER_DEMO=1 (it creates well-known "
                "passwords). `make demo` sets it."
            )
        if options["participants"] is None:
            options["participants"] = participants_for(options["persons"])
        for name, low in (("participants", 8), ("weeks", 2),
                          ("persons", options["participants"] + 12)):
            if options[name] < low:
                raise CommandError(f"--{name} must be at least {low}" + (
                    " (the participants and a dozen others)." if name == "persons" else "."))
        self.stdout.write("Preparing the database (migrations)...")
        call_command("migrate", interactive=False, verbosity=0)
        from caseledger.ledger.checkpoints import ensure_demo_key

        if ensure_demo_key():
            self.stdout.write("Created this demo database's ledger signing key (under var/).")
        if User.objects.exists():
            self.stdout.write("Demo data already present; not seeding again.")
        else:
            static = None if options["no_serve"] else self._start_static()
            self._seed(options)
            if static is not None:
                self._finish_static(static)
        self._logins(options["port"])
        self._checkpoint()
        if not options["no_serve"]:
            call_command("serve", port=options["port"])

    def _seed(self, options: dict[str, Any]) -> None:
        from caseledger import demo

        self.stdout.write(
            f"Seeding {options['persons']} persons, {options['participants']} of them in "
            f"supervision, with {options['weeks']} weeks of history (about a minute)..."
        )
        self.stdout.flush()
        summary = demo.seed(persons=options["persons"], participants=options["participants"],
                            weeks=options["weeks"], random_seed=options["seed"],
                            progress=self.stdout.isatty())
        for line in summary.lines():
            self.stdout.write(line)

    def _start_static(self) -> subprocess.Popen[str]:
        """Prepare the static files in another process while seeding (the machine's other
        core compresses them); `serve` then finds them up to date. Without the system checks:
        they query the database, which the seeding's one transaction holds."""
        self.stdout.write("Preparing the static files meanwhile, in another process.")
        return subprocess.Popen(
            [sys.executable, "-m", "caseledger.cli", "serve", "--static-only", "--skip-checks"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )

    def _finish_static(self, process: subprocess.Popen[str]) -> None:
        output, _ = process.communicate()
        lines = [line for line in output.splitlines() if line.strip()]
        if process.returncode:  # serve will try again, and say why if it fails too
            self.stderr.write("Preparing the static files failed; `serve` tries again:")
            lines = lines[-20:]
        for line in lines:
            self.stdout.write(line)

    def _logins(self, port: int) -> None:
        from caseledger.accounts.labels import role_name
        from caseledger.demo import DEMO_PASSWORD, OFFICES, PARTICIPANT, STAFF

        self.stdout.write(
            f"\nSign in at http://127.0.0.1:{port}/ as one of these (password for all: "
            f"{DEMO_PASSWORD}):"
        )
        for username, role, office, first, last in STAFF:
            where = f", {OFFICES[office][0]}" if office else ""
            self.stdout.write(f"  {username:<20} {role_name(role)} {first} {last}{where}")
        self.stdout.write(f"  {PARTICIPANT:<20} Participant Marisol Vega Castillo (Spanish), "
                          "a check-in open now")

    def _checkpoint(self) -> None:
        """Sign a checkpoint over the whole ledger, and say so in words."""
        from caseledger.ledger.models import Entry

        call_command("ledger", "checkpoint", stdout=io.StringIO())
        self.stdout.write(
            f"\nThe ledger holds {Entry.objects.count():,} events, all covered by a signed "
            "checkpoint (`caseledger ledger verify` checks them)."
        )
