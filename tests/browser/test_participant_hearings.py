"""A participant reads their own hearings and dates on a phone, in Spanish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseledger.biometrics.verifier import StubVerifier
from caseledger.cases import services as cases
from caseledger.supervision import services as supervision
from tests.browser.conftest import TIMEOUT_MS, check_axe, horizontal_overflow
from tests.conftest import context

pytestmark = pytest.mark.browser


def test_participant_hearing_page_in_spanish(phone_page, live_server, users, make_person,
                                             settings):
    stub = StubVerifier()
    stub.add(b"enrolment-photo", person="rosa")
    settings.FACE_VERIFIER = stub
    officer = context(users["officer_east"])
    person = make_person("officer_east", "Rosa", "Diaz", languages=["es"])
    result = supervision.enrol(ctx=officer, person_id=person.pk, data=supervision.EnrolmentInput(
        level="standard", photo=b"enrolment-photo", language="es", acknowledged=True,
        alternatives_offered=["office_visit"], conditions=["attend_hearings"],
        first_window_at=timezone.now() + timedelta(days=1)))
    case = cases.open_case(ctx=officer, person_id=person.pk, case_type="removal",
                           court_code="LOS", opened_on=timezone.localdate() - timedelta(days=30))
    when = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0) + timedelta(
        days=10)
    cases.schedule_hearing(ctx=officer, case_id=case.pk, calendar="master", scheduled_at=when,
                           judge="Judge Park")
    user = result.enrolment.person.participant_account
    page = phone_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", result.temporary_password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/me/", timeout=TIMEOUT_MS)
    assert page.locator("html").get_attribute("lang") == "es"
    body = page.locator("main").inner_text()
    assert "Mis audiencias en el tribunal" in body
    assert "Audiencia preliminar" in body and "hora del tribunal" in body
    assert "Los Angeles" in body
    local_hour = when.astimezone(ZoneInfo("America/Los_Angeles")).hour
    assert f"{local_hour:02d}:00" in body
    assert "Traiga este aviso" in body
    assert horizontal_overflow(page) == 0
    check_axe(page)

    # Moving: the participant reports the new address and gets a receipt with the EOIR-33
    # due date, still in Spanish and on the phone.
    page.get_by_role("link", name="Informar una nueva dirección").click()
    page.wait_for_url("**/me/address/", timeout=TIMEOUT_MS)
    assert horizontal_overflow(page) == 0
    check_axe(page)
    page.locator("#id_line1").fill("1500 Sunset Blvd")
    page.get_by_label("Ciudad").fill("Los Angeles")
    page.get_by_label("Estado").fill("CA")
    page.get_by_label("La fecha en que se mudó, o se mudará, a esta dirección").fill(
        timezone.localdate().isoformat()
    )
    page.get_by_role("button", name="Enviar mi nueva dirección").click()
    page.wait_for_url("**/receipt/", timeout=TIMEOUT_MS)
    body = page.locator("main").inner_text()
    assert "Recibimos su nueva dirección" in body
    assert "Formulario EOIR-33" in body
    assert horizontal_overflow(page) == 0
    check_axe(page)
