"""`caseledger restore DIR`: restore a backup into a new, empty database and the configured
checkpoint store, record the restore in the ledger, and verify the ledger (docs/BACKUP.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError
from rich.console import Console

from caseledger.ledger.backup import BackupError, database_label, restore_backup
from caseledger.ledger.management.commands.backup import console_steps


class Command(BaseCommand):
    help = ("Restore a backup into a new, empty database: checks its SHA-256 sums, refuses a "
            "rollback under newer checkpoints, then verifies the restored ledger.")
    # The target database is empty: checks that read tables would fail before the restore.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="The folder `caseledger backup` wrote.")
        parser.add_argument(
            "--force", action="store_true",
            help="Restore over a database that has tables but no ledger (say, one that was "
                 "only migrated). A database that holds a ledger is always refused.")
        parser.add_argument(
            "--accept-rollback", action="store_true",
            help="Restore even though a checkpoint store holds checkpoints newer than the "
                 "backup: the events after the backup are lost and auditors will see a "
                 "rollback.")
        parser.add_argument(
            "--checkpoints", type=Path, action="append", default=[], metavar="DIR",
            help="Another checkpoint store (or an auditor's copy) to compare with the backup, "
                 "besides the configured one; may be repeated.")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout)
        try:
            result = restore_backup(
                options["backup"], force=options["force"],
                accept_rollback=options["accept_rollback"], stores=options["checkpoints"],
                step=console_steps(console))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        except OperationalError as exc:
            raise CommandError(f"Cannot reach the database {database_label()}: "
                               f"{str(exc).strip()}. Create the new database first "
                               "(CREATE DATABASE) and check DATABASE_URL.") from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        manifest = result.manifest
        self.stdout.write(
            f"restored backup {manifest.backup_id} of {manifest.created:%Y-%m-%d %H:%M:%S} UTC "
            f"into {database_label()}\n"
            f"  log {manifest.log_id}, ledger size {manifest.ledger.size}; {result.installed} "
            f"checkpoint files added to {result.store}\n"
            f"  restore recorded as ledger event {result.event}")
        if result.migrated:
            self.stdout.write(f"  {result.migrated} migration(s) of this release newer than the "
                              "backup applied")
        if result.rolled_back_from is not None:
            self.stderr.write(
                f"warning: ROLLBACK accepted: checkpoint {result.rolled_back_from} had been "
                f"signed; the events after entry {manifest.ledger.size} are lost, and auditors "
                "holding the newer checkpoints will see a rollback.")
        if not result.verify.ok:
            raise CommandError(f"The database was restored, but {result.verify.summary()}. "
                               "Investigate before serving (docs/LEDGER.md).", returncode=1)
        self.stdout.write(result.verify.summary())
