"""Each case's deadlines kept as rows (`OpenDeadline`), so reads find them by due date.

The rules stay in `deadlines.py` and the case's decisions and status history stay the source:
`refresh_case` recomputes one case's rows inside the transaction of the change that moved
them (a decision or a status change, `cases.services`); `refresh_all` recomputes every case
(the migration that added the table, `caseledger cases refresh-deadlines`, data sets loaded
by COPY). A due date does not depend on the day it is computed, only the state shown does,
so the rows stay true until the case changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Prefetch

from caseledger.core import clock

from .deadlines import deadlines_for_case

#: The statuses whose cases can show a deadline on the dashboard (decided, appealed, final
#: order); any other case keeps no rows.
DEADLINE_STATUSES = ("decided", "appealed", "final_order")
DEFAULT_ZONE = "America/New_York"


def _models(apps: Any = None) -> tuple[Any, Any, Any, Any]:
    if apps is None:
        from .models import Case, Decision, OpenDeadline, Proceeding

        return Case, Proceeding, Decision, OpenDeadline
    return tuple(apps.get_model("cases", name)  # type: ignore[return-value]
                 for name in ("Case", "Proceeding", "Decision", "OpenDeadline"))


def _rows(case: Any, proceedings: list[Any], changes: list[Any], row_model: Any) -> list[Any]:
    """The rows of one case (its proceedings by start, with court and decisions loaded)."""
    if case.status not in DEADLINE_STATUSES:
        return []
    decisions = [d for p in proceedings for d in p.decisions.all()]
    zone = proceedings[-1].court.time_zone if proceedings else DEFAULT_ZONE
    deadlines = deadlines_for_case(case, decisions, changes, zone, clock.today_in(zone))
    # The zone is kept from migration 0004 on; 0003's historical model, which fills the table
    # it adds, has no such column.
    kept = {"time_zone": zone} if _keeps_zone(row_model) else {}
    return [row_model(case_id=case.pk, rule=d.rule, trigger=d.trigger, due=d.due, **kept)
            for d in deadlines]


def _keeps_zone(row_model: Any) -> bool:
    return any(f.name == "time_zone" for f in row_model._meta.get_fields())


def _load(cases: Any, apps: Any = None) -> Iterable[Any]:
    _case, proceeding_model, _decision, _row = _models(apps)
    proceedings = proceeding_model.objects.select_related("court").prefetch_related(
        "decisions").order_by("started_on")
    return cases.prefetch_related(Prefetch("proceedings", queryset=proceedings),
                                  "status_changes")


def refresh_case(case: Any) -> None:
    """Rewrite one case's rows; call inside the transaction of the change."""
    case_model, _p, _d, row_model = _models()
    loaded = _load(case_model.objects.filter(pk=case.pk)).first()
    row_model.objects.filter(case_id=case.pk).delete()
    if loaded is not None:
        row_model.objects.bulk_create(_rows(loaded, list(loaded.proceedings.all()),
                                            list(loaded.status_changes.all()), row_model))


def refresh_all(*, apps: Any = None, batch: int = 2000,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every case's rows, `batch` cases per transaction; returns the rows written.
    Cases outside DEADLINE_STATUSES lose any rows they had."""
    case_model, _p, _d, row_model = _models(apps)
    row_model.objects.exclude(case__status__in=DEADLINE_STATUSES).delete()
    ids = list(case_model.objects.filter(status__in=DEADLINE_STATUSES)
               .order_by("pk").values_list("pk", flat=True))
    written = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        with transaction.atomic():
            row_model.objects.filter(case_id__in=chunk).delete()
            rows = [row for case in _load(case_model.objects.filter(pk__in=chunk), apps)
                    for row in _rows(case, list(case.proceedings.all()),
                                     list(case.status_changes.all()), row_model)]
            row_model.objects.bulk_create(rows, batch_size=1000)
        written += len(rows)
        if progress:
            progress(min(start + batch, len(ids)), len(ids))
    return written
