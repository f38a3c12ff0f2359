"""`caseledger import-quarantine list|show BATCH|purge`: read and purge quarantined rows.

    list  --as USERNAME          recent batches the user may read, with their counts
    show  BATCH --as USERNAME    the quarantined rows of one batch (line, reason, message, row)
    purge                        delete rows past their retention date (one ledger event)

`show` prints rows as written in the file (personal data): it is allowed to the importer, a
supervisor of the importer's office and privacy officers, and each use is a ledger event.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseledger.accounts.models import User
from caseledger.core.errors import DomainError
from caseledger.imports.services import (
    purge_expired_quarantine,
    quarantine_rows,
    recent_batches,
)


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
        sub.add_parser("purge", help="Delete quarantined rows past their retention date.")

    def _user(self, username: str) -> User:
        user = User.objects.select_related("office").filter(username=username).first()
        if user is None or not user.is_active:
            raise CommandError(f"There is no active user '{username}'.")
        return user

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "purge":
            deleted = purge_expired_quarantine()
            self.stdout.write(f"Deleted {deleted} quarantined row(s) past their retention date.")
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
            f"Batch {batch.pk}: {batch.file_name} ({batch.kind}), {len(rows)} quarantined "
            "row(s)"
        )
        for row in rows:
            self.stdout.write(
                f"line {row.line} [{row.reason}] {row.message}\n"
                f"    {row.raw}\n    (kept until {row.retain_until.isoformat()})"
            )
