"""The privacy officer's retention pages in Chromium, each checked with axe-core."""

from __future__ import annotations

import pytest

from caseledger.retention import services
from caseledger.retention.models import DeletionCertificate, LegalHold
from tests.browser.conftest import TIMEOUT_MS, check_axe, sign_in
from tests.conftest import context
from tests.retention.conftest import PAST, make_checkin
from tests.supervision.conftest import enrolled, stub  # noqa: F401

pytestmark = pytest.mark.browser


def test_retention_pages_place_and_release_a_hold(page, live_server, users, enrolled):  # noqa: F811
    privacy = context(users["privacy"])
    make_checkin(enrolled.enrolment, location_due=PAST)
    sign_in(page, live_server, users["privacy"])

    page.goto(f"{live_server.url}/retention/")
    assert page.locator("[data-schedules] tr[data-class]").count() == 11
    check_axe(page)

    page.goto(f"{live_server.url}/retention/preview/")
    due = page.locator('tr[data-class="failed_check_image"] [data-due]').inner_text()
    assert due.strip() == "1"
    check_axe(page)

    page.goto(f"{live_server.url}/retention/holds/")
    page.get_by_label("Person id").fill(str(enrolled.enrolment.person_id))
    page.get_by_label("Data class").select_option("checkin_location")
    page.get_by_label("Reason for the hold").fill("Preserve for litigation: Doe v. Agency")
    page.get_by_role("button", name="Place the hold").click()
    page.wait_for_selector("tr[data-hold]", timeout=TIMEOUT_MS)
    check_axe(page)
    hold = LegalHold.objects.get()

    services.run_purge(privacy)
    page.goto(f"{live_server.url}/retention/certificates/")
    assert page.locator("tr[data-certificate]").count() == 1  # the image; the location is held
    check_axe(page)
    page.locator("tr[data-certificate] a").first.click()
    page.wait_for_selector("[data-ledger-event]", timeout=TIMEOUT_MS)
    cert = DeletionCertificate.objects.get()
    assert page.locator("[data-ledger-event]").inner_text() == str(cert.ledger_event)
    check_axe(page)

    page.goto(f"{live_server.url}/retention/holds/{hold.pk}/release/")
    check_axe(page)
    page.get_by_label("Reason for the release").fill("Litigation settled.")
    page.get_by_role("button", name="Release the hold").click()
    page.wait_for_url("**/retention/holds/", timeout=TIMEOUT_MS)
    hold.refresh_from_db()
    assert not hold.active
