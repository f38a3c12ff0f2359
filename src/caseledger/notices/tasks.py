"""Background tasks (Django's `django.tasks`; a database queue run by `caseledger db_worker`).

`caseledger notices send-due --loop` enqueues `send_due_reminders` every interval and
`plan_upcoming_reminders` every hour; the worker runs them. Arguments are ids (JSON).
"""

from __future__ import annotations

from typing import Any

from django.tasks import task


@task()
def send_due_reminders(limit: int = 200) -> dict[str, int]:
    """Send what is due now, each reminder to its own person."""
    from .delivery import send_due

    return send_due(limit=limit).as_dict()


@task()
def plan_reminders_for_hearing(hearing_id: str) -> dict[str, int]:
    """(Re)plan one hearing's reminders, e.g. after a hearing was imported or changed."""
    from caseledger.cases.models import Hearing

    from .planner import plan_for_hearing

    hearing = Hearing.objects.select_related("court", "proceeding__case").filter(
        pk=hearing_id).first()
    if hearing is None:
        return {"obligations": 0, "created": 0, "superseded": 0, "cancelled": 0}
    return plan_for_hearing(hearing).as_dict()


@task()
def plan_upcoming_reminders() -> dict[str, Any]:
    """Top up: each upcoming hearing, check-in window and deadline, one at a time."""
    from .planner import plan_upcoming

    return plan_upcoming().as_dict()
