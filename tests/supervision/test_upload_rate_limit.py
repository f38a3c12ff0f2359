"""Photo upload rate limits: per participant and per client address, refused photos counted,
429 with Retry-After in the person's language, a refusal event with the person, and a
window that moves with the clock."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.utils import timezone

from caseledger.core import clock
from caseledger.core.errors import RateLimited, ValidationError
from caseledger.ledger.models import Event
from caseledger.supervision import services
from caseledger.supervision.models import CheckIn, UploadAttempt
from caseledger.supervision.services import limits as upload_limits
from tests.conftest import context, last_event_id
from tests.supervision.conftest import ANA_SELFIE, BLANK, enrolment_input

pytestmark = pytest.mark.django_db

PER_PARTICIPANT = 4
PER_ADDRESS = 6
WINDOW = 600
BEA_ENROL, BEA_SELFIE = b"bea-enrolment-photo", b"bea-selfie"


@pytest.fixture
def limits(settings):
    settings.CHECKIN_UPLOADS_PER_PARTICIPANT = PER_PARTICIPANT
    settings.CHECKIN_UPLOADS_PER_ADDRESS = PER_ADDRESS
    settings.CHECKIN_UPLOAD_WINDOW_SECONDS = WINDOW


@pytest.fixture
def frozen():
    """The clock stands still at `moment[0]` until a test moves it."""
    moment = [timezone.now()]
    with mock.patch("caseledger.core.clock.now", side_effect=lambda: moment[0]):
        yield moment


@pytest.fixture
def bea(stub, users, make_person):
    """A second participant (English), on the same caseload, with a window open now."""
    stub.add(BEA_ENROL, person="bea")
    stub.add(BEA_SELFIE, person="bea")
    person = make_person("officer_east", "Bea", "Lind", languages=["en"])
    return services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                          data=enrolment_input(photo=BEA_ENROL, language="en"))


def _token_client(client_class, result):
    client = client_class()
    user = result.enrolment.person.participant_account
    token = client.post("/api/v1/auth/token", {"username": user.username,
                                               "password": result.temporary_password},
                        content_type="application/json").json()["token"]
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _api_upload(client, image=BLANK, address="127.0.0.1", **fields):
    data = {"latitude": "40.71", "longitude": "-74.00", "accuracy": "20",
            "submission_id": str(uuid.uuid4()),
            "image": SimpleUploadedFile("selfie.jpg", image, "image/jpeg")}
    data.update(fields)
    return client.post("/api/v1/checkins", data, REMOTE_ADDR=address)


def _page_upload(client, image=BLANK, address="127.0.0.1"):
    return client.post("/me/check-in/", {
        "latitude": "40.712800", "longitude": "-74.006000", "accuracy": "25",
        "submission_id": str(uuid.uuid4()),
        "image": SimpleUploadedFile("photo.jpg", image, content_type="image/jpeg"),
    }, REMOTE_ADDR=address)


def _use_up(client, n=PER_PARTICIPANT, image=BLANK, address="127.0.0.1"):
    """n uploads that are refused for the photo (no face): each counts, none costs a try."""
    for _ in range(n):
        response = _api_upload(client, image=image, address=address)
        assert response.status_code == 422 and response.json()["code"] == "no_face"


@pytest.fixture
def ana_api(enrolled, limits, client):
    return _token_client(type(client), enrolled)


def test_the_upload_after_the_limit_is_429_in_spanish_and_refused_photos_count(
    ana_api, enrolled, frozen
):
    _use_up(ana_api)
    mark = last_event_id()
    response = _api_upload(ana_api, image=ANA_SELFIE)  # a good photo: refused all the same
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["detail"] == (
        "Usted envió muchas fotos en poco tiempo. Por favor, espere 10 minutos y vuelva a "
        "intentarlo. Esto no es un incumplimiento.")
    assert response["Retry-After"] == str(WINDOW)  # the clock stood still since the first
    assert not CheckIn.objects.exists()
    assert UploadAttempt.objects.count() == PER_PARTICIPANT  # the refused one is not counted
    (event,) = Event.objects.filter(id__gt=mark)
    assert (event.action, event.outcome, event.detail) == (
        "checkin", "failed", {"reason": "rate_limited"})
    assert event.subject_id == enrolled.enrolment.person_id
    assert event.record_id == str(enrolled.enrolment.pk)


def test_the_page_answers_429_in_english_with_retry_after(
    enrolled, limits, web_client, frozen
):
    page = web_client(enrolled.enrolment.person.participant_account)
    page.cookies["django_language"] = "en"
    for _ in range(PER_PARTICIPANT):
        assert _page_upload(page).status_code == 422
    frozen[0] += timedelta(seconds=WINDOW - 30)  # the first upload leaves the window in 30 s
    response = _page_upload(page, image=ANA_SELFIE)
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert 'data-refusal="rate_limited"' in html
    assert ("You have sent many photos in a short time. Please wait a minute, then try "
            "again. This is not a violation.") in html
    assert "Wait as long as it says above" in html
    assert "data-checkin-form" not in html  # no form to press again at once
    assert not CheckIn.objects.exists()


def test_the_api_answers_in_english_for_an_english_speaker(bea, limits, client, frozen):
    bea_api = _token_client(type(client), bea)
    _use_up(bea_api)
    response = _api_upload(bea_api, image=BEA_SELFIE)
    assert response.status_code == 429
    assert response.json()["detail"].startswith("You have sent many photos in a short time.")


def test_other_refusals_count_too(ana_api, frozen):
    """Bad locations and unreadable submissions count like bad photos."""
    refused = [
        _api_upload(ana_api, image=ANA_SELFIE, latitude="999"),
        _api_upload(ana_api, image=ANA_SELFIE, submission_id="not-a-uuid"),
        _api_upload(ana_api, image=b"%PDF-1.7 not a photo"),
        _api_upload(ana_api, image=BLANK),
    ]
    assert [r.status_code for r in refused] == [422] * PER_PARTICIPANT
    assert _api_upload(ana_api, image=ANA_SELFIE).status_code == 429


def test_the_limit_resets_when_the_window_has_passed(ana_api, enrolled, frozen):
    _use_up(ana_api)
    frozen[0] += timedelta(seconds=WINDOW - 1)
    late = _api_upload(ana_api, image=ANA_SELFIE)
    assert late.status_code == 429 and late["Retry-After"] == "1"
    frozen[0] += timedelta(seconds=1)
    response = _api_upload(ana_api, image=ANA_SELFIE)
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "verified"
    # the expired uploads of the participant were removed on the way
    assert list(UploadAttempt.objects.values_list("at", flat=True)) == [frozen[0]]


def test_another_participant_is_not_affected(ana_api, bea, client, frozen):
    _use_up(ana_api)
    assert _api_upload(ana_api, image=ANA_SELFIE).status_code == 429
    bea_api = _token_client(type(client), bea)
    response = _api_upload(bea_api, image=BEA_SELFIE)  # same address, under its limit
    assert response.status_code == 201, response.content


def test_the_address_limit_counts_every_participant_behind_it(ana_api, bea, client, frozen):
    bea_api = _token_client(type(client), bea)
    _use_up(ana_api, address="203.0.113.9")
    _use_up(bea_api, n=PER_ADDRESS - PER_PARTICIPANT, address="203.0.113.9")
    mark = last_event_id()
    response = _api_upload(bea_api, image=BEA_SELFIE, address="203.0.113.9")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited_address"
    assert response.json()["detail"].startswith(
        "Many photos were sent from this network in a short time.")
    (event,) = Event.objects.filter(id__gt=mark)
    assert event.subject_id == bea.enrolment.person_id
    assert event.detail == {"reason": "rate_limited_address"}
    # from another address Bea is under both limits
    assert _api_upload(bea_api, image=BEA_SELFIE, address="198.51.100.4").status_code == 201


def test_a_limit_of_zero_is_off(ana_api, settings, frozen):
    settings.CHECKIN_UPLOADS_PER_PARTICIPANT = 0
    settings.CHECKIN_UPLOADS_PER_ADDRESS = 0
    _use_up(ana_api, n=PER_ADDRESS + 2)


def test_addresses_are_stored_only_as_keyed_hashes(ana_api, frozen):
    _api_upload(ana_api, address="203.0.113.9")
    stored = UploadAttempt.objects.get()
    assert stored.address_hash == services.address_key("203.0.113.9")
    assert len(stored.address_hash) == 64 and "203.0.113" not in stored.address_hash
    # one IPv6 subscriber network (/64) is one address; an IPv4-mapped address is the IPv4 one
    assert services.address_key("2001:db8:1:2::5") == services.address_key("2001:db8:1:2:ff::9")
    assert services.address_key("2001:db8:1:2::5") != services.address_key("2001:db8:1:3::5")
    assert services.address_key("::ffff:203.0.113.9") == stored.address_hash
    assert services.address_key("") == ""


def test_a_direct_call_without_an_address_counts_only_the_participant(enrolled, limits, frozen):
    user = enrolled.enrolment.person.participant_account
    for _ in range(PER_PARTICIPANT):
        with pytest.raises(ValidationError):
            services.submit_check_in(user=user, image=BLANK, latitude="1", longitude="1",
                                     accuracy="5")
    with pytest.raises(RateLimited) as err:
        services.submit_check_in(user=user, image=ANA_SELFIE, latitude="1", longitude="1",
                                 accuracy="5")
    assert err.value.status_code == 429 and err.value.retry_after == WINDOW
    assert set(UploadAttempt.objects.values_list("address_hash", flat=True)) == {""}


def test_the_sweep_purges_expired_uploads(ana_api, frozen):
    _use_up(ana_api, n=2)
    assert services.purge_upload_attempts(now=frozen[0]) == 0
    frozen[0] += timedelta(seconds=WINDOW)
    services.sweep_missed_windows(now=clock.now())
    assert not UploadAttempt.objects.exists()


def test_the_openapi_documents_429_with_retry_after_for_the_check_in():
    from caseledger.api import api

    operation = api.get_openapi_schema()["paths"]["/api/v1/checkins"]["post"]
    documented = {str(code): spec for code, spec in operation["responses"].items()}
    assert "Retry-After" in documented["429"]["headers"]
    assert documented["429"]["content"]["application/json"]["schema"]
    assert "200" in documented and "201" in documented


# --- PostgreSQL: simultaneous uploads cannot all slip under a limit ----------------------------
def _held_count(first_user, second_user, address):
    """The first upload stops inside its counting transaction (after counting, before its row
    commits) until the second has had the chance to count; returns both outcomes."""
    counted = threading.Event()
    release = threading.Event()
    second_counted = threading.Event()
    real = upload_limits._over_limit
    results: dict[str, str] = {}

    def over_limit(uploads, limit, limits, now, code="rate_limited"):
        refusal = real(uploads, limit, limits, now, code)
        if threading.current_thread().name == "first":
            counted.set()
            release.wait(20)
        else:
            second_counted.set()
        return refusal

    def upload(user):
        try:
            services.submit_check_in(user=user, image=BLANK, latitude="1", longitude="1",
                                     accuracy="5", client_address=address)
        except (ValidationError, RateLimited) as exc:
            results[threading.current_thread().name] = exc.code
        finally:
            connections.close_all()

    with mock.patch.object(upload_limits, "_over_limit", over_limit):
        one = threading.Thread(target=upload, args=(first_user,), name="first")
        one.start()
        assert counted.wait(20)
        two = threading.Thread(target=upload, args=(second_user,), name="second")
        two.start()
        # Without the lock the second would count now (the first has not committed) and pass.
        second_counted.wait(3)
        release.set()
        one.join(30)
        two.join(30)
    return results


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_uploads_of_one_participant_wait_for_the_count(enrolled, settings):
    settings.CHECKIN_UPLOADS_PER_PARTICIPANT = 1
    user = enrolled.enrolment.person.participant_account
    results = _held_count(user, user, "")
    assert results == {"first": "no_face", "second": "rate_limited"}
    assert UploadAttempt.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_uploads_from_one_address_wait_for_the_count(enrolled, bea, settings):
    settings.CHECKIN_UPLOADS_PER_ADDRESS = 1
    results = _held_count(enrolled.enrolment.person.participant_account,
                          bea.enrolment.person.participant_account, "192.0.2.77")
    assert results == {"first": "no_face", "second": "rate_limited_address"}
    assert UploadAttempt.objects.count() == 1
