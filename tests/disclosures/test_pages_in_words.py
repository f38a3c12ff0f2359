"""Disclosure pages name the person whose record is released (never only a record id), say
categories and authorities in words, and give times in the viewer's time zone with the zone
named, as every other staff page does."""

from __future__ import annotations

import html
import re

import pytest

from caseledger.disclosures import services
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


def test_times_are_in_the_viewers_zone_with_the_zone_named(web_client, users, request_row):
    def entered(viewer: str) -> str:
        page = _get(web_client(users[viewer]), f"/disclosures/{request_row.pk}/")
        return visible_text(re.search(r"<dt>Entered</dt><dd>(.*?)</dd>", page, re.S).group(1))

    # The east office's supervisor reads New York time; the privacy officer, who has no
    # office, the site's zone (UTC) - each with the zone said, never an unnamed UTC time.
    assert re.search(r"\d{4}, \d+:\d\d [ap]\.m\. E[SD]T$", entered("supervisor_east").strip())
    assert entered("privacy").strip().endswith("UTC")
    queue = visible_text(_get(web_client(users["supervisor_east"]), "/disclosures/"))
    assert re.search(r"\d:\d\d [ap]\.m\. E[SD]T", queue)


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
