"""Which case status may follow which. Anything else is refused with the allowed options."""

from __future__ import annotations

from .models import CaseStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    # Departed straight from open or decided: voluntary departure (before or at the conclusion
    # of proceedings) or a self-departure confirmed by supervision.
    S.OPEN: frozenset({S.DECIDED, S.CLOSED, S.DEPARTED}),
    S.DECIDED: frozenset({S.APPEALED, S.FINAL_ORDER, S.RELIEF_GRANTED, S.DEPARTED}),
    S.APPEALED: frozenset({S.DECIDED, S.FINAL_ORDER, S.RELIEF_GRANTED, S.OPEN}),
    S.FINAL_ORDER: frozenset({S.DEPARTED, S.CLOSED, S.OPEN}),
    S.RELIEF_GRANTED: frozenset({S.CLOSED}),
    S.DEPARTED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


def allowed_next(status: str) -> list[str]:
    return sorted(TRANSITIONS.get(status, frozenset()))
