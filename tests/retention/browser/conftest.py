"""The shared browser fixtures (real Chromium through Playwright) for the retention pages."""

from tests.browser.conftest import browser, courts, page, phone_page, playwright  # noqa: F401
