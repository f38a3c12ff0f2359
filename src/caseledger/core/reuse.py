"""Figures about a whole office reused for a short while, and recounted in the background.

An office can hold 10^6 persons: counting its persons or its active enrolments, its deadlines
or its check-ins per week, reads the office on every page view. These are numbers, not
personal data; the rows a page lists are always read fresh, and a figure is reused only where
it is large (`LARGE`): a small office's figures are exact on every view, a large one's may lag
by the reuse time and the recount's own time, which no one can see in 10^4 or more.

The figures are rows of `core.Figure` (JSON, in the database they describe: shared by the
processes of a deployment and kept across restarts). A figure older than its reuse time, or
counted for another day (`as_of`), is recounted; while it is recounted, views keep being given
the previous figure, for up to `SERVED_WHILE_RECOUNTED` times the reuse time, so no view of a
large office waits for its office-wide counts (at 10^6 persons the deadline board's counts
take half a second). One process recounts a figure at a time (`recounting_since`, claimed by
an UPDATE); the recount runs in a thread of its own with its own database connection. With
`FIGURES_RECOUNT_IN_BACKGROUND` off (the tests), or with nothing to give meanwhile (the first
view ever, or a figure too old), the view counts it itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

#: A count from which an office's figures are reused.
LARGE = 2000

#: How many times its reuse time a figure may be given while it is recounted.
SERVED_WHILE_RECOUNTED = 10

#: A claim to recount is taken over after this long (a recount that died with its process).
CLAIM_SECONDS = 120

_recounts: list[threading.Thread] = []  # started by this process, for `wait_for_recounts`


def reused[T](key: str, compute: Callable[[], T], seconds: int,
              worth: Callable[[T], bool] = lambda _value: True, *, as_of: str = "") -> T:
    """`compute()`, or its value from the last `seconds` under `key` (counted `as_of` the
    same day, or whatever `as_of` names); a value is kept only if `worth(value)`. A value past
    its time is given once more while a recount runs in the background (see the module)."""
    from .models import Figure

    now = timezone.now()
    row = Figure.objects.filter(pk=key).values("value", "as_of", "computed_at").first()
    if row is not None:
        age = (now - row["computed_at"]).total_seconds()
        if 0 <= age < seconds and row["as_of"] == as_of:
            return row["value"]
        if age < seconds * SERVED_WHILE_RECOUNTED and _recount_later(
            key, compute, worth, as_of, now
        ):
            return row["value"]
    value = compute()
    _keep(key, value, worth, as_of, kept=row is not None)
    return value


def _keep[T](key: str, value: T, worth: Callable[[T], bool], as_of: str, *,
             kept: bool = True) -> None:
    """Store the figure (and end any claim to recount it), or forget a `kept` one when it is
    no longer worth keeping (an office that became small is counted exactly again). A small
    office's view writes nothing."""
    from .models import Figure

    if not worth(value):
        if kept:
            Figure.objects.filter(pk=key).delete()
        return
    Figure.objects.bulk_create(
        [Figure(key=key, value=value, as_of=as_of, computed_at=timezone.now(),
                recounting_since=None)],
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=["value", "as_of", "computed_at", "recounting_since"],
    )


def _recount_later[T](key: str, compute: Callable[[], T], worth: Callable[[T], bool],
                      as_of: str, now: datetime) -> bool:
    """Start the recount of `key` in a thread unless another view is recounting it. False
    when recounts are not made in the background here (the caller counts it itself)."""
    from .models import Figure

    if not settings.FIGURES_RECOUNT_IN_BACKGROUND:
        return False
    stale_claim = now - timedelta(seconds=CLAIM_SECONDS)
    claimed = Figure.objects.filter(pk=key).filter(
        Q(recounting_since__isnull=True) | Q(recounting_since__lt=stale_claim)
    ).update(recounting_since=now)
    if claimed:
        thread = threading.Thread(target=_recount, args=(key, compute, worth, as_of),
                                  name=f"recount {key}", daemon=True)
        _recounts.append(thread)
        thread.start()
    return True


def _recount[T](key: str, compute: Callable[[], T], worth: Callable[[T], bool],
                as_of: str) -> None:
    """The background recount: its own connection, closed at the end, without parallel
    workers (on PostgreSQL they would take the cores the views are served from; the recount
    takes longer on one). A failure is logged and leaves the previous figure (its claim lapses
    after `CLAIM_SECONDS`)."""
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET max_parallel_workers_per_gather = 0")
        _keep(key, compute(), worth, as_of)
    except Exception:
        logger.exception("recounting the figure %s failed", key)
    finally:
        connections.close_all()


def wait_for_recounts(timeout: float | None = None) -> int:
    """Wait for the background recounts this process started; how many there were (for
    tests and benchmarks)."""
    done = 0
    while _recounts:
        _recounts.pop().join(timeout)
        done += 1
    return done


def large(count: Any) -> bool:
    return count >= LARGE


def office_figure[T](office: object, name: str, compute: Callable[[], T], seconds: int,
                     worth: Callable[[T], bool] = large,  # type: ignore[assignment]
                     *, as_of: str = "") -> T:
    """`compute()`; where the reach is one office (`office`, from `policies.office_reach`),
    reused for `seconds` under the office and `name` when `worth` it (by default: large)."""
    if office is None:
        return compute()
    return reused(f"office-figure:{office}:{name}", compute, seconds, worth, as_of=as_of)
