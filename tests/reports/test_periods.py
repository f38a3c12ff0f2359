from datetime import UTC, datetime

import pytest

from caseledger.core.errors import ValidationError
from caseledger.reports.periods import parse_period, parse_week


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-Q1", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_periods_are_half_open_utc_intervals(text, start, end):
    period = parse_period(text)
    assert (period.start, period.end, period.label) == (start, end, text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2026-Q5", "bad_period"),
        ("2026-Q0", "bad_period"),
        ("2026-13", "bad_month"),
        ("2026-00", "bad_month"),
        ("Q4 2026", "bad_period"),
        ("", "bad_period"),
        ("2026-W47", "bad_period"),
        ("1999", "bad_year"),
        ("2026-Q4; DROP", "bad_period"),
        ("２０２６", "bad_period"),
    ],
)
def test_bad_periods_are_refused_naming_the_format(text, rule):
    with pytest.raises(ValidationError) as exc:
        parse_period(text)
    assert exc.value.field == "period"
    if rule == "bad_year":
        assert exc.value.code == "bad_year" and "between 2000 and 2100" in exc.value.message
    elif rule == "bad_month":
        assert "01 to 12" in exc.value.message
    else:
        assert exc.value.code == "bad_period"
        assert "2026-Q4" in exc.value.message and "2026-11" in exc.value.message


def test_weeks_follow_the_iso_calendar():
    week = parse_week("2026-W47")
    assert week.start == datetime(2026, 11, 16, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 23, tzinfo=UTC)
    assert parse_week("2026-W53").start  # 2026 has 53 ISO weeks
    for bad in ("2025-W53", "2026-W00", "2026-47", "W47"):
        with pytest.raises(ValidationError) as exc:
            parse_week(bad)
        assert exc.value.code == "bad_week" and exc.value.field == "week"


def test_anomalies_loop_enqueues_the_build_of_last_week(db):
    """The loop `serve` runs: with the immediate task backend of the tests the week that has
    just ended is built, and a second tick keeps that first build."""
    from datetime import timedelta

    from django.core.management import call_command

    from caseledger.core import clock
    from caseledger.reports.models import AnomalyReport
    from caseledger.reports.periods import week_of

    call_command("report", "anomalies", "--loop", "--every", "0", "--max-ticks", "2")
    assert list(AnomalyReport.objects.values_list("week", flat=True)) == [
        week_of(clock.today() - timedelta(days=7))
    ]
