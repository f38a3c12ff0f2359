"""A day in the life of each role, in real Chromium, at desktop (1280 px) and phone (412 px)
width: the case officer, the supervisor, the privacy officer, the administrator, the
representative, and a participant in Spanish on a phone. Each does that role's work through
the pages (searches, saves, decides), and every page on the way, the 404 and 403 pages
included, is checked by `journeys.Journey.check`: axe-core clean, no wider than the window,
no record id (UUID) in the visible text.

Screenshots of every step: `make screenshots` (CASELEDGER_SCREENSHOTS=var/screenshots).
The participant's check-in itself is walked in test_checkin_journey.py.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from caseledger.accounts.models import User
from caseledger.cases import services as cases
from caseledger.disclosures import services as disclosures
from caseledger.disclosures.models import DisclosureRequest
from caseledger.people.selectors import get_person
from caseledger.portal.models import AmendmentRequest
from caseledger.reports.models import AnomalyItem
from caseledger.reports.services import build_anomaly_report
from caseledger.supervision import services as supervision
from caseledger.supervision.models import ChangeRequest, Review
from tests.browser.journeys import (
    WIDTHS,
    Journey,
    assert_clean,
    browser_page,
    follow_nav,
    password_sign_in,
    staff_session,
)
from tests.conftest import PASSWORD, context
from tests.disclosures.conftest import request_input
from tests.portal.conftest import record_catalogue, rosa, rosa_case  # noqa: F401 (fixtures)
from tests.reports.conftest import MONDAY, WEEK, random_subjects, write
from tests.supervision.conftest import ENROL_PHOTO, STRANGER, faces  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

PHONE_WIDTH = WIDTHS[1]


def _enrol(users: dict[str, User], person: Any) -> supervision.EnrolmentResult:
    data = supervision.EnrolmentInput(
        level="standard", photo=ENROL_PHOTO, language="es", acknowledged=True,
        alternatives_offered=["office_visit"], conditions=["attend_hearings"],
        first_window_at=timezone.now() - timedelta(hours=1), every_days=7, window_hours=24,
        grace_minutes=60, max_attempts=3)
    return supervision.enrol(ctx=context(users["officer_east"]), person_id=person.pk, data=data)


def _check_in(result: Any, image: bytes) -> None:
    supervision.submit_check_in(user=result.enrolment.person.participant_account, image=image,
                                latitude="40.7357", longitude="-74.1724", accuracy="20")


def _error_pages(journey: Journey, forbidden: str) -> None:
    """A page that does not exist, and one this role may not open."""
    journey.goto("not-found", "/no/such/page/", status=404)
    journey.goto("forbidden", forbidden, status=403)


# --- the case officer -------------------------------------------------------------------

@pytest.fixture
def caseload(users, make_person) -> dict[str, Any]:
    """officer_east's people: Mohammed Haddad (found under another spelling) with a hearing
    next month; two decided cases, a departure deadline due this week and one overdue."""
    officer = context(users["officer_east"])
    haddad = make_person("officer_east", "Mohammed", "Haddad", languages=["ar", "en"])
    for given, family, decided_days_ago in (("Oleksandr", "Shevchenko-Kovalenko", 57),
                                            ("Nguyễn", "Thị Minh Khai", 64)):
        person = make_person("officer_east", given, family)
        case = cases.open_case(ctx=officer, person_id=person.pk, case_type="removal",
                               court_code="NEW", opened_on=date.today() - timedelta(days=300))
        cases.record_decision(ctx=officer, case_id=case.pk, kind="voluntary_departure",
                              decided_on=date.today() - timedelta(days=decided_days_ago))
        cases.transition_case(ctx=officer, case_id=case.pk, to_status="decided")
    upcoming = cases.open_case(ctx=officer, person_id=haddad.pk, case_type="removal",
                               court_code="NEW", opened_on=date.today() - timedelta(days=30))
    cases.schedule_hearing(ctx=officer, case_id=upcoming.pk, calendar="individual",
                           scheduled_at=timezone.now() + timedelta(days=30))
    return {"haddad": haddad}


def _officer_day(journey: Journey, page: Page, offset: int) -> None:
    text = journey.check("caseload")
    assert "Mohammed Haddad" in text
    expect(page.locator("[data-deadlines]")).to_be_visible()

    follow_nav(page, "Search persons")
    page.get_by_label("Name in any spelling or script, or A-number").fill("Muhammad Hadad")
    result = page.locator("#results").get_by_role("link", name="Mohammed Haddad")
    expect(result).to_be_visible()  # through htmx, as the officer types
    journey.check("search")
    result.click()
    page.wait_for_url("**/persons/*/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mohammed Haddad")
    journey.check("person")

    page.get_by_role("link", name="New address").click()
    journey.check("address-form")
    street = f"{40 + offset} Broad St"
    page.get_by_label("Street address").fill(street)
    page.get_by_label("City").fill("Newark")
    page.get_by_label("State").fill("NJ")
    page.get_by_label("ZIP code").fill("07102")
    moved = timezone.localdate() - timedelta(days=10 - offset)
    page.get_by_label("Lives here from").fill(moved.isoformat())
    page.get_by_role("button", name="Save address").click()
    page.wait_for_url("**/persons/*/")
    expect(page.get_by_text(street)).to_be_visible()
    journey.check("address-saved")

    page.get_by_role("link", name="Open a case").click()
    journey.check("case-form")
    page.get_by_label("Case type").select_option("removal")
    page.get_by_label("Court").select_option("NEW")
    page.get_by_label("Opened on").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Open case").click()
    page.wait_for_url("**/cases/*/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Case "))
    journey.check("case")

    page.get_by_role("link", name="Schedule a hearing").click()
    journey.check("hearing-form")
    page.get_by_label("Calendar").select_option("master")
    day = timezone.localdate() + timedelta(days=20 + offset)
    page.get_by_label("Date and time, in the court's time zone").fill(f"{day:%Y-%m-%d}T09:30")
    page.get_by_role("button", name="Schedule hearing").click()
    expect(page.get_by_test_id("hearing-time")).to_contain_text(f"{day:%Y-%m-%d} 09:30")
    journey.check("hearing")

    follow_nav(page, "My caseload")
    deadlines = page.locator("[data-deadlines]")
    expect(deadlines.locator("[data-deadline]").first).to_be_visible()
    deadlines.locator("[data-deadline] a").first.click()
    page.wait_for_url("**/cases/*/")
    expect(page.locator("tr[data-deadline]").first).to_be_visible()
    journey.check("case-deadlines")
    _error_pages(journey, "/disclosures/")


def test_a_case_officers_day(browser: Browser, live_server, users, caseload) -> None:
    journeys = []
    for offset, width in enumerate(WIDTHS):
        with staff_session(browser, live_server, users["officer_east"], width) as page:
            journey = Journey(page, live_server.url, "officer", width)
            journeys.append(journey)
            _officer_day(journey, page, offset)
    haddad = caseload["haddad"]
    assert haddad.cases.count() == 3 and haddad.addresses.count() == 3
    assert sum(c.proceedings.get().hearings.count() for c in haddad.cases.all()) == 3
    assert_clean(journeys)


# --- the supervisor ---------------------------------------------------------------------

@pytest.fixture
def office(faces, users, make_person) -> list[Any]:  # noqa: F811
    """Three of officer_east's people enrolled: one check-in matched, two sent for review;
    the officer proposes a level change for two of them (the supervisor decides)."""
    officer = context(users["officer_east"])
    enrolled = []
    for given, family, image in (("Ana", "Ramirez", ENROL_PHOTO),
                                 ("Jean-Baptiste", "Saint-Fleur", STRANGER),
                                 ("Abdirahman", "Mohamed Abdullahi", STRANGER)):
        result = _enrol(users, make_person("officer_east", given, family))
        _check_in(result, image)
        enrolled.append(result.enrolment)
    for enrolment in enrolled[:2]:
        supervision.propose_change(ctx=officer, enrolment_id=enrolment.pk, kind="level",
                                   proposed_level="reduced", reason="Steady for three months")
    return enrolled


def _supervisor_day(journey: Journey, page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("My office")
    journey.check("home")
    follow_nav(page, "Supervision")
    expect(page.locator("table[data-enrolments] tr[data-enrolment]")).to_have_count(3)
    journey.check("dashboard")

    page.get_by_role("link", name="Reviews", exact=True).click()
    page.wait_for_url("**/supervision/reviews/")
    journey.check("reviews")
    journey.open_first("tr[data-review]", "**/supervision/reviews/*/", "review")
    page.locator("label", has_text="Needs contact").click()  # USWDS hides the radio itself
    page.get_by_label("Note").fill("Another person in the photo; calling the participant.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_contain_text("Compliance is now “Needs contact”")
    journey.check("review-decided")

    page.get_by_role("link", name="Pending changes").click()
    page.wait_for_url("**/supervision/changes/")
    journey.check("changes")
    page.locator("[data-change]").first.get_by_role("button", name="Approve").click()
    page.wait_for_url("**/supervision/changes/")
    journey.check("change-approved")
    _error_pages(journey, "/accounts/manage/")


def test_a_supervisors_day(browser: Browser, live_server, users, office) -> None:
    journeys = []
    for width in WIDTHS:
        with staff_session(browser, live_server, users["supervisor_east"], width) as page:
            journey = Journey(page, live_server.url, "supervisor", width)
            journeys.append(journey)
            _supervisor_day(journey, page)
    assert Review.objects.filter(disposition="needs_contact").count() == 2
    assert ChangeRequest.objects.filter(decided_by=users["supervisor_east"]).count() == 2
    assert_clean(journeys)


# --- the privacy officer ----------------------------------------------------------------

@pytest.fixture
def privacy_work(users, make_person) -> None:
    """Two disclosure requests waiting (entered by a supervisor), and a week's anomaly report
    with two officers who each viewed 70 different persons."""
    for given, family in (("María Fernanda", "Quintana Grijalva"), ("Oleksandr", "Shevchenko")):
        person = make_person("officer_east", given, family)
        disclosures.create_request(context(users["supervisor_east"]), request_input(person))
    for officer in ("officer_west", "officer_east2"):
        for i, subject in enumerate(random_subjects(70)):
            write(users[officer], MONDAY + timedelta(days=1, hours=15, seconds=i),
                  subject_id=subject)
    build_anomaly_report(WEEK)


def _privacy_day(journey: Journey, page: Page) -> None:
    journey.check("pending-requests")
    journey.open_first("tr[data-status=pending]", "**/disclosures/*/", "request")
    journey.decide("Approve and release", "Reasons",
                   "Routine use A: the person's hearing is pending.",
                   "Yes, approve and release", "[data-sha256]", ("confirm-release", "released"))
    page.get_by_role("link", name="accounting of disclosures").click()
    page.wait_for_url("**/accounting/")
    expect(page.locator("tr[data-entry]")).to_have_count(1)
    journey.check("accounting")

    follow_nav(page, "Access review", group="Privacy office")
    journey.check("anomaly-reports")
    page.get_by_role("link", name=WEEK).click()
    page.wait_for_url(f"**/reports/anomalies/{WEEK}/")
    journey.check("anomaly-report")
    page.get_by_role("link", name="Open", exact=True).click()  # only the open items
    page.wait_for_url("**?status=open")
    journey.open_first("tr[data-item]", "**/reports/anomalies/items/*/", "anomaly-item")
    journey.decide("Referred", "Finding",
                   "Reviewed with the supervisor: a file audit was ordered.",
                   "Yes, close the item", "[data-finding]", ("anomaly-confirm", "anomaly-closed"))

    follow_nav(page, "Transparency", group="Reports")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Transparency report")
    journey.check("transparency")
    _error_pages(journey, "/accounts/manage/")


def test_a_privacy_officers_day(browser: Browser, live_server, users, privacy_work,
                                settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path  # release packages
    journeys = []
    for width in WIDTHS:
        with staff_session(browser, live_server, users["privacy"], width) as page:
            page.wait_for_url("**/disclosures/")  # their landing page: pending decisions
            journey = Journey(page, live_server.url, "privacy-officer", width)
            journeys.append(journey)
            _privacy_day(journey, page)
    assert DisclosureRequest.objects.filter(status="approved").count() == 2
    assert AnomalyItem.objects.filter(outcome="referred").count() == 2
    assert_clean(journeys)


# --- the administrator ------------------------------------------------------------------

def _administrator_day(journey: Journey, page: Page, username: str) -> None:
    journey.check("accounts")
    page.get_by_role("link", name="New account").click()
    page.wait_for_url("**/accounts/manage/new/")
    journey.check("new-account")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Role").select_option("case_officer")
    page.get_by_label("Office").select_option(label="East office")
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account created")
    journey.check("account-created")
    page.get_by_role("link", name="Open the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(username)
    journey.check("account")

    page.get_by_role("link", name="Deactivate").click()
    journey.check("deactivate-confirm")
    page.get_by_role("button", name="Deactivate the account").click()
    expect(page.get_by_role("status")).to_contain_text("The account was deactivated")
    journey.check("deactivated")
    page.get_by_role("link", name="Reactivate").click()
    journey.check("reactivate-confirm")
    page.locator("form.usa-form button[type=submit]").click()
    expect(page.locator("[data-status]")).to_have_text("Active")
    journey.check("reactivated")
    _error_pages(journey, "/disclosures/")


def test_an_administrators_day(browser: Browser, live_server, users) -> None:
    journeys = []
    for width in WIDTHS:
        with staff_session(browser, live_server, users["admin"], width) as page:
            page.wait_for_url("**/accounts/manage/")  # their landing page
            journey = Journey(page, live_server.url, "administrator", width)
            journeys.append(journey)
            _administrator_day(journey, page, f"new.officer{width}")
    made = User.objects.filter(username__startswith="new.officer")
    assert sorted(u.is_active for u in made) == [True, True]
    assert_clean(journeys)


# --- a participant, in Spanish, on a phone ----------------------------------------------

@pytest.fixture
def participant(faces, users, make_person) -> tuple[str, str]:  # noqa: F811
    """Lucía, enrolled (Spanish), with a matched check-in; her officer has read her record."""
    person = make_person("officer_east", "Lucía", "Hernández", languages=["es"])
    result = _enrol(users, person)
    _check_in(result, ENROL_PHOTO)
    get_person(ctx=context(users["officer_east"]), person_id=person.pk)
    return result.username, result.temporary_password


def test_a_participants_day_in_spanish_on_a_phone(browser: Browser, live_server, participant,
                                                  record_catalogue) -> None:  # noqa: F811
    es = record_catalogue
    with browser_page(browser, PHONE_WIDTH) as page:
        password_sign_in(page, live_server, *participant)
        journey = Journey(page, live_server.url, "participant", PHONE_WIDTH)
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", level=1)).to_have_text(es["My check-ins"])
        expect(page.locator("[data-state]")).to_have_attribute("data-state", "verified")
        assert es["Checked in: your photo matched."] in journey.check("home")

        follow_nav(page, es["My record"])
        expect(page.get_by_role("heading", level=1)).to_have_text(es["My record"])
        expect(page.locator("[data-checkin]")).to_have_count(1)  # the check-in history
        journey.check("my-record")
        page.get_by_role("link", name=es["Who accessed my record"]).click()
        accesses = page.locator("section#accesses tr[data-access]")
        expect(accesses.first).to_be_visible()
        assert accesses.count() >= 2  # the enrolment and the officer's read
        journey.check("who-accessed")

        page.get_by_role("link", name=es["Ask to correct something"]).click()
        page.wait_for_url("**/me/record/amendments/new/")
        journey.check("correction-form")
        page.get_by_role("button", name=es["Send my request"]).click()
        expect(page.locator(".usa-error-message")).to_have_count(3)
        journey.check("correction-errors")
        page.locator("#id_category").select_option("address")
        page.locator("#id_what_is_wrong").fill("Dice 12 Main St; me mudé en octubre.")
        page.locator("#id_correction").fill("40 Broad St, Newark, NJ 07102")
        page.get_by_role("button", name=es["Send my request"]).click()
        page.wait_for_url("**/me/record/")
        expect(page.locator("[data-amendment]")).to_have_count(1)
        journey.check("correction-sent")
        _error_pages(journey, "/disclosures/")
        expect(page.get_by_role("heading", level=1)).to_have_text(es["You cannot open this page"])
    assert AmendmentRequest.objects.get().category == "address"
    assert_clean([journey])


# --- a representative -------------------------------------------------------------------

def _representative_day(journey: Journey, page: Page, client: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("My clients")
    journey.check("clients")
    page.get_by_role("link", name=client).first.click()
    page.wait_for_url("**/persons/*/")
    expect(page.get_by_role("heading", level=1)).to_have_text(client)
    for refused in ("Edit identity", "New address", "Open a case"):  # only what they may do
        expect(page.get_by_role("link", name=refused, exact=True)).to_have_count(0)
    journey.check("client")
    follow_nav(page, "My clients’ records")
    journey.check("client-records")
    page.get_by_role("link", name=client).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(client)
    expect(page.locator("section#accesses tr[data-access]").first).to_be_visible()
    journey.check("client-record")
    _error_pages(journey, "/supervision/")


def test_a_representatives_day(browser: Browser, live_server, users, rosa,  # noqa: F811
                               rosa_case) -> None:  # noqa: F811
    journeys = []
    for width in WIDTHS:
        with browser_page(browser, width) as page:
            password_sign_in(page, live_server, users["representative"].username, PASSWORD)
            journey = Journey(page, live_server.url, "representative", width)
            journeys.append(journey)
            _representative_day(journey, page, "Rosa Diaz")
    assert_clean(journeys)
