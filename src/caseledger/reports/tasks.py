"""Background tasks (Django's `django.tasks`): the weekly anomaly report.

Enqueue `build_weekly_anomaly_report` once a week (e.g. Monday morning); with no argument it
builds the ISO week that has just ended. Building a week twice returns the first build.
"""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task


@task()
def build_weekly_anomaly_report(week: str = "") -> dict[str, object]:
    from caseledger.core import clock

    from .periods import week_of
    from .services import build_anomaly_report

    label = week or week_of(clock.today() - timedelta(days=7))
    result = build_anomaly_report(label)
    return {
        "week": result.report.week,
        "created": result.created,
        "items": result.report.items.count(),
    }
