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


def test_day_of_a_moment_is_the_day_in_the_viewer_zone() -> None:
    moment = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)
    with translation.override("en"), timezone.override("America/New_York"):
        assert render("{{ v|day }}", v=moment) == "Dec. 5, 2026"
    with translation.override("en"), timezone.override("UTC"):
        assert render("{{ v|day }}", v=moment) == "Dec. 6, 2026"


# --- codes -> words ---------------------------------------------------------------------------


def test_country_codes_are_country_names_in_the_page_language() -> None:
    with translation.override("en"):
        assert render('{{ v|label:"country" }}', v=["MX", "GT"]) == "Mexico, Guatemala"
        # the common name, not the formal one ("Bolivia, Plurinational State of")
        assert render('{{ v|label:"country" }}', v="BO") == "Bolivia"
    with translation.override("es"):
        assert render('{{ v|label:"country" }}', v=["MX", "HT"]) == "México, Haití"


def test_language_codes_are_language_names_in_the_page_language() -> None:
    with translation.override("en"):
        assert render('{{ v|label:"language" }}', v=["es", "en"]) == "Spanish, English"
        assert render('{{ v|label:"language" }}', v="kek") == "Kekchí"  # three-letter codes too
    with translation.override("es"):
        assert render('{{ v|label:"language" }}', v=["es", "en"]) == "Español, Inglés"


def test_a_code_without_a_label_is_shown_as_it_is() -> None:
    """A wrong word is worse than the code: unknown codes pass through unchanged."""
    assert render('{{ v|label:"country" }}', v=["XX", "MX"]) == "XX, Mexico"
    assert render('{{ v|label:"language" }}', v="zzzz") == "zzzz"
    assert render('{{ v|label:"face" }}', v="new_outcome") == "new_outcome"
    assert render('{{ v|label:"country"|default:"—" }}', v=[]) == "—"
    assert render('{{ v|label:"country"|default:"—" }}', v=None) == "—"


def test_face_outcomes_are_plain_words() -> None:
    with translation.override("en"):
        assert render('{{ v|label:"face" }}', v="no_match") == "face did not match"
        assert render('{{ v|label:"face" }}', v="no_face") == "no face found in the photo"


def test_an_unknown_kind_of_label_is_a_template_error() -> None:
    """A misspelt kind fails loudly in development instead of showing codes."""
    import pytest

    with pytest.raises(KeyError):
        render('{{ v|label:"contry" }}', v="MX")


def test_office_codes_are_office_names(db, offices) -> None:
    from caseledger.core.templatetags import show

    show._OFFICE_NAMES.update(names={}, read_at=0.0)
    assert render('{{ v|label:"office" }}', v="west") == "West office"
    assert render('{{ v|label:"office" }}', v="north") == "north"  # no such office


# --- records -> words -------------------------------------------------------------------------


def test_a_person_is_named_never_shown_by_id(db, make_person) -> None:
    import re

    from caseledger.people.models import PersonName

    person = make_person("officer_east", "Ana", "Ramirez", a_number="A000000101")
    assert render("{{ v|person }}", v=person) == "Ana Ramirez"
    PersonName.objects.filter(person=person).delete()
    assert render("{{ v|person }}", v=person) == "Person with A-number A000000101"
    person.a_number = None
    shown = render("{{ v|person }}", v=person)
    assert shown == "Person with no name on record"
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", shown)
    assert str(person.pk) in str(person)  # what the filter is there to avoid


def test_a_past_hearing_still_scheduled_is_awaiting_its_outcome() -> None:
    from datetime import timedelta
    from types import SimpleNamespace

    def hearing(status: str, days: int) -> SimpleNamespace:
        labels = {"scheduled": "Scheduled", "held": "Held", "cancelled": "Cancelled"}
        return SimpleNamespace(status=status, scheduled_at=timezone.now() + timedelta(days=days),
                               get_status_display=lambda: labels[status])

    with translation.override("en"):
        assert render("{{ h|hearing_status }}", h=hearing("scheduled", -400)) == (
            "Awaiting its outcome")
        assert render("{{ h|hearing_status }}", h=hearing("scheduled", 3)) == "Scheduled"
        assert render("{{ h|hearing_status }}", h=hearing("held", -400)) == "Held"
        assert render("{{ h|hearing_status }}", h=hearing("cancelled", -2)) == "Cancelled"
