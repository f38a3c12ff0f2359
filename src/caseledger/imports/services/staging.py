"""Staging a file: every row goes into a temporary table first (COPY on PostgreSQL, a plain
`executemany` on SQLite), and what depends on the file as a whole is decided there, set-wise:

- which rows repeat an `external_id` of an earlier row (`duplicate_of`);
- which rows claim a unique value (an A-number, a case reference) that another row of the
  file claims too (`key_repeats`: only those need the "first created wins" check in Python).

What depends on the database is joined when each chunk is read, inside the chunk's own
transaction, so it is current: the earlier import of the row's `external_id` (its row hash),
and whether the row's unique value already belongs to a record.

The table is temporary (per database session) and dropped when the import ends; a refused
file is staged in a transaction that is rolled back, so nothing of it remains. The cells are
kept trimmed (as JSON text); the row as written is kept for the quarantine. The SQL is put
together from fixed column names and the models' table names only; every value from the file
is a parameter or COPY data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from caseledger.cases.models import Case
from caseledger.core.errors import ValidationError
from caseledger.people import validation
from caseledger.people.models import Person

from ..formats import COLUMNS, Row
from ..models import ImportedRecord, ImportKind, Reason
from .bulk import copy_rows
from .validation import Cells

MAX_EXTERNAL_ID = 64
NAME = "caseledger_import_stage"
_COLUMNS = ("line", "raw", "cells", "problem", "message", "external_id", "row_hash", "ukey")
_DDL = (
    "line integer PRIMARY KEY, raw text NOT NULL, cells text, problem text, message text, "
    "external_id text, row_hash text, ukey text, duplicate_of integer, "
    "key_repeats boolean NOT NULL DEFAULT FALSE"
)
# The table holding each kind's unique value, and its column.
_KEY_TABLES = {ImportKind.PERSONS: (Person, "a_number"), ImportKind.CASES: (Case, "reference")}


def row_hash(kind: str, cells: Iterable[str]) -> str:
    """What makes two rows "the same content": the trimmed cells (never change this: it is
    compared with the hashes of earlier imports)."""
    payload = json.dumps([kind, *(c.strip() for c in cells)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


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


def check_external_id(external_id: str) -> tuple[str, str] | None:
    if not external_id:
        return Reason.MISSING_VALUE, "external_id is empty; it is required."
    if len(external_id) > MAX_EXTERNAL_ID or not external_id.isprintable():
        return (
            Reason.INVALID_VALUE,
            f"external_id must be at most {MAX_EXTERNAL_ID} printable characters.",
        )
    return None


@dataclass(frozen=True, slots=True)
class Staged:
    """A staged row with what is known about it before its own values are checked."""

    line: int
    raw: str
    cells: list[str] | None  # trimmed; None when the row was refused when staged
    problem: str | None  # reason decided when staged (malformed row, bad external_id)
    message: str
    external_id: str
    row_hash: str
    key: str | None  # the unique value the row claims, normalised
    duplicate_of: int | None  # an earlier line of the file with the same external_id
    key_repeats: bool  # another row of the file claims the same unique value
    earlier_hash: str | None  # row hash of the earlier import of this external_id
    key_taken: bool  # the unique value already belongs to a record in the database


class StageTable:
    """The temporary table of one import. Use `load` (in a transaction), then `read` chunk by
    chunk (each in its own transaction), and `drop` at the end."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.columns = COLUMNS[kind]
        self.width = len(self.columns)
        schema = "pg_temp" if connection.vendor == "postgresql" else "temp"
        self.table = f"{schema}.{connection.ops.quote_name(NAME)}"

    def load(self, rows: Iterable[Row]) -> int:
        """Create the table and stage `rows` (a refusal raised while they are read leaves the
        table half-filled: run this in a transaction and roll it back). Returns the count."""
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(f"CREATE TEMPORARY TABLE {NAME} ({_DDL})")
        count = copy_rows(self.table, _COLUMNS, (self._staged(row) for row in rows))
        self._decide()
        return count

    def _staged(self, row: Row) -> tuple[Any, ...]:
        if len(row.cells) != self.width:
            message = (
                f"The row has {len(row.cells)} fields; the header has {self.width} "
                f"({','.join(self.columns)}). A comma inside a value must be quoted."
            )
            return (row.line, row.raw, None, Reason.MALFORMED_ROW.value, message, None, None,
                    None)
        cells = [c.strip() for c in row.cells]
        external_id = cells[0]
        problem = check_external_id(external_id)
        if problem:
            return (row.line, row.raw, None, problem[0].value, problem[1], None, None, None)
        key = unique_key(self.kind, Cells(self.columns, cells))
        return (row.line, row.raw, json.dumps(cells), None, None, external_id,
                row_hash(self.kind, cells), key[1] if key else None)

    def _decide(self) -> None:
        """The verdicts that need the whole file, set-wise."""
        t = self.table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {t} AS s SET duplicate_of = f.first_line FROM ("  # noqa: S608
                f"  SELECT external_id, MIN(line) AS first_line FROM {t} WHERE problem IS NULL"
                f"  GROUP BY external_id HAVING COUNT(*) > 1) AS f "
                "WHERE s.external_id = f.external_id AND s.line > f.first_line"
            )
            cursor.execute(
                f"UPDATE {t} AS s SET key_repeats = TRUE FROM ("  # noqa: S608
                f"  SELECT ukey FROM {t} WHERE problem IS NULL AND duplicate_of IS NULL"
                "   AND ukey IS NOT NULL GROUP BY ukey HAVING COUNT(*) > 1) AS k "
                "WHERE s.ukey = k.ukey"
            )
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {t}")

    def read(self, after: int, size: int) -> list[Staged]:
        """The next `size` rows after line `after`, with the database's side of the checks
        (read inside the chunk's transaction, so the answer holds while it is applied).

        Each staged row probes the unique indexes (`kind, external_id` of the imported
        records; the A-number or case reference) by a correlated subquery with `LIMIT 1`,
        which PostgreSQL cannot turn into a join: a plain join let the planner, working
        from statistics taken while an import was filling those tables, scan every imported
        record once per staged row (quadratic: 12 s for the third chunk of a 20,000-row
        file, measured)."""
        quote = connection.ops.quote_name
        records = quote(ImportedRecord._meta.db_table)
        if self.kind in _KEY_TABLES:
            model, column = _KEY_TABLES[self.kind]
            taken = (f"(SELECT TRUE FROM {quote(model._meta.db_table)} k "  # noqa: S608
                     f"WHERE k.{quote(column)} = s.ukey LIMIT 1)")
        else:
            taken = "FALSE"
        earlier = (f"(SELECT r.row_hash FROM {records} r WHERE r.kind = %s "  # noqa: S608
                   "AND r.external_id = s.external_id LIMIT 1)")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.line, s.raw, s.cells, s.problem, s.message, s.external_id, s.row_hash,"  # noqa: S608
                f" s.ukey, s.duplicate_of, s.key_repeats, {earlier}, {taken} "
                f"FROM {self.table} s WHERE s.line > %s ORDER BY s.line LIMIT %s",
                [self.kind, after, size],
            )
            fetched = cursor.fetchall()
        return [
            Staged(line, raw, json.loads(cells) if cells is not None else None, problem,
                   message or "", external_id or "", digest or "", key, duplicate_of,
                   bool(repeats), earlier, bool(key_taken))
            for (line, raw, cells, problem, message, external_id, digest, key, duplicate_of,
                 repeats, earlier, key_taken) in fetched
        ]

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
