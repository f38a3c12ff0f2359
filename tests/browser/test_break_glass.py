"""Emergency access in real Chromium: a record outside the caseload is "not found" until
the officer states a reason; then it opens under a warning, and the ledger says why."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from caseledger.access.models import Grant
from caseledger.ledger.models import Event
from tests.browser.conftest import check_axe, sign_in

pytestmark = pytest.mark.browser

REASON = "Court called: custody hearing moved to this morning, officer West is away"


def test_break_glass_through_the_pages(page, live_server, users, make_person):
    person = make_person("officer_west", "Oksana", "Shevchenko", citizenship=["UA"])
    officer = users["officer_east"]
    sign_in(page, live_server, officer)

    response = page.goto(f"{live_server.url}/persons/{person.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Record not found")
    expect(page.get_by_text("Shevchenko")).to_have_count(0)  # nothing of the record leaks
    check_axe(page)

    page.get_by_role("link", name="Request emergency access").click()
    page.wait_for_url(f"**/persons/{person.pk}/break-glass/")
    reason = page.get_by_label("Why do you need access to this person's record now?")
    reason.fill("need it")
    page.get_by_role("button", name="Open the record and record my reason").click()
    expect(page.locator(".usa-error-message")).to_contain_text("at least 20 characters")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_value("need it")
    check_axe(page)
    assert not Grant.objects.filter(user=officer, person_id=person.pk).exists()

    reason.fill(REASON)
    page.get_by_role("button", name="Open the record and record my reason").click()
    page.wait_for_url(f"**/persons/{person.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Oksana Shevchenko")
    banner = page.locator('[data-purpose="break_glass"]')
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Emergency access (break-glass)")
    expect(banner).to_contain_text(REASON)
    check_axe(page)

    granted = Event.objects.filter(
        action="break_glass", subject_id=person.pk, actor_id=str(officer.pk), outcome="allowed"
    )
    assert granted.count() == 1
    assert granted.get().purpose == "break_glass"
    read = Event.objects.filter(
        action="read", subject_id=person.pk, actor_id=str(officer.pk), purpose="break_glass"
    )
    assert read.filter(outcome="allowed").exists()
    # The first visit, before the grant, was refused and recorded as such.
    assert Event.objects.filter(
        action="read", subject_id=person.pk, actor_id=str(officer.pk), outcome="denied"
    ).exists()
