"""The import itself: one file, one batch, each row in its own transaction.

Each data row runs in its own transaction: the service call (with its events), the
`ImportedRecord` that makes re-imports idempotent, and one `import` event naming the batch.
A row that fails is rolled back whole and quarantined with a reason code and the message,
never half applied and never dropped. The batch is closed with its counts and one
`import_batch` event. A dry run rolls every row back and keeps no batch or quarantine.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DataError, IntegrityError, transaction

from caseledger.access import policies
from caseledger.access.context import AccessContext, default_purpose
from caseledger.access.policies import Ability
from caseledger.accounts.models import User
from caseledger.core import clock
from caseledger.core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.services import Actor, record_write
from caseledger.ledger.vocabulary import Action, Category
from caseledger.people import validation

from ..formats import COLUMNS, FileRefused, Row, decode, read_rows
from ..models import ImportBatch, ImportedRecord, ImportKind, QuarantinedRow, Reason
from .cases import apply_case, apply_hearing
from .persons import apply_person
from .staging import Applied, Lookups, chunks, prefetch
from .validation import Cells, RowRejected, reason_for

DEFAULT_RETENTION_DAYS = 90
MAX_EXTERNAL_ID = 64
PROGRESS_STEP = 10
CATEGORY = {
    ImportKind.PERSONS: Category.IDENTITY,
    ImportKind.CASES: Category.CASE,
    ImportKind.HEARINGS: Category.HEARING,
}
APPLY: dict[str, Callable[[AccessContext, Cells, Lookups], Applied]] = {
    ImportKind.PERSONS: apply_person,
    ImportKind.CASES: apply_case,
    ImportKind.HEARINGS: apply_hearing,
}


def retention_days() -> int:
    return int(getattr(settings, "IMPORT_QUARANTINE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


@dataclass(frozen=True)
class Quarantined:
    line: int
    reason: str
    message: str


@dataclass
class ImportResult:
    kind: str
    file_name: str
    sha256: str
    dry_run: bool
    batch_id: uuid.UUID | None = None
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(q.reason for q in self.quarantined).items()))

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def importer(username: str) -> User:
    """The staff user an import runs as: an active user whose role runs imports, with an
    office (imported persons are created in it). Refused before anything is read, so an
    operator's typo writes nothing, not even an event."""
    user = User.objects.select_related("office").filter(username=username).first()
    if user is None:
        raise NotFound(f"There is no user '{username}'.")
    if not user.is_active:
        raise PermissionDenied(f"The user '{username}' is not active.")
    if not policies.allows(user, Ability.RUN_IMPORT):
        raise PermissionDenied(
            f"Imports run as a case officer or a supervisor; '{username}' is a "
            f"{user.get_role_display().lower()}."
        )
    if user.office_id is None:
        raise PermissionDenied(
            f"'{username}' has no office; imported persons are created in the importer's office."
        )
    return user


def row_hash(kind: str, cells: Iterable[str]) -> str:
    payload = json.dumps([kind, *(c.strip() for c in cells)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class _DryRunRollback(Exception):
    """Raised at the end of a row's transaction in a dry run, to roll it back."""


def unique_key(kind: str, c: Cells) -> tuple[str, str] | None:
    """The value a row claims that must be unique (A-number, case reference), if any."""
    if kind == ImportKind.PERSONS and c.text("a_number"):
        try:
            a_number = validation.normalize_a_number(c.text("a_number"))
        except ValidationError:
            return None  # the service reports it
        return ("A-number", a_number) if a_number else None
    if kind == ImportKind.CASES and c.text("reference"):
        return "case reference", c.text("reference")
    return None


class _Importer:
    def __init__(
        self,
        *,
        kind: str,
        rows: list[Row],
        user: User,
        batch: ImportBatch,
        dry_run: bool,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.kind = kind
        self.columns = COLUMNS[kind]
        self.width = len(self.columns)
        self.apply = APPLY[kind]
        self.rows = rows
        self.batch = batch
        self.dry_run = dry_run
        self.progress = progress
        self.ctx = AccessContext(
            user=user, purpose=default_purpose(user), request_id=f"import-{batch.pk}"
        )
        self.retain_until = batch.started_at.date() + timedelta(days=retention_days())
        self.lookups = Lookups(self.ctx)
        self.earlier: dict[str, str] = {}  # external_id -> row hash, of earlier imports
        self.seen: dict[str, int] = {}  # external_id -> line, in this file
        self.claimed: dict[tuple[str, str], int] = {}  # unique value -> line that created it
        self.result = ImportResult(
            kind=kind,
            file_name=batch.file_name,
            sha256=batch.sha256,
            dry_run=dry_run,
            batch_id=None if dry_run else batch.pk,
            rows=len(rows),
        )

    def run(self) -> ImportResult:
        prefetch(self.kind, self.rows, self.lookups)
        self.earlier = self._earlier_imports()
        for done, row in enumerate(self.rows, start=1):
            self._one(row)
            if self.progress and (done % PROGRESS_STEP == 0 or done == len(self.rows)):
                self.progress(done % PROGRESS_STEP or PROGRESS_STEP)
        return self.result

    def _earlier_imports(self) -> dict[str, str]:
        index = self.columns.index("external_id")
        ids = sorted({r.cells[index].strip() for r in self.rows if len(r.cells) > index})
        found: dict[str, str] = {}
        for chunk in chunks(ids):
            found.update(
                ImportedRecord.objects.filter(kind=self.kind, external_id__in=chunk).values_list(
                    "external_id", "row_hash"
                )
            )
        return found

    def _one(self, row: Row) -> None:
        if len(row.cells) != self.width:
            self._quarantine(
                row,
                Reason.MALFORMED_ROW,
                f"The row has {len(row.cells)} fields; the header has {self.width} "
                f"({','.join(self.columns)}). A comma inside a value must be quoted.",
            )
            return
        cells = Cells(self.columns, row.cells)
        external_id = cells.text("external_id")
        problem = self._check_external_id(external_id)
        if problem:
            self._quarantine(row, *problem)
            return
        if external_id in self.seen:
            self._quarantine(
                row,
                Reason.DUPLICATE,
                f"external_id {external_id} is also on line {self.seen[external_id]} of this "
                "file; only the first row with an external_id is considered.",
            )
            return
        self.seen[external_id] = row.line
        digest = row_hash(self.kind, row.cells)
        if external_id in self.earlier:
            self._earlier(row, external_id, digest, self.earlier[external_id])
            return
        key = unique_key(self.kind, cells)
        if key in self.claimed:
            self._quarantine(
                row,
                Reason.DUPLICATE,
                f"{key[0]} {key[1]} is also on line {self.claimed[key]} of this file, which "
                "was imported; a record is imported once.",
            )
            return
        if self._applied(row, cells, external_id, digest):
            self.result.created += 1
            if key:
                self.claimed[key] = row.line

    def _applied(self, row: Row, cells: Cells, external_id: str, digest: str) -> bool:
        """Apply the row in its own transaction; False (and the row quarantined) if it
        failed, with everything it wrote rolled back."""
        try:
            with transaction.atomic():
                self._apply(row, cells, external_id, digest)
                if self.dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            pass
        except RowRejected as exc:
            self._quarantine(row, exc.reason, exc.message)
            return False
        except DomainError as exc:
            self._quarantine(row, reason_for(exc), exc.message)
            return False
        except IntegrityError:
            self._integrity_error(row, external_id, digest)
            return False
        except DataError:
            self._quarantine(
                row, Reason.INVALID_VALUE, "A value does not fit its field (too long?)."
            )
            return False
        return True

    def _apply(self, row: Row, cells: Cells, external_id: str, digest: str) -> None:
        """The row's writes: the service call (with its events), the imported record, and the
        import event naming the batch. Runs inside the row's transaction."""
        applied = self.apply(self.ctx, cells, self.lookups)
        ImportedRecord.objects.create(
            kind=self.kind,
            external_id=external_id,
            record_type=applied.record_type,
            record_id=applied.record_id,
            first_batch=self.batch,
            line=row.line,
            row_hash=digest,
        )
        record_write(
            actor=self.ctx.actor,
            purpose=self.ctx.purpose,
            request_id=self.ctx.request_id,
            action=Action.IMPORT,
            category=CATEGORY[self.kind],
            subject_id=applied.subject_id,
            record_type=applied.record_type,
            record_id=applied.record_id,
            detail={"batch": str(self.batch.pk), "kind": self.kind, "line": row.line},
        )

    def _integrity_error(self, row: Row, external_id: str, digest: str) -> None:
        previous = (
            ImportedRecord.objects.filter(kind=self.kind, external_id=external_id)
            .values_list("row_hash", flat=True)
            .first()
        )
        if previous is not None:  # imported meanwhile by another run
            self._earlier(row, external_id, digest, previous)
            return
        self._quarantine(
            row,
            Reason.ALREADY_EXISTS,
            "The row conflicts with an existing record (a value that must be unique, such as "
            "an A-number or a case reference, is already in use).",
        )

    def _check_external_id(self, external_id: str) -> tuple[str, str] | None:
        if not external_id:
            return Reason.MISSING_VALUE, "external_id is empty; it is required."
        if len(external_id) > MAX_EXTERNAL_ID or not external_id.isprintable():
            return (
                Reason.INVALID_VALUE,
                f"external_id must be at most {MAX_EXTERNAL_ID} printable characters.",
            )
        return None

    def _earlier(self, row: Row, external_id: str, digest: str, previous: str) -> None:
        if previous == digest:
            self.result.unchanged += 1
            return
        self._quarantine(
            row,
            Reason.IMPORT_CONFLICT,
            f"external_id {external_id} was imported earlier with other content; this row "
            "conflicts with an earlier import. The import does not change records: correct "
            "the record in caseledger, or give the row a new external_id if it is a new one.",
        )

    def _quarantine(self, row: Row, reason: str, message: str) -> None:
        self.result.quarantined.append(Quarantined(row.line, str(reason), message))
        if self.dry_run:
            return
        QuarantinedRow.objects.create(
            batch=self.batch,
            line=row.line,
            raw=row.raw,
            reason=reason,
            message=message,
            retain_until=self.retain_until,
        )


def import_file(
    path: str | Path,
    *,
    kind: str,
    user: User,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import `path` as `kind`, running as `user`. Raises FileRefused if the file as a whole
    cannot be imported (nothing is written then). `on_start(rows)` is called once the file is
    parsed; `progress(n)` after every n rows handled.

    A dry run applies each row in a transaction that is rolled back, and stores no batch and
    no quarantine: it reports what a real run would do (barring changes made meanwhile)."""
    if kind not in ImportKind.values:
        raise FileRefused(f"Unknown kind '{kind}'. Use one of: {', '.join(ImportKind.values)}.")
    if not policies.allows(user, Ability.RUN_IMPORT) or user.office_id is None:
        raise PermissionDenied("Imports run as a case officer or supervisor with an office.")
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRefused(f"{path.name} cannot be read: {exc.strerror}.") from None
    digest = hashlib.sha256(data).hexdigest()
    rows = read_rows(decode(data, path.name), kind, path.name)
    if on_start:
        on_start(len(rows))
    started = time.perf_counter()
    batch = ImportBatch(
        file_name=path.name[:255],
        sha256=digest,
        kind=kind,
        user=user,
        started_at=clock.now(),
        rows=len(rows),
    )
    if not dry_run:
        batch.save(force_insert=True)
    result = _Importer(
        kind=kind, rows=rows, user=user, batch=batch, dry_run=dry_run, progress=progress
    ).run()
    if not dry_run:
        _finish(batch, result)
    result.seconds = time.perf_counter() - started
    return result


def _finish(batch: ImportBatch, result: ImportResult) -> None:
    with transaction.atomic():
        batch.finished_at = clock.now()
        batch.created = result.created
        batch.unchanged = result.unchanged
        batch.quarantined = len(result.quarantined)
        batch.save(
            update_fields=["finished_at", "created", "unchanged", "quarantined", "updated_at"]
        )
        record_write(
            actor=Actor.of(batch.user),
            purpose=default_purpose(batch.user),
            request_id=f"import-{batch.pk}",
            action=Action.IMPORT_BATCH,
            category=Category.IMPORT,
            record_type="imports.importbatch",
            record_id=batch.pk,
            detail={
                "kind": batch.kind,
                "sha256": batch.sha256,
                "rows": batch.rows,
                "created": batch.created,
                "unchanged": batch.unchanged,
                "quarantined": result.by_reason,
            },
        )
