"""`core.reuse`: an office's figure is reused only when large, and recomputed otherwise; a
figure past its time is recounted (in the view in the tests; in the background in service,
while the previous figure is given), one recount at a time."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseledger.core import reuse
from caseledger.core.models import Figure
from caseledger.core.reuse import LARGE, large, reused

pytestmark = pytest.mark.django_db


def _counter(values: list, gate: threading.Event | None = None):
    """compute() giving `values` in turn; from the second call on it waits for `gate`."""
    calls = []

    def compute():
        calls.append(1)
        if gate is not None and len(calls) > 1:
            assert gate.wait(20), "the test never opened the gate"
        return values[len(calls) - 1]

    return compute, calls


def _key() -> str:
    return f"test-reuse:{uuid.uuid4()}"


def _age(key: str, seconds: float) -> None:
    """Make the stored figure `seconds` older."""
    figure = Figure.objects.get(pk=key)
    Figure.objects.filter(pk=key).update(
        computed_at=figure.computed_at - timedelta(seconds=seconds))


def test_a_large_figure_is_reused_until_it_expires():
    key = _key()
    compute, calls = _counter([LARGE + 5, LARGE + 9])
    assert reused(key, compute, 60, large) == LARGE + 5
    assert reused(key, compute, 60, large) == LARGE + 5  # within the minute: not recounted
    assert len(calls) == 1
    _age(key, 61)
    assert reused(key, compute, 60, large) == LARGE + 9  # past it: recounted (in the view here)
    assert len(calls) == 2


def test_a_small_figure_is_exact_on_every_view():
    key = _key()
    compute, calls = _counter([3, 4])
    assert reused(key, compute, 60, large) == 3
    with CaptureQueriesContext(connection) as captured:
        assert reused(key, compute, 60, large) == 4
    assert len(calls) == 2 and not Figure.objects.filter(pk=key).exists()
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["SELECT"]  # no write


def test_a_zero_second_reuse_recomputes():
    key = _key()
    compute, calls = _counter([LARGE, LARGE + 1])
    reused(key, compute, 0, large)
    assert reused(key, compute, 0, large) == LARGE + 1 and len(calls) == 2


def test_a_figure_counted_for_another_day_is_counted_again():
    key = _key()
    compute, calls = _counter([LARGE, LARGE + 1])
    assert reused(key, compute, 60, large, as_of="2026-12-06") == LARGE
    assert reused(key, compute, 60, large, as_of="2026-12-07") == LARGE + 1
    assert Figure.objects.get(pk=key).as_of == "2026-12-07"


def test_an_office_that_became_small_is_counted_exactly_again():
    key = _key()
    compute, calls = _counter([LARGE, 12, 13])
    reused(key, compute, 60, large)
    _age(key, 61)
    assert reused(key, compute, 60, large) == 12
    assert not Figure.objects.filter(pk=key).exists()
    assert reused(key, compute, 60, large) == 13


def test_figures_are_json_in_the_database():
    key = _key()
    weekly = {"weeks": ["2026-11-30"], "verified": [LARGE], "review": [3], "missed": [0]}
    reused(key, lambda: weekly, 60)
    assert Figure.objects.get(pk=key).value == weekly
    assert reused(key, lambda: {"other": 1}, 60) == weekly


# --- in the background (as in service) --------------------------------------------------------


@pytest.fixture
def background(settings):
    settings.FIGURES_RECOUNT_IN_BACKGROUND = True
    yield
    reuse.wait_for_recounts(20)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("background")
def test_a_stale_figure_is_given_while_one_recount_runs_in_the_background():
    key, gate = _key(), threading.Event()
    compute, calls = _counter([LARGE, LARGE + 7], gate)
    assert reused(key, compute, 60, large) == LARGE  # nothing to give: counted in the view
    _age(key, 61)
    assert reused(key, compute, 60, large) == LARGE  # the previous figure, recount started
    assert reused(key, compute, 60, large) == LARGE  # still recounting: no second recount
    assert Figure.objects.get(pk=key).recounting_since is not None
    gate.set()
    assert reuse.wait_for_recounts(20) == 1
    assert reused(key, compute, 60, large) == LARGE + 7
    figure = Figure.objects.get(pk=key)
    assert figure.recounting_since is None and len(calls) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("background")
def test_a_figure_too_old_to_give_is_counted_in_the_view():
    key = _key()
    compute, calls = _counter([LARGE, LARGE + 1])
    reused(key, compute, 60, large)
    _age(key, 60 * reuse.SERVED_WHILE_RECOUNTED + 1)
    assert reused(key, compute, 60, large) == LARGE + 1
    assert reuse.wait_for_recounts(20) == 0 and len(calls) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("background")
def test_a_failed_recount_keeps_the_figure_and_its_claim_lapses(caplog):
    key = _key()
    values = iter([LARGE, ZeroDivisionError, LARGE + 2])

    def compute():
        value = next(values)
        if value is ZeroDivisionError:
            raise ZeroDivisionError("the database went away")
        return value

    reused(key, compute, 60, large)
    _age(key, 61)
    assert reused(key, compute, 60, large) == LARGE
    assert reuse.wait_for_recounts(20) == 1
    assert "recounting the figure" in caplog.text
    assert reused(key, compute, 60, large) == LARGE  # claimed by the failed one: not again
    assert reuse.wait_for_recounts(20) == 0
    Figure.objects.filter(pk=key).update(
        recounting_since=timezone.now() - timedelta(seconds=reuse.CLAIM_SECONDS + 1))
    assert reused(key, compute, 60, large) == LARGE  # the lapsed claim is taken over
    assert reuse.wait_for_recounts(20) == 1
    assert reused(key, compute, 60, large) == LARGE + 2
