"""The one delivery engine: how anything caseledger sends on its own is taken, tried,
retried and given up.

Two kinds of item use it today: a reminder to a person (`notices/delivery.py`) and a
correction notice to an agency that earlier received the person's record
(`disclosures/delivery.py`). A kind is an adapter (`Kind`): it says which rows wait to be
sent, what text goes to which address over which channel, and which log rows, ledger events
and alerts an attempt leaves. Everything else is here, once:

- **claim**: an item is taken for one attempt by a compare-and-swap on its `row_version`
  (`update_versioned`), only while it is still due. Of two workers (two nodes, or a request's
  first attempt racing the retry loop) that reach the same item, one wins and sends; the
  other finds it taken and leaves it. A claim is a lease: a worker that died gives the item
  back after `NOTICE_CLAIM_TIMEOUT_SECONDS` (15 min), so nothing is silently lost.
- **attempt**: the kind sends (or decides, before sending, that the item ends: cancelled,
  opted out, no address). A kind or channel that raises is a failed attempt
  (`internal_error`, retried like a timeout) with the traceback in the server log; it never
  reaches the caller.
- **back-off and give-up**: one schedule for every kind. A temporary failure is retried after
  5 min, 30 min, 2 h and 12 h (`BACKOFF`); the 5th failed attempt (`NOTICE_MAX_ATTEMPTS`)
  gives up (`gave_up_<code>`); a permanent failure gives up at once.
- **settle**: the kind's log rows (and events) and the item's new state are written in one
  transaction; a worker whose claim was taken over meanwhile still logs its attempt but
  leaves the item's state to the new holder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import Model, Q

from caseledger.core import clock
from caseledger.core.errors import Conflict
from caseledger.core.versioning import update_versioned

from .channels import PERMANENT, SENT, TRANSIENT, DeliveryResult

log = logging.getLogger(__name__)

#: Waits after the 1st, 2nd, 3rd and 4th failed attempt (and any later one: the last).
BACKOFF: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = 5
CLAIM_SECONDS = 900
#: Due items read at a time by `deliver_due`.
BATCH = 20
INTERNAL_ERROR = "internal_error"


def max_attempts() -> int:
    """Attempts before a temporary failure is given up (`NOTICE_MAX_ATTEMPTS`, 5)."""
    return int(getattr(settings, "NOTICE_MAX_ATTEMPTS", MAX_ATTEMPTS))


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def claim_timeout() -> timedelta:
    """How long a claim holds an item (`NOTICE_CLAIM_TIMEOUT_SECONDS`, 900)."""
    return timedelta(seconds=int(getattr(settings, "NOTICE_CLAIM_TIMEOUT_SECONDS", CLAIM_SECONDS)))


@dataclass(frozen=True)
class Statuses:
    """A kind's status values for the engine's states."""

    waiting: tuple[str, ...]
    sent: str
    retry: str
    failed: str


@dataclass(frozen=True)
class Attempt:
    """What one attempt did: a channel's `result`, or (with no result: nothing was sent) the
    `final` status the kind gave the item and why. `notes` are the kind's own, for its log."""

    result: DeliveryResult | None = None
    final: str = ""
    error: str = ""
    notes: Any = None


@dataclass(frozen=True)
class Outcome:
    """The item's state after an attempt."""

    status: str
    attempts: int
    error: str
    next_attempt_at: datetime | None = None  # set when it is to be retried

    def retrying(self) -> bool:
        return self.next_attempt_at is not None


class Kind:
    """What is delivered. Subclasses set `what`, `model` and `statuses` and implement
    `attempt` and `record`; the claim hooks suit a model whose `next_attempt_at` says when it
    is due and also holds the lease while an attempt is made."""

    what: ClassVar[str] = "item"
    model: ClassVar[type[Model]]
    statuses: ClassVar[Statuses]

    def due(self, now: datetime) -> Q:
        """The rows that may be claimed at `now` (claims given up by a dead worker included)."""
        waiting = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        return Q(status__in=self.statuses.waiting) & waiting

    def order(self) -> tuple[str, ...]:
        return ("next_attempt_at",)

    def claim_fields(self, now: datetime) -> dict[str, Any]:
        """What holding the item looks like."""
        return {"next_attempt_at": now + claim_timeout()}

    def held(self, now: datetime) -> Q:
        """Still held by the claim made at `now` (beyond the version the claim left)."""
        return Q()

    def release_fields(self, item: Any, attempt: Attempt, outcome: Outcome) -> dict[str, Any]:
        """Fields the kind sets when the attempt is settled (besides status, attempts, error,
        next attempt and sent time)."""
        return {} if outcome.retrying() else {"next_attempt_at": None}

    def load(self, pk: Any) -> Any:
        """The claimed item, with what `attempt` reads."""
        return self.model._default_manager.get(pk=pk)

    def attempt(self, item: Any, now: datetime) -> Attempt:
        raise NotImplementedError

    def record(self, item: Any, now: datetime, attempt: Attempt, outcome: Outcome
               ) -> Callable[[], None] | None:
        """Inside the settling transaction: the log rows, events and alerts of the attempt
        (`item` still has its state before it). Returns work to do after the commit."""
        raise NotImplementedError


# --- the queue --------------------------------------------------------------------------------
def due_ids(kind: Kind, *, now: datetime | None = None, limit: int = 500,
            exclude: list[Any] | None = None) -> list[Any]:
    """The ids of the items due at `now`, the longest waiting first."""
    now = now or clock.now()
    rows = kind.model._default_manager.filter(kind.due(now))
    if exclude:
        rows = rows.exclude(pk__in=exclude)
    return list(rows.order_by(*kind.order()).values_list("pk", flat=True)[:limit])


def claim(kind: Kind, pk: Any, now: datetime) -> bool:
    """Take the item for one attempt if it is still due; False when another worker has it
    (or it was sent, re-planned or given up meanwhile)."""
    row = kind.model._default_manager.filter(pk=pk).only("pk", "row_version").first()
    if row is None:
        return False
    try:
        update_versioned(row, None, where=kind.due(now), what=kind.what,
                         **kind.claim_fields(now))
    except Conflict:
        return False
    return True


def deliver(kind: Kind, pk: Any, *, now: datetime | None = None) -> str | None:
    """One attempt at the item if this caller claims it: its status afterwards, or None when
    it was not this caller's to send."""
    now = now or clock.now()
    if not claim(kind, pk, now):
        return None
    item = kind.load(pk)
    attempt = _attempt(kind, item, now)
    return settle(kind, item, now, attempt)


def deliver_due(kind: Kind, *, now: datetime | None = None, limit: int = 500,
                progress: Callable[[], None] | None = None) -> dict[Any, str]:
    """An attempt at each item due at `now` (at most `limit`): the status each one this
    caller claimed ended in. Items another worker claims first are left to it. The due items
    are read a batch at a time, so that one made due during the run (a reminder re-planned
    after its obligation moved) goes out in the same run."""
    now = now or clock.now()
    seen: list[Any] = []
    settled: dict[Any, str] = {}
    while len(seen) < limit:
        batch = due_ids(kind, now=now, limit=min(BATCH, limit - len(seen)), exclude=seen)
        if not batch:
            break
        for pk in batch:
            seen.append(pk)
            status = deliver(kind, pk, now=now)
            if status is not None:
                settled[pk] = status
            if progress:
                progress()
    return settled


# --- one attempt ------------------------------------------------------------------------------
def _attempt(kind: Kind, item: Any, now: datetime) -> Attempt:
    try:
        return kind.attempt(item, now)
    except Exception:  # a failed attempt like any other, never the caller's crash
        log.exception("sending %s %s failed unexpectedly", kind.what, item.pk)
        return Attempt(DeliveryResult(TRANSIENT, error=INTERNAL_ERROR, detail="see server log"))


def outcome_of(kind: Kind, attempt: Attempt, attempts: int, now: datetime) -> Outcome:
    """Sent; retried after the back-off; or given up (permanent, or the last attempt)."""
    result = attempt.result
    if result is None:
        return Outcome(attempt.final, attempts, attempt.error)
    attempts += 1
    if result.status == SENT:
        return Outcome(kind.statuses.sent, attempts, "")
    if result.status == TRANSIENT and attempts < max_attempts():
        return Outcome(kind.statuses.retry, attempts, result.error, now + retry_delay(attempts))
    error = f"gave_up_{result.error}" if result.status != PERMANENT else result.error
    return Outcome(kind.statuses.failed, attempts, error)


def settle(kind: Kind, item: Any, now: datetime, attempt: Attempt) -> str:
    """Write the attempt's log rows and the item's new state in one transaction; the item's
    state only if this worker still holds its claim."""
    outcome = outcome_of(kind, attempt, item.attempts, now)
    error_length = kind.model._meta.get_field("last_error").max_length
    fields: dict[str, Any] = {"status": outcome.status, "attempts": outcome.attempts,
                              "last_error": outcome.error[:error_length]}
    if outcome.retrying():
        fields["next_attempt_at"] = outcome.next_attempt_at
    if outcome.status == kind.statuses.sent:
        fields["sent_at"] = now
    fields.update(kind.release_fields(item, attempt, outcome))
    with transaction.atomic():
        after = kind.record(item, now, attempt, outcome)
        try:
            update_versioned(item, None, where=kind.held(now), what=kind.what, **fields)
        except Conflict:
            log.warning("%s %s changed hands while it was being sent; its status is left to "
                        "the new holder", kind.what, item.pk)
    if after is not None:
        after()
    return outcome.status
