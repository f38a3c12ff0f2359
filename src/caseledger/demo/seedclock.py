"""The seeding clock: eight weeks of history are written by moving time forward step by step.

`caseledger.core.clock` asks `django.utils.timezone.now()`, and so do the `created_at` and
`updated_at` fields, so while a `SeedClock` runs every service, ledger event and row sees the
moment the clock was set to. The clock only moves forward: the ledger then reads in time order,
as it would have been written by eight weeks of real use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.utils import timezone


class SeedClock:
    """A settable `timezone.now()`; `run()` installs it for the duration of the seeding."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("The seeding clock needs an aware start time.")
        self._now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._now

    @property
    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Move to `moment`; a moment in the past keeps the clock where it is (two steps
        planned for the same minute run one after the other, never back in time)."""
        self._now = max(self._now, moment.astimezone(UTC))
        return self._now

    def advance(self, step: timedelta) -> datetime:
        return self.set(self._now + step)

    @contextmanager
    def run(self) -> Iterator[SeedClock]:
        original = timezone.now
        timezone.now = self  # type: ignore[assignment]
        try:
            yield self
        finally:
            timezone.now = original
