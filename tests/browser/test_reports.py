"""The anomaly review and the transparency report in real Chromium, axe-checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from caseledger.reports.models import AnomalyItem
from caseledger.reports.services import build_anomaly_report
from tests.browser.conftest import TIMEOUT_MS, check_axe, sign_in
from tests.reports.conftest import MONDAY, WEEK, random_subjects, write

pytestmark = pytest.mark.browser

FINDING = "Reviewed with the supervisor: an office-wide file audit was ordered."


def test_anomaly_review_and_transparency_pages(page, live_server, users):
    for i, subject in enumerate(random_subjects(70)):
        write(
            users["officer_west"],
            MONDAY + timedelta(days=1, hours=15, seconds=i),
            subject_id=subject,
        )
    for i in range(12):
        write(
            users["privacy"],
            MONDAY + timedelta(hours=14, minutes=i),
            action="disclose",
            category="disclosure",
            purpose="privacy_review",
            detail={"authority": "b7", "agency": "CBP" if i else "FBI"},
        )
    build_anomaly_report(WEEK)
    item = AnomalyItem.objects.get()
    sign_in(page, live_server, users["privacy"])

    page.goto(f"{live_server.url}/reports/anomalies/")
    check_axe(page)
    page.get_by_role("link", name=WEEK).click()
    page.wait_for_url(f"**/reports/anomalies/{WEEK}/", timeout=TIMEOUT_MS)
    check_axe(page)
    page.get_by_role("link", name="Many distinct persons viewed").click()
    page.wait_for_url(f"**/reports/anomalies/items/{item.pk}/", timeout=TIMEOUT_MS)
    expect(page.get_by_role("heading", level=2, name="70 ledger events")).to_be_visible()
    check_axe(page)

    page.locator("[data-event] a").first.click()
    page.wait_for_url("**/reports/events/*/", timeout=TIMEOUT_MS)
    check_axe(page)
    page.go_back()

    page.locator("label", has_text="Referred").click()  # USWDS hides the radio itself
    page.get_by_label("Finding").fill(FINDING)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("[data-confirm]")).to_contain_text("Close this item?")
    check_axe(page)
    page.get_by_role("button", name="Yes, close the item").click()
    expect(page.locator("[data-finding]")).to_contain_text(FINDING)
    check_axe(page)
    item.refresh_from_db()
    assert item.outcome == "referred"

    page.goto(f"{live_server.url}/reports/transparency/?period=2026-Q4")
    expect(page.get_by_role("heading", level=1)).to_have_text("Transparency report 2026-Q4")
    expect(page.get_by_role("img", name="Disclosures by receiving agency")).to_be_visible()
    check_axe(page)

    page.goto(f"{live_server.url}/reports/household/")
    page.get_by_label("Full name").fill("Rosa Díaz")
    page.get_by_role("button", name="Declare").click()
    expect(page.locator("[data-members]")).to_contain_text("Rosa Díaz")
    check_axe(page)
