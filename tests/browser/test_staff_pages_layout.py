"""Staff pages at a desktop (1280 px) and a phone (412 px) width, in real Chromium: nothing
wider than the screen (no page overflow, and no table cut off inside its scrolling box on the
desktop), no record id where a person reads (names, not UUIDs), axe-core clean; and the
privacy officer's navigation on one line at 1280 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_otp.oath import totp
from playwright.sync_api import Browser, Page

from caseledger.biometrics.verifier import StubVerifier
from caseledger.cases import services as cases
from caseledger.disclosures import services as disclosures
from caseledger.people.models import Address
from caseledger.supervision import services as supervision
from caseledger.supervision.models import Review
from tests.browser.conftest import DESKTOP, PHONE, _page, check_axe, horizontal_overflow
from tests.conftest import PASSWORD, context, totp_code
from tests.disclosures.conftest import privacy2, request_input  # noqa: F401

pytestmark = pytest.mark.browser

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
PHOTO, STRANGER = b"enrolment-photo", b"someone-else"
SELFIES = [b"selfie-%d" % i for i in range(8)]
#: Long names, the kind that push a table past its box.
NAMES = [("María Fernanda", "Quintana Grijalva de la Fuente"),
         ("Oleksandr", "Shevchenko-Kovalenko"), ("Nguyễn", "Thị Minh Khai"),
         ("Jean-Baptiste", "Saint-Fleur"),
         ("Abdirahman", "Mohamed Abdullahi"), ("Ana", "Ramirez")]


@pytest.fixture
def faces(settings: Any) -> StubVerifier:
    verifier = StubVerifier()
    for image in (PHOTO, *SELFIES):
        verifier.add(image, person="ana")
    verifier.add(STRANGER, person="stranger")
    settings.FACE_VERIFIER = verifier
    return verifier


@pytest.fixture
def office(faces, users, make_person, privacy2, settings, tmp_path):  # noqa: F811
    """officer_east's people: six enrolled (check-ins verified and not, reviews pending and
    overdue, a change waiting), cases with deadlines and a past hearing, and a released
    disclosure about the first of them."""
    settings.VAR_DIR = tmp_path
    officer = context(users["officer_east"])
    enrolled = []
    for i, (given, family) in enumerate(NAMES):
        person = make_person("officer_east", given, family, citizenship=["MX", "GT"],
                             languages=["es", "en"])
        Address.objects.filter(person=person).update(latitude="40.735700",
                                                      longitude="-74.172400")
        data = supervision.EnrolmentInput(
            level=["intensive", "standard", "reduced"][i % 3], photo=PHOTO, language="es",
            acknowledged=True, alternatives_offered=["office_visit"],
            conditions=["attend_hearings"], first_window_at=timezone.now() - timedelta(hours=1),
            every_days=7, window_hours=24, grace_minutes=60, max_attempts=3)
        result = supervision.enrol(ctx=officer, person_id=person.pk, data=data)
        supervision.submit_check_in(user=result.enrolment.person.participant_account,
                                    image=STRANGER if i % 2 else SELFIES[i], latitude="40.7128",
                                    longitude="-74.0060", accuracy="20")
        enrolled.append(result.enrolment)
        case = cases.open_case(ctx=officer, person_id=person.pk, case_type="removal",
                               court_code="NYC", opened_on=date.today() - timedelta(days=400))
        cases.schedule_hearing(ctx=officer, case_id=case.pk, calendar="master",
                               scheduled_at=timezone.now() - timedelta(days=300), allow_past=True)
        cases.record_decision(ctx=officer, case_id=case.pk, kind="voluntary_departure",
                              decided_on=date.today() - timedelta(days=40 + 10 * i))
        cases.transition_case(ctx=officer, case_id=case.pk, to_status="decided")
    Review.objects.filter(enrolment=enrolled[1]).update(
        due_at=timezone.now() - timedelta(hours=5))  # one review overdue
    supervision.propose_change(ctx=officer, enrolment_id=enrolled[0].pk, kind="level",
                               proposed_level="standard", reason="Steady for three months")
    first = enrolled[0].person
    released = disclosures.create_request(context(users["supervisor_east"]),
                                          request_input(first))
    disclosures.decide(context(privacy2), released.pk, decision="approve",
                       reason="Routine use A: proceedings pending.")
    return {"person": first, "request": released}


@contextmanager
def _signed_in(browser: Browser, live_server: Any, user: Any, width: int) -> Iterator[Page]:
    options = ({"viewport": DESKTOP} if width == DESKTOP["width"] else
               {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True,
                "has_touch": True})
    with contextmanager(_page)(browser, **options) as page:
        _code, device = totp_code(user)
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/accounts/mfa/")
        page.get_by_label("6-digit code").fill(f"{totp(device.bin_key):06d}")
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state()
        assert "/accounts/" not in page.url  # each role lands on its own work
        yield page


def _tables_cut_off(page: Page) -> list[str]:
    """The scrolling table boxes whose table is wider than the box (content hidden to the
    side), as 'aria-label: overflow px'."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.usa-table-container--scrollable')]"
        ".filter(box => box.scrollWidth > box.clientWidth + 1)"
        ".map(box => `${box.getAttribute('aria-label')}: ${box.scrollWidth - box.clientWidth}`)"
    )


def _check(page: Page, url: str, width: int) -> str:
    """Open `url`; assert it fits, names no record id, and passes axe. Returns its text."""
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert horizontal_overflow(page) == 0, f"{url} is wider than {width} px"
    if width == DESKTOP["width"]:
        assert _tables_cut_off(page) == [], f"a table is cut off on {url}"
    text = page.evaluate("document.body.innerText")
    assert not UUID.search(text), f"{url} shows a record id: {UUID.search(text).group(0)}"
    check_axe(page)
    return text


@pytest.mark.parametrize("width", [DESKTOP["width"], PHONE["width"]])
def test_officer_pages_fit_and_name_people(browser, live_server, users, office, width):
    person = office["person"]
    with _signed_in(browser, live_server, users["officer_east"], width) as page:
        text = _check(page, f"{live_server.url}/persons/", width)
        assert "Deadlines overdue or due this week" in text
        text = _check(page, f"{live_server.url}/persons/{person.pk}/", width)
        assert "Mexico, Guatemala" in text and "Spanish, English" in text
        assert page.locator("[data-supervision]").is_visible()
        assert "Enrol in supervision" not in text
        text = _check(page, f"{live_server.url}/supervision/", width)
        assert re.search(r"1\s+overdue", text) and re.search(r"1\s+pending", text)
        assert "40.7128" not in text and "-74.006" not in text  # a place in words, or nothing
        assert "km from the address of record" in text
        case = person.cases.get()
        text = _check(page, f"{live_server.url}/cases/{case.pk}/", width)
        assert "Awaiting its outcome" in text


@pytest.mark.parametrize("width", [DESKTOP["width"], PHONE["width"]])
def test_privacy_pages_fit_and_name_people(browser, live_server, users, office, width):
    person, released = office["person"], office["request"]
    with _signed_in(browser, live_server, users["privacy"], width) as page:
        text = _check(page, f"{live_server.url}/disclosures/{released.pk}/", width)
        assert "María Fernanda Quintana Grijalva de la Fuente" in text
        assert "UTC" in text  # the zone is named
        text = _check(page, f"{live_server.url}/disclosures/persons/{person.pk}/accounting/",
                      width)
        assert "María Fernanda Quintana Grijalva de la Fuente" in text
        if width == DESKTOP["width"]:
            # The navigation stays one line: every item on the same row, and no label
            # broken over two lines inside its item.
            rows = page.evaluate(
                "() => [...document.querySelectorAll('.usa-nav__primary > li')].map(li => {"
                " const label = li.querySelector('span') || li.querySelector('button');"
                " const range = document.createRange(); range.selectNodeContents(label);"
                " return [Math.round(li.getBoundingClientRect().top),"
                " new Set([...range.getClientRects()].map(r => Math.round(r.top))).size,"
                " label.innerText]; })")
            assert len({top for top, _, _ in rows}) == 1, rows
            assert all(lines == 1 for _, lines, _ in rows), rows
            nav = page.get_by_role("navigation", name="Primary navigation")
            nav.get_by_role("button", name="Privacy office").click()
            nav.get_by_role("link", name="Access review").click()
            page.wait_for_url("**/reports/anomalies/")
