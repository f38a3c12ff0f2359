"""`caseledger serve`: the production server (granian, WSGI) with static files by WhiteNoise."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

BACKGROUND_JOBS = (
    ("ledger", "integrate", "--loop"),  # chain events (PostgreSQL) and sign checkpoints
    ("supervision", "sweep", "--loop"),  # reviews for missed check-in windows
    ("notices", "send-due", "--loop"),  # enqueue due reminders, top up planning hourly
    ("retention", "run", "--loop"),  # enqueue the daily purge of what is due
    ("report", "anomalies", "--loop"),  # enqueue the weekly access-anomaly report
    ("send_corrections", "--loop"),  # retry correction notices to earlier recipients
    ("db_worker",),  # run django.tasks from the database queue
)


class Command(BaseCommand):
    help = "Serve caseledger with granian (collects static files, runs the ledger integrator)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("CASELEDGER_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("CASELEDGER_WORKERS", os.cpu_count() or 1)),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        # Background jobs beside the web workers (see BACKGROUND_JOBS).
        helpers = [
            subprocess.Popen([sys.executable, "-m", "caseledger.cli", *job])
            for job in BACKGROUND_JOBS
        ]
        self.stdout.write(
            f"caseledger on http://{options['host']}:{options['port']}/ "
            f"({options['workers']} workers)"
        )
        try:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "granian",
                    "--interface",
                    "wsgi",
                    "--host",
                    options["host"],
                    "--port",
                    str(options["port"]),
                    "--workers",
                    str(options["workers"]),
                    "--no-ws",
                    "caseledger.wsgi:application",
                ],
                check=False,
            )
        except KeyboardInterrupt:
            pass
        finally:
            for helper in helpers:
                helper.terminate()
