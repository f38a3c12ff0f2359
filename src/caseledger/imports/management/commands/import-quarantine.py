"""`caseledger import-quarantine list|show BATCH|purge`: read and purge quarantined rows.

    list  --as USERNAME          recent batches the user may read, with their counts
    show  BATCH --as USERNAME    the quarantined rows of one batch (line, reason, message, row)
    purge [--dry-run]            delete rows past their retention date through the retention
                                 engine (class import_quarantine): deletion certificates

`show` prints rows as written in the file (personal data): it is allowed to the importer, a
supervisor of the importer's office and privacy officers, and each use is a ledger event.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.accounts.models import User
from caseledger.core.errors import DomainError
from caseledger.imports.services import quarantine_rows, recent_batches


class Command(BaseCommand):
    help = "List, show or purge the rows an import quarantined."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="Recent import batches with their counts.")
        listing.add_argument("--as", dest="as_user", required=True, metavar="USERNAME")
        listing.add_argument("--limit", type=int, default=20)
        show = sub.add_parser("show", help="The quarantined rows of one batch.")
        show.add_argument("batch", metavar="BATCH", help="Batch id (printed by the import).")
        show.add_argument("--as", dest="as_user", required=True, metavar="USERNAME")
        purge = sub.add_parser(
            "purge",
            help="Delete quarantined rows past their retention date (the retention engine's "
            "import_quarantine class: one deletion certificate per batch of rows).",
        )
        purge.add_argument(
            "--dry-run", action="store_true", help="Count the rows due; delete nothing."
        )
        purge.add_argument("--batch-size", type=int, default=1000)

    def _user(self, username: str) -> User:
        user = User.objects.select_related("office").filter(username=username).first()
        if user is None or not user.is_active:
            raise CommandError(f"There is no active user '{username}'.")
        return user

    def purge(self, options: dict[str, Any]) -> None:
        """The retention engine's purge of the `import_quarantine` class, run as the system
        (as the scheduled retention task is): each batch leaves a deletion certificate and a
        `purge` ledger event (category `retention`) with the ids, and the run a `purge_run`."""
        from caseledger.retention.models import DataClass
        from caseledger.retention.services import SYSTEM_CONTEXT, run_purge

        try:
            result = run_purge(
                SYSTEM_CONTEXT,
                data_class=DataClass.IMPORT_QUARANTINE,
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                trigger="command",
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        outcome = result.classes[DataClass.IMPORT_QUARANTINE]
        if outcome.skipped:
            raise CommandError(f"The import_quarantine class was not purged: {outcome.skipped}.")
        if result.dry_run:
            self.stdout.write(
                f"Would delete {outcome.takeable} quarantined row(s) past their retention "
                "date (dry run: nothing deleted)."
            )
            return
        self.stdout.write(
            f"Deleted {outcome.deleted} quarantined row(s) past their retention date; "
            f"{len(outcome.certificates)} deletion certificate(s), purge run {result.run_id}."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "purge":
            self.purge(options)
            return
        user = self._user(options["as_user"])
        if action == "list":
            for b in recent_batches(user=user, limit=options["limit"]):
                state = b.finished_at.isoformat() if b.finished_at else "not finished"
                self.stdout.write(
                    f"{b.pk}  {b.kind:<8} {b.file_name}  by {b.user.username}  "
                    f"started {b.started_at.isoformat()}  finished {state}  rows {b.rows}  "
                    f"created {b.created}  unchanged {b.unchanged}  "
                    f"quarantined {b.quarantined}"
                )
            return
        try:
            batch, rows = quarantine_rows(user=user, batch_id=options["batch"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Batch {batch.pk}: {batch.file_name} ({batch.kind}), {len(rows)} quarantined row(s)"
        )
        for row in rows:
            self.stdout.write(
                f"line {row.line} [{row.reason}] {row.message}\n"
                f"    {row.raw}\n    (kept until {row.retain_until.isoformat()})"
            )
