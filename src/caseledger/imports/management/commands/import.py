"""`caseledger import FILE.csv --kind persons|cases|hearings --as USERNAME [--dry-run]`.

Exit status 0 when the file was read (even if rows were quarantined: the summary lists them
by reason), 1 when it was refused as a whole (nothing was applied). Formats and reasons:
docs/IMPORT_FORMATS.md.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from caseledger.core.errors import DomainError
from caseledger.imports.models import ImportKind, Reason
from caseledger.imports.services import ImportResult, import_file, importer

SHOWN_QUARANTINE = 20


class Command(BaseCommand):
    help = (
        "Import persons, cases or hearings from a court or agency case list (UTF-8 CSV). "
        "Bad rows are quarantined with their reason; see docs/IMPORT_FORMATS.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE.csv", help="The CSV file to import.")
        parser.add_argument(
            "--kind", required=True, choices=ImportKind.values, help="What the file lists."
        )
        parser.add_argument(
            "--as",
            dest="as_user",
            required=True,
            metavar="USERNAME",
            help="Case officer or supervisor the import runs as (persons go to their office).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check every row and report, but apply nothing and keep no quarantine.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = importer(options["as_user"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        err = getattr(self.stderr, "_out", sys.stderr)
        console = Console(file=err, stderr=True)
        progress = Progress(
            TextColumn(f"importing {options['kind']}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        task: list[TaskID] = []

        def start(rows: int) -> None:
            task.append(progress.add_task("import", total=rows))

        try:
            with progress:
                result = import_file(
                    options["file"],
                    kind=options["kind"],
                    user=user,
                    dry_run=options["dry_run"],
                    on_start=start,
                    progress=lambda n: progress.advance(task[0], n),
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self._summary(result)

    def _summary(self, result: ImportResult) -> None:
        out = self.stdout.write
        title = "Dry run (nothing applied)" if result.dry_run else f"Batch {result.batch_id}"
        out(f"{title}: {result.file_name} ({result.kind}, sha256 {result.sha256[:16]}...)")
        would = "would be " if result.dry_run else ""
        out(f"  rows:        {result.rows}")
        out(f"  {would}created:     {result.created}")
        out(f"  unchanged:   {result.unchanged} (imported earlier with the same content)")
        out(f"  {would}quarantined: {len(result.quarantined)}")
        for reason, count in result.by_reason.items():
            out(f"    {reason}: {count} ({Reason(reason).label})")
        for q in result.quarantined[:SHOWN_QUARANTINE]:
            out(f"  line {q.line}: [{q.reason}] {q.message}")
        if len(result.quarantined) > SHOWN_QUARANTINE:
            out(f"  ... and {len(result.quarantined) - SHOWN_QUARANTINE} more.")
        if result.quarantined and not result.dry_run:
            out(
                f"  The quarantined rows are kept with their reasons: "
                f"caseledger import-quarantine show {result.batch_id} --as USERNAME"
            )
        out(f"  time: {result.seconds:.1f} s ({result.rows_per_second:,.0f} rows/s)")
