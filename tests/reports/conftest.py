"""Helpers for the reports tests: a movable clock, caseloads, and events written at a time."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from caseledger.accounts.models import CaseloadAssignment, User
from caseledger.core import clock
from caseledger.ledger.services import Actor, record_event
from caseledger.people.models import Person

# 2026-W47 runs from Monday 16 November to Sunday 22 November 2026.
WEEK = "2026-W47"
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
#: "Now" in these tests: Wednesday of 2026-W49, after every week the tests build.
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """A week's report is built only once the week has ended: tests of the anomaly report
    run at a fixed `NOW` (`pytestmark = pytest.mark.usefixtures("fixed_now")`)."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())
    return NOW


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Every event written inside happens at `moment` (the application's clock is moved)."""
    original = clock.now
    clock.now = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        clock.now = original  # type: ignore[assignment]


@pytest.fixture
def caseload(users: dict[str, User]) -> Callable[..., list[Person]]:
    """`caseload("officer_east", 60)`: that many persons on the officer's open caseload
    (rows made directly: this is set-up, the events under test go through the gate)."""

    def make(officer: str, n: int) -> list[Person]:
        user = users[officer]
        persons = Person.objects.bulk_create(
            [Person(office_id=user.office_id, languages=["es"]) for _ in range(n)]
        )
        CaseloadAssignment.objects.bulk_create(
            [
                CaseloadAssignment(
                    officer=user, person=p, started_at=datetime(2026, 1, 5, tzinfo=UTC)
                )
                for p in persons
            ]
        )
        return persons

    return make


def write(user: User | None, moment: datetime, **kwargs: Any):  # type: ignore[no-untyped-def]
    """One ledger event by `user` (None: the system) at `moment`."""
    fields: dict[str, Any] = {"action": "read", "category": "identity", "purpose": "caseload"}
    fields.update(kwargs)
    with at(moment):
        return record_event(actor=Actor.of(user), **fields)


def random_subjects(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]
