"""The field report page in real Chromium: axe-clean, and it fits a 412-px phone."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from tests.browser.conftest import check_axe, horizontal_overflow, sign_in
from tests.reports.test_field_report import Seeder

pytestmark = pytest.mark.browser


def _seed(users) -> None:
    s = Seeder(users)
    with transaction.atomic():
        s.tries(40)
        s.tries(12, outcome="review", face="no_match", disposition="verified_by_review")
        s.tries(3, outcome="review", face="match", live="not_live",
                disposition="verified_by_review")
        s.tries(25, device="tablet")
        s.refusals(15, "no_face")
        s.refusals(4, "multiple_faces", device="tablet")


@pytest.mark.parametrize("size", ["page", "phone_page"])
def test_field_report_page(request, live_server, users, size):
    page = request.getfixturevalue(size)
    _seed(users)
    sign_in(page, live_server, users["supervisor_east"])
    page.goto(f"{live_server.url}/reports/field/?period=2026-Q4")
    expect(page.get_by_role("heading", level=1)).to_have_text("Face checks in the field, 2026-Q4")
    expect(page.get_by_role("img", name="Refused uploads by reason")).to_be_visible()
    expect(page.locator("[data-office=east]")).to_contain_text("fewer than 10")
    check_axe(page)
    assert horizontal_overflow(page) == 0
    page.goto(f"{live_server.url}/reports/field/?period=2026-Q9")
    expect(page.locator("[data-error]")).to_be_visible()
    check_axe(page)
