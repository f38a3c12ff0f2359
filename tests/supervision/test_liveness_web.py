"""The liveness check-in through the API and the pages: the challenge endpoints, multipart
bursts, the retake and the review, the refusals' status codes, and the reviewer's page.
Frames are read by `StubBurstReader` (tests/supervision/conftest.py `burst`)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caseledger.biometrics import liveness
from caseledger.core import clock
from caseledger.ledger.models import Event
from caseledger.supervision import services
from caseledger.supervision.models import CheckIn, CheckInChallenge, Review
from tests.conftest import context, last_event_id
from tests.supervision.conftest import ANA_SELFIE, burst, enrolment_input

pytestmark = pytest.mark.django_db

LOCATION = {"latitude": "40.712800", "longitude": "-74.006000", "accuracy": "25"}


@pytest.fixture(autouse=True)
def liveness_on(settings):
    settings.LIVENESS_REQUIRED = True


@pytest.fixture
def api(enrolled, client):
    """Ana's API client (bearer token)."""
    user = enrolled.enrolment.person.participant_account
    token = client.post("/api/v1/auth/token", {"username": user.username,
                                               "password": enrolled.temporary_password},
                        content_type="application/json").json()["token"]
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def phone(enrolled, web_client):
    """Ana's phone, signed in; her preferred language is Spanish."""
    return web_client(enrolled.enrolment.person.participant_account)


def _files(frames):
    return [SimpleUploadedFile(f"frame-{k}.jpg", f, "image/jpeg") for k, f in enumerate(frames)]


def api_check_in(api, stub, *, frames=None, challenge_id=None, **burst_args):
    if challenge_id is None:
        body = api.post("/api/v1/checkins/challenge").json()
        challenge_id = body["id"]
        frames = frames if frames is not None else burst(stub, body["prompts"], **burst_args)
    data = {**LOCATION, "challenge_id": str(challenge_id), "frames": _files(frames)}
    return api.post("/api/v1/checkins", data)


# --- API --------------------------------------------------------------------------------------
def test_api_challenge_then_burst_is_verified(api, stub):
    response = api.post("/api/v1/checkins/challenge")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body["prompts"]) == {"turn_left", "turn_right"}
    assert body["frames"] == liveness.MAX_FRAMES and body["max_side"] == 480
    assert body["instructions"][0].startswith("Gire la cabeza")
    assert body["prompt_after_frames"][0] == 0  # the first frame is taken before any prompt
    checked = api_check_in(api, stub, frames=burst(stub, body["prompts"]),
                           challenge_id=body["id"])
    assert checked.status_code == 201, checked.content
    assert checked.json()["outcome"] == "verified"


def test_api_retake_then_review_with_the_frames(api, stub, api_client, users):
    first = api_check_in(api, stub, planar=True)
    assert first.status_code == 201 and first.json()["outcome"] == "retake"
    assert "incumplimiento" in first.json()["message"]
    second = api_check_in(api, stub, planar=True, take=2)
    assert second.json()["outcome"] == "review"
    officer = api_client(users["officer_east"])
    review = officer.get(f"/api/v1/reviews/{Review.objects.get().pk}").json()
    assert review["kind"] == "not_live"
    attempt = review["attempts"][0]
    assert (attempt["liveness_outcome"], attempt["liveness_reason"]) == (
        "not_live", "planar_motion")
    assert attempt["frames_kept"] == [0, 1, 2] and attempt["liveness"]["challenge"]["prompts"]


@pytest.mark.parametrize(("spoil", "status", "code"), [
    ("expired", 422, "challenge_expired"),
    ("used", 409, "challenge_used"),
    ("unknown", 404, "challenge_unknown"),
])
def test_api_refuses_a_bad_challenge(api, stub, spoil, status, code):
    body = api.post("/api/v1/checkins/challenge").json()
    challenge_id = body["id"]
    if spoil == "expired":
        CheckInChallenge.objects.filter(pk=challenge_id).update(
            expires_at=clock.now() - timedelta(seconds=1))
    elif spoil == "used":
        CheckInChallenge.objects.filter(pk=challenge_id).update(used_at=clock.now())
    else:
        challenge_id = uuid.uuid4()
    before = last_event_id()
    response = api_check_in(api, stub, frames=burst(stub, body["prompts"]),
                            challenge_id=challenge_id)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not CheckIn.objects.exists()
    event = Event.objects.get(id__gt=before, outcome="failed")
    assert event.detail["reason"] == code and event.subject_id is not None


def test_api_refuses_another_participants_challenge(api, stub, users, make_person):
    luis = make_person("officer_east", "Luis", "Fernandez", languages=["es"])
    other = services.enrol(ctx=context(users["officer_east"]), person_id=luis.pk,
                           data=enrolment_input())
    theirs = services.issue_challenge(user=other.enrolment.person.participant_account)
    before = last_event_id()
    response = api_check_in(api, stub, frames=burst(stub, list(theirs.prompts)),
                            challenge_id=theirs.id)
    assert response.status_code == 404 and response.json()["code"] == "challenge_unknown"
    assert Event.objects.get(id__gt=before, outcome="failed").subject_id == luis.pk


@pytest.mark.parametrize(("extra", "code"), [
    ([b"x"] * liveness.MAX_FRAMES, "too_many_frames"),
    ([b"\xff" * (liveness.MAX_FRAME_BYTES + 10)], "frame_too_large"),
    ([b"\x89PNG\r\n\x1a\n broken"], "bad_frame"),
])
def test_api_refuses_frames_it_cannot_use(api, stub, extra, code):
    body = api.post("/api/v1/checkins/challenge").json()
    frames = burst(stub, body["prompts"]) + extra
    response = api_check_in(api, stub, frames=frames, challenge_id=body["id"])
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert not CheckIn.objects.exists()


def test_api_single_photo_needs_liveness_off(api, stub, settings):
    data = {**LOCATION, "image": SimpleUploadedFile("selfie.jpg", ANA_SELFIE, "image/jpeg")}
    refused = api.post("/api/v1/checkins", data)
    assert refused.status_code == 422 and refused.json()["code"] == "liveness_required"
    settings.LIVENESS_REQUIRED = False
    data["image"] = SimpleUploadedFile("selfie.jpg", ANA_SELFIE, "image/jpeg")
    accepted = api.post("/api/v1/checkins", data)
    assert accepted.status_code == 201 and accepted.json()["outcome"] == "verified"


def test_staff_get_no_challenge(api_client, users, enrolled):
    before = last_event_id()
    response = api_client(users["officer_east"]).post("/api/v1/checkins/challenge")
    assert response.status_code == 403
    event = Event.objects.get(id__gt=before, action="checkin")
    assert event.outcome == "denied" and event.subject_id is None
    assert not CheckInChallenge.objects.exists()


def test_the_challenge_takes_no_location(api):
    from caseledger.api import api as ninja_api

    operation = ninja_api.get_openapi_schema()["paths"]["/api/v1/checkins/challenge"]["post"]
    assert "requestBody" not in operation and "latitude" not in str(operation)


# --- pages ------------------------------------------------------------------------------------
def _page_challenge(phone):
    response = phone.post("/me/check-in/challenge/")
    assert response.status_code == 201, response.content
    return response.json()


def _page_check_in(phone, stub, **burst_args):
    body = _page_challenge(phone)
    data = {**LOCATION, "submission_id": str(uuid.uuid4()), "challenge_id": body["id"],
            "frames": _files(burst(stub, body["prompts"], **burst_args))}
    return phone.post("/me/check-in/", data)


def test_the_check_in_page_records_a_burst(phone):
    html = phone.get("/me/check-in/").content.decode()
    assert "data-burst-form" in html and 'data-challenge-url="/me/check-in/challenge/"' in html
    assert 'name="frames"' in html and 'name="image"' not in html
    assert "Empezar" in html  # Spanish
    assert phone.get("/me/check-in/challenge/").status_code == 405


def test_the_page_challenge_is_in_the_participants_language(phone):
    body = _page_challenge(phone)
    assert body["instructions"][0].startswith("Gire la cabeza")
    assert CheckInChallenge.objects.filter(pk=body["id"]).exists()


def test_the_page_asks_for_a_retake_then_sends_to_review(phone, stub):
    first = _page_check_in(phone, stub, still=True)
    html = first.content.decode()
    assert first.status_code == 201
    assert "data-retake" in html and "data-focus-result" in html and "data-burst-form" in html
    assert "Por favor, inténtelo una vez más" in html and "incumplimiento" in html
    home = phone.get("/me/").content.decode()
    assert 'data-state="retake"' in home and "Intentar de nuevo ahora" in home
    second = _page_check_in(phone, stub, still=True, take=2)
    assert second.status_code == 201
    assert 'data-outcome="review"' in second.content.decode()
    assert 'data-state="in_review"' in phone.get("/me/").content.decode()


def test_the_page_refuses_an_unusable_burst_and_offers_it_again(phone, stub):
    body = _page_challenge(phone)
    data = {**LOCATION, "challenge_id": body["id"],
            "frames": _files(burst(stub, body["prompts"])[:1])}
    response = phone.post("/me/check-in/", data)
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-refusal="too_few_faces"' in html and "data-burst-form" in html
    assert "Empezar" in html


def test_the_page_challenge_refuses_when_checked_in(phone, stub):
    assert _page_check_in(phone, stub).status_code == 201
    response = phone.post("/me/check-in/challenge/")
    assert response.status_code == 409
    assert response.json()["code"] == "already_checked_in"


def test_the_page_challenge_is_for_participants(web_client, users):
    response = web_client(users["officer_east"]).post("/me/check-in/challenge/")
    assert response.status_code == 403


def test_the_reviewer_sees_the_frames_and_the_measures_in_words(phone, stub, web_client, users):
    _page_check_in(phone, stub, planar=True)
    _page_check_in(phone, stub, planar=True, take=2)
    review = Review.objects.get()
    officer = web_client(users["officer_east"])
    html = officer.get(f"/supervision/reviews/{review.pk}/").content.decode()
    checkin = CheckIn.objects.order_by("attempt").first()
    for k in range(3):
        assert f"/supervision/reviews/{review.pk}/image/{checkin.pk}/?frame={k}" in html
    assert "The face moved the way a flat picture moves" in html
    assert "Turn the head to their left" in html or "Turn the head to their right" in html
    assert "Flat-picture test" in html and "Head turn in each picture" in html
    words = re.sub(r'data-[a-z-]+="[^"]*"', "", html)  # attributes are for tests, not read
    for code in ("planar_motion", "not_live", "turn_left", "zncc"):
        assert code not in words
    frame = officer.get(f"/supervision/reviews/{review.pk}/image/{checkin.pk}/?frame=2")
    assert frame.status_code == 200 and frame["Cache-Control"] == "no-store"
    missing = officer.get(f"/supervision/reviews/{review.pk}/image/{checkin.pk}/?frame=7")
    assert missing.status_code == 404


def test_the_enrol_page_of_an_enrolled_person_says_so(enrolled, web_client, users):
    officer = web_client(users["officer_east"])
    person = enrolled.enrolment.person
    response = officer.get(f"/supervision/enrol/{person.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "already enrolled in supervision" in html and "data-already-enrolled" in html
    assert f"/supervision/enrolments/{enrolled.enrolment.pk}/" in html
    assert 'name="photo"' not in html  # no blank form for a second enrolment
