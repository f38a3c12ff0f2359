"""A participant opens "My record" on a phone, in Spanish, and sees who accessed it."""

from __future__ import annotations

import pytest

from caseledger.people.selectors import get_person
from tests.browser.conftest import TIMEOUT_MS, check_axe, horizontal_overflow
from tests.conftest import PASSWORD, context
from tests.portal.conftest import record_catalogue, rosa, rosa_case  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_participant_sees_who_accessed_my_record_in_spanish_on_a_phone(
    phone_page,
    live_server,
    users,
    rosa,  # noqa: F811
    rosa_case,  # noqa: F811
    record_catalogue,  # noqa: F811
):
    # an officer's earlier read, which the participant must see
    get_person(ctx=context(users["officer_east"]), person_id=rosa.pk)
    participant = users["participant"]
    participant.preferred_language = "es"
    participant.save(update_fields=["preferred_language"])

    page = phone_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", participant.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/me/**", timeout=TIMEOUT_MS)
    page.goto(f"{live_server.url}/me/record/")
    assert page.locator("html").get_attribute("lang") == "es"
    heading = record_catalogue["Who accessed my record"]
    section = page.locator("section#accesses")
    assert section.get_by_role("heading", name=heading).is_visible()
    rows = section.locator("tr[data-access]")
    assert rows.count() >= 2
    texts = [" ".join(rows.nth(i).inner_text().split()) for i in range(rows.count())]
    officer = record_catalogue["Case officer"]
    purpose = record_catalogue["Managing their caseload"]
    looked = record_catalogue["Looked at"]
    office = "East office"  # the office's name, not its code
    assert any(officer in t and office in t and purpose in t and looked in t for t in texts), texts
    body = page.locator("main").inner_text()
    assert record_catalogue["The information we hold"] in body
    assert "Rosa Diaz" in body and rosa.a_number in body
    assert "Who accessed my record" not in body
    assert horizontal_overflow(page) == 0
    check_axe(page)

    # the language switch brings the English page back
    page.get_by_role("button", name="View in English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert (
        page.locator("section#accesses")
        .get_by_role("heading", name="Who accessed my record")
        .is_visible()
    )
    check_axe(page)


def _sign_in_without_mfa(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def test_amendment_pages_pass_axe(page, phone_page, live_server, users, rosa):  # noqa: F811
    from caseledger.portal import services
    from tests.browser.conftest import sign_in

    refused = services.request_amendment(
        ctx=context(users["participant"]),
        category="contact",
        what_is_wrong="My phone ends in 44.",
        correction="It should end in 44, not 45.",
    )
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=refused.pk,
        decision="refuse",
        reasons="The carrier confirms 45.",
    )
    # the participant, on a phone: the request form (with its errors) and the statement steps
    _sign_in_without_mfa(phone_page, live_server, users["participant"])
    phone_page.goto(f"{live_server.url}/me/record/amendments/new/")
    phone_page.get_by_role("button", name="Send my request").click()
    phone_page.wait_for_load_state()
    assert phone_page.locator(".usa-error-message").count() == 3
    assert horizontal_overflow(phone_page) == 0
    check_axe(phone_page)
    phone_page.goto(f"{live_server.url}/me/record/amendments/{refused.pk}/statement/")
    phone_page.get_by_label("Your statement").fill("I have the bill that shows 44.")
    phone_page.get_by_role("button", name="Check my statement").click()
    phone_page.wait_for_load_state()
    assert phone_page.get_by_role("heading", name="Check your statement").is_visible()
    assert horizontal_overflow(phone_page) == 0
    check_axe(phone_page)

    # the privacy officer: the queue, a request, the decision's confirmation step
    services.request_amendment(
        ctx=context(users["representative"]),
        person_id=rosa.pk,
        category="address",
        what_is_wrong="Old address.",
        correction="21 Main St.",
    )
    sign_in(page, live_server, users["privacy"])
    page.goto(f"{live_server.url}/me/record/staff/amendments/")
    check_axe(page)
    page.locator("tr[data-request] a").first.click()
    page.wait_for_load_state()
    check_axe(page)
    page.get_by_label("Decision").select_option("grant")
    page.get_by_label("Reasons").fill("The lease confirms the new address.")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Grant this request?").is_visible()
    check_axe(page)


def test_representative_pages_pass_axe(page, live_server, users, rosa, rosa_case):  # noqa: F811
    _sign_in_without_mfa(page, live_server, users["representative"])
    page.goto(f"{live_server.url}/me/record/")
    check_axe(page)
    page.get_by_role("link", name="Rosa Diaz").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Who accessed this record").is_visible()
    check_axe(page)
