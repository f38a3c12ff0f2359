"""`caseledger backup --out DIR`: the database, the checkpoint store and the ledger's public key
in a new folder, with a manifest of SHA-256 sums. Never the signing key (docs/BACKUP.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError
from rich.console import Console

from caseledger.core.cli_files import prepare_output_dir
from caseledger.ledger.backup import (
    BackupError,
    Step,
    create_backup,
    database_label,
    manifest_digest,
)


def console_steps(console: Console) -> Step:
    """Each long step as a spinner while it runs, then one line with its duration."""

    @contextmanager
    def step(text: str) -> Iterator[None]:
        started = time.monotonic()
        with console.status(f"{text}…") if console.is_terminal else nullcontext():
            yield
        console.print(f"[green]done[/green] {text} ({time.monotonic() - started:.1f} s)",
                      highlight=False)

    return step


class Command(BaseCommand):
    help = ("Back up the database (pg_dump -Fc, or a SQLite copy), the checkpoint store and the "
            "ledger's public key into a new folder. Never the signing key.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path,
                            help="Folder to write: new or empty.")
        parser.add_argument("--force", action="store_true",
                            help="Write into a non-empty folder (replaces an earlier backup's "
                                 "files there).")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        created = not out.exists()
        prepare_output_dir(out, force=options["force"])
        if created:
            out.chmod(0o700)  # the dump holds personal data
        console = Console(file=self.stdout)
        try:
            manifest = create_backup(out, step=console_steps(console))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        except OperationalError as exc:
            raise CommandError(f"Cannot reach the database {database_label()}: "
                               f"{str(exc).strip()}.") from None
        checkpoint = manifest.latest_checkpoint
        self.stdout.write(
            f"backup {manifest.backup_id} written to {out}\n"
            f"  {manifest.engine} database, log {manifest.log_id}, ledger size "
            f"{manifest.ledger.size} (head {manifest.ledger.head[:16]}…), latest checkpoint "
            f"{checkpoint.size if checkpoint else 'none'}\n"
            f"  manifest SHA-256 {manifest_digest(out)} (note it down apart from the backup)\n"
            "  not included: the ledger signing key and the encryption keys; keep them apart")
        if manifest.verifier_key is None:
            self.stderr.write("warning: no signing key is configured, so the backup holds no "
                              "key.pub; keep the log's public key with it.")
