"""Retention of what a liveness burst leaves on a check-in: the other frames of a try that
was not verified, the liveness record of a verified one, and the images of a try that no
review decision will ever date (class `unreviewed_check_image`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caseledger.core import clock
from caseledger.retention import services
from caseledger.retention.checks import unaccounted_columns
from caseledger.retention.classes import KEPT_FIELDS, SPECS, cleared_fields
from caseledger.retention.models import DeletionCertificate, DeletionItem, Schedule
from caseledger.retention.services import run_purge
from caseledger.supervision import services as supervision
from caseledger.supervision.models import CheckIn, Enrolment, Review
from tests.retention.conftest import FUTURE, PAST, make_checkin
from tests.supervision.conftest import burst

UNREVIEWED = "unreviewed_check_image"
FRAMES = b"sealed-frames"
LIVENESS = {"challenge": {"prompts": ["left", "right"]}, "frames": [{"yaw": -21.5}]}


def _try(enrolment, *, days_ago: int = 40, outcome: str = "retake", image_due=None, **kw):
    """A stored try that was not verified (key image and other frames kept)."""
    row = make_checkin(enrolment, outcome=outcome, image_due=image_due,
                       submitted_days_ago=days_ago, **kw)
    CheckIn.objects.filter(pk=row.pk).update(frames_encrypted=FRAMES, liveness=LIVENESS)
    row.refresh_from_db()
    return row


def _review(checkin, *, decided: bool) -> Review:
    now = clock.now()
    return Review.objects.create(
        enrolment=checkin.enrolment, checkin=checkin, window_opens_at=checkin.window_opens_at,
        kind="not_live", opened_at=now, due_at=now,
        disposition="technical_problem" if decided else "", decided_at=now if decided else None,
    )


def _end(enrolment, *, days_ago: int) -> None:
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status="ended", ended_at=clock.now() - timedelta(days=days_ago)
    )


def _images(row) -> tuple[bytes | None, bytes | None]:
    row.refresh_from_db()
    image, frames = row.image_encrypted, row.frames_encrypted
    return (bytes(image) if image is not None else None,
            bytes(frames) if frames is not None else None)


KEPT = (b"sealed-image-bytes", FRAMES)
CLEARED = (None, None)


# --- the frames go with the key frame, the liveness record with a match's measures -----------
def test_a_decided_failures_frames_go_with_its_image(enrolled, privacy_ctx):
    due = _try(enrolled.enrolment, outcome="review", image_due=PAST)
    later = _try(enrolled.enrolment, outcome="review", image_due=FUTURE)
    frames_only = _try(enrolled.enrolment, outcome="review", image_due=PAST)
    CheckIn.objects.filter(pk=frames_only.pk).update(image_encrypted=None)

    result = run_purge(privacy_ctx, data_class="failed_check_image")

    assert result.classes["failed_check_image"].deleted == 2
    assert _images(due) == CLEARED and _images(frames_only) == CLEARED
    assert _images(later) == KEPT
    due.refresh_from_db()
    assert due.outcome == "review" and due.liveness == LIVENESS  # the failed try's record stays
    assert run_purge(privacy_ctx, data_class="failed_check_image").deleted == 0


def test_a_verified_tries_liveness_record_goes_with_its_measures(enrolled, privacy_ctx):
    old = make_checkin(enrolled.enrolment, image=False, outcome="verified",
                       submitted_days_ago=120)
    new = make_checkin(enrolled.enrolment, image=False, outcome="verified",
                       submitted_days_ago=10)
    # measures already cleared before liveness existed: only the liveness record is left
    bare = make_checkin(enrolled.enrolment, image=False, outcome="verified",
                        submitted_days_ago=120)
    CheckIn.objects.filter(pk__in=[old.pk, new.pk, bare.pk]).update(
        liveness=LIVENESS, liveness_outcome="live", liveness_reason="ok"
    )
    CheckIn.objects.filter(pk=bare.pk).update(distance=None, quality={})

    result = run_purge(privacy_ctx, data_class="matched_checkin_data")

    assert result.classes["matched_checkin_data"].deleted == 2
    for row in (old, new, bare):
        row.refresh_from_db()
    assert old.liveness == {} and bare.liveness == {} and old.distance is None
    assert old.liveness_outcome == "live" and old.liveness_reason == "ok"  # the record stays
    assert new.liveness == LIVENESS
    again = run_purge(privacy_ctx, data_class="matched_checkin_data")
    assert again.classes["matched_checkin_data"].due == 0


# --- tries no review decision will date ---------------------------------------------------------
def test_a_retake_never_reviewed_goes_30_days_after_it_while_supervision_lasts(
    enrolled, privacy_ctx
):
    e = enrolled.enrolment
    lost = _try(e, days_ago=40)  # its window had no review (the sweep never reached it)
    recent = _try(e, days_ago=10)
    waiting = _try(e, days_ago=40)
    _review(waiting, decided=False)  # a reviewer will still look at it
    after_decision = _try(e, days_ago=45, outcome="review")
    _review(after_decision, decided=True)  # decided before this try: nothing will date it
    dated = _try(e, days_ago=40, outcome="review", image_due=FUTURE)  # failed_check_image's

    result = run_purge(privacy_ctx, data_class=UNREVIEWED)

    assert result.classes[UNREVIEWED].deleted == 2
    assert _images(lost) == CLEARED and _images(after_decision) == CLEARED
    assert _images(recent) == KEPT and _images(waiting) == KEPT and _images(dated) == KEPT
    lost.refresh_from_db()
    assert lost.outcome == "retake" and lost.latitude is not None  # only the images go
    certificate = DeletionCertificate.objects.get(data_class=UNREVIEWED)
    assert sorted(certificate.record_ids) == sorted([str(lost.pk), str(after_decision.pk)])
    assert certificate.schedule.period_days == 30 and certificate.method == "clear_fields"
    assert DeletionItem.objects.get().person_id == e.person_id
    assert run_purge(privacy_ctx, data_class=UNREVIEWED).deleted == 0


@pytest.mark.parametrize(("ended_days_ago", "cleared"), [(40, True), (10, False)])
def test_when_supervision_ends_undecided_tries_go_30_days_later(
    enrolled, privacy_ctx, ended_days_ago, cleared
):
    e = enrolled.enrolment
    retake = _try(e, days_ago=ended_days_ago + 5)
    undecided = _try(e, days_ago=ended_days_ago + 1, outcome="review")
    _review(undecided, decided=False)  # left undecided when supervision ended
    _end(e, days_ago=ended_days_ago)

    run_purge(privacy_ctx, data_class=UNREVIEWED)

    expected = CLEARED if cleared else KEPT
    assert _images(retake) == expected and _images(undecided) == expected


def test_a_legal_hold_keeps_unreviewed_images(enrolled, second, users, privacy_ctx):
    held = _try(enrolled.enrolment)
    other = _try(second.enrolment)
    services.place_hold(ctx=privacy_ctx, person_id=enrolled.enrolment.person_id,
                        data_class=UNREVIEWED, reason="Litigation about check-in photos.")

    result = run_purge(privacy_ctx, data_class=UNREVIEWED)

    assert result.classes[UNREVIEWED].held == 1 and result.classes[UNREVIEWED].deleted == 1
    assert _images(held) == KEPT and _images(other) == CLEARED


def test_a_real_retake_not_sent_before_supervision_ends_is_purged(
    enrolled, stub, settings, privacy_ctx
):
    """Through the services: a burst that does not match asks for a retake, supervision ends
    before it is sent, the sweep opens no review; 30 days after the end the pictures go."""
    settings.LIVENESS_REQUIRED = True
    user = enrolled.enrolment.person.participant_account
    issued = supervision.issue_challenge(user=user)
    frames = burst(stub, list(issued.prompts), person="stranger")
    receipt = supervision.submit_check_in(user=user, frames=frames, challenge_id=issued.id,
                                          latitude="40.7128", longitude="-74.0060",
                                          accuracy="25")
    assert receipt.outcome == "retake"
    retake = CheckIn.objects.get()
    assert retake.image_encrypted is not None and retake.frames_encrypted is not None
    assert retake.image_delete_after is None and retake.liveness
    _end(enrolled.enrolment, days_ago=10)
    supervision.sweep_missed_windows(now=clock.now() + timedelta(days=2))
    assert not Review.objects.exists()

    assert run_purge(privacy_ctx, data_class=UNREVIEWED).deleted == 0  # not yet
    _end(enrolled.enrolment, days_ago=31)
    assert run_purge(privacy_ctx, data_class=UNREVIEWED).deleted == 1
    retake.refresh_from_db()
    assert retake.image_encrypted is None and retake.frames_encrypted is None
    assert retake.outcome == "retake" and retake.liveness_outcome  # the compliance record


# --- the coverage check knows every column --------------------------------------------------
def test_every_checkin_column_is_cleared_or_kept():
    cleared = cleared_fields()["supervision.CheckIn"]
    assert {"image_encrypted", "frames_encrypted", "liveness", "distance", "quality",
            "latitude", "longitude"} <= cleared
    assert not cleared & set(KEPT_FIELDS["supervision.CheckIn"])
    assert unaccounted_columns() == []


def test_the_schedules_name_the_new_data(db):
    unreviewed = Schedule.objects.get(data_class=UNREVIEWED)
    assert unreviewed.period_days == 30 and unreviewed.method == "clear_fields"
    assert "retake" in unreviewed.citation and "undecided" in unreviewed.citation
    failed = Schedule.objects.get(data_class="failed_check_image")
    assert "other frames" in failed.citation and failed.version == 2
    matched = Schedule.objects.get(data_class="matched_checkin_data")
    assert "liveness measures" in matched.citation and matched.version == 2


def test_the_check_names_a_column_nobody_decided_on(monkeypatch):
    from caseledger.retention import classes

    kept = tuple(f for f in KEPT_FIELDS["supervision.CheckIn"] if f != "liveness_reason")
    monkeypatch.setitem(classes.KEPT_FIELDS, "supervision.CheckIn", kept)
    matched = SPECS["matched_checkin_data"]
    monkeypatch.setitem(
        classes.SPECS, "matched_checkin_data",
        type(matched)(**{**matched.__dict__, "clears": {"distance": None, "quality": {}}}),
    )

    warnings = unaccounted_columns()

    assert sorted(w.msg.split(" ")[0] for w in warnings) == [
        "supervision.CheckIn.liveness",
        "supervision.CheckIn.liveness_reason",
    ]
    assert {w.id for w in warnings} == {"retention.W002"}
