"""Synthetic demo data: two offices, their staff, persons with cases and hearings, and eight
weeks of supervised release and oversight, written through the services with the clock moved
back, so the demo's ledger is the one eight weeks of real use would have left.

`seed()` builds the plan (`plan.py`: what happens when, no database), creates the staff and
the persons in the week before the history (`setup.py`), then runs the history step by step
(`history.py`) and counts what it made (`summary.py`). Names are synthetic (`names.py`);
photos come from installed packages and go through the configured face verifier
(`photos.py`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.test.utils import override_settings
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from caseledger.biometrics.verifier import get_verifier
from caseledger.core import clock
from caseledger.ledger.services import integrate_pending

from . import plan as planning
from .history import History
from .names import Identities
from .passwords import SEED_HASHERS
from .photos import RememberingVerifier, astronaut_photo, build_photos, check
from .seedclock import SeedClock
from .setup import (
    DEMO_PASSWORD,
    OFFICES,
    PARTICIPANT,
    STAFF,
    CaseSeeder,
    PersonSeeder,
    World,
    create_staff,
    judges,
)
from .summary import Summary, count

__all__ = [
    "DEMO_PASSWORD",
    "OFFICES",
    "PARTICIPANT",
    "STAFF",
    "Summary",
    "astronaut_photo",
    "seed",
]

DEFAULT_PERSONS = 200
DEFAULT_PARTICIPANTS = 40
DEFAULT_WEEKS = 8
DEFAULT_SEED = 2026
OTHERS = 12  # persons who are not participants, at least (the oversight steps read them)


class Bars:
    """The progress bars of the seeding: the persons, then the steps of the history. Quiet
    (`show` off) in tests and when the output is not a terminal."""

    def __init__(self, show: bool, persons: int, weeks: int) -> None:
        self.progress: Progress | None = None
        if show:
            self.progress = Progress(TextColumn("{task.description:<26}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn())
            self.persons = self.progress.add_task("Staff, persons and cases", total=persons)
            self.steps = self.progress.add_task(f"{weeks} weeks of history", total=None,
                                                start=False)

    @contextmanager
    def shown(self) -> Iterator[Bars]:
        if self.progress is None:
            yield self
            return
        with self.progress:
            yield self

    def person_done(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.persons)

    def history_starts(self, steps: int) -> None:
        if self.progress is not None:
            self.progress.update(self.steps, total=steps)
            self.progress.start_task(self.steps)

    def step_done(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.steps)


def seed(
    *,
    persons: int = DEFAULT_PERSONS,
    participants: int = DEFAULT_PARTICIPANTS,
    weeks: int = DEFAULT_WEEKS,
    random_seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    progress: bool = True,
    strict: bool = False,
) -> Summary:
    """Seed an empty database (one transaction: all of it or nothing) and say what was made.
    `strict` stops at the first step that does not go as planned."""
    started = time.monotonic()
    if persons < participants + OTHERS:
        raise ValueError(f"The demo needs {OTHERS} persons besides the participants.")
    now = now or clock.now()
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, not secrets
    plan = planning.build(participants=participants, persons=persons, weeks=weeks, end=now,
                          rng=rng)
    seed_clock = SeedClock(plan.setup_start)
    verifier = RememberingVerifier(get_verifier())
    # The eight weeks of history are single-photo check-ins (no one turns a head in a seed);
    # the running demo asks its participant for the liveness burst.
    with (override_settings(FACE_VERIFIER=verifier, PASSWORD_HASHERS=SEED_HASHERS,
                            LEDGER_INTEGRATE_INLINE=False, LIVENESS_REQUIRED=False),
          seed_clock.run(),
          Bars(progress, persons, weeks).shown() as bars, transaction.atomic()):
        photos = build_photos()
        check(photos)
        world = World(rng, seed_clock, plan)
        create_staff(world)
        identities = Identities(rng, random_seed)
        PersonSeeder(world, identities, CaseSeeder(world, judges(identities))).seed_all(
            bars.person_done)
        history = History(world, photos, strict=strict)
        bars.history_starts(len(plan.steps))
        history.run(bars.step_done)
        seed_clock.set(now)
        _plan_reminders()
        integrate_pending()
        summary = count(since=plan.start, now=now, surprises=history.surprises)
    summary.seconds = time.monotonic() - started
    return summary


def _plan_reminders() -> None:
    """Every upcoming reminder, planned now (the demo writes them to var/outbox)."""
    from caseledger.notices.services import plan_upcoming

    plan_upcoming()
