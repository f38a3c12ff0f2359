"""Supervision pages through a signed-in browser-like client: the participant's check-in (in
their language) and the staff's dashboard, reviews, enrolment, changes and departures."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from caseledger.cases.models import Case
from caseledger.cases.services import open_case
from caseledger.ledger.models import Event
from caseledger.people.models import Address
from caseledger.supervision import consent, services
from caseledger.supervision.models import (
    ChangeRequest,
    CheckIn,
    Compliance,
    Enrolment,
    Review,
)
from tests.conftest import context, last_event_id
from tests.supervision.conftest import (
    ANA_SELFIE,
    ANA_SELFIE_2,
    BLANK,
    ENROL_PHOTO,
    STRANGER,
    ana_today,
    enrolment_input,
)

pytestmark = pytest.mark.django_db

CONSULAR_REFERENCE = "CONS-2026-4471"


def _text(response) -> str:
    return response.content.decode()


def _photo(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def _png(colour=(200, 120, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def participant(enrolled, web_client):
    """Ana's phone, signed in; her preferred language is Spanish."""
    return web_client(enrolled.enrolment.person.participant_account)


@pytest.fixture
def participant_en(participant):
    participant.cookies["django_language"] = "en"
    return participant


@pytest.fixture
def officer(users, web_client):
    return web_client(users["officer_east"])


def _post_check_in(client, image=ANA_SELFIE, **fields):
    data = {
        "latitude": "40.712800",
        "longitude": "-74.006000",
        "accuracy": "25",
        "submission_id": str(uuid.uuid4()),
        "image": _photo(image),
    }
    data.update(fields)
    if data["image"] is None:
        del data["image"]
    return client.post("/me/check-in/", data)


def _failed_check(enrolled, image=STRANGER):
    return services.submit_check_in(
        user=enrolled.enrolment.person.participant_account,
        image=image,
        latitude="40.7",
        longitude="-74.0",
        accuracy="30",
    )


# --- who sees which page ---------------------------------------------------------------------


def test_sign_in_is_required(client, db):
    for url in ("/me/", "/me/check-in/", "/supervision/", "/supervision/reviews/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_participant_pages_are_for_participants_and_staff_pages_for_staff(
    participant, officer, users, web_client
):
    assert officer.get("/me/").status_code == 403
    assert officer.get("/me/check-in/").status_code == 403
    for url in ("/supervision/", "/supervision/reviews/", "/supervision/changes/"):
        assert participant.get(url).status_code == 403
        assert web_client(users["privacy"]).get(url).status_code == 403


# --- the participant's pages -------------------------------------------------------------------


def test_my_checkins_in_spanish_by_default(participant):
    response = participant.get("/me/")
    assert response.status_code == 200
    assert response["Content-Language"] == "es"
    html = _text(response)
    assert '<html lang="es">' in html
    assert "Mis presentaciones" in html
    assert "Su presentación está abierta ahora" in html
    assert 'href="/me/check-in/"' in html and "Presentarse ahora" in html
    assert "Intentos que le quedan: 3 de 3." in html
    assert "Ver in English" not in html and "View in English" in html  # the switch
    assert "incumplimiento" not in html.lower() and "violation" not in html.lower()


def test_language_switch_shows_english(participant):
    response = participant.post("/i18n/setlang/", {"language": "en", "next": "/me/"})
    assert response.status_code == 302 and response["Location"] == "/me/"
    html = _text(participant.get("/me/"))
    assert '<html lang="en">' in html
    assert "My check-ins" in html and "Check in now" in html
    assert "Tries left: 3 of 3." in html
    assert "Ver en español" in html
    assert "violation" not in html.lower()


def test_my_checkins_when_no_window_is_open(stub, users, make_person, web_client):
    person = make_person("officer_east", "Luis", "Fernandez", languages=["en"])
    services.enrol(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=enrolment_input(language="en", first_window_at=timezone.now() + timedelta(days=2)),
    )
    person.refresh_from_db()
    client = web_client(person.participant_account)
    html = _text(client.get("/me/"))
    assert "Your next check-in" in html and "Opens on" in html
    assert "Check in now" not in html
    assert "You have not checked in yet." in html
    page = _text(client.get("/me/check-in/"))
    assert "Check-in is not open now." in page and "data-checkin-form" not in page


def test_recent_checkins_in_plain_words(participant_en, enrolled):
    _failed_check(enrolled)
    html = _text(participant_en.get("/me/"))
    assert "Received: an officer will look at the photo." in html
    # Sent for review: nothing more is asked, so no try is offered (tests/supervision/
    # test_participant_state.py holds every state).
    assert "Tries left" not in html and "Check in now" not in html
    assert "violation" not in html.lower()


def test_check_in_form(participant):
    response = participant.get("/me/check-in/")
    assert response.status_code == 200
    html = _text(response)
    assert 'enctype="multipart/form-data"' in html and "data-checkin-form" in html
    assert re.search(r'<input type="file" name="image"[^>]*accept="image/\*"', html)
    assert 'capture="user"' in html
    for name in ("latitude", "longitude", "accuracy", "submission_id"):
        assert f'<input type="hidden" name="{name}"' in html
    assert 'data-facing="user"' in html
    assert re.search(r'<script nonce="[^"]+" src="/static/caseledger/checkin.js" defer>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script
    assert "comparte su ubicación una vez, solo con esta presentación" in html


def test_check_in_happy_path_gives_a_receipt(participant, enrolled):
    submission = str(uuid.uuid4())
    response = _post_check_in(participant, submission_id=submission)
    assert response.status_code == 201
    checkin = CheckIn.objects.get()
    assert str(checkin.submission_id) == submission and checkin.outcome == "verified"
    html = _text(response)
    assert "Presentación completa" in html
    assert "Usted ya se presentó. Gracias." in html  # the state, as on every page
    assert str(checkin.pk) not in html and str(checkin.ledger_event) not in html  # no ids
    assert 'data-outcome="verified"' in html
    assert Event.objects.filter(uuid=checkin.ledger_event, action="checkin").exists()
    follow = _text(participant.get("/me/"))
    assert "Usted ya se presentó. Gracias." in follow
    assert "Presentarse ahora" not in follow


def test_a_face_that_does_not_match_goes_to_review(participant_en, enrolled):
    response = _post_check_in(participant_en, image=STRANGER)
    assert response.status_code == 201
    html = _text(response)
    assert "Check-in received" in html and 'data-outcome="review"' in html
    assert "An officer will look at your photo." in html
    assert "Tries left" not in html and "Try 1" not in html
    assert Review.objects.get().kind == "failed_check"
    assert Enrolment.objects.get().compliance == Compliance.COMPLIANT


def test_check_in_refused_without_a_face(participant, enrolled):
    mark = last_event_id()
    response = _post_check_in(participant, image=BLANK)
    assert response.status_code == 422
    html = _text(response)
    assert 'data-refusal="no_face"' in html
    assert "No encontramos una cara en la foto." in html
    assert "Tome una foto nueva" in html  # the next step
    assert "data-checkin-form" in html  # and the form, to try again
    assert not CheckIn.objects.exists()
    event = Event.objects.get(id__gt=mark, action="checkin")
    assert event.outcome == "failed" and event.detail == {"reason": "no_face", "device": "other"}


def test_check_in_refused_in_english_after_the_switch(participant_en, enrolled):
    response = _post_check_in(participant_en, image=BLANK)
    assert response.status_code == 422
    assert "We could not find a face in the photo." in _text(response)


def test_check_in_refused_without_a_location(participant, enrolled):
    response = _post_check_in(participant, latitude="", longitude="", accuracy="")
    assert response.status_code == 422
    html = _text(response)
    assert 'data-refusal="bad_location"' in html
    assert "No se pudo leer la ubicación." in html
    assert "Permita que este sitio use su ubicación" in html
    assert not CheckIn.objects.exists()


def test_check_in_refuses_a_replay(participant, enrolled):
    submission = str(uuid.uuid4())
    assert _post_check_in(participant, submission_id=submission).status_code == 201
    response = _post_check_in(participant, image=ANA_SELFIE_2, submission_id=submission)
    assert response.status_code == 409
    html = _text(response)
    assert 'data-refusal="replay"' in html
    assert "Esta presentación ya se recibió." in html
    assert "data-checkin-form" not in html
    assert CheckIn.objects.count() == 1


def test_check_in_needs_a_photo(participant, enrolled):
    response = _post_check_in(participant, image=None)
    assert response.status_code == 422
    assert "Tome primero una foto de su cara." in _text(response)
    assert not CheckIn.objects.exists()


def test_participant_without_enrolment(users, web_client):
    response = web_client(users["participant"]).get("/me/")
    assert response.status_code == 404
    assert "You have no active check-in schedule." in _text(response)


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_lists_enrolments_with_place_and_chart(officer, participant, enrolled):
    Address.objects.filter(person=enrolled.enrolment.person).update(
        latitude="40.735700", longitude="-74.172400"
    )
    assert _post_check_in(participant).status_code == 201
    response = officer.get("/supervision/")
    assert response.status_code == 200
    html = _text(response)
    assert 'data-purpose="caseload"' in html
    assert f'href="/supervision/enrolments/{enrolled.enrolment.pk}/"' in html
    assert "Ana Ramirez" in html
    # The place in words (how far from home), never the raw coordinates.
    assert "40.712800" not in html and "-74.006000" not in html
    assert re.search(r"<span [^>]*data-distance>14\.\d km from the address of record</span>", html)
    figure = re.search(r'<figure class="cl-figure" data-chart="outcomes">.*?</figure>', html, re.S)
    assert figure is not None
    chart = figure.group(0)
    assert '<figcaption id="outcomes-caption">' in chart
    assert re.search(r'<svg [^>]*role="img" aria-labelledby="outcomes-caption"', chart)
    assert "<style" not in chart
    table = re.search(r"<table class=\"usa-sr-only\" data-chart-table>.*?</table>", chart, re.S)
    assert table is not None
    rows = re.findall(r"<tr><th scope=\"row\">([^<]+)</th><td>(\d+)</td><td>(\d+)</td>"
                      r"<td>(\d+)</td></tr>", table.group(0))
    assert len(rows) == 8
    assert rows[-1][1:] == ("1", "0", "0")  # this week: the verified check-in
    assert all(row[1:] == ("0", "0", "0") for row in rows[:-1])


def test_dashboard_is_per_caseload_and_office(enrolled, users, web_client):
    pk = str(enrolled.enrolment.pk)
    assert pk in _text(web_client(users["supervisor_east"]).get("/supervision/"))
    assert 'data-purpose="office_supervision"' in _text(
        web_client(users["supervisor_east"]).get("/supervision/")
    )
    for other in ("officer_west", "supervisor_west", "officer_east2"):
        response = web_client(users[other]).get("/supervision/")
        assert response.status_code == 200 and pk not in _text(response)


# --- reviews -----------------------------------------------------------------------------------


@pytest.fixture
def failed_photo(stub):
    data = _png()
    stub.add(data, person="stranger-with-png")
    return data


def test_review_queue_and_detail(officer, enrolled, failed_photo):
    _failed_check(enrolled, image=failed_photo)
    review = Review.objects.get()
    checkin = CheckIn.objects.get()
    queue = _text(officer.get("/supervision/reviews/"))
    assert "Ana Ramirez" in queue and f'href="/supervision/reviews/{review.pk}/"' in queue
    assert "data-overdue" not in queue
    response = officer.get(f"/supervision/reviews/{review.pk}/")
    assert response.status_code == 200
    html = _text(response)
    assert 'data-kind="failed_check"' in html and "Face did not match" in html
    assert f"{checkin.distance:.3f}" in html
    assert f"{checkin.threshold:.3f}" in html and checkin.threshold_version in html
    assert checkin.model_id in html
    image_url = f"/supervision/reviews/{review.pk}/image/{checkin.pk}/"
    assert f'src="{image_url}"' in html
    for value in ("verified_by_review", "technical_problem", "needs_contact",
                  "suspected_impersonation"):
        assert f'value="{value}"' in html
    image = officer.get(image_url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png" and image["Cache-Control"] == "no-store"
    assert image.content == failed_photo
    assert Event.objects.filter(data_category="biometric", action="read",
                                record_id=str(checkin.pk)).exists()


def test_review_overdue_is_flagged(officer, enrolled):
    _failed_check(enrolled)
    Review.objects.update(due_at=timezone.now() - timedelta(hours=1))
    assert "data-overdue" in _text(officer.get("/supervision/reviews/"))


def test_reviews_of_another_office_are_not_found(enrolled, users, web_client, failed_photo):
    _failed_check(enrolled, image=failed_photo)
    review, checkin = Review.objects.get(), CheckIn.objects.get()
    west = web_client(users["officer_west"])
    assert "Ana Ramirez" not in _text(west.get("/supervision/reviews/"))
    assert west.get(f"/supervision/reviews/{review.pk}/").status_code == 404
    assert west.get(f"/supervision/reviews/{review.pk}/image/{checkin.pk}/").status_code == 404
    response = west.post(f"/supervision/reviews/{review.pk}/",
                         {"disposition": "verified_by_review"})
    assert response.status_code == 404
    assert Review.objects.get().disposition == ""


def test_disposition_through_the_form(officer, enrolled):
    _failed_check(enrolled)
    review = Review.objects.get()
    url = f"/supervision/reviews/{review.pk}/"
    refused = officer.post(url, {"disposition": "suspected_impersonation", "note": "odd"})
    assert refused.status_code == 422
    assert "Explain a suspected impersonation in at least 20 characters." in _text(refused)
    assert Enrolment.objects.get().compliance == Compliance.COMPLIANT
    assert officer.post(url, {"disposition": "violation"}).status_code == 422
    response = officer.post(url, {"disposition": "needs_contact", "note": "Called, no answer"})
    assert response.status_code == 302 and response["Location"] == url
    assert Enrolment.objects.get().compliance == Compliance.NEEDS_CONTACT
    html = _text(officer.get(url))
    assert "Compliance is now “Needs contact”" in html
    assert 'data-disposition="needs_contact"' in html and 'name="disposition"' not in html
    again = officer.post(url, {"disposition": "verified_by_review"})
    assert again.status_code == 409
    assert "This review has already been decided." in _text(again)


# --- enrolment ---------------------------------------------------------------------------------


def _enrol_data(**overrides):
    data = {
        "level": "standard",
        "conditions": ["attend_hearings", "report_address_changes"],
        "language": "en",
        "acknowledged": "on",
        "alternatives_offered": ["office_visit", "phone_call"],
        "first_window_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "every_days": "7",
        "window_hours": "24",
        "grace_minutes": "60",
        "max_attempts": "3",
        "photo": _photo(ENROL_PHOTO),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_enrol_form_shows_the_notice_in_the_persons_language(officer, stub, make_person):
    person = make_person("officer_east", "Rosa", "Lopez", languages=["es", "en"])
    response = officer.get(f"/supervision/enrol/{person.pk}/")
    assert response.status_code == 200
    html = _text(response)
    notice = consent.notice("es")
    assert 'data-notice-language="es"' in html and f'data-notice-version="{notice.version}"' in html
    assert "Cómo presentarse desde su teléfono" in html
    assert 'hx-get="/supervision/notice/"' in html
    assert 'value="7"' in html and 'value="24"' in html and 'value="60"' in html
    for code in services.CONDITIONS:
        assert f'value="{code}"' in html
    assert 'data-purpose="caseload"' in html
    english = _text(officer.get("/supervision/notice/", {"language": "en"}))
    assert "About checking in with your phone" in english and 'lang="en"' in english


def test_enrol_shows_the_credentials_once(officer, stub, make_person):
    person = make_person("officer_east", "Rosa", "Lopez", languages=["en"])
    url = f"/supervision/enrol/{person.pk}/"
    response = officer.post(url, _enrol_data())
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    html = _text(response)
    person.refresh_from_db()
    account = person.participant_account
    username = re.search(r"data-username>([^<]+)</dd>", html).group(1)
    password = re.search(r"data-password>([^<]+)</dd>", html).group(1)
    assert username == account.username and account.check_password(password)
    assert "Hand these sign-in details to the participant privately" in html
    enrolment = Enrolment.objects.get(person=person)
    assert enrolment.consent.language == "en" and enrolment.conditions == [
        "attend_hearings", "report_address_changes"]
    again = officer.post(url, _enrol_data())
    assert again.status_code == 409
    assert "already enrolled" in _text(again) and password not in _text(again)
    assert officer.get(url).status_code == 200
    assert password not in _text(officer.get(f"/supervision/enrolments/{enrolment.pk}/"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"acknowledged": None}, "The person must acknowledge the notice"),
        ({"alternatives_offered": None}, "Record the alternatives offered"),
        ({"photo": _photo(BLANK)}, "The reference photo cannot be used"),
        ({"photo": None}, "Take or upload the reference photo."),
        ({"every_days": "0"}, "Ensure this value is greater than or equal to 1."),
    ],
)
def test_enrol_refusals(officer, stub, make_person, overrides, message):
    person = make_person("officer_east", "Rosa", "Lopez", languages=["en"])
    response = officer.post(f"/supervision/enrol/{person.pk}/", _enrol_data(**overrides))
    assert response.status_code == 422
    assert message in _text(response)
    assert not Enrolment.objects.filter(person=person).exists()


def test_enrol_someone_of_another_office_is_not_found(users, web_client, stub, make_person):
    person = make_person("officer_east", "Rosa", "Lopez")
    west = web_client(users["officer_west"])
    assert west.get(f"/supervision/enrol/{person.pk}/").status_code == 404
    assert west.post(f"/supervision/enrol/{person.pk}/", _enrol_data()).status_code == 404
    assert not Enrolment.objects.exists()


# --- enrolment page, changes, departure --------------------------------------------------------


def test_enrolment_page(officer, enrolled, users, web_client):
    e = enrolled.enrolment
    _failed_check(enrolled)
    mark = last_event_id()
    response = officer.get(f"/supervision/enrolments/{e.pk}/")
    assert response.status_code == 200
    html = _text(response)
    assert e.consent.notice_sha256 in html and "Check in by a phone call with the officer" in html
    assert "Attend every hearing" in html
    assert 'data-compliance="compliant"' in html and 'data-level="standard"' in html
    assert "Face did not match" in html and "40.700000, -74.000000" in html
    assert 'name="action" value="propose"' in html and 'name="action" value="departure"' in html
    event = Event.objects.get(id__gt=mark)
    assert event.action == "read" and event.record_id == str(e.pk)
    for other in ("officer_west", "supervisor_west"):
        assert web_client(users[other]).get(f"/supervision/enrolments/{e.pk}/").status_code == 404


def test_change_needs_a_second_person(enrolled, users, web_client):
    e = enrolled.enrolment
    supervisor = web_client(users["supervisor_east"])
    page = f"/supervision/enrolments/{e.pk}/"
    short = supervisor.post(page, {"action": "propose", "change-kind": "level",
                                   "change-proposed_level": "reduced", "change-reason": "short"})
    assert short.status_code == 422 and "at least 10 characters" in _text(short)
    response = supervisor.post(page, {
        "action": "propose", "change-kind": "level", "change-proposed_level": "reduced",
        "change-reason": "Six months of verified check-ins"})
    assert response.status_code == 302
    change = ChangeRequest.objects.get()
    assert change.decision == "pending" and change.proposed_by == users["supervisor_east"]
    assert "data-waiting" in _text(supervisor.get(page))
    listing = _text(supervisor.get("/supervision/changes/"))
    assert "you proposed this change, so someone else decides" in listing
    refused = supervisor.post("/supervision/changes/", {"change": str(change.pk),
                                                        "decision": "approve"})
    assert refused.status_code == 403
    assert "A change needs a second person: you proposed this one." in _text(refused)
    assert ChangeRequest.objects.get().decision == "pending"
    assert Enrolment.objects.get().level == "standard"


def test_supervisor_approves_and_declines_an_officers_change(enrolled, users, web_client):
    e = enrolled.enrolment
    officer = web_client(users["officer_east"])
    supervisor = web_client(users["supervisor_east"])
    services.propose_change(ctx=context(users["officer_east"]), enrolment_id=e.pk, kind="level",
                            proposed_level="intensive", reason="Missed two check-ins in a row")
    change = ChangeRequest.objects.get()
    waiting = _text(officer.get("/supervision/changes/"))
    assert "Waiting for a supervisor" in waiting and 'value="approve"' not in waiting
    listing = _text(supervisor.get("/supervision/changes/"))
    assert f'name="change" value="{change.pk}"' in listing and 'value="approve"' in listing
    no_reason = supervisor.post("/supervision/changes/", {"change": str(change.pk),
                                                          "decision": "decline"})
    assert no_reason.status_code == 422
    assert "Give the reason for declining in at least 10 characters." in _text(no_reason)
    approved = supervisor.post("/supervision/changes/", {"change": str(change.pk),
                                                         "decision": "approve"})
    assert approved.status_code == 302
    assert Enrolment.objects.get().level == "intensive"
    assert ChangeRequest.objects.get().decided_by == users["supervisor_east"]
    assert "No changes are waiting." in _text(supervisor.get("/supervision/changes/"))


def test_departure_form_ends_supervision_and_closes_the_case(officer, enrolled, users):
    e = enrolled.enrolment
    case = open_case(ctx=context(users["officer_east"]), person_id=e.person_id,
                     case_type="removal", court_code="NEW", opened_on=date(2025, 3, 3))
    page = f"/supervision/enrolments/{e.pk}/"
    missing = officer.post(page, {
        "action": "departure", "departure-kind": "self_departure",
        "departure-evidence_kind": "boarding_document",
        "departure-departed_on": ana_today().isoformat()})
    assert missing.status_code == 422 and "Attach the boarding document." in _text(missing)
    response = officer.post(page, {
        "action": "departure", "departure-kind": "voluntary_departure",
        "departure-evidence_kind": "consular",
        "departure-evidence_reference": CONSULAR_REFERENCE,
        "departure-departed_on": (timezone.localdate() - timedelta(days=1)).isoformat()})
    assert response.status_code == 302
    assert Enrolment.objects.get().status == "ended"
    assert Case.objects.get(pk=case.pk).status == "closed"
    html = _text(officer.get(page))
    assert "data-departure" in html and CONSULAR_REFERENCE in html
    assert 'data-status="ended"' in html
    assert 'name="action" value="departure"' not in html  # nothing more to do
    dashboard = _text(officer.get("/supervision/"))
    active = dashboard.split("Departures confirmed recently")[0]
    assert str(e.pk) not in active  # no longer among the active enrolments...
    assert "CONS-2026-4471" in dashboard  # ...but listed with the confirmed departures


def test_changes_after_the_end_are_refused_visibly(officer, enrolled):
    e = enrolled.enrolment
    page = f"/supervision/enrolments/{e.pk}/"
    assert officer.post(page, {
        "action": "departure", "departure-kind": "voluntary_departure",
        "departure-evidence_kind": "consular", "departure-evidence_reference": CONSULAR_REFERENCE,
        "departure-departed_on": ana_today().isoformat()}).status_code == 302
    late = officer.post(page, {"action": "propose", "change-kind": "termination",
                               "change-reason": "Left the country last week"})
    assert late.status_code == 409 and "Supervision has already ended." in _text(late)


@pytest.mark.parametrize("url", [
    "/supervision/reviews/not-an-id/",
    "/supervision/reviews/not-an-id/image/nor-this/",
    "/supervision/enrolments/%00%27/",
    "/supervision/enrol/12345/",
])
def test_garbage_ids_are_not_found(officer, db, url):
    assert officer.get(url).status_code == 404


def test_departure_with_a_boarding_document_upload(officer, enrolled):
    e = enrolled.enrolment
    response = officer.post(f"/supervision/enrolments/{e.pk}/", {
        "action": "departure", "departure-kind": "self_departure",
        "departure-evidence_kind": "boarding_document",
        "departure-evidence_file": SimpleUploadedFile("pass.pdf", b"%PDF-1.4 boarding pass"),
        "departure-departed_on": ana_today().isoformat()})
    assert response.status_code == 302
    departure = e.departures.get()
    assert departure.evidence_encrypted and b"boarding pass" not in bytes(
        departure.evidence_encrypted)



@pytest.fixture
def moment(request, clock_from):
    """The clock at `request.param`, before Ana is enrolled and the officer signs in."""
    return clock_from(request.param)


@pytest.mark.parametrize(("moment", "day"), [
    # 20:30 in New York on Monday 7 December; UTC's date is already the 8th
    (datetime(2026, 12, 8, 1, 30, tzinfo=UTC), "2026-12-07"),
    (datetime(2026, 12, 8, 15, 0, tzinfo=UTC), "2026-12-08"),
], indirect=["moment"])
def test_the_departure_form_offers_today_in_the_persons_office_zone(moment, enrolled, officer,
                                                                   day):
    """The date offered is the day at Ana's (east) office, never UTC's."""
    page = _text(officer.get(f"/supervision/enrolments/{enrolled.enrolment.pk}/"))
    [field] = re.findall(r'<input[^>]*name="departure-departed_on"[^>]*>', page)
    assert f'value="{day}"' in field
