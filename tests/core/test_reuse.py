"""`core.reuse`: an office's figure is reused only when large, and recomputed otherwise."""

from __future__ import annotations

import uuid

from caseledger.core.reuse import LARGE, large, reused


def _counter(values: list[int]):
    calls = []

    def compute() -> int:
        calls.append(1)
        return values[len(calls) - 1]

    return compute, calls


def test_a_large_figure_is_reused_until_it_expires():
    key = f"test-reuse:{uuid.uuid4()}"
    compute, calls = _counter([LARGE + 5, LARGE + 9])
    assert reused(key, compute, 60, large) == LARGE + 5
    assert reused(key, compute, 60, large) == LARGE + 5  # within the minute: not recounted
    assert len(calls) == 1


def test_a_small_figure_is_exact_on_every_view():
    key = f"test-reuse:{uuid.uuid4()}"
    compute, calls = _counter([3, 4])
    assert reused(key, compute, 60, large) == 3
    assert reused(key, compute, 60, large) == 4
    assert len(calls) == 2


def test_a_zero_second_reuse_recomputes():
    key = f"test-reuse:{uuid.uuid4()}"
    compute, calls = _counter([LARGE, LARGE + 1])
    reused(key, compute, 0, large)
    assert reused(key, compute, 0, large) == LARGE + 1 and len(calls) == 2
