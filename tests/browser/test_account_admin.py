"""The administrator's day in Chromium: lands on the accounts, filters them, deactivates one
behind its confirmation page, creates a privacy officer's account (password shown once) that a
second administrator approves, and an officer's account whose holder chooses their own password
at the first sign-in (after the code, before any page); axe-core finds nothing on any page at
1280 and 412 px, nothing overflows, and the actions work from the keyboard alone."""

from __future__ import annotations

import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from caseledger.accounts.models import Role, RoleGrantRequest, User
from tests.browser.conftest import TIMEOUT_MS, check_axe, horizontal_overflow, sign_in
from tests.conftest import totp_code

pytestmark = pytest.mark.browser

WIDTHS = ["page", "phone_page"]  # desktop 1280 px and phone 412 px fixtures


def _check(page: Page, heading: str | re.Pattern[str]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    check_axe(page)
    assert horizontal_overflow(page) == 0


def _tab_to(page: Page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element is the link or button called `name` (so that it is
    reachable from the keyboard), or fail."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? (e.innerText || e.value || '').trim() : ''; }")
        if focused == name:
            return
    pytest.fail(f"{name!r} cannot be reached with the Tab key")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_administrators_day(request, live_server, users, make_user, width):
    page: Page = request.getfixturevalue(width)
    admin2 = make_user("admin2", Role.ADMINISTRATOR)
    sign_in(page, live_server, users["admin"])
    page.wait_for_url("**/accounts/manage/", timeout=TIMEOUT_MS)  # their landing page
    _check(page, "Accounts")

    # Filter: case officers only.
    page.get_by_label("Role").select_option("case_officer")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/accounts/manage/?*role=case_officer*", timeout=TIMEOUT_MS)
    expect(page.locator("tr[data-account]")).to_have_count(3)
    _check(page, "Accounts")

    # One account, and its deactivation behind a confirmation page.
    page.get_by_role("link", name="officer.west").click()
    _check(page, "officer.west")
    page.get_by_role("link", name="Deactivate").click()
    _check(page, "Deactivate this account")
    assert User.objects.get(username="officer.west").is_active  # asking changed nothing
    page.get_by_role("button", name="Deactivate the account").click()
    expect(page.get_by_role("status")).to_contain_text("The account was deactivated")
    _check(page, "officer.west")
    assert not User.objects.get(username="officer.west").is_active

    # A new privacy officer's account: inactive until a second administrator approves.
    page.goto(f"{live_server.url}/accounts/manage/new/")
    _check(page, "New account")
    page.get_by_label("Username").fill("new.privacy")
    page.get_by_label("Role").select_option("privacy_officer")
    page.get_by_role("button", name="Create the account").click()
    _check(page, "Account created")
    password = page.locator("[data-temporary-password]").inner_text()
    assert User.objects.get(username="new.privacy").check_password(password)
    page.get_by_role("link", name="See the role request").click()
    _check(page, "Privacy officer for new.privacy")
    expect(page.locator("[data-own-proposal]")).to_be_visible()  # not theirs to approve

    # The second administrator approves it.
    page.context.clear_cookies()
    sign_in(page, live_server, admin2)
    page.wait_for_url("**/accounts/manage/", timeout=TIMEOUT_MS)
    expect(page.locator("[data-pending] tr[data-role-request]")).to_have_count(1)
    _check(page, "Accounts")
    page.get_by_role("link", name=re.compile("Review")).click()
    _check(page, "Privacy officer for new.privacy")
    page.locator("label", has_text="Approve: give the account this role").click()  # USWDS
    expect(page.get_by_label("Approve: give the account this role")).to_be_checked()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("The role was given to the account.")
    _check(page, "new.privacy")
    user = User.objects.get(username="new.privacy")
    assert user.is_active and user.role == Role.PRIVACY_OFFICER
    assert RoleGrantRequest.objects.get(user=user).decided_by == admin2


def test_account_actions_work_from_the_keyboard(page, live_server, users):
    officer = users["officer_west"]
    sign_in(page, live_server, users["admin"])
    page.goto(f"{live_server.url}/accounts/manage/{officer.pk}/")
    _tab_to(page, "Change role or office")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/accounts/manage/{officer.pk}/role/", timeout=TIMEOUT_MS)
    _check(page, "Change role or office")
    page.get_by_label("New role").focus()
    page.keyboard.press("Tab")  # the office select
    page.keyboard.press("Tab")  # the button
    page.keyboard.press("Enter")  # submits the same role and office: refused in the form
    expect(page.get_by_role("alert").first).to_be_visible()
    _check(page, "Change role or office")
    page.goto(f"{live_server.url}/accounts/manage/{officer.pk}/")
    _tab_to(page, "Deactivate")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/accounts/manage/{officer.pk}/deactivate/", timeout=TIMEOUT_MS)
    _tab_to(page, "Deactivate the account")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/accounts/manage/{officer.pk}/", timeout=TIMEOUT_MS)
    assert not User.objects.get(pk=officer.pk).is_active


@pytest.mark.parametrize("width", WIDTHS)
def test_a_new_account_chooses_its_own_password_at_first_sign_in(request, live_server, users,
                                                                 width):
    page: Page = request.getfixturevalue(width)
    sign_in(page, live_server, users["admin"])
    page.goto(f"{live_server.url}/accounts/manage/new/")
    page.get_by_label("Username").fill("new.officer")
    page.get_by_label("Role").select_option("case_officer")
    page.get_by_label("Office").select_option("east")
    page.get_by_role("button", name="Create the account").click()
    _check(page, "Account created")
    password = page.locator("[data-temporary-password]").inner_text()
    user = User.objects.get(username="new.officer")
    assert user.must_change_password

    # The new officer: password, code, then a password of their own before anything else.
    page.context.clear_cookies()
    _code, device = totp_code(user)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("new.officer")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/mfa/", timeout=TIMEOUT_MS)
    page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/accounts/password/", timeout=TIMEOUT_MS)
    _check(page, "Choose your password")
    page.goto(f"{live_server.url}/persons/")  # no way around the step
    page.wait_for_url("**/accounts/login/**", timeout=TIMEOUT_MS)
    page.go_back()
    page.wait_for_url("**/accounts/password/", timeout=TIMEOUT_MS)
    page.get_by_label(re.compile(r"^New password")).fill("my-own-long-passphrase-77")
    page.get_by_label("The new password again").fill("not-the-same-passphrase-77")
    page.get_by_role("button", name="Save my password").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    _check(page, "Choose your password")
    page.get_by_label(re.compile(r"^New password")).fill("my-own-long-passphrase-77")
    page.get_by_label("The new password again").fill("my-own-long-passphrase-77")
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url("**/persons/", timeout=TIMEOUT_MS)
    expect(page.get_by_role("status")).to_contain_text("Your new password is set")
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password("my-own-long-passphrase-77")
