"""The capture device class of a check-in: derived on the server from the User-Agent (never
stored), kept on the try and on the event of a refused upload; and the `mirrored` flag in the
quality record (which distance was stored)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from caseledger.supervision import services
from caseledger.supervision.devices import MAX_USER_AGENT, capture_device
from caseledger.supervision.models import CheckIn
from tests.conftest import last_event_id
from tests.supervision.conftest import ANA_SELFIE, BLANK, STRANGER, burst

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0.0.0 Mobile Safari/537.36")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1")
ANDROID_TABLET = ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/126.0.0.0 Safari/537.36")
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0.0.0 Safari/537.36")


@pytest.mark.parametrize(("agent", "expected"), [
    (IPHONE, "phone"),
    (ANDROID, "phone"),
    (IPAD, "tablet"),
    (ANDROID_TABLET, "tablet"),
    (FIREFOX, "computer"),
    (WINDOWS, "computer"),
    ("", "other"),
    (None, "other"),
    ("   ", "other"),
    ("\x00\xff<script>alert(1)</script>", "other"),
    ("curl/8.5.0", "other"),
    ("Googlebot/2.1 (+http://www.google.com/bot.html)", "other"),
])
def test_real_user_agents_give_their_class(agent, expected):
    assert capture_device(agent) == expected


def test_a_huge_user_agent_is_cut_before_parsing():
    assert capture_device("x" * 10_240) == "other"
    # a 10 KB header still classifies by its real start, and only the start is parsed
    assert capture_device(IPHONE + " " + "A" * 10_240) == "phone"
    assert capture_device(("A" * MAX_USER_AGENT) + IPHONE) == "other"


# --- on the check-in -----------------------------------------------------------------------------
pytestmark_db = pytest.mark.django_db


def _check_in(enrolled, image, **kw):
    return services.submit_check_in(user=enrolled.enrolment.person.participant_account,
                                    image=image, latitude="40.7", longitude="-74.0",
                                    accuracy="20", **kw)


@pytestmark_db
def test_the_class_is_stored_never_the_user_agent(enrolled):
    receipt = _check_in(enrolled, ANA_SELFIE, user_agent=IPAD)
    row = CheckIn.objects.get(pk=receipt.id)
    assert row.capture_device == "tablet"
    stored = str(row.quality) + str(row.liveness) + str(Event.objects.filter(
        record_id=str(row.pk)).values_list("detail", flat=True)[0])
    assert "iPad" not in stored and "Mozilla" not in stored
    assert "mirrored" in row.quality


@pytestmark_db
def test_no_user_agent_is_other(enrolled):
    receipt = _check_in(enrolled, STRANGER)
    assert CheckIn.objects.get(pk=receipt.id).capture_device == "other"


@pytestmark_db
def test_a_refused_photo_records_the_class_in_its_event(enrolled):
    mark = last_event_id()
    with pytest.raises(ValidationError):
        _check_in(enrolled, BLANK, user_agent=ANDROID)
    event = Event.objects.get(id__gt=mark, outcome="failed")
    assert event.detail["reason"] == "no_face" and event.detail["device"] == "phone"
    assert "Android" not in str(event.detail)
    assert not CheckIn.objects.exists()


@pytestmark_db
def test_a_burst_records_the_class_and_which_distance_was_stored(enrolled, stub, settings):
    settings.LIVENESS_REQUIRED = True
    user = enrolled.enrolment.person.participant_account
    issued = services.issue_challenge(user=user)
    receipt = services.submit_check_in(
        user=user, frames=burst(stub, list(issued.prompts)), challenge_id=issued.id,
        latitude="40.7", longitude="-74.0", accuracy="20", user_agent=FIREFOX,
    )
    row = CheckIn.objects.get(pk=receipt.id)
    assert row.capture_device == "computer"
    assert "mirrored" in row.quality


@pytestmark_db
def test_the_api_passes_the_header(enrolled, client):
    user = enrolled.enrolment.person.participant_account
    token = client.post("/api/v1/auth/token", {"username": user.username,
                                               "password": enrolled.temporary_password},
                        content_type="application/json").json()["token"]
    answer = client.post(
        "/api/v1/checkins",
        {"latitude": "40.7", "longitude": "-74.0", "accuracy": "20",
         "image": SimpleUploadedFile("selfie.jpg", ANA_SELFIE, "image/jpeg")},
        HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_USER_AGENT=IPHONE,
    )
    assert answer.status_code == 201, answer.content
    assert CheckIn.objects.get(pk=answer.json()["id"]).capture_device == "phone"
