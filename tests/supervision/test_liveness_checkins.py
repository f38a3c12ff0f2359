"""Check-ins with the liveness burst (services): the server's challenge, the verdict on the
frames, one retake before a review, what is kept, and every refused challenge or burst.

The frames are read by `StubBurstReader` (tests/supervision/conftest.py `burst`): a frame is
a person at a head yaw, or a flat picture of them."""

from __future__ import annotations

import uuid
from datetime import timedelta
from random import Random
from unittest import mock

import pytest
from django.utils import translation

from caseledger.biometrics import liveness
from caseledger.biometrics.verifier import StubVerifier
from caseledger.core import clock
from caseledger.core.errors import Conflict, NotFound, RateLimited, ValidationError
from caseledger.ledger.models import Event
from caseledger.supervision import selectors, services
from caseledger.supervision.models import (
    CheckIn,
    CheckInChallenge,
    Compliance,
    Enrolment,
    Review,
    ReviewKind,
    Schedule,
)
from caseledger.supervision.selectors import CheckInState
from tests.conftest import context, last_event_id
from tests.supervision.conftest import ANA_SELFIE, burst, enrolment_input

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def liveness_on(settings):
    settings.LIVENESS_REQUIRED = True


def account(enrolled):
    return enrolled.enrolment.person.participant_account


def challenge(enrolled, **kw):
    return services.issue_challenge(user=account(enrolled), **kw)


def send(enrolled, frames, challenge_id, **kw):
    args = dict(latitude="40.7128", longitude="-74.0060", accuracy="25")
    args.update(kw)
    return services.submit_check_in(user=account(enrolled), frames=frames,
                                    challenge_id=challenge_id, **args)


def check_in(enrolled, stub, **burst_args):
    """A new challenge and a burst for it (`burst_args` as for `burst`)."""
    issued = challenge(enrolled)
    return issued, send(enrolled, burst(stub, list(issued.prompts), **burst_args), issued.id)


def refusals(since):
    return list(Event.objects.filter(id__gt=since, outcome="failed").order_by("id"))


def state(enrolled):
    with translation.override("es"):  # the participant's pages speak their language
        return selectors.participant_state(ctx=context(account(enrolled)))


# --- the challenge ----------------------------------------------------------------------------
def test_challenge_is_random_stored_bound_and_recorded(enrolled, settings):
    settings.CHECKIN_UPLOADS_PER_PARTICIPANT = 0  # many challenges below
    before = last_event_id()
    issued = challenge(enrolled)
    row = CheckInChallenge.objects.get(pk=issued.id)
    assert row.user == account(enrolled) and row.used_at is None
    assert row.window_opens_at == enrolled.enrolment.schedule.current_window(clock.now())[0]
    assert row.expires_at - row.issued_at == timedelta(minutes=2) == liveness.CHALLENGE_TTL
    assert list(issued.prompts) == row.prompts and len(row.prompts) == 2
    assert set(row.prompts) == {"turn_left", "turn_right"}
    # In the participant's language (Ana reads Spanish), in large words on the page.
    assert issued.instructions[0].startswith("Gire la cabeza")
    event = Event.objects.get(id__gt=before)
    assert (event.action, event.outcome, event.subject_id, event.record_id) == (
        "create", "allowed", enrolled.enrolment.person_id, str(row.pk))
    assert event.detail["prompts"] == row.prompts
    firsts = {challenge(enrolled, rng=Random(seed)).prompts[0] for seed in range(12)}
    assert firsts == {"turn_left", "turn_right"}  # the server chooses the order at random


def test_no_challenge_outside_a_window_or_after_checking_in(enrolled, stub):
    check_in(enrolled, stub)
    before = last_event_id()
    with pytest.raises(Conflict) as exc:
        challenge(enrolled)
    assert exc.value.code == "already_checked_in"
    assert refusals(before)[0].subject_id == enrolled.enrolment.person_id
    Schedule.objects.filter(enrolment=enrolled.enrolment).update(
        first_window_at=clock.now() + timedelta(days=2))
    with pytest.raises(ValidationError) as exc:
        challenge(enrolled)
    assert exc.value.code == "outside_window"


def test_challenges_are_rate_limited(enrolled, settings):
    settings.CHECKIN_UPLOADS_PER_PARTICIPANT = 2
    challenge(enrolled)
    challenge(enrolled)
    before = last_event_id()
    with pytest.raises(RateLimited):
        challenge(enrolled)
    assert CheckInChallenge.objects.count() == 2
    assert refusals(before)[0].detail["reason"] == "rate_limited"


def test_staff_get_no_challenge(enrolled, users):
    from caseledger.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.issue_challenge(user=users["officer_east"])
    assert not CheckInChallenge.objects.exists()


# --- the verdict ------------------------------------------------------------------------------
def test_a_live_burst_of_the_person_is_verified_and_keeps_no_image(enrolled, stub):
    before = last_event_id()
    issued, receipt = check_in(enrolled, stub)
    assert receipt.outcome == "verified" and not receipt.retake
    c = CheckIn.objects.get()
    assert (c.liveness_outcome, c.liveness_reason, c.face_outcome) == ("live", "ok", "match")
    assert c.image_encrypted is None and c.frames_encrypted is None
    assert c.liveness["challenge"]["id"] == str(issued.id)
    assert c.liveness["challenge"]["prompts"] == list(issued.prompts)
    assert len(c.liveness["yaw_deg"]) == 3 and c.liveness["key_frame"] == 0
    assert CheckInChallenge.objects.get(pk=issued.id).used_at is not None
    event = Event.objects.get(id__gt=before, action="checkin")
    assert event.detail | {"liveness": "live", "challenge": str(issued.id), "frames": 3} \
        == event.detail
    assert not Review.objects.exists()


@pytest.mark.parametrize(("attack", "reason"), [
    ({"planar": True}, "planar_motion"),
    ({"still": True}, "prompt_not_followed"),
    ({"order": "reversed"}, "prompt_not_followed"),
])
def test_an_attack_asks_for_one_retake_then_goes_to_review(enrolled, stub, attack, reason):
    def attempt(take):
        issued = challenge(enrolled)
        prompts = list(issued.prompts)
        args = dict(attack, take=take)
        if args.get("order") == "reversed":
            args["order"] = prompts[::-1]
        return send(enrolled, burst(stub, prompts, **args), issued.id)

    first = attempt(1)
    assert first.outcome == "retake" and first.retake and first.attempts_left == 2
    assert "incumplimiento" in first.message  # Spanish, and never a violation
    assert not Review.objects.exists()
    s = state(enrolled)
    assert s.state is CheckInState.RETAKE and s.retake_needed and s.can_check_in
    with translation.override("es"):
        assert s.retake_message == first.message
    second = attempt(2)
    assert second.outcome == "review"
    review = Review.objects.get()
    assert review.kind == ReviewKind.NOT_LIVE and review.checkin.attempt == 2
    assert Enrolment.objects.get().compliance == Compliance.COMPLIANT  # only a person decides
    tries = list(CheckIn.objects.order_by("attempt"))
    assert [(t.outcome, t.liveness_outcome, t.liveness_reason) for t in tries] == [
        ("retake", "not_live", reason), ("review", "not_live", reason)]
    for t in tries:  # the key frame and the other frames, encrypted, for the reviewer
        assert t.image_encrypted is not None and t.frames_encrypted is not None
        assert b"take" not in bytes(t.frames_encrypted)
    assert state(enrolled).state is CheckInState.IN_REVIEW


def test_a_face_that_does_not_match_asks_for_a_retake_and_a_good_one_verifies(enrolled, stub):
    first = check_in(enrolled, stub, person="stranger")[1]
    retake = CheckIn.objects.get()
    assert first.outcome == "retake" and retake.face_outcome == "no_match"
    assert retake.liveness_outcome == "live"
    assert "foto de inscripción" in first.message and "incumplimiento" in first.message
    second = check_in(enrolled, stub, take=2)[1]
    assert second.outcome == "verified"
    retake.refresh_from_db()  # no review will need the first try's pictures
    assert retake.image_encrypted is None and retake.frames_encrypted is None
    assert not Review.objects.exists()
    assert state(enrolled).state is CheckInState.VERIFIED


def test_with_one_try_per_window_a_failure_goes_straight_to_review(stub, users, make_person):
    person = make_person("officer_east", "Rosa", "Diaz", languages=["es"])
    one_try = services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                             data=enrolment_input(max_attempts=1))
    assert check_in(one_try, stub, planar=True)[1].outcome == "review"


def test_a_retake_not_sent_is_reviewed_when_the_window_closes(enrolled, stub):
    check_in(enrolled, stub, planar=True)
    schedule = enrolled.enrolment.schedule
    _opens, _closes, until = schedule.current_window(clock.now())
    assert services.sweep_missed_windows(now=until + timedelta(minutes=1)) == 1
    review = Review.objects.get()
    assert review.kind == ReviewKind.NOT_LIVE and review.checkin == CheckIn.objects.get()


def test_a_verifier_without_landmarks_sends_the_burst_to_review(enrolled, stub, settings):
    plain = StubVerifier()
    settings.FACE_VERIFIER = plain
    issued = challenge(enrolled)
    receipt = send(enrolled, burst(stub, list(issued.prompts)), issued.id)
    assert receipt.outcome == "review"
    assert Review.objects.get().kind == ReviewKind.UNCERTAIN
    assert CheckIn.objects.get().liveness_reason == "unsupported_verifier"


# --- refused challenges -----------------------------------------------------------------------
def _refused(enrolled, stub, challenge_id, error, code, frames=None):
    before, stored = last_event_id(), CheckIn.objects.count()
    frames = frames or burst(stub, ["turn_left", "turn_right"], take=9)
    with pytest.raises(error) as exc:
        send(enrolled, frames, challenge_id)
    assert exc.value.code == code
    assert CheckIn.objects.count() == stored
    [event] = refusals(before)
    assert (event.action, event.detail["reason"]) == ("checkin", code)
    return event


def test_an_expired_challenge_is_refused(enrolled, stub):
    issued = challenge(enrolled)
    CheckInChallenge.objects.filter(pk=issued.id).update(
        expires_at=clock.now() - timedelta(seconds=1))
    event = _refused(enrolled, stub, issued.id, ValidationError, "challenge_expired")
    assert event.subject_id == enrolled.enrolment.person_id
    assert event.detail["challenge"] == str(issued.id)
    assert not CheckIn.objects.exists()


def test_a_challenge_of_another_window_is_refused(enrolled, stub):
    issued = challenge(enrolled)
    CheckInChallenge.objects.filter(pk=issued.id).update(
        window_opens_at=clock.now() - timedelta(days=7))
    _refused(enrolled, stub, issued.id, ValidationError, "challenge_expired")


def test_a_challenge_is_used_once_whatever_came_of_it(enrolled, stub):
    issued = challenge(enrolled)
    too_few = burst(stub, list(issued.prompts))[:2]  # fewer frames than the check needs
    with pytest.raises(ValidationError) as exc:
        send(enrolled, too_few, issued.id)
    assert exc.value.code == "too_few_faces"
    _refused(enrolled, stub, issued.id, Conflict, "challenge_used",
             frames=burst(stub, list(issued.prompts), take=2))
    assert not CheckIn.objects.exists()


def test_another_participants_challenge_is_refused_naming_its_person(
    enrolled, stub, users, make_person
):
    luis = make_person("officer_east", "Luis", "Fernandez", languages=["es"])
    other = services.enrol(ctx=context(users["officer_east"]), person_id=luis.pk,
                           data=enrolment_input())
    theirs = services.issue_challenge(user=other.enrolment.person.participant_account)
    event = _refused(enrolled, stub, theirs.id, NotFound, "challenge_unknown")
    assert event.subject_id == luis.pk
    assert (event.record_type, event.record_id) == ("supervision.checkinchallenge",
                                                    str(theirs.id))
    assert CheckInChallenge.objects.get(pk=theirs.id).used_at is None  # still Luis's to use


@pytest.mark.parametrize("challenge_id", [uuid.uuid4(), "not-an-id", ""])
def test_an_unknown_challenge_is_refused(enrolled, stub, challenge_id):
    frames = burst(stub, ["turn_left", "turn_right"])
    event = _refused(enrolled, stub, challenge_id, NotFound, "challenge_unknown", frames=frames)
    assert event.subject_id == enrolled.enrolment.person_id


# --- refused bursts ---------------------------------------------------------------------------
def _bad_burst(enrolled, stub, frames, code):
    issued = challenge(enrolled)
    before = last_event_id()
    with pytest.raises(ValidationError) as exc:
        send(enrolled, frames(issued), issued.id)
    assert exc.value.code == code
    assert not CheckIn.objects.exists()
    [event] = refusals(before)
    assert event.detail == {"reason": code, "challenge": str(issued.id), "device": "other"}
    assert event.subject_id == enrolled.enrolment.person_id
    return exc.value


def test_too_many_frames_are_refused(enrolled, stub):
    def seven(issued):
        frames = burst(stub, list(issued.prompts))
        return frames + [frames[0]] * (liveness.MAX_FRAMES + 1 - len(frames))

    _bad_burst(enrolled, stub, seven, "too_many_frames")


def test_a_huge_frame_is_refused(enrolled, stub):
    def huge(issued):
        return [*burst(stub, list(issued.prompts)), b"\xff" * (liveness.MAX_FRAME_BYTES + 1)]

    _bad_burst(enrolled, stub, huge, "frame_too_large")


def test_a_corrupt_frame_is_refused_in_the_participants_language(enrolled, stub):
    def corrupt(issued):
        return [*burst(stub, list(issued.prompts)), b"\xff\xd8\xff\xe0 not really a JPEG"]

    error = _bad_burst(enrolled, stub, corrupt, "bad_frame")
    assert "cámara" in error.message


def test_no_frames_are_refused(enrolled, stub):
    _bad_burst(enrolled, stub, lambda issued: [], "no_frames")


# --- one photo --------------------------------------------------------------------------------
def test_a_single_photo_is_never_verified_while_liveness_is_on(enrolled, stub):
    before = last_event_id()
    with pytest.raises(ValidationError) as exc:
        services.submit_check_in(user=account(enrolled), image=ANA_SELFIE, latitude="40.7",
                                 longitude="-74.0", accuracy="20")
    assert exc.value.code == "liveness_required"
    assert not CheckIn.objects.exists()
    assert refusals(before)[0].detail["reason"] == "liveness_required"


def test_with_liveness_off_the_single_photo_still_checks_in(enrolled, stub, settings):
    settings.LIVENESS_REQUIRED = False
    receipt = services.submit_check_in(user=account(enrolled), image=ANA_SELFIE,
                                       latitude="40.7", longitude="-74.0", accuracy="20")
    assert receipt.outcome == "verified"
    assert CheckIn.objects.get().liveness_outcome == ""


def test_a_burst_sent_again_after_a_lost_answer_gets_its_receipt(enrolled, stub):
    issued = challenge(enrolled)
    frames = burst(stub, list(issued.prompts), planar=True)
    sid = uuid.uuid4()
    first = send(enrolled, frames, issued.id, submission_id=sid)
    again = send(enrolled, frames, issued.id, submission_id=sid)
    assert again.repeated and (again.id, again.outcome) == (first.id, "retake")
    assert CheckIn.objects.count() == 1


# --- the reviewer -----------------------------------------------------------------------------
def test_the_reviewer_sees_every_frame_until_the_review_is_decided(enrolled, stub, users):
    officer = context(users["officer_east"])
    frames = {}
    for take in (1, 2):
        issued = challenge(enrolled)
        frames[take] = burst(stub, list(issued.prompts), planar=True, take=take)
        send(enrolled, frames[take], issued.id)
    review = Review.objects.get()
    tries = list(CheckIn.objects.order_by("attempt"))
    for take, t in zip((1, 2), tries, strict=True):
        assert selectors.burst_frames_kept(t) == [0, 1, 2]
        shown = [selectors.review_image(ctx=officer, review_id=review.pk, checkin_id=t.pk,
                                        frame=k) for k in range(3)]
        assert shown == frames[take]
        assert selectors.review_image(ctx=officer, review_id=review.pk,
                                      checkin_id=t.pk) == frames[take][0]
    reads = Event.objects.filter(action="read", data_category="biometric")
    assert reads.filter(detail__frame=2).count() == 2
    services.dispose_review(ctx=officer, review_id=review.pk,
                            disposition="technical_problem", note="a poster behind")
    for t in tries:
        t.refresh_from_db()
        assert t.frames_encrypted is None and t.image_encrypted is not None
        assert selectors.burst_frames_kept(t) == [0]
    with pytest.raises(NotFound):
        selectors.review_image(ctx=officer, review_id=review.pk, checkin_id=tries[0].pk,
                               frame=1)
    decided = Event.objects.filter(action="decide").latest("id")
    assert decided.detail["burst_frames_deleted"] == 2


def test_the_challenge_expires_on_the_clock_of_the_check(enrolled, stub):
    issued = challenge(enrolled)
    frames = burst(stub, list(issued.prompts))
    later = clock.now() + liveness.CHALLENGE_TTL + timedelta(seconds=1)
    with mock.patch("caseledger.core.clock.now", return_value=later), \
            pytest.raises(ValidationError) as exc:
        send(enrolled, frames, issued.id)
    assert exc.value.code == "challenge_expired"


def test_the_sweep_deletes_old_challenges(enrolled):
    issued = challenge(enrolled)
    assert services.purge_challenges(now=clock.now() + timedelta(hours=1)) == 0
    assert services.purge_challenges(now=clock.now() + timedelta(days=2)) == 1
    assert not CheckInChallenge.objects.filter(pk=issued.id).exists()
