"""Browser test of the disclosure pages: each checked with axe-core."""

from __future__ import annotations

import pytest

from caseledger.disclosures import services
from tests.browser.conftest import TIMEOUT_MS, check_axe, sign_in
from tests.conftest import context
from tests.disclosures.conftest import LETTER, person, privacy2, request_input  # noqa: F401

pytestmark = pytest.mark.browser


def test_disclosure_pages_pass_axe(
    page,
    live_server,
    users,
    person,  # noqa: F811
    privacy2,  # noqa: F811
    tmp_path,
    settings,
):
    settings.VAR_DIR = tmp_path
    pending = services.create_request(context(users["privacy"]), request_input(person))
    released = services.create_request(
        context(users["supervisor_east"]), request_input(person, categories=["identity"])
    )
    services.decide(
        context(users["privacy"]),
        released.pk,
        decision="approve",
        reason="Routine use A: proceedings pending.",
    )
    services.notify_prior_recipients(
        context(users["officer_east"]),
        person_id=person.pk,
        categories=["identity"],
        reason="Name spelling corrected.",
    )
    sign_in(page, live_server, privacy2)
    base = f"{live_server.url}/disclosures"
    for url in (
        "/",
        "/new/",
        "/routine-uses/",
        "/corrections/",
        f"/{released.pk}/",
        f"/persons/{person.pk}/accounting/",
    ):
        page.goto(base + url)
        assert page.locator("h1").count() == 1
        check_axe(page)
    # The decision form, its confirmation step, and the form with refusals shown.
    page.goto(f"{base}/{pending.pk}/")
    check_axe(page)
    page.locator("label", has_text="Approve and release").click()  # USWDS hides the radio itself
    page.get_by_label("Reasons").fill("Routine use A: the person's hearing is pending.")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("[data-confirm]", timeout=TIMEOUT_MS)
    check_axe(page)
    page.get_by_role("button", name="Yes, approve and release").click()
    page.wait_for_selector("[data-sha256]", timeout=TIMEOUT_MS)
    pending.refresh_from_db()
    assert pending.status == "approved"
    page.goto(f"{base}/new/")
    page.get_by_label("Person (A-number or record id)").fill(person.a_number)
    page.get_by_label("Requesting agency").select_option("EOIR")
    page.get_by_label("Authority").select_option("ICE-A")
    page.get_by_label("Official's title").fill("Clerk")
    page.get_by_label("Requesting official's name").fill("Dana Cruz")
    page.get_by_label("Activity the record is needed for").fill("Hearing before the court")
    page.locator("label[for=id_categories_2]").click()
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(LETTER)
    page.get_by_label("Signed request letter (PDF)").set_input_files(str(letter))
    page.get_by_role("button", name="Enter the request").click()
    page.wait_for_selector(".usa-error-message", timeout=TIMEOUT_MS)
    text = page.locator("main").inner_text()
    assert "does not allow the categories: contacts" in text, text
    check_axe(page)
