"""Walking one role's day in Chromium, page by page, with the same checks on every page.

`Journey.check(step)` looks at the page as it is: axe-core finds no violation, the page is no
wider than the window (at 412 px as at 1280 px), and no record id (a UUID) is in the visible
text (staff pages, and the participant's and representative's pages too). A failed check is
noted, not raised at once, so that one run lists every page that fails (`assert_clean` at the
end of the test). With the environment variable CASELEDGER_SCREENSHOTS=<dir>, every step also
saves a full-page screenshot `<dir>/<role>-<width>-<nn>-<step>.png` (`make screenshots`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    _page,
    check_axe,
    horizontal_overflow,
    sign_in,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
SCREENSHOTS_ENV = "CASELEDGER_SCREENSHOTS"
WIDTHS = (DESKTOP["width"], PHONE["width"])


def screenshot_dir() -> Path | None:
    """Where screenshots go, or None when they are not wanted (the default)."""
    folder = os.environ.get(SCREENSHOTS_ENV, "")
    return Path(folder) if folder else None


@contextmanager
def browser_page(browser: Browser, width: int, **options: Any) -> Iterator[Page]:
    """A fresh context at desktop width (1280) or as a 412-px touch phone, with the checks of
    `conftest._page` (no JavaScript error, nothing refused by the page's policies)."""
    if width == DESKTOP["width"]:
        sizes: dict[str, Any] = {"viewport": DESKTOP}
    else:
        sizes = {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True,
                 "has_touch": True}
    with contextmanager(_page)(browser, **sizes, **options) as page:
        yield page


def password_sign_in(page: Page, live_server: Any, username: str, password: str) -> None:
    """The sign-in form for those without an authenticator step (participants and
    representatives); waits for the landing page."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@contextmanager
def staff_session(browser: Browser, live_server: Any, user: Any, width: int) -> Iterator[Page]:
    """A staff member signed in (password and TOTP) in a fresh context of `width`. Their
    earlier authenticators are removed first: the sign-in step checks the code against the
    first one, and a code is accepted once per 30-s step."""
    TOTPDevice.objects.filter(user=user).delete()
    with browser_page(browser, width) as page:
        sign_in(page, live_server, user)
        yield page


def open_nav(page: Page) -> None:
    """On a phone the primary navigation sits behind the Menu button: open it."""
    menu = page.get_by_role("button", name=re.compile(r"^(Menu|Menú)$"))
    if menu.is_visible():
        menu.click()


def follow_nav(page: Page, name: str, group: str | None = None) -> None:
    """Click the primary navigation's link `name` (inside the submenu `group` if given), as a
    person would at this width, and wait for the page."""
    open_nav(page)
    nav = page.get_by_role("navigation", name=re.compile("Primary navigation|Navegación"))
    if group:
        nav.get_by_role("button", name=group).click()
    nav.get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()


@dataclass
class Journey:
    """One role's walk at one width: the page, what it checks, where its screenshots go."""

    page: Page
    base_url: str
    role: str
    width: int
    findings: list[str] = field(default_factory=list)
    steps: int = 0

    def goto(self, step: str, path: str, status: int = 200) -> str:
        """Open `path` (on the live server), expect `status`, and check the page."""
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == status, (
            f"{self.role} at {self.width} px: {path} answered "
            f"{response.status if response else 'nothing'}, not {status}")
        return self.check(step)

    def check(self, step: str) -> str:
        """Check the page as it is now and save its screenshot; returns its visible text."""
        self.page.wait_for_load_state()
        self.steps += 1
        where = f"{self.role} at {self.width} px, step {self.steps:02d} {step} ({self.path})"
        try:
            check_axe(self.page)
        except pytest.fail.Exception as failure:
            self.findings.append(f"{where}: {failure}")
        overflow = horizontal_overflow(self.page)
        if overflow > 0:
            self.findings.append(f"{where}: {overflow} px wider than the window")
        text: str = self.page.evaluate("document.body.innerText")
        if found := UUID.search(text):
            line = next(row for row in text.splitlines() if found.group(0) in row)
            self.findings.append(f"{where}: shows a record id: {line.strip()!r}")
        self._screenshot(step)
        return text

    def open_first(self, rows: str, url: str, step: str) -> str:
        """Follow the link in the first of `rows` (a selector), wait for `url` (a glob), and
        check that page; returns its visible text."""
        self.page.locator(f"{rows} a").first.click()
        self.page.wait_for_url(url)
        return self.check(step)

    def decide(self, choice: str, field: str, text: str, confirm: str, done: str,
               steps: tuple[str, str]) -> None:
        """A decision with a confirmation page: pick `choice` (USWDS hides the radio: click
        its label), write `text` in `field`, Continue, check the confirmation (`steps[0]`),
        press `confirm`, and check the result (`steps[1]`) once `done` (a selector) shows."""
        self.page.locator("label", has_text=choice).click()
        self.page.get_by_label(field).fill(text)
        self.page.get_by_role("button", name="Continue").click()
        expect(self.page.locator("[data-confirm]")).to_be_visible()
        self.check(steps[0])
        self.page.get_by_role("button", name=confirm).click()
        expect(self.page.locator(done)).to_be_visible()
        self.check(steps[1])

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def _screenshot(self, step: str) -> None:
        folder = screenshot_dir()
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{self.role}-{self.width}-{self.steps:02d}-{step}.png"
        self.page.screenshot(path=str(folder / name), full_page=True)


def assert_clean(journeys: list[Journey]) -> None:
    """Fail with every finding of the walk, page by page."""
    findings = [finding for journey in journeys for finding in journey.findings]
    assert not findings, f"{len(findings)} page check(s) failed:\n" + "\n".join(findings)
