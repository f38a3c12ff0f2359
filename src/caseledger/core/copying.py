"""Writing many rows at once, below the ORM: one COPY on PostgreSQL, `executemany` elsewhere.

The one helper for bulk writes that must not pay for `save()` (the CSV importer's chunks, the
ledger's batches of events, entries and nodes). Values are never put into SQL text: COPY
carries them as data (psycopg escapes tabs, newlines, backslashes, NULLs and bytes in the
text format, and sends typed binary values in the binary one), `executemany` as parameters.
Only table and column names, which come from the code, are put into the statement.

COPY is the driver's own call, so Django does not map its errors: they are mapped here, so a
refused row raises Django's `IntegrityError` or `DataError` like any other write.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model

SQLITE_BATCH = 1000
_PG_TYPE_NAMES = {"timestamp with time zone": "timestamptz"}


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
              types: Sequence[str] | None = None) -> int:
    """Write `rows` (value sequences in `columns` order) into `table` (an already quoted,
    possibly schema-qualified name); returns how many.

    On PostgreSQL one COPY: in the binary format when `types` (PostgreSQL type names, one
    per column) are given, each value then sent as that type; in the text format otherwise.
    Elsewhere `executemany`, `SQLITE_BATCH` rows at a time. The values must already be in a
    form the database takes (on SQLite: what the model field's `get_db_prep_save` gives)."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            options = " (FORMAT BINARY)" if types else ""
            statement = f"COPY {table} ({names}) FROM STDIN{options}"
            with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
                if types:
                    copy.set_types(list(types))
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= SQLITE_BATCH:
                cursor.executemany(statement, batch)
                count, batch = count + len(batch), []
        if batch:
            cursor.executemany(statement, batch)
            count += len(batch)
    return count


@functools.cache
def model_fields(model: type[Model], columns: tuple[str, ...]) -> tuple[Field, ...]:
    return tuple(model._meta.get_field(c) for c in columns)


@functools.cache
def pg_types(model: type[Model], columns: tuple[str, ...]) -> tuple[str, ...]:
    """The PostgreSQL type of each column, for a binary COPY (`varchar(200)` -> `varchar`)."""
    types = [f.db_type(connection).split("(")[0].strip() for f in model_fields(model, columns)]
    return tuple(_PG_TYPE_NAMES.get(t, t) for t in types)


def copy_model_rows(model: type[Model], columns: tuple[str, ...],
                    rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows of `model` (Python values in `columns` order) without `save()`; returns
    how many. On PostgreSQL one binary COPY, each value sent as its column's type (half the
    client's work of a text COPY); elsewhere each value adapted by its field, as `save()`
    would (hex UUIDs, text times, JSON text), and sent by `executemany`."""
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        return copy_rows(table, columns, rows, types=pg_types(model, columns))
    fields = model_fields(model, columns)
    return copy_rows(table, columns, (
        [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
        for row in rows))
