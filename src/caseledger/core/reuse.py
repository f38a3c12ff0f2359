"""Figures about a whole office reused for a short while.

An office can hold 10^6 persons: counting its persons or its active enrolments, or its
check-ins per week, reads the office on every page view. These are numbers, not personal
data; the rows a page lists are always read fresh, and a figure is reused only where it is
large (`LARGE`): a small office's figures are exact on every view, a large one's may lag by
the reuse time, which no one can see in 10^4 or more. Kept in Django's cache (per process by
default)."""

from __future__ import annotations

from collections.abc import Callable

#: A count from which an office's figures are reused.
LARGE = 2000


def reused[T](key: str, compute: Callable[[], T], seconds: int,
              worth: Callable[[T], bool] = lambda _value: True) -> T:
    """`compute()`, or its value from the last `seconds` under `key`; a value is kept only if
    `worth(value)`."""
    from django.core.cache import cache

    value = cache.get(key)
    if value is None:
        value = compute()
        if worth(value):
            cache.set(key, value, seconds)
    return value


def large(count: int) -> bool:
    return count >= LARGE


def office_figure[T](office: object, name: str, compute: Callable[[], T], seconds: int,
                     worth: Callable[[T], bool] = large) -> T:  # type: ignore[assignment]
    """`compute()`; where the reach is one office (`office`, from `policies.office_reach`),
    reused for `seconds` under the office and `name` when `worth` it (by default: large)."""
    if office is None:
        return compute()
    return reused(f"office-figure:{office}:{name}", compute, seconds, worth)
