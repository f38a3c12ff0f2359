"""Writing many rows at once, below the ORM: COPY on PostgreSQL, `executemany` on SQLite.

The importer's set-wise path builds plain tuples (no model instances: building one costs
more than inserting it) after it has made every check the services make, and writes each
table of a chunk with one statement, inside the chunk's transaction. Database constraints
still hold: a row that breaks one fails the chunk's savepoint, and the chunk is then applied
row by row through the services (`batches.py`).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model

SQLITE_BATCH = 1000


@functools.cache
def _fields(model: type[Model], columns: tuple[str, ...]) -> tuple[Field, ...]:
    return tuple(model._meta.get_field(c) for c in columns)


@functools.cache
def _pg_types(model: type[Model], columns: tuple[str, ...]) -> list[str]:
    """The PostgreSQL type of each column, for a binary COPY (`varchar(200)` -> `varchar`)."""
    names = {"timestamp with time zone": "timestamptz"}
    types = [f.db_type(connection).split("(")[0].strip() for f in _fields(model, columns)]
    return [names.get(t, t) for t in types]


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write rows into `table` (a quoted, possibly schema-qualified name) as they are; returns
    how many. COPY on PostgreSQL; `executemany` elsewhere. The values must already be in a
    form the database takes (JSON as its text)."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django maps the driver's errors (IntegrityError, DataError) for its own
            # methods only; COPY is the driver's, so map them here.
            with (connection.wrap_database_errors,
                  cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy):
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


def insert_rows(model: type[Model], columns: tuple[str, ...], rows: Iterable[Sequence[Any]]
                ) -> int:
    """Insert rows of `model` (values as Python objects, in `columns` order) without
    `save()`; returns how many. On PostgreSQL one binary COPY, each value sent as its column's
    type (half the client's work of a text COPY); on SQLite each value is adapted by its field
    as `save()` would (hex UUIDs, text times, JSON text) and sent by `executemany`."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    if connection.vendor != "postgresql":
        fields = _fields(model, columns)
        return copy_rows(table, columns, (
            [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
            for row in rows))
    names = ", ".join(quote(c) for c in columns)
    count = 0
    with (connection.cursor() as cursor, connection.wrap_database_errors,
          cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy):
        copy.set_types(_pg_types(model, columns))
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def new_ids(n: int) -> Iterator[uuid.UUID]:
    """`n` random (version 4) UUIDs from one read of the system's random source."""
    data = os.urandom(16 * n)
    for i in range(0, 16 * n, 16):
        yield uuid.UUID(bytes=data[i : i + 16], version=4)
