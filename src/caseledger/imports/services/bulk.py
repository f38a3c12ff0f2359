"""Writing many rows at once, below the ORM (`core.copying`: COPY on PostgreSQL, `executemany`
on SQLite).

The importer's set-wise path builds plain tuples (no model instances: building one costs
more than inserting it) after it has made every check the services make, and writes each
table of a chunk with one statement, inside the chunk's transaction. Database constraints
still hold: a row that breaks one fails the chunk's savepoint, and the chunk is then applied
row by row through the services (`batches.py`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

from caseledger.core.copying import copy_model_rows as insert_rows
from caseledger.core.copying import copy_rows

__all__ = ["copy_rows", "insert_rows", "new_ids"]


def new_ids(n: int) -> Iterator[uuid.UUID]:
    """`n` random (version 4) UUIDs from one read of the system's random source."""
    data = os.urandom(16 * n)
    for i in range(0, 16 * n, 16):
        yield uuid.UUID(bytes=data[i : i + 16], version=4)
