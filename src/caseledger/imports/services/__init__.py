"""Importing persons, cases and hearings from court and agency case lists (CSV).

Only the system's own record kinds are imported, and every created record gets the ledger
events it would get when typed in, plus an `import` event naming the batch. Bulk ingestion of
tax, health or social-security records is deliberately not built (DESIGN.md).

How a file is handled (formats in docs/IMPORT_FORMATS.md; the steps in `batches`):

1. The file is decoded and parsed row by row into a temporary table. Not UTF-8, broken CSV,
   a header that is not exactly the format's, shifted columns: the file is refused
   (`FileRefused`) and nothing is written.
2. What needs the whole file is decided set-wise in SQL (a repeated `external_id`, a unique
   value claimed twice); what needs the database is joined per chunk (earlier imports, an
   A-number already recorded).
3. The rows are applied in chunks, each chunk one transaction: persons are checked in Python
   and written set-wise with their events (`ledger.services.record_events`); cases and
   hearings go through their services row by row. A row that fails is quarantined with a
   reason code and the message, never half applied and never dropped. A row whose
   external_id was imported before with the same content is "unchanged"; with other content
   it is quarantined as `import_conflict`.
4. The batch is closed with its counts and one `import_batch` event.

A dry run does all of this and rolls every chunk back.

The package, by capability: `validation` (the cells of one row), `staging` (the temporary
table and the set-wise checks), `lookups` (what a chunk looks up through the importer's
access policy), `persons` and `cases` (what a row of each kind becomes), `bulk` (writing
rows below the ORM), `batches` (the run: chunks, quarantine, the batch and its events),
`reading` (batches and quarantined rows, for those who may read them). Every public name is
re-exported here.
"""

from __future__ import annotations

from .batches import (
    APPLY,
    CATEGORY,
    CHUNK_ROWS,
    DEFAULT_RETENTION_DAYS,
    PROGRESS_STEP,
    ImportResult,
    Quarantined,
    import_file,
    importer,
    retention_days,
)
from .cases import MAX_JUDGE, MAX_REFERENCE, apply_case, apply_hearing
from .lookups import LOOKUP_CHUNK, Applied, Lookups, chunks, prefetch
from .persons import PERSON_LIMITS, NewPerson, PersonWriter, apply_person, build_person
from .reading import quarantine_rows, readable_batches, recent_batches
from .staging import MAX_EXTERNAL_ID, Staged, StageTable, row_hash, unique_key
from .validation import (
    EARLIEST_DATE,
    HEARING_HORIZON_YEARS,
    MAX_CELL,
    Cells,
    RowRejected,
    check_code,
    check_sizes,
    max_length,
    not_before,
    parse_date,
    parse_local_time,
    reason_for,
)

__all__ = [
    "APPLY",
    "CATEGORY",
    "CHUNK_ROWS",
    "DEFAULT_RETENTION_DAYS",
    "EARLIEST_DATE",
    "HEARING_HORIZON_YEARS",
    "LOOKUP_CHUNK",
    "MAX_CELL",
    "MAX_EXTERNAL_ID",
    "MAX_JUDGE",
    "MAX_REFERENCE",
    "PERSON_LIMITS",
    "PROGRESS_STEP",
    "Applied",
    "Cells",
    "ImportResult",
    "Lookups",
    "NewPerson",
    "PersonWriter",
    "Quarantined",
    "RowRejected",
    "StageTable",
    "Staged",
    "apply_case",
    "apply_hearing",
    "apply_person",
    "build_person",
    "check_code",
    "check_sizes",
    "chunks",
    "import_file",
    "importer",
    "max_length",
    "not_before",
    "parse_date",
    "parse_local_time",
    "prefetch",
    "quarantine_rows",
    "readable_batches",
    "reason_for",
    "recent_batches",
    "retention_days",
    "row_hash",
    "unique_key",
]
