"""A case officer's ordinary day, in real Chromium: sign in, find a person under another
spelling of the name, open the record and the case, move the case on."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from caseledger.cases.models import Case
from caseledger.cases.services import open_case
from tests.browser.conftest import PHONE, check_axe, horizontal_overflow, sign_in
from tests.conftest import context

pytestmark = pytest.mark.browser


@pytest.fixture
def haddad(users, make_person):
    """Mohammed Haddad on officer_east's caseload, with one open removal case."""
    person = make_person("officer_east", "Mohammed", "Haddad", languages=["ar", "en"])
    case = open_case(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        case_type="removal",
        court_code="NEW",
        opened_on=date(2025, 3, 3),
    )
    return person, case


def test_officer_finds_a_person_and_moves_the_case_on(page, live_server, users, haddad):
    person, case = haddad
    sign_in(page, live_server, users["officer_east"])
    expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")
    expect(page.get_by_role("link", name="Mohammed Haddad")).to_be_visible()
    check_axe(page)

    nav = page.get_by_role("navigation", name="Primary navigation")
    nav.get_by_role("link", name="Search persons").click()
    page.get_by_label("Name in any spelling or script, or A-number").fill("Muhammad Hadad")
    result = page.locator("#results").get_by_role("link", name="Mohammed Haddad")
    expect(result).to_be_visible()  # arrives through htmx, without a page load
    expect(page.locator("#results")).to_contain_text("1 match")
    assert "q=Muhammad" in page.url  # the search is in the address bar (hx-push-url)
    check_axe(page)

    result.click()
    page.wait_for_url(f"**/persons/{person.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mohammed Haddad")
    banner = page.locator("[data-purpose]")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("data-purpose", "caseload")
    expect(banner).to_contain_text("Managing my caseload")
    check_axe(page)

    page.get_by_role("link", name=case.reference).click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {case.reference}")
    expect(page.locator("[data-status]")).to_have_text("Open, in proceedings")
    check_axe(page)

    page.get_by_label("New status").select_option("decided")
    page.get_by_label("Reason").fill("Oral decision at the master calendar hearing")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_contain_text("Status changed.")
    expect(page.locator("[data-status]")).to_have_text("Decided")
    expect(page.get_by_text(re.compile(r"Open, in proceedings → Decided"))).to_be_visible()
    check_axe(page)

    case.refresh_from_db()
    assert case.status == "decided"
    assert Case.objects.get(pk=case.pk).status_changes.count() == 1


def test_person_page_fits_a_phone(phone_page, live_server, users, haddad):
    person, case = haddad
    sign_in(phone_page, live_server, users["officer_east"])
    phone_page.goto(f"{live_server.url}/persons/{person.pk}/")
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Mohammed Haddad")
    expect(phone_page.locator("[data-purpose]")).to_be_visible()
    expect(phone_page.get_by_role("link", name=case.reference)).to_be_visible()
    assert phone_page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    assert horizontal_overflow(phone_page) == 0
    check_axe(phone_page)
