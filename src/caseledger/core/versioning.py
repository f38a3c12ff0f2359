"""Optimistic locking, one way: `update_versioned`.

Every row of a `BaseModel` carries `row_version`. A write that a person based on what they
read names the version they read; the update succeeds only if the row still has it, and bumps
it. Anything else is a `Conflict` the person can act on ("reload and try again"), never a lost
update. Call inside the write's transaction, before its ledger event.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Model, Q

from caseledger.core import clock
from caseledger.core.errors import Conflict


def update_versioned(
    obj: Model,
    expected_version: int | None,
    *,
    where: Q | None = None,
    what: str = "record",
    conflict_message: str | None = None,
    conflict_code: str = "stale_version",
    **fields: Any,
) -> Model:
    """Set `fields` on `obj` if it still has `expected_version` (None: the version `obj` was
    read with) and matches `where` (a state the change requires, e.g. still pending); bump its
    `row_version` and `updated_at`; refresh `obj`. Raises Conflict otherwise: a stale version
    names both versions, a failed `where` says `conflict_message`."""
    version = obj.row_version if expected_version is None else int(expected_version)
    if version != obj.row_version:
        raise Conflict(
            f"This {what} changed since you read it (version {version}, now "
            f"{obj.row_version}). Reload it and try again.",
            code=conflict_code,
        )
    rows = type(obj)._default_manager.filter(pk=obj.pk, row_version=version)
    if where is not None:
        rows = rows.filter(where)
    updated = rows.update(row_version=F("row_version") + 1, updated_at=clock.now(), **fields)
    if updated != 1:
        raise Conflict(
            conflict_message
            or f"This {what} changed while you were saving. Reload it and try again.",
            code=conflict_code,
        )
    obj.refresh_from_db()
    return obj
