"""The supervision dashboard and the review queue at the size of an office: both pages are
paginated (25 rows), run the same number of queries for 5 or 30 enrolments/reviews, name in
their list event exactly the persons of the page shown, and count the weekly outcomes in SQL
with the numbers a hand count gives. The outcome chart is drawn once per set of figures."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caseledger.ledger.models import Event
from caseledger.supervision import charts, selectors
from caseledger.supervision import services as supervision
from caseledger.supervision import views as supervision_views
from caseledger.supervision.models import CheckIn, CheckInSubmission, Enrolment, Review
from tests.conftest import context, last_event_id
from tests.supervision.conftest import (
    STRANGER,
    enrolling,
    enrolment_input,
    get_with_as_many_queries,
)

FEW, MANY = 5, 30
DASHBOARD, REVIEWS = "/supervision/", "/supervision/reviews/"


pytestmark = pytest.mark.usefixtures("out_of_line_ledger")


@pytest.fixture
def enrol_many(faces, users, make_person) -> Callable[[int], None]:
    """`grow(n)`: n more persons of officer_east enrolled, each with one check-in that did
    not match (so one open review each)."""
    return enrolling(make_person, users, STRANGER)


def _listed(mark: int, record_type: str) -> list[str]:
    """The persons named by the one list event of `record_type` written after `mark`."""
    (event,) = Event.objects.filter(id__gt=mark, action="list", record_type=record_type)
    return [str(s) for s in event.detail["subjects"]]


def _rows(response: Any, attribute: str) -> list[str]:
    html = response.content.decode()
    return [part.split('"', 1)[0] for part in html.split(f'{attribute}="')[1:]]


# --- queries do not grow with the office --------------------------------------------------------
@pytest.mark.parametrize("url", [DASHBOARD, REVIEWS])
@pytest.mark.parametrize("who", ["officer_east", "supervisor_east"])
def test_query_count_does_not_grow(url, who, users, web_client, enrol_many,
                                   django_assert_num_queries):
    _, mark = get_with_as_many_queries(web_client(users[who]), url, enrol_many, (FEW, MANY),
                                       django_assert_num_queries)
    listed = _listed(mark, "supervision.review" if url == REVIEWS else "supervision.enrolment")
    assert len(listed) == selectors.PER_PAGE  # a page, not the office


# --- pagination ---------------------------------------------------------------------------------
def test_review_queue_pages(users, web_client, enrol_many):
    enrol_many(MANY)
    client = web_client(users["supervisor_east"])
    persons = {str(r.enrolment.person_id): str(r.pk)
               for r in Review.objects.select_related("enrolment")}
    seen = {}
    for page, size in ((1, 25), (2, 5)):
        mark = last_event_id()
        response = client.get(REVIEWS, {"page": page})
        assert response.status_code == 200
        shown = _rows(response, "data-review")
        assert len(shown) == size
        listed = _listed(mark, "supervision.review")
        # The event names every person of the page, and only them.
        assert sorted(listed) == sorted(p for p, r in persons.items() if r in shown)
        seen[page] = shown
        assert f"Page {page} of 2" in response.content.decode()
    assert not set(seen[1]) & set(seen[2]) and len(seen[1]) + len(seen[2]) == MANY
    due = dict(Review.objects.values_list("pk", "due_at"))
    order = [due[uuid.UUID(pk)] for pk in seen[1] + seen[2]]
    assert order == sorted(order)  # the most overdue first, across pages


@pytest.mark.parametrize("url, attribute", [(REVIEWS, "data-review"),
                                            (DASHBOARD, "data-enrolment")])
def test_out_of_range_page_is_the_last_and_a_non_number_is_the_first(url, attribute, users,
                                                                       web_client, enrol_many):
    enrol_many(MANY)
    client = web_client(users["supervisor_east"])
    first, last = (_rows(client.get(url, {"page": n}), attribute) for n in (1, 2))
    assert len(first) == 25 and len(last) == 5
    assert _rows(client.get(url, {"page": 99}), attribute) == last
    assert _rows(client.get(url, {"page": "abc"}), attribute) == first
    assert _rows(client.get(url, {"page": "-3"}), attribute) == last  # as Paginator.get_page
    assert _rows(client.get(url), attribute) == first


def test_dashboard_pages_name_their_persons_and_keep_overdue_first(users, web_client,
                                                                    enrol_many):
    enrol_many(MANY)
    reviewed = list(Review.objects.select_related("enrolment")[:3])
    Review.objects.filter(pk__in=[r.pk for r in reviewed]).update(
        due_at=datetime.now(UTC) - timedelta(hours=2))
    Review.objects.exclude(pk__in=[r.pk for r in reviewed]).update(disposition="no_action")
    client = web_client(users["supervisor_east"])
    pages = {}
    for page in (1, 2):
        mark = last_event_id()
        response = client.get(DASHBOARD, {"page": page})
        pages[page] = _rows(response, "data-enrolment")
        person_of = dict(Enrolment.objects.values_list("pk", "person_id"))
        assert sorted(_listed(mark, "supervision.enrolment")) == sorted(
            str(person_of[uuid.UUID(pk)]) for pk in pages[page])
    assert len(pages[1]) == 25 and len(pages[2]) == 5
    assert set(pages[1]) | set(pages[2]) == {str(pk) for pk in Enrolment.objects.values_list(
        "pk", flat=True)}
    # The three with an overdue review lead the first page.
    assert set(pages[1][:3]) == {str(r.enrolment_id) for r in reviewed}


# --- weekly outcomes, counted in SQL ------------------------------------------------------------
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday


def _checkin(enrolment: Enrolment, at: datetime, outcome: str) -> None:
    nonce = CheckInSubmission.objects.create(submission_id=uuid.uuid4(), window_opens_at=at)
    CheckIn.objects.create(
        enrolment=enrolment, submission_id=nonce.pk, window_opens_at=at, attempt=1,
        submitted_at=at, outcome=outcome, face_outcome="match", model_id="stub",
        threshold=0.5, threshold_version="t", accuracy_m=20,
        location_delete_after=date(2027, 1, 1), image_delete_after=date(2027, 1, 1))


def _missed(enrolment: Enrolment, at: datetime) -> None:
    Review.objects.create(enrolment=enrolment, window_opens_at=at, kind="missed_window",
                          opened_at=at, due_at=at + timedelta(hours=4))


def test_weekly_outcomes_match_a_hand_count(faces, users, make_person):
    officer = context(users["officer_east"])
    enrolments = [
        supervision.enrol(ctx=officer, person_id=make_person("officer_east").pk,
                          data=enrolment_input()).enrolment
        for _ in range(2)
    ]
    CheckIn.objects.all().delete()
    Review.objects.all().delete()
    a, b = enrolments
    day = timedelta(days=1)
    # Weeks (Mondays): 01-26 ... 03-16. Before the first week: not counted.
    _checkin(a, datetime(2026, 1, 25, 23, 0, tzinfo=UTC), "verified")  # Sunday before
    _checkin(a, datetime(2026, 1, 26, 0, 30, tzinfo=UTC), "verified")  # week 1
    _checkin(b, datetime(2026, 1, 26, 12, 0, tzinfo=UTC) + 6 * day, "review")  # Sun, week 1
    _checkin(a, datetime(2026, 2, 2, 9, 0, tzinfo=UTC), "verified")  # week 2
    _checkin(b, datetime(2026, 2, 3, 9, 0, tzinfo=UTC), "verified")  # week 2
    _checkin(b, datetime(2026, 2, 4, 9, 0, tzinfo=UTC), "review")  # week 2
    _checkin(a, datetime(2026, 2, 4, 9, 0, tzinfo=UTC), "retake")  # week 2, not a series
    _checkin(a, datetime(2026, 3, 16, 8, 0, tzinfo=UTC), "review")  # week 8
    _checkin(b, datetime(2026, 3, 18, 11, 0, tzinfo=UTC), "verified")  # week 8
    _missed(a, datetime(2026, 2, 10, 9, 0, tzinfo=UTC))  # week 3
    _missed(b, datetime(2026, 2, 15, 9, 0, tzinfo=UTC))  # week 3 (Sunday)
    _missed(b, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # week 6
    _missed(a, datetime(2026, 1, 19, 9, 0, tzinfo=UTC))  # before the first week
    expected = {
        "weeks": ["2026-01-26", "2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23",
                  "2026-03-02", "2026-03-09", "2026-03-16"],
        "verified": [1, 2, 0, 0, 0, 0, 0, 1],
        "review": [1, 1, 0, 0, 0, 0, 0, 1],
        "missed": [0, 0, 2, 0, 0, 1, 0, 0],
    }
    ids = [a.pk, b.pk]
    assert selectors.weekly_outcomes(ids, NOW) == expected
    assert selectors.weekly_outcomes(Enrolment.objects.values("pk"), NOW) == expected
    # Only the enrolments asked about.
    assert selectors.weekly_outcomes([b.pk], NOW)["verified"] == [0, 1, 0, 0, 0, 0, 0, 1]
    with CaptureQueriesContext(connection) as captured:
        selectors.weekly_outcomes(Enrolment.objects.values("pk"), NOW)
    assert len(captured.captured_queries) == 2


# --- the chart is drawn once per set of figures -------------------------------------------------
def test_chart_is_cached_by_its_figures(monkeypatch):
    cache.clear()
    drawn: list[dict[str, Any]] = []
    real = charts.outcomes_svg

    def counting(weekly: dict[str, Any], **kwargs: Any) -> str:
        drawn.append(weekly)
        return real(weekly, **kwargs)

    monkeypatch.setattr(charts, "outcomes_svg", counting)
    weeks = [f"2026-03-{d:02d}" for d in (2, 9)]
    one = {"weeks": weeks, "verified": [1, 2], "review": [0, 1], "missed": [0, 0]}
    other = {**one, "missed": [0, 1]}
    first = supervision_views.outcomes_chart(one)
    assert supervision_views.outcomes_chart(dict(one)) == first and len(drawn) == 1
    second = supervision_views.outcomes_chart(other)
    assert len(drawn) == 2 and second != first  # other figures: another drawing
    assert first.startswith("<svg") and "outcomes-caption" in first
