"""The import itself: one file, one batch, staged and then applied chunk by chunk.

1. The file is decoded and parsed row by row into a temporary table (`staging.StageTable`):
   a structural error (not UTF-8, broken CSV, wrong header, shifted columns) refuses it, and
   the staging transaction is rolled back, so nothing is left.
2. The batch is opened, then the staged rows are taken in chunks of `CHUNK_ROWS`, each chunk
   in one transaction: its created records, their ledger events (one `import` event per
   created record, besides the services' own), its `ImportedRecord`s and its quarantined
   rows commit together or not at all.
3. Within a chunk, each row is decided in line order: refused when staged, a repeated
   `external_id`, an earlier import (unchanged, or `import_conflict`), a unique value created
   from an earlier line; then its own values are checked. Persons are checked in Python and
   written set-wise (`persons.PersonWriter`); cases and hearings go through their services
   one row at a time, each in a savepoint. If the database refuses a chunk's set-wise write
   (a constraint another writer got to first), the chunk is applied again row by row through
   the services, so every row is still created, unchanged or quarantined, never half applied.
4. The batch is closed with its counts and one `import_batch` event.

A dry run does all of this and rolls every chunk back: it reports what would happen, and
leaves no batch, record, event or quarantine row behind. An interrupted run leaves the chunks
it committed and a batch without `finished_at`; importing the file again continues (the rows
already created are unchanged).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DataError, IntegrityError, transaction

from caseledger.access import policies
from caseledger.access.context import AccessContext, default_purpose
from caseledger.access.policies import Ability
from caseledger.accounts.models import User
from caseledger.core import clock
from caseledger.core.errors import DomainError, NotFound, PermissionDenied
from caseledger.ledger.services import Actor, record_write
from caseledger.ledger.vocabulary import Action, Category

from ..formats import COLUMNS, FileRefused, Row, RowReader, decode
from ..models import ImportBatch, ImportedRecord, ImportKind, QuarantinedRow, Reason
from .bulk import insert_rows, new_ids
from .cases import apply_case, apply_hearing
from .lookups import Applied, Lookups, prefetch
from .persons import (
    PERSON_LIMITS,
    NewPerson,
    PersonWriter,
    apply_person,
    build_person,
    may_write_in_bulk,
)
from .persons import taken_message as person_taken
from .staging import Staged, StageTable
from .validation import Cells, RowRejected, check_sizes, reason_for

DEFAULT_RETENTION_DAYS = 90
CHUNK_ROWS = 5000
PROGRESS_STEP = CHUNK_ROWS
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
# The columns whose length the input model checks (None; others: at most MAX_CELL).
LIMITS: dict[str, dict[str, int | None]] = {
    ImportKind.PERSONS: PERSON_LIMITS,
    ImportKind.CASES: {"reference": None},
    ImportKind.HEARINGS: {"judge": None},
}
# How a row's unique value is named in the message of a `duplicate`.
KEY_LABEL = {ImportKind.PERSONS: "A-number", ImportKind.CASES: "case reference"}
_QUARANTINE = ("id", "created_at", "updated_at", "row_version", "batch_id", "line", "raw",
               "reason", "message", "retain_until")


def retention_days() -> int:
    return int(getattr(settings, "IMPORT_QUARANTINE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


@dataclass(frozen=True)
class Quarantined:
    line: int
    reason: str
    message: str
    raw: str = field(default="", repr=False, compare=False)


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


class _DryRunRollback(Exception):
    """Raised at the end of a chunk's transaction in a dry run, to roll it back."""


@dataclass
class _Chunk:
    """What one chunk decided; added to the result once its transaction is done."""

    created: int = 0
    unchanged: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    claimed: list[tuple[str, int]] = field(default_factory=list)  # unique values it created
    persons: list[tuple[Staged, NewPerson]] = field(default_factory=list)


class _Importer:
    def __init__(self, *, kind: str, stage: StageTable, user: User, batch: ImportBatch,
                 dry_run: bool, progress: Callable[[int], None] | None) -> None:
        self.kind = kind
        self.columns = COLUMNS[kind]
        self.apply = APPLY[kind]
        self.stage = stage
        self.batch = batch
        self.dry_run = dry_run
        self.progress = progress
        self.ctx = AccessContext(
            user=user, purpose=default_purpose(user), request_id=f"import-{batch.pk}"
        )
        self.retain_until = batch.started_at.date() + timedelta(days=retention_days())
        self.lookups = Lookups(self.ctx)
        self.bulk = kind == ImportKind.PERSONS and may_write_in_bulk(self.ctx)
        self.writer = PersonWriter(self.ctx, batch) if self.bulk else None
        # A unique value (A-number, case reference) that more than one row of the file claims
        # -> the line that created it. Only values the staging found repeated are kept.
        self.claimed: dict[str, int] = {}
        self.result = ImportResult(
            kind=kind, file_name=batch.file_name, sha256=batch.sha256, dry_run=dry_run,
            batch_id=None if dry_run else batch.pk, rows=batch.rows,
        )

    def run(self) -> ImportResult:
        after = 0
        while True:
            handled, last = self._chunk(after)
            if not handled:
                return self.result
            after = last
            if self.progress:
                self.progress(handled)

    def _chunk(self, after: int) -> tuple[int, int]:
        """Read, decide and write the chunk after line `after`, in one transaction."""
        staged: list[Staged] = []
        chunk = _Chunk()
        try:
            with transaction.atomic():
                staged = self.stage.read(after, CHUNK_ROWS)
                if not staged:
                    return 0, after
                chunk = self._decide(staged, bulk=self.bulk)
                if chunk.persons and not self._written(chunk):
                    self._forget(chunk)
                    chunk = self._decide(staged, bulk=False)
                self._store_quarantine(chunk.quarantined)
                if self.dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            pass
        except BaseException:
            self._forget(chunk)
            raise
        self.result.created += chunk.created
        self.result.unchanged += chunk.unchanged
        # The rows as written were needed for the chunk's quarantine table only.
        self.result.quarantined += [replace(q, raw="") for q in chunk.quarantined]
        return len(staged), staged[-1].line

    def _written(self, chunk: _Chunk) -> bool:
        """Write the chunk's persons set-wise in a savepoint; False (all of it undone) if the
        database refused it, e.g. an A-number or external_id taken by another writer since
        the chunk was read."""
        assert self.writer is not None
        try:
            with transaction.atomic():
                self.writer.write(chunk.persons)
        except (IntegrityError, DataError):
            return False
        return True

    def _forget(self, chunk: _Chunk) -> None:
        """Undo what a chunk claimed (its writes were rolled back)."""
        for key, line in chunk.claimed:
            if self.claimed.get(key) == line:
                del self.claimed[key]

    def _decide(self, staged: list[Staged], *, bulk: bool) -> _Chunk:
        chunk = _Chunk()
        if not bulk and self.kind != ImportKind.PERSONS:
            prefetch(self.kind, (Row(s.line, s.cells, s.raw) for s in staged if s.cells),
                     self.lookups)
        for s in staged:
            problem = self._before_values(s, chunk)
            if problem:
                self._quarantine(chunk, s, *problem)
            elif s.earlier_hash is None and self._one(s, chunk, bulk=bulk):
                chunk.created += 1
                if s.key_repeats and s.key:
                    self.claimed[s.key] = s.line
                    chunk.claimed.append((s.key, s.line))
        return chunk

    def _before_values(self, s: Staged, chunk: _Chunk) -> tuple[str, str] | None:
        """What decides a row before its own values are looked at, in this order: refused
        when staged, a repeated external_id, an earlier import, a claimed unique value."""
        if s.problem:
            return s.problem, s.message
        if s.duplicate_of is not None:
            return (
                Reason.DUPLICATE,
                f"external_id {s.external_id} is also on line {s.duplicate_of} of this "
                "file; only the first row with an external_id is considered.",
            )
        if s.earlier_hash is not None:
            return self._earlier(s, s.earlier_hash, chunk)
        if s.key_repeats and s.key in self.claimed:
            return (
                Reason.DUPLICATE,
                f"{KEY_LABEL[self.kind]} {s.key} is also on line {self.claimed[s.key]} of "
                "this file, which was imported; a record is imported once.",
            )
        return None

    def _earlier(self, s: Staged, previous: str, chunk: _Chunk) -> tuple[str, str] | None:
        if previous == s.row_hash:
            chunk.unchanged += 1
            return None
        return (
            Reason.IMPORT_CONFLICT,
            f"external_id {s.external_id} was imported earlier with other content; this row "
            "conflicts with an earlier import. The import does not change records: correct "
            "the record in caseledger, or give the row a new external_id if it is a new one.",
        )

    def _one(self, s: Staged, chunk: _Chunk, *, bulk: bool) -> bool:
        """Check the row's own values; set-wise, keep it for the chunk's write, else apply
        it now. False (and the row quarantined) if it cannot be applied."""
        assert s.cells is not None
        cells = Cells(self.columns, s.cells)
        try:
            check_sizes(cells, LIMITS[self.kind])
            if bulk:
                person = build_person(cells, s.key)
            else:
                return self._applied(s, cells, chunk)
        except RowRejected as exc:
            self._quarantine(chunk, s, exc.reason, exc.message)
            return False
        except DomainError as exc:
            self._quarantine(chunk, s, reason_for(exc), exc.message)
            return False
        if s.key_taken:
            self._quarantine(chunk, s, Reason.ALREADY_EXISTS, person_taken(s.key or ""))
            return False
        chunk.persons.append((s, person))
        return True

    # --- one row at a time, through the services -------------------------------------------

    def _applied(self, s: Staged, cells: Cells, chunk: _Chunk) -> bool:
        """Apply the row in its own savepoint; False (and the row quarantined) if it failed,
        with everything it wrote rolled back."""
        try:
            with transaction.atomic():
                self._apply(s, cells)
        except RowRejected as exc:
            self._quarantine(chunk, s, exc.reason, exc.message)
            return False
        except DomainError as exc:
            self._quarantine(chunk, s, reason_for(exc), exc.message)
            return False
        except IntegrityError:
            self._integrity_error(s, chunk)
            return False
        except DataError:
            self._quarantine(
                chunk, s, Reason.INVALID_VALUE, "A value does not fit its field (too long?)."
            )
            return False
        return True

    def _apply(self, s: Staged, cells: Cells) -> None:
        """The row's writes: the service call (with its events), the imported record, and the
        import event naming the batch. Runs inside the row's savepoint."""
        applied = self.apply(self.ctx, cells, self.lookups)
        ImportedRecord.objects.create(
            kind=self.kind,
            external_id=s.external_id,
            record_type=applied.record_type,
            record_id=applied.record_id,
            first_batch=self.batch,
            line=s.line,
            row_hash=s.row_hash,
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
            detail={"batch": str(self.batch.pk), "kind": self.kind, "line": s.line},
        )

    def _integrity_error(self, s: Staged, chunk: _Chunk) -> None:
        previous = (
            ImportedRecord.objects.filter(kind=self.kind, external_id=s.external_id)
            .values_list("row_hash", flat=True)
            .first()
        )
        if previous is not None:  # imported meanwhile by another run
            problem = self._earlier(s, previous, chunk)
            if problem:
                self._quarantine(chunk, s, *problem)
            return
        self._quarantine(
            chunk,
            s,
            Reason.ALREADY_EXISTS,
            "The row conflicts with an existing record (a value that must be unique, such as "
            "an A-number or a case reference, is already in use).",
        )

    # --- quarantine ---------------------------------------------------------------------

    def _quarantine(self, chunk: _Chunk, s: Staged, reason: str, message: str) -> None:
        chunk.quarantined.append(Quarantined(s.line, str(reason), message, s.raw))

    def _store_quarantine(self, rows: list[Quarantined]) -> None:
        if self.dry_run or not rows:
            return
        now = clock.now()
        insert_rows(QuarantinedRow, _QUARANTINE, (
            (qid, now, now, 1, self.batch.pk, q.line, q.raw, q.reason, q.message,
             self.retain_until)
            for qid, q in zip(new_ids(len(rows)), rows, strict=True)))


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
    staged; `progress(n)` after every chunk of n rows handled.

    A dry run applies each chunk in a transaction that is rolled back, and stores no batch and
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
    text = decode(data, path.name)
    del data
    started = time.perf_counter()
    stage = StageTable(kind)
    try:
        rows = _stage(stage, text, kind, path.name)
        del text
        if on_start:
            on_start(rows)
        batch = ImportBatch(
            file_name=path.name[:255], sha256=digest, kind=kind, user=user,
            started_at=clock.now(), rows=rows,
        )
        if not dry_run:
            batch.save(force_insert=True)
        result = _Importer(
            kind=kind, stage=stage, user=user, batch=batch, dry_run=dry_run, progress=progress
        ).run()
    finally:
        stage.drop()
    if not dry_run:
        _finish(batch, result)
    result.seconds = time.perf_counter() - started
    return result


def _stage(stage: StageTable, text: str, kind: str, name: str) -> int:
    """Parse and stage the file in one transaction: a refusal rolls the staging back."""
    with transaction.atomic():
        reader = RowReader(text, kind, name)
        count = stage.load(reader)
        reader.finish()
    return count


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
