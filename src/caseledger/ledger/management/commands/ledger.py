"""`caseledger ledger verify|integrate|checkpoint|export|keygen|partitions`.

`export --out DIR` refuses a non-empty folder unless --force; `keygen --out FILE` never
replaces an existing file (there is no --force for it): an overwritten signing key is lost for
good, and the log could no longer sign checkpoints that auditors verify with the key they hold."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from caseledger.core.cli_files import prepare_output_dir, write_output
from caseledger.core.loop import run_every
from caseledger.core.singleton import Leadership
from caseledger.ledger import checkpoints
from caseledger.ledger.export import export_ledger
from caseledger.ledger.models import Entry
from caseledger.ledger.services import integrate_pending
from caseledger.ledger.verify import verify_ledger


class Command(BaseCommand):
    help = "The access ledger: verify, integrate, checkpoint, export, keygen, partitions."

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
            help="Keep integrating every LEDGER_INTEGRATE_INTERVAL_SECONDS and sign a checkpoint "
            "every LEDGER_CHECKPOINT_INTERVAL_SECONDS when events arrived; SIGTERM or SIGINT "
            "stops it after the batch in hand.",
        )
        integrate.add_argument("--max-ticks", type=int, default=0, help=argparse.SUPPRESS)
        sub.add_parser("checkpoint", help="Integrate what is pending and sign a checkpoint now.")
        export = sub.add_parser("export", help="Write entries, checkpoints and key for auditors.")
        export.add_argument("--out", required=True, type=Path, help="Directory to write.")
        export.add_argument(
            "--force",
            action="store_true",
            help="Write into a non-empty directory (replaces an earlier export's files).",
        )
        keygen = sub.add_parser("keygen", help="Create a signing key (print it, or --out FILE).")
        keygen.add_argument(
            "--out",
            type=Path,
            help="File to write the secret key to (0600); an existing file is never replaced.",
        )

        parts = sub.add_parser(
            "partitions",
            help="PostgreSQL: create the monthly partitions of the ledger's events and of the "
            "check-ins that are missing, up to --ahead months, and list them with their row "
            "counts.",
        )
        parts.add_argument("--ahead", type=int, default=3, help="Months ahead (default 3).")
        parts.add_argument("--list", action="store_true", help="Only list; create nothing.")
        parts.add_argument(
            "--move-default",
            action="store_true",
            help="Move rows that wait in a default partition into their month's new "
            "partition (one transaction; writers wait meanwhile).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, options["action"])(options)

    def checkpoint(self, options: dict[str, Any]) -> None:
        integrate_pending()
        try:
            made = checkpoints.sign_checkpoint(force=True)
        except (checkpoints.CheckpointRefused, ImproperlyConfigured) as exc:
            raise CommandError(str(exc), returncode=1) from exc
        current = made or checkpoints.latest()
        if current is None:
            raise CommandError("nothing to sign", returncode=1)
        state = "signed" if made else "unchanged since"
        self.stdout.write(f"{state} checkpoint {current.size}: {bytes(current.root).hex()}")

    def export(self, options: dict[str, Any]) -> None:
        out: Path = options["out"]
        prepare_output_dir(out, force=options["force"])
        if options["force"]:
            _remove_exported_checkpoints(out)
        integrate_pending()
        total = Entry.objects.count()
        from rich.progress import Progress

        with Progress(transient=True, disable=total < 50_000) as progress:
            task = progress.add_task("exporting ledger", total=total)
            entries, signed = export_ledger(out, progress=lambda n: progress.advance(task, n))
        self.stdout.write(f"exported {entries} entries and {signed} checkpoints to {out}")

    def keygen(self, options: dict[str, Any]) -> None:
        from caseledger_verify import note

        secret, public = note.generate_signer(settings.LEDGER_ORIGIN)
        if options["out"]:
            path: Path = options["out"]
            if path.exists() or path.is_symlink():
                raise CommandError(
                    f"{path} exists; refusing to overwrite a signing key (move it away first)."
                )
            # Created 0600 in one step (O_EXCL): the secret is never readable by others.
            write_output(path, (secret + "\n").encode(), mode=0o600)
            self.stdout.write(f"secret key written to {path}\npublic key: {public}")
        else:
            self.stdout.write(secret)

    def partitions(self, options: dict[str, Any]) -> None:
        """Every table partitioned by month (`core.partitions`): the ledger's events and the
        check-ins. Each is made in its own transaction; a refusal stops before the next."""
        from caseledger.core import partitions as parts

        tables = [t for t in parts.registered() if parts.is_partitioned(connection, t)]
        if not tables:
            self.stdout.write("not partitioned here (SQLite): nothing to do")
            return
        for table in tables:
            if not options["list"]:
                try:
                    created = parts.ensure_partitions(
                        table, options["ahead"], move=options["move_default"])
                except parts.PartitionRefused as exc:
                    raise CommandError(str(exc), returncode=1) from exc
                self.stdout.write(f"{table.table} created: "
                                  f"{', '.join(created) if created else 'none'}")
            for p in parts.partitions(table):
                month = f"{p.month:%Y-%m}" if p.month else "default"
                self.stdout.write(f"{p.name:<34} {month:<8} {p.rows:>12,} {table.rows}")

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
        every = max(1, round(settings.LEDGER_CHECKPOINT_INTERVAL_SECONDS / interval))
        counter = itertools.count()

        def tick() -> None:
            """One batch: integrate, and every `every` ticks sign a checkpoint; only on the
            node that leads this loop (core/singleton.py), so one node signs. SIGTERM or
            SIGINT during a tick lets it finish; the loop stops before the next one."""
            n = next(counter)
            if n == 0:
                self.stdout.write(f"integrating every {interval:g} s (stop: SIGTERM or SIGINT)")
                self.stdout.flush()
            if not leadership.acquire():
                return
            leadership.runs += 1
            integrate_pending()
            if n % every == 0:
                try:
                    checkpoints.sign_checkpoint()
                except checkpoints.CheckpointRefused as exc:
                    self.stderr.write(f"checkpoint refused: {exc}")

        with Leadership("ledger integrate") as leadership:
            ticks = run_every(tick, every=interval, max_ticks=options["max_ticks"])
        self.stdout.write(
            f"stopped after {ticks} integration rounds ({leadership.runs} led by this node)"
        )


def _remove_exported_checkpoints(out: Path) -> None:
    """Before an export over an earlier one (--force): drop the earlier checkpoint files, so
    the folder holds exactly this ledger's checkpoints. Only files named like checkpoints."""
    folder = out / "checkpoints"
    if folder.is_dir():
        for item in folder.iterdir():
            if item.name.isdigit() and item.is_file() and not item.is_symlink():
                item.unlink()
