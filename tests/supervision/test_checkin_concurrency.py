"""The per-window try limit under concurrency, its database backstop, and idempotent retries
by submission id."""

from __future__ import annotations

import threading
import uuid
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connections, transaction

from caseledger.core.errors import Conflict
from caseledger.ledger.models import Event
from caseledger.supervision import services
from caseledger.supervision.models import CheckIn, Review
from caseledger.supervision.services import checkins
from tests.conftest import last_event_id
from tests.supervision.conftest import ANA_SELFIE, STRANGER, STRANGER_2

THREADS = 12


def check_in(result, image=ANA_SELFIE, **kw):
    args = dict(latitude="40.7128", longitude="-74.0060", accuracy="25")
    args.update(kw)
    return services.submit_check_in(user=result.enrolment.person.participant_account,
                                    image=image, **args)


# --- PostgreSQL, real threads -------------------------------------------------------------------
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_check_ins_cannot_exceed_the_try_limit(enrolled, stub, settings):
    """Twelve photos of somebody else arrive at once: every one passes the first look at the
    window before any is stored (the barrier in the verifier), then the lock lets exactly
    `max_attempts` in, numbered 1..n; the others are refused as "tries used", without a row."""
    settings.CHECKIN_UPLOADS_PER_PARTICIPANT = 100  # the rate limit is not what is tested here
    max_attempts = enrolled.enrolment.schedule.max_attempts
    images = [f"stranger-{i}".encode() for i in range(THREADS)]
    for image in images:
        stub.add(image, person="stranger")
    barrier = threading.Barrier(THREADS, timeout=30)
    real_compare = stub.compare

    def compare(template, image):
        barrier.wait()  # all twelve have counted the window's tries (none stored yet)
        return real_compare(template, image)

    stub.compare = compare
    user = enrolled.enrolment.person.participant_account
    results: dict[bytes, object] = {}
    mark = last_event_id()

    def submit(image: bytes) -> None:
        try:
            results[image] = services.submit_check_in(
                user=user, image=image, latitude="40.7", longitude="-74.0", accuracy="20",
                request_id=f"thread-{image.decode()}")
        except Conflict as exc:
            results[image] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(image,)) for image in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == THREADS

    accepted = {i: r for i, r in results.items() if isinstance(r, services.Receipt)}
    refused = {i: r for i, r in results.items() if isinstance(r, Conflict)}
    assert len(accepted) == max_attempts and len(refused) == THREADS - max_attempts
    assert sorted(r.attempt for r in accepted.values()) == list(range(1, max_attempts + 1))
    assert {r.code for r in refused.values()} == {"attempts_used"}
    rows = CheckIn.objects.filter(enrolment=enrolled.enrolment)
    assert sorted(rows.values_list("attempt", flat=True)) == list(range(1, max_attempts + 1))
    assert Review.objects.filter(enrolment=enrolled.enrolment).count() == 1

    events = Event.objects.filter(id__gt=mark, action="checkin")
    for receipt in accepted.values():
        event = events.get(uuid=receipt.event_id)
        assert event.outcome == "allowed" and event.detail["attempt"] == receipt.attempt
        assert event.subject_id == enrolled.enrolment.person_id
    for image in refused:
        (event,) = events.filter(request_id=f"thread-{image.decode()}")
        assert (event.outcome, event.detail) == ("failed", {"reason": "attempts_used"})
        assert event.subject_id == enrolled.enrolment.person_id


# --- the database backstop ----------------------------------------------------------------------
@pytest.mark.django_db
def test_the_database_refuses_a_second_check_in_with_the_same_attempt(enrolled):
    first = CheckIn.objects.get(pk=check_in(enrolled, image=STRANGER).id)
    twin = CheckIn(
        enrolment=first.enrolment, submission_id=uuid.uuid4(),
        window_opens_at=first.window_opens_at, attempt=first.attempt,
        submitted_at=first.submitted_at, outcome=first.outcome, face_outcome=first.face_outcome,
        model_id=first.model_id, threshold=first.threshold,
        threshold_version=first.threshold_version, accuracy_m=10,
        location_delete_after=first.location_delete_after)
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save(force_insert=True)


def _stale_counts(real):
    """The count a reader without the lock could see: nothing stored yet in the window."""
    def window_state(submission):
        state = real(submission)
        return 0 if isinstance(state, int) else state

    return window_state


@pytest.mark.django_db
def test_a_duplicate_attempt_number_is_a_clear_409_not_a_500(enrolled, client):
    """If the count were ever stale (the lock bypassed), the constraint refuses the second
    attempt 1: a 409 in the person's language, one refusal event, no row, no second review."""
    check_in(enrolled, image=STRANGER)
    user = enrolled.enrolment.person.participant_account
    token = client.post("/api/v1/auth/token", {"username": user.username,
                                               "password": enrolled.temporary_password},
                        content_type="application/json").json()["token"]
    mark = last_event_id()
    with mock.patch.object(checkins, "_window_state", _stale_counts(checkins._window_state)):
        response = client.post("/api/v1/checkins", {
            "latitude": "40.71", "longitude": "-74.00", "accuracy": "20",
            "image": SimpleUploadedFile("selfie.jpg", STRANGER_2, "image/jpeg"),
        }, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "attempt_taken"
    assert response.json()["detail"].startswith("Otra presentación suya llegó al mismo tiempo.")
    assert CheckIn.objects.count() == 1 and Review.objects.count() == 1
    (event,) = Event.objects.filter(id__gt=mark)
    assert (event.action, event.outcome, event.detail) == (
        "checkin", "failed", {"reason": "attempt_taken"})
    assert event.subject_id == enrolled.enrolment.person_id


# --- idempotent retries -------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_retried_upload_gets_the_first_receipt_and_stores_nothing(enrolled):
    sid = str(uuid.uuid4())
    first = check_in(enrolled, image=STRANGER, submission_id=sid)
    mark = last_event_id()
    again = check_in(enrolled, image=STRANGER, submission_id=sid)
    assert again.repeated and not first.repeated
    assert (again.id, again.event_id, again.attempt, again.outcome, again.time) == (
        first.id, first.event_id, first.attempt, first.outcome, first.time)
    assert again.attempts_left == first.attempts_left
    assert again.window_closes_at == first.window_closes_at
    assert again.message.startswith("Esta presentación ya se recibió; aquí está otra vez")
    assert CheckIn.objects.count() == 1 and Review.objects.count() == 1
    (event,) = Event.objects.filter(id__gt=mark)  # showing the receipt is a recorded read
    assert (event.action, event.outcome, event.record_type, event.record_id) == (
        "read", "allowed", "supervision.checkin", str(first.id))
    assert event.subject_id == enrolled.enrolment.person_id
    # the same id with another photo is not a retry: a replay
    with pytest.raises(Conflict) as err:
        check_in(enrolled, image=STRANGER_2, submission_id=sid)
    assert err.value.code == "replay"


@pytest.mark.django_db
def test_a_double_send_that_races_the_first_gets_its_receipt(enrolled):
    """The second copy passes the first look (the first was not stored yet) and finds the first
    under the lock: it answers with the first receipt instead of storing a second try."""
    sid = str(uuid.uuid4())
    first = check_in(enrolled, image=ANA_SELFIE, submission_id=sid)
    calls = []
    real = checkins._window_state

    def window_state(submission):
        calls.append(submission.sid)
        return 0 if len(calls) == 1 else real(submission)

    with mock.patch.object(checkins, "_window_state", window_state):
        again = check_in(enrolled, image=ANA_SELFIE, submission_id=sid)
    assert len(calls) == 2
    assert again.repeated and again.id == first.id and again.event_id == first.event_id
    assert CheckIn.objects.count() == 1


@pytest.mark.django_db
def test_a_submission_id_of_another_participant_is_a_replay(enrolled, stub, users, make_person):
    from tests.conftest import context
    from tests.supervision.conftest import enrolment_input

    stub.add(b"bea-enrol", person="bea")
    stub.add(b"bea-selfie", person="bea")
    person = make_person("officer_east", "Bea", "Lind", languages=["en"])
    bea = services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                         data=enrolment_input(photo=b"bea-enrol", language="en"))
    sid = str(uuid.uuid4())
    check_in(enrolled, image=ANA_SELFIE, submission_id=sid)
    with pytest.raises(Conflict) as err:
        check_in(bea, image=b"bea-selfie", submission_id=sid)
    assert err.value.code == "replay"
    assert not CheckIn.objects.filter(enrolment=bea.enrolment).exists()


@pytest.mark.django_db
def test_a_retry_through_the_api_and_the_page_answers_200_with_the_receipt(
    enrolled, client, web_client
):
    user = enrolled.enrolment.person.participant_account
    token = client.post("/api/v1/auth/token", {"username": user.username,
                                               "password": enrolled.temporary_password},
                        content_type="application/json").json()["token"]
    sid = str(uuid.uuid4())

    def post():
        return client.post("/api/v1/checkins", {
            "latitude": "40.71", "longitude": "-74.00", "accuracy": "20", "submission_id": sid,
            "image": SimpleUploadedFile("selfie.jpg", ANA_SELFIE, "image/jpeg"),
        }, HTTP_AUTHORIZATION=f"Bearer {token}")

    first, again = post(), post()
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["repeated"] is False and again.json()["repeated"] is True
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["event_id"] == first.json()["event_id"]
    page = web_client(user).post("/me/check-in/", {
        "latitude": "40.712800", "longitude": "-74.006000", "accuracy": "25",
        "submission_id": sid,
        "image": SimpleUploadedFile("photo.jpg", ANA_SELFIE, content_type="image/jpeg"),
    })
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-outcome="verified"' in html  # the first receipt again (without its ids)
    assert first.json()["id"] not in html and first.json()["event_id"] not in html
    assert "Esta presentación ya se recibió; aquí está otra vez su comprobante." in html
    assert CheckIn.objects.count() == 1
