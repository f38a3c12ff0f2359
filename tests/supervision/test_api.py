"""The supervision API: multipart check-ins, reviews, dispositions, enrolments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from caseledger.supervision.models import CheckIn, Enrolment, Review
from tests.supervision.conftest import ANA_SELFIE, BLANK, ENROL_PHOTO, STRANGER

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant_client(enrolled, client):
    user = enrolled.enrolment.person.participant_account
    token = client.post("/api/v1/auth/token", {"username": user.username,
                                               "password": enrolled.temporary_password},
                        content_type="application/json").json()["token"]
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def post_checkin(client, image=ANA_SELFIE, **fields):
    data = {"latitude": "40.71", "longitude": "-74.00", "accuracy": "20",
            "image": SimpleUploadedFile("selfie.jpg", image, "image/jpeg")}
    data.update(fields)
    if isinstance(data["image"], bytes):
        data["image"] = SimpleUploadedFile("selfie.jpg", data["image"], "image/jpeg")
    return client.post("/api/v1/checkins", data)


def test_checkin_receipt(participant_client):
    response = post_checkin(participant_client)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "verified" and body["attempts_left"] == 2
    assert set(body) >= {"id", "time", "outcome", "event_id"}


def test_checkin_no_match_is_review_not_violation(participant_client):
    body = post_checkin(participant_client, image=STRANGER).json()
    assert body["outcome"] == "review"
    assert "incumplimiento" in body["message"]  # the participant reads Spanish


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"image": BLANK}, 422, "no_face"),
    ({"latitude": "999"}, 422, "bad_location"),
    ({"latitude": ""}, 422, "bad_location"),
])
def test_checkin_bad_input(participant_client, fields, status, code):
    fields = dict(fields)
    response = post_checkin(participant_client, fields.pop("image", ANA_SELFIE), **fields)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not CheckIn.objects.exists()


def test_checkin_without_image_or_location_is_422(participant_client):
    response = participant_client.post("/api/v1/checkins", {"latitude": "1"})
    assert response.status_code == 422
    assert not CheckIn.objects.exists()


def test_staff_cannot_check_in(api_client, users, enrolled):
    response = post_checkin(api_client(users["officer_east"]))
    assert response.status_code == 403


def test_location_has_no_other_endpoint(api_client, users):
    from caseledger.api import api

    schema = api.get_openapi_schema()
    takers = [path for path, ops in schema["paths"].items() for op in ops.values()
              if "latitude" in str(op.get("requestBody", "")) + str(op.get("parameters", ""))]
    assert takers == ["/api/v1/checkins"]


def test_review_queue_and_disposition(participant_client, api_client, users):
    post_checkin(participant_client, image=STRANGER)
    officer = api_client(users["officer_east"])
    reviews = officer.get("/api/v1/reviews").json()
    assert len(reviews) == 1 and reviews[0]["kind"] == "failed_check"
    review_id = reviews[0]["id"]
    detail = officer.get(f"/api/v1/reviews/{review_id}").json()
    assert detail["attempts"][0]["distance"] is not None
    assert detail["attempts"][0]["has_image"] is True
    bad = officer.post(f"/api/v1/reviews/{review_id}/disposition", {"disposition": "violation"},
                       content_type="application/json")
    assert bad.status_code == 422
    done = officer.post(f"/api/v1/reviews/{review_id}/disposition",
                        {"disposition": "technical_problem", "note": "camera was dark"},
                        content_type="application/json")
    assert done.status_code == 200 and done.json()["disposition"] == "technical_problem"
    assert api_client(users["officer_west"]).get(f"/api/v1/reviews/{review_id}").status_code == 404
    assert Review.objects.get().decided_by == users["officer_east"]


def test_enrolment_api(stub, api_client, users, make_person):
    person = make_person("officer_east", "Luis", "Fernandez")
    client = api_client(users["officer_east"])
    data = {"person": str(person.pk), "level": "standard", "language": "en",
            "acknowledged": "true",
            "first_window_at": (timezone.now() + timedelta(days=1)).isoformat(),
            "photo": SimpleUploadedFile("enrol.jpg", ENROL_PHOTO, "image/jpeg")}
    response = client.post("/api/v1/enrolments", data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["temporary_password"] and body["participant_username"].startswith("p")
    assert len(body["notice_sha256"]) == 64
    again = client.post("/api/v1/enrolments", dict(data, photo=SimpleUploadedFile(
        "enrol.jpg", ENROL_PHOTO, "image/jpeg")))
    assert again.status_code == 409
    other = make_person("officer_east", "Rosa", "Diaz")
    refused = client.post("/api/v1/enrolments", dict(
        data, person=str(other.pk), acknowledged="false",
        photo=SimpleUploadedFile("enrol.jpg", ENROL_PHOTO, "image/jpeg")))
    assert refused.status_code == 422 and refused.json()["field"] == "acknowledged"
    assert Enrolment.objects.count() == 1
