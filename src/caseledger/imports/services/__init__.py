"""Importing persons, cases and hearings from court and agency case lists (CSV).

Only the system's own record kinds are imported, through the same services the screens use,
so every created record gets the ledger events it would get when typed in. Bulk ingestion of
tax, health or social-security records is deliberately not built (DESIGN.md).

How a file is handled (formats in docs/IMPORT_FORMATS.md):

1. The whole file is read, decoded and parsed first. Not UTF-8, broken CSV, or a header that
   is not exactly the format's: the file is refused (`FileRefused`) and nothing is written.
2. Each data row then runs in its own transaction: the service call (with its events), the
   `ImportedRecord` that makes re-imports idempotent, and one `import` event naming the batch.
   A row that fails is rolled back whole and quarantined with a reason code and the message,
   never half applied and never dropped.
3. A row whose external_id was imported before with the same content is "unchanged" (nothing
   written); with other content it is quarantined as `import_conflict`.
4. The batch is closed with its counts and one `import_batch` event.

A dry run does all of this inside one transaction that is rolled back at the end: it reports
what would happen, and leaves no batch, record, event or quarantine row behind.

The package, by capability: `validation` (the cells of one row), `staging` (what a file
looks up once, through the importer's access policy), `persons` and `cases` (what a row of
each kind becomes), `batches` (the run: rows, quarantine, the batch and its events),
`reading` (batches and quarantined rows, for those who may read them). Every public name is
re-exported here.
"""

from __future__ import annotations

from .batches import (
    APPLY,
    CATEGORY,
    DEFAULT_RETENTION_DAYS,
    MAX_EXTERNAL_ID,
    PROGRESS_STEP,
    ImportResult,
    Quarantined,
    import_file,
    importer,
    retention_days,
    row_hash,
    unique_key,
)
from .cases import MAX_JUDGE, MAX_REFERENCE, apply_case, apply_hearing
from .persons import PERSON_LIMITS, apply_person
from .reading import quarantine_rows, readable_batches, recent_batches
from .staging import LOOKUP_CHUNK, Applied, Lookups, chunks, prefetch
from .validation import (
    EARLIEST_DATE,
    HEARING_HORIZON_YEARS,
    Cells,
    RowRejected,
    check_code,
    max_length,
    not_before,
    parse_date,
    parse_local_time,
    reason_for,
)

__all__ = [
    "APPLY",
    "CATEGORY",
    "DEFAULT_RETENTION_DAYS",
    "EARLIEST_DATE",
    "HEARING_HORIZON_YEARS",
    "LOOKUP_CHUNK",
    "MAX_EXTERNAL_ID",
    "MAX_JUDGE",
    "MAX_REFERENCE",
    "PERSON_LIMITS",
    "PROGRESS_STEP",
    "Applied",
    "Cells",
    "ImportResult",
    "Lookups",
    "Quarantined",
    "RowRejected",
    "apply_case",
    "apply_hearing",
    "apply_person",
    "check_code",
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
