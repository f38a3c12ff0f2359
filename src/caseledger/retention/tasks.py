"""The daily purge as a background task (`django.tasks`, run by `caseledger db_worker`).

`caseledger retention run --loop` enqueues it once a day (`serve` can start that loop beside
the other loops); it runs as the system, with one certificate per batch.
"""

from __future__ import annotations

from typing import Any

from django.tasks import task


@task()
def purge_due(batch_size: int = 1000) -> dict[str, Any]:
    """Purge everything due today (legal holds respected); returns the counts per class."""
    from .services import SYSTEM_CONTEXT, run_purge

    result = run_purge(SYSTEM_CONTEXT, batch_size=batch_size, trigger="task")
    return {"run": str(result.run_id), "classes": result.as_dict()}
