"""Enrolment and check-ins: receipts, reviews, refusals, and what is (not) stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from caseledger.supervision import consent, services
from caseledger.supervision.models import (
    CheckIn,
    Compliance,
    Consent,
    Enrolment,
    ReferencePhoto,
    Review,
    Schedule,
)
from tests.conftest import context, last_event_id
from tests.supervision.conftest import (
    ANA_SELFIE,
    ANA_SELFIE_2,
    ANA_SELFIE_4,
    BLANK,
    ENROL_PHOTO,
    STRANGER,
    STRANGER_2,
    TWO_FACES,
    enrolment_input,
)

pytestmark = pytest.mark.django_db


def check_in(result, image=ANA_SELFIE, **kw):
    args = dict(latitude="40.7128", longitude="-74.0060", accuracy="25")
    args.update(kw)
    return services.submit_check_in(user=result.enrolment.person.participant_account,
                                    image=image, **args)


def test_enrolment_writes_everything_once(enrolled):
    e = enrolled.enrolment
    assert e.status == "active" and e.compliance == Compliance.COMPLIANT
    notice = consent.notice("es")
    c = Consent.objects.get(enrolment=e)
    assert (c.language, c.notice_version, c.notice_sha256) == ("es", notice.version, notice.sha256)
    assert "alternatives" not in c.alternatives_offered
    assert Schedule.objects.get(enrolment=e).max_attempts == 3
    photo = ReferencePhoto.objects.get(enrolment=e)
    assert ENROL_PHOTO not in bytes(photo.photo_encrypted)
    assert photo.delete_after is None
    participant = e.person.participant_account
    assert participant.role == "participant" and participant.check_password(
        enrolled.temporary_password)
    actions = set(Event.objects.filter(subject_id=e.person_id).values_list("data_category",
                                                                            flat=True))
    assert {"supervision", "consent", "biometric", "account"} <= actions


def test_consent_notice_exists_in_english_and_spanish():
    en, es = consent.notice("en"), consent.notice("es")
    assert en.text != es.text and en.sha256 != es.sha256
    assert "never a violation" in en.text and "incumplimiento" in es.text
    assert consent.notice("ht").language == "en"  # no Creole text yet: English, said so


@pytest.mark.parametrize(("overrides", "field"), [
    ({"acknowledged": False}, "acknowledged"),
    ({"alternatives_offered": []}, "alternatives_offered"),
    ({"level": "maximum"}, "level"),
    ({"conditions": ["curfew"]}, "conditions"),
    ({"photo": BLANK}, "photo"),
    ({"photo": TWO_FACES}, "photo"),
    ({"photo": b""}, "photo"),
    ({"every_days": 0}, "every_days"),
    ({"max_attempts": 50}, "max_attempts"),
])
def test_enrolment_refusals_leave_nothing(stub, users, make_person, overrides, field):
    person = make_person("officer_east")
    before = (Enrolment.objects.count(), ReferencePhoto.objects.count())
    with pytest.raises(ValidationError) as err:
        services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                       data=enrolment_input(**overrides))
    assert err.value.field == field
    assert (Enrolment.objects.count(), ReferencePhoto.objects.count()) == before
    person.refresh_from_db()
    assert person.participant_account_id is None


def test_enrolling_twice_is_a_conflict(enrolled, users):
    with pytest.raises(Conflict):
        services.enrol(ctx=context(users["officer_east"]), person_id=enrolled.enrolment.person_id,
                       data=enrolment_input())


def test_other_office_cannot_enrol(stub, users, make_person):
    person = make_person("officer_west")
    with pytest.raises(NotFound):
        services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                       data=enrolment_input())
    with pytest.raises(PermissionDenied):
        services.enrol(ctx=context(users["privacy"]), person_id=person.pk,
                       data=enrolment_input())


def test_verified_check_in_keeps_no_image(enrolled):
    mark = last_event_id()
    receipt = check_in(enrolled)
    assert receipt.outcome == "verified" and receipt.attempt == 1
    row = CheckIn.objects.get(pk=receipt.id)
    assert row.image_encrypted is None and row.image_delete_after is None
    assert row.face_outcome == "match" and row.distance == 0.0
    assert row.location_delete_after > timezone.localdate()
    assert str(row.latitude) == "40.712800"
    event = Event.objects.get(id__gt=mark, action="checkin")
    assert event.uuid == receipt.event_id == row.ledger_event
    assert not Review.objects.exists()
    with pytest.raises(Conflict) as err:
        check_in(enrolled, image=ANA_SELFIE_2)
    assert err.value.code == "already_checked_in"
    assert err.value.message == "Usted ya se presentó en este período. Gracias."


def test_no_match_opens_a_review_and_never_changes_compliance(enrolled):
    receipt = check_in(enrolled, image=STRANGER)
    assert receipt.outcome == "review"
    assert "not a violation" in receipt.message or "no es un incumplimiento" in receipt.message
    row = CheckIn.objects.get(pk=receipt.id)
    assert row.image_encrypted is not None and STRANGER not in bytes(row.image_encrypted)
    assert row.image_delete_after is None  # set when the review is decided
    review = Review.objects.get(enrolment=enrolled.enrolment)
    assert review.kind == "failed_check" and review.disposition == ""
    enrolled.enrolment.refresh_from_db()
    assert enrolled.enrolment.compliance == Compliance.COMPLIANT
    # a retry that fails again joins the same review
    check_in(enrolled, image=STRANGER_2)
    assert Review.objects.count() == 1


def test_spanish_speaker_gets_spanish_text(enrolled):
    receipt = check_in(enrolled, image=STRANGER)
    assert "revisará" in receipt.message or "revisar" in receipt.message


def test_retry_limit(enrolled, stub):
    stub.add(b"someone-else-3", person="stranger")
    for image in (STRANGER, STRANGER_2, b"someone-else-3"):
        check_in(enrolled, image=image)
    with pytest.raises(Conflict) as err:
        check_in(enrolled, image=ANA_SELFIE_4)
    assert err.value.code == "attempts_used"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"image": BLANK}, "no_face"),
    ({"image": TWO_FACES}, "multiple_faces"),
    ({"image": b""}, "empty"),
    ({"image": b"%PDF-1.7 not a photo"}, "unreadable"),
    ({"latitude": "91"}, "bad_location"),
    ({"longitude": "-181"}, "bad_location"),
    ({"latitude": "north"}, "bad_location"),
    ({"latitude": "NaN"}, "bad_location"),
    ({"accuracy": "-3"}, "bad_location"),
    ({"accuracy": ""}, "bad_location"),
    ({"submission_id": "not-a-uuid"}, "bad_submission"),
])
def test_bad_check_in_is_refused_with_one_event_and_no_row(enrolled, kwargs, code):
    mark = last_event_id()
    with pytest.raises(ValidationError) as err:
        check_in(enrolled, **kwargs)
    assert err.value.code == code
    assert not CheckIn.objects.exists() and not Review.objects.exists()
    events = list(Event.objects.filter(id__gt=mark))
    assert len(events) == 1
    assert (events[0].action, events[0].outcome, events[0].detail["reason"]) == (
        "checkin", "failed", code)


def test_replayed_submission_is_refused(enrolled):
    import uuid

    sid = str(uuid.uuid4())
    check_in(enrolled, image=STRANGER, submission_id=sid)
    with pytest.raises(Conflict) as err:
        check_in(enrolled, image=STRANGER_2, submission_id=sid)
    assert err.value.code == "replay"
    with pytest.raises(Conflict) as err:  # the same photo again
        check_in(enrolled, image=STRANGER)
    assert err.value.code == "replay"
    assert CheckIn.objects.count() == 1


def test_check_in_outside_the_window(enrolled):
    Schedule.objects.filter(enrolment=enrolled.enrolment).update(
        first_window_at=timezone.now() + timedelta(days=2))
    with pytest.raises(ValidationError) as err:
        check_in(enrolled)
    assert err.value.code == "outside_window"
    assert not CheckIn.objects.exists()


def test_only_the_participant_checks_in_for_themselves(enrolled, users):
    with pytest.raises(NotFound):
        services.submit_check_in(user=users["participant"], image=ANA_SELFIE, latitude="1",
                                 longitude="1", accuracy="5")


def test_missed_window_opens_one_review(enrolled):
    Schedule.objects.filter(enrolment=enrolled.enrolment).update(
        first_window_at=timezone.now() - timedelta(days=2))
    Enrolment.objects.filter(pk=enrolled.enrolment.pk).update(
        started_at=timezone.now() - timedelta(days=3))
    assert services.sweep_missed_windows() == 1
    assert services.sweep_missed_windows() == 0
    review = Review.objects.get()
    assert review.kind == "missed_window" and review.checkin is None


def test_sweep_command(enrolled):
    from io import StringIO

    from django.core.management import call_command

    Schedule.objects.filter(enrolment=enrolled.enrolment).update(
        first_window_at=timezone.now() - timedelta(days=2))
    Enrolment.objects.filter(pk=enrolled.enrolment.pk).update(
        started_at=timezone.now() - timedelta(days=3))
    out = StringIO()
    call_command("supervision", "sweep", stdout=out)
    assert out.getvalue().strip() == "opened 1 reviews for missed windows"


def test_receipt_shows_inclusion_in_a_signed_checkpoint(enrolled, users, ledger_signing_key):
    from caseledger.ledger import checkpoints
    from caseledger.ledger.services import integrate_pending
    from caseledger.supervision.selectors import receipt_proof
    from caseledger_verify import merkle, note

    receipt = check_in(enrolled)
    own = context(enrolled.enrolment.person.participant_account)
    integrate_pending()
    waiting = receipt_proof(ctx=own, checkin_id=receipt.id)
    assert waiting.position is not None and waiting.checkpoint_size is None
    signed = checkpoints.sign_checkpoint()
    shown = receipt_proof(ctx=own, checkin_id=receipt.id)
    assert shown.checkpoint_size == signed.size
    checkpoint = note.verify_note(signed.note, ledger_signing_key)
    merkle.InclusionProof.from_dict(shown.proof).verify(checkpoint.root)
    with pytest.raises(NotFound):  # nobody else's receipt
        receipt_proof(ctx=context(users["participant"]), checkin_id=receipt.id)
