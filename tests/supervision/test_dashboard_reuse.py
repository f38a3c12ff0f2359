"""A large office's dashboard reuses its enrolment count and weekly outcome counts for a
while (`core.reuse`), but the rows it lists are always read fresh: an enrolment made
meanwhile is listed even though the reused count does not include it yet."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from caseledger.core import reuse
from caseledger.supervision import selectors
from tests.conftest import context
from tests.supervision.conftest import STRANGER, enrolling

pytestmark = pytest.mark.usefixtures("out_of_line_ledger")


@pytest.fixture
def enrol_many(faces, users, make_person) -> Callable[[int], None]:
    return enrolling(make_person, users, STRANGER)


def test_a_large_office_lists_fresh_rows_under_a_reused_count(users, enrol_many, monkeypatch):
    monkeypatch.setattr(reuse, "LARGE", 2)  # this office counts as large
    ctx = context(users["supervisor_east"])
    enrol_many(3)
    before = selectors.dashboard_page(ctx=ctx)
    assert before.page.paginator.count == 3 and len(before.rows) == 3
    enrol_many(2)
    after = selectors.dashboard_page(ctx=ctx)
    assert after.page.paginator.count == 3  # reused for OFFICE_COUNT_SECONDS
    assert len(after.rows) == 5  # ... but every enrolment is listed
    assert after.weekly == before.weekly  # the chart's counts are reused too


def test_a_small_office_is_counted_on_every_view(users, enrol_many):
    ctx = context(users["supervisor_east"])
    enrol_many(3)
    assert selectors.dashboard_page(ctx=ctx).page.paginator.count == 3
    enrol_many(2)
    after = selectors.dashboard_page(ctx=ctx)
    assert after.page.paginator.count == 5 and len(after.rows) == 5
    assert sum(after.weekly["review"]) == 5  # the five failed check-ins, counted now
