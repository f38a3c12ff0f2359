"""axe-core (WCAG 2.1 A/AA and best practice) on every staff page that the journeys do not
already cover, including error states, and the entry pages on a phone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from caseledger.cases.services import open_case, schedule_hearing
from tests.browser.conftest import PHONE, check_axe, horizontal_overflow, sign_in
from tests.conftest import PASSWORD, context, totp_code

pytestmark = pytest.mark.browser


def _password_step(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/mfa/")


def test_sign_in_pages(page, live_server, users):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("navigation", name="Primary navigation")).to_have_count(0)
    check_axe(page)

    page.get_by_label("Username").fill("officer.east")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password.")
    check_axe(page)

    # First sign-in of a staff member: TOTP set-up with a QR code.
    _password_step(page, live_server, users["supervisor_east"])
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    check_axe(page)
    page.get_by_label("6-digit code").fill("12345")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not valid.")
    check_axe(page)

    # Later sign-ins: only the code.
    totp_code(users["officer_east"])
    _password_step(page, live_server, users["officer_east"])
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_have_count(0)
    expect(page.get_by_label("6-digit code")).to_have_attribute("autocomplete", "one-time-code")
    check_axe(page)


def test_person_and_case_forms(page, live_server, users, make_person):
    person = make_person("officer_east", "Jean", "Baptiste", citizenship=["HT"], languages=["ht"])
    sign_in(page, live_server, users["officer_east"])

    page.goto(f"{live_server.url}/persons/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New person")
    check_axe(page)
    page.get_by_label("Given names").fill("Ana")
    page.get_by_label("Family names").fill("Lopez")
    page.get_by_label("A-number").fill("A12")
    page.get_by_role("button", name="Save").click()
    a_number = page.get_by_label("A-number")
    expect(a_number).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_a_number_error")).to_contain_text("8 or 9 digits")
    expect(a_number).to_have_value("A12")
    check_axe(page)

    page.goto(f"{live_server.url}/persons/{person.pk}/edit/")
    expect(page.get_by_label("Family names")).to_have_value("Baptiste")
    check_axe(page)

    page.goto(f"{live_server.url}/persons/{person.pk}/addresses/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New address for Jean Baptiste")
    check_axe(page)

    page.goto(f"{live_server.url}/persons/{person.pk}/cases/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case for Jean Baptiste")
    expect(page.get_by_label("Court")).to_contain_text("Newark Immigration Court")
    check_axe(page)

    page.goto(f"{live_server.url}/persons/search/?q=Zzyzx")
    expect(page.locator("#results")).to_contain_text("0 matches")
    check_axe(page)


def test_sign_in_and_caseload_on_a_phone(phone_page, live_server, users, make_person):
    officer = users["officer_east"]
    person = make_person("officer_east", "Nguyễn", "Văn An", citizenship=["VN"], languages=["vi"])
    make_person("officer_east", "María José", "García López de la Fuente")
    case = open_case(
        ctx=context(officer),
        person_id=person.pk,
        case_type="removal",
        court_code="HOU",
        opened_on=date(2025, 1, 6),
    )
    schedule_hearing(
        ctx=context(officer),
        case_id=case.pk,
        calendar="master",
        scheduled_at=timezone.now() + timedelta(days=30),
    )

    phone_page.goto(f"{live_server.url}/accounts/login/")
    assert horizontal_overflow(phone_page) == 0
    check_axe(phone_page)

    sign_in(phone_page, live_server, officer)
    expect(phone_page.get_by_role("link", name="Nguyễn Văn An")).to_be_visible()
    assert phone_page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    assert horizontal_overflow(phone_page) == 0
    check_axe(phone_page)

    # The navigation collapses behind the USWDS menu button and opens on a tap. (No axe run
    # while it is open: USWDS then sets aria-hidden on the rest of the page, as a modal does,
    # and traps focus in the menu; axe's aria-hidden-focus rule does not know about the trap.)
    nav = phone_page.get_by_role("navigation", name="Primary navigation")
    expect(nav.get_by_role("link", name="Search persons")).to_be_hidden()
    phone_page.get_by_role("button", name="Menu").tap()
    expect(nav.get_by_role("link", name="Search persons")).to_be_visible()
    nav.get_by_role("button", name="Close menu").tap()
    expect(nav.get_by_role("link", name="Search persons")).to_be_hidden()


def test_hearing_pages(page, live_server, users, make_person):
    """Schedule, move (with a refused date first) and cancel a hearing from the pages."""
    officer = users["officer_east"]
    person = make_person("officer_east", "Marta", "Quispe", languages=["es"])
    case = open_case(
        ctx=context(officer), person_id=person.pk, case_type="removal", court_code="NYC"
    )
    sign_in(page, live_server, officer)
    page.goto(f"{live_server.url}/cases/{case.pk}/hearings/new/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Schedule a hearing")
    check_axe(page)
    page.get_by_label("Calendar").select_option("master")
    day = (timezone.now() + timedelta(days=20)).date()
    page.get_by_label("Date and time, in the court's time zone").fill(f"{day:%Y-%m-%d}T09:30")
    page.get_by_role("button", name="Schedule hearing").click()
    expect(page.get_by_test_id("hearing-time")).to_contain_text(f"{day:%Y-%m-%d} 09:30")
    check_axe(page)

    past = (timezone.now() - timedelta(days=3)).date()
    page.get_by_label("New date and time, in the court's time zone").fill(f"{past:%Y-%m-%d}T09:30")
    page.get_by_role("button", name="Move hearing").click()
    expect(page.locator(".usa-error-message")).to_contain_text("cannot be moved into the past")
    check_axe(page)

    page.get_by_role("link", name="Cancel the hearing…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this hearing")
    check_axe(page)
    page.get_by_role("button", name="Cancel this hearing").click()
    expect(page.get_by_role("status").or_(page.locator(".cl-message"))).to_contain_text(
        "Hearing cancelled"
    )
    expect(page.locator(".cl-subhead")).to_contain_text("Cancelled")
