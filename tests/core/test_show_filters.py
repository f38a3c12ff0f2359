"""The formatting layer for people-facing values (core/templatetags/show.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.template import Context, Template
from django.utils import timezone, translation


def render(text: str, **values: object) -> str:
    return Template("{% load show %}" + text).render(Context(values))


def test_day_writes_dates_in_words_of_the_page_language() -> None:
    with translation.override("en"):
        assert render("{{ v|day }}", v="2026-10-01T00:00:00+00:00") == "Oct. 1, 2026"
        assert render("{{ v|day }}", v=date(2027, 1, 1)) == "Jan. 1, 2027"
    with translation.override("es"):
        assert render("{{ v|day }}", v="2026-10-01") == "1 de octubre de 2026"


def test_day_leaves_what_is_not_a_date_alone() -> None:
    assert render("{{ v|day }}", v="2026-Q4") == "2026-Q4"
    assert render("{{ v|day }}", v=None) == ""


def test_when_names_the_viewer_time_zone() -> None:
    moment = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)
    with translation.override("en"), timezone.override("America/New_York"):
        shown = render("{{ v|when }}", v=moment)
    # 03:30 UTC is the evening before in New York: the zone is said, so the day is not a
    # surprise.
    assert shown.startswith("Dec. 5, 2026, 10:30 p.m.") and shown.endswith("EST")
    with translation.override("en"), timezone.override("America/Los_Angeles"):
        assert render("{{ v|when }}", v=moment.isoformat()).endswith("PST")
