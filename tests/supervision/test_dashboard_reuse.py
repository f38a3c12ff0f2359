"""A large office's dashboard reuses its enrolment count and weekly outcome counts for a
while (`core.reuse`), but the rows it lists are always read fresh: an enrolment made
meanwhile is listed even though the reused count does not include it yet. Its pages are
walked (`selectors._walked_page`), and are the pages of ranking the whole office."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.core import reuse
from caseledger.supervision import selectors, services
from caseledger.supervision.models import Enrolment, Review
from tests.conftest import context
from tests.supervision.conftest import ENROL_PHOTO, STRANGER, enrolling, enrolment_input

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


def _enrol(users, make_person, officer: str, image: bytes | None) -> None:
    """One person of `officer` enrolled; with a check-in showing `image` if given (STRANGER
    opens a review, ENROL_PHOTO matches)."""
    person = make_person(officer, "Ana", "Walk", languages=["es"])
    result = services.enrol(ctx=context(users[officer]), person_id=person.pk,
                            data=enrolment_input())
    if image is not None:
        services.submit_check_in(user=result.enrolment.person.participant_account, image=image,
                                 latitude="40.7128", longitude="-74.0060", accuracy="20")


def test_a_walked_page_is_the_page_of_ranking_the_office(faces, users, make_person,
                                                        monkeypatch):
    """Enrolments of two offices, with overdue, pending and no reviews: every page a large
    office's supervisor walks equals the page of ranking every enrolment in SQL."""
    rng = random.Random(7)
    for _ in range(17):
        officer = rng.choice(["officer_east", "officer_east2", "officer_west"])
        _enrol(users, make_person, officer, rng.choice([STRANGER, STRANGER, ENROL_PHOTO, None]))
    open_reviews = Review.objects.filter(disposition="").order_by("pk")
    overdue = [r.pk for r in open_reviews if rng.random() < 0.5]
    Review.objects.filter(pk__in=overdue).update(due_at=timezone.now() - timedelta(hours=2))
    ctx = context(users["supervisor_east"])

    def pages() -> list[list[tuple]]:
        return [[(r.enrolment.pk, r.pending_reviews, r.overdue_reviews)
                 for r in selectors.dashboard_page(ctx=ctx, page=n, per_page=3).rows]
                for n in range(1, 6)]

    ranked = pages()
    monkeypatch.setattr(reuse, "LARGE", 1)
    monkeypatch.setattr(selectors, "WALK_BATCH", 2)
    walked = pages()
    assert walked == ranked
    east = Enrolment.objects.filter(status="active", person__office=users["supervisor_east"].office)
    assert sorted(pk for page in walked for pk, _p, _o in page) == sorted(
        east.values_list("pk", flat=True)) and len({pk for page in walked for pk, *_ in page}) > 6
    assert any(o for page in walked for _pk, _p, o in page)  # overdue ones reached the pages
