"""The error pages in Chromium: axe-core finds nothing on the 404, 403, CSRF and 500 pages at
desktop and phone width, nothing overflows at 412 px, and the CSP refuses nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_axe, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

WIDTHS = ["page", "phone_page"]  # desktop 1280 px and phone 412 px fixtures


def _check(page: Page, heading: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("[data-reference]")).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
    check_axe(page)
    assert horizontal_overflow(page) == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_404_for_a_visitor_in_english_and_spanish(request, live_server, width):
    page = request.getfixturevalue(width)
    response = page.goto(f"{live_server.url}/no-such-page/%3Cb%3Ex%3C/b%3E")
    assert response is not None and response.status == 404
    _check(page, "Page not found")
    expect(page.get_by_role("link", name="Sign in")).to_have_attribute("href", "/accounts/login/")

    # The language switch on the page (Accept-Language: es is covered in tests/core).
    page.get_by_role("button", name="Ver en español").click()
    _check(page, "No se encontró la página")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("link", name="Iniciar sesión")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_404_and_403_for_a_signed_in_officer(request, live_server, users, width):
    page = request.getfixturevalue(width)
    sign_in(page, live_server, users["officer_east"])

    page.goto(f"{live_server.url}/persons/no/such/page/")
    _check(page, "Page not found")
    expect(page.get_by_role("link", name="Go to your home page")).to_be_visible()

    response = page.goto(f"{live_server.url}/disclosures/")
    assert response is not None and response.status == 403
    _check(page, "You cannot open this page")
    reason = page.get_by_text("These pages are for privacy officers and supervisors.")
    expect(reason).to_be_visible()
    page.get_by_role("link", name="Go to your home page").click()
    page.wait_for_url("**/persons/")


@pytest.mark.parametrize("width", WIDTHS)
def test_csrf_failure_when_the_cookies_were_cleared(request, live_server, users, width):
    page = request.getfixturevalue(width)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("officer.east")
    page.context.clear_cookies()  # the form's token no longer matches any cookie
    page.get_by_label("Password").fill("anything-at-all")
    page.get_by_role("button", name="Sign in").click()
    _check(page, "Your form could not be sent")


@pytest.mark.urls("tests.core.test_error_pages")
@pytest.mark.parametrize("width", WIDTHS)
def test_500_page(request, live_server, width):
    page = request.getfixturevalue(width)
    response = page.goto(f"{live_server.url}/test-errors/boom/")
    assert response is not None and response.status == 500
    _check(page, "Something went wrong on our side")
