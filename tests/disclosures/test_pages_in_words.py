"""Disclosure pages name the person whose record is released (never only a record id), say
categories and authorities in words, and give times in the viewer's time zone with the zone
named, as every other staff page does."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from caseledger.disclosures import services
from caseledger.disclosures.models import DisclosureRequest
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import b7_input, request_input

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def visible_text(page: str) -> str:
    """What a person reads: the page without markup, scripts and attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:400]
    return response.content.decode()


@pytest.fixture
def request_row(users, person):
    return services.create_request(context(users["supervisor_east"]), request_input(person))


@pytest.mark.parametrize("viewer", ["privacy", "supervisor_east"])
def test_the_request_page_names_the_person_not_their_id(web_client, users, person, request_row,
                                                        viewer):
    page = _get(web_client(users[viewer]), f"/disclosures/{request_row.pk}/")
    text = visible_text(page)
    person_row = re.search(r"<dd data-person>(.*?)</dd>", page, re.S).group(1)
    assert visible_text(person_row).split("(")[0].strip() == (
        f"Ana Ramirez, A-number {person.a_number}")
    assert not UUID.search(text), UUID.search(text)
    assert "Identity (names, A-number, date of birth, citizenship)" in text


def test_the_request_page_reads_the_name_with_the_request(web_client, users, request_row,
                                                          events_since):
    """The name comes with the request's recorded read: one event, naming the person."""
    mark = last_event_id()
    _get(web_client(users["privacy"]), f"/disclosures/{request_row.pk}/")
    [event] = events_since(mark)
    assert (event.action, event.data_category, event.subject_id) == (
        "read", "disclosure", request_row.person_id)


@pytest.mark.parametrize(("moment", "east", "site"), [
    # Minutes that are not zero: Django writes 5:00 as "5 a.m." and 0:00 as "midnight".
    (datetime(2026, 7, 14, 18, 37, tzinfo=UTC), "July 14, 2026, 2:37 p.m. EDT",
     "July 14, 2026, 6:37 p.m. UTC"),
    (datetime(2026, 1, 9, 4, 5, tzinfo=UTC), "Jan. 8, 2026, 11:05 p.m. EST",
     "Jan. 9, 2026, 4:05 a.m. UTC"),
    # On the hour, the words Django uses; the zone is still named.
    (datetime(2026, 12, 7, 5, 0, tzinfo=UTC), "Dec. 7, 2026, midnight EST",
     "Dec. 7, 2026, 5 a.m. UTC"),
])
def test_times_are_in_the_viewers_zone_with_the_zone_named(web_client, users, request_row,
                                                           moment, east, site):
    # The moment is fixed, so what the page says can be said exactly, whatever the clock.
    DisclosureRequest.objects.filter(pk=request_row.pk).update(entered_at=moment)

    def entered(viewer: str) -> str:
        page = _get(web_client(users[viewer]), f"/disclosures/{request_row.pk}/")
        return " ".join(visible_text(
            re.search(r"<dt>Entered</dt><dd>(.*?)</dd>", page, re.S).group(1)).split())

    # The east office's supervisor reads New York time; the privacy officer, who has no
    # office, the site's zone (UTC) - each with the zone said, never an unnamed UTC time.
    assert entered("supervisor_east") == f"supervisor.east, {east}"
    assert entered("privacy") == f"supervisor.east, {site}"
    queue = " ".join(visible_text(_get(web_client(users["supervisor_east"]),
                                       "/disclosures/")).split())
    assert east in queue


def test_the_queue_says_categories_and_authorities_in_words(web_client, users, person):
    services.create_request(context(users["privacy"]), b7_input(person))
    text = visible_text(_get(web_client(users["privacy"]), "/disclosures/"))
    assert "5 U.S.C. 552a(b)(7), a law-enforcement request" in text
    assert "Identity (names, A-number, date of birth, citizenship), Addresses" in text
    assert "identity, addresses" not in text


def test_the_accounting_page_names_the_person(web_client, users, person, request_row, privacy2):
    services.decide(context(privacy2), request_row.pk, decision="approve",
                    reason="Routine use A: proceedings pending.")
    page = _get(web_client(users["privacy"]), f"/disclosures/persons/{person.pk}/accounting/")
    text = visible_text(page)
    assert f"Ana Ramirez, A-number {person.a_number}" in text
    assert not UUID.search(text), UUID.search(text)
    assert "Routine use ICE-A" in text
