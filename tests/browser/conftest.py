"""Real Chromium, driven by Playwright, against pytest-django's live server.

One browser for the session; a fresh context (cookies, storage) for every test.
`check_axe(page)` runs axe-core on the page as it is; `sign_in(page, live_server, user)`
goes through the real sign-in form and the TOTP step.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Playwright's sync API runs an event loop in this thread; the ORM calls that tests make
# between page actions are still ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402
from django.urls import get_resolver  # noqa: E402
from django_otp.oath import totp  # noqa: E402
from playwright.sync_api import Browser, Page, Playwright, sync_playwright  # noqa: E402

from caseledger.accounts.models import User  # noqa: E402
from tests.conftest import PASSWORD, seed_reference_data, totp_code  # noqa: E402

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 412, "height": 915}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Load the URLconf (and every view module it imports) while Chromium starts, rather than
    # in the live server's first request.
    warm_up = threading.Thread(target=lambda: get_resolver().url_patterns, daemon=True)
    warm_up.start()
    browser = playwright.chromium.launch(
        executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        args=CHROMIUM_ARGS,
    )
    warm_up.join()
    yield browser
    browser.close()


def _page(browser: Browser, **options: Any) -> Iterator[Page]:
    context = browser.new_context(locale="en-US", timezone_id="America/New_York", **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Chromium reports what the Content-Security-Policy or the Permissions-Policy refused
    # (an inline script or style, a camera the page may not use) on the console only.
    refused: list[str] = []
    page.on("console", lambda message: _note_refusal(message.text, refused))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not refused, f"Refused by the page's security policy: {refused}"


POLICY_MESSAGES = ("Content Security Policy", "Permissions policy violation", "Permissions-Policy")


def _note_refusal(text: str, refused: list[str]) -> None:
    if any(marker in text for marker in POLICY_MESSAGES):
        refused.append(text)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page in a fresh browser context."""
    yield from _page(browser, viewport=DESKTOP)


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    """A page the size of a large Android phone (412 x 915 CSS pixels), touch enabled."""
    yield from _page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)


@pytest.fixture(autouse=True)
def courts(transactional_db: Any) -> None:
    """The court list, retention schedules and routine uses are migration data; a
    transactional test's flush removes them."""
    seed_reference_data()


def check_axe(page: Page) -> None:
    """Fail with a readable list if axe-core finds WCAG 2.1 A/AA or best-practice violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern; a
        # <script> tag added to the page would be refused (no nonce), as it should be.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    violations = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: tags, resultTypes: ['violations']}))"
        ".violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))}))",
        AXE_TAGS,
    )
    if violations:
        lines = [
            f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"])
            for v in violations
        ]
        pytest.fail(f"axe found {len(violations)} violation(s) on {page.url}:\n" + "\n".join(lines))


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return page.evaluate(
        "document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )


def sign_in(page: Page, live_server: Any, user: User) -> None:
    """Sign in through the login form, then the TOTP step with a fresh confirmed device."""
    _code, device = totp_code(user)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/mfa/")
    # Computed now, not when the device was made: the page load may have crossed a 30 s step.
    page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(lambda url: "/accounts/mfa/" not in url)  # each role's own landing page
