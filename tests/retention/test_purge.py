"""The purge: only due data goes, holds keep theirs, every batch leaves a certificate (row and
ledger event with the ids), a second run finds nothing, a dry run writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from caseledger.core import clock
from caseledger.core.errors import PermissionDenied, ValidationError
from caseledger.imports.models import ImportBatch, QuarantinedRow
from caseledger.ledger.models import Event
from caseledger.retention import services
from caseledger.retention.models import (
    DeletionCertificate,
    DeletionItem,
    LegalHold,
    PurgeRun,
    Schedule,
)
from caseledger.retention.services import SYSTEM_CONTEXT, run_purge
from caseledger.supervision.models import CheckIn, Departure, ReferencePhoto, Review
from tests.conftest import context, last_event_id
from tests.retention.conftest import FUTURE, PAST, day, make_checkin


def _end_enrolment(enrolment, *, days_ago: int) -> None:
    from caseledger.supervision.models import Enrolment

    ended = clock.now() - timedelta(days=days_ago)
    Enrolment.objects.filter(pk=enrolment.pk).update(status="ended", ended_at=ended)


def test_purges_only_due_data_class_by_class(enrolled, users, privacy_ctx):
    e = enrolled.enrolment
    due_image = make_checkin(e, image_due=PAST)
    kept_image = make_checkin(e, image_due=FUTURE)
    undecided = make_checkin(e, image_due=None)  # review not decided when supervision ended
    due_location = make_checkin(e, image=False, location_due=PAST)
    old_match = make_checkin(e, image=False, outcome="verified", submitted_days_ago=120)
    new_match = make_checkin(e, image=False, outcome="verified", submitted_days_ago=10)
    photo = ReferencePhoto.objects.get(enrolment=e)
    ReferencePhoto.objects.filter(pk=photo.pk).update(active=False, delete_after=day(PAST))
    review = Review.objects.create(
        enrolment=e,
        window_opens_at=clock.now(),
        kind="failed_check",
        opened_at=clock.now(),
        due_at=clock.now(),
        disposition="technical_problem",
        note="Camera was broken.",
    )
    departure = Departure.objects.create(
        enrolment=e,
        kind="self_departure",
        evidence_kind="boarding_document",
        evidence_encrypted=b"sealed-boarding-pass",
        departed_on=clock.today(),
        confirmed_by=users["officer_east"],
        confirmed_at=clock.now() - timedelta(days=1200),
    )
    _end_enrolment(e, days_ago=1200)
    batch = ImportBatch.objects.create(
        file_name="p.csv",
        sha256="0" * 64,
        kind="persons",
        user=users["officer_east"],
        started_at=clock.now(),
    )
    old_row = QuarantinedRow.objects.create(
        batch=batch, line=2, raw="x", reason="invalid_date", message="m", retain_until=day(-1)
    )
    new_row = QuarantinedRow.objects.create(
        batch=batch, line=3, raw="y", reason="invalid_date", message="m", retain_until=day(0)
    )

    result = run_purge(privacy_ctx)

    for row in (
        due_image,
        kept_image,
        undecided,
        due_location,
        old_match,
        new_match,
        photo,
        review,
        departure,
    ):
        row.refresh_from_db()
    assert due_image.image_encrypted is None
    assert due_image.outcome == "review" and due_image.accuracy_m == 25.0  # the row stays
    assert bytes(kept_image.image_encrypted) == b"sealed-image-bytes"
    # no review decision will date it: supervision ended long ago (unreviewed_check_image)
    assert undecided.image_encrypted is None and undecided.outcome == "review"
    assert due_location.accuracy_m == 0
    assert due_location.latitude is None and due_location.longitude is None
    assert kept_image.latitude == Decimal("40.712800")
    assert old_match.distance is None and old_match.quality == {}
    assert old_match.outcome == "verified"
    assert new_match.distance == 0.3 and new_match.quality
    assert bytes(photo.photo_encrypted) == b"" and bytes(photo.template_encrypted) == b""
    assert photo.model_id  # the row (named by ledger events) stays
    assert review.note == "" and review.disposition == "technical_problem"
    assert departure.evidence_encrypted is None and departure.kind == "self_departure"
    assert not QuarantinedRow.objects.filter(pk=old_row.pk).exists()
    assert QuarantinedRow.objects.filter(pk=new_row.pk).exists()
    counts = {code: r.deleted for code, r in result.classes.items()}
    assert counts == {
        "failed_check_image": 1,
        "unreviewed_check_image": 1,
        "matched_checkin_data": 1,
        "checkin_location": 1,
        "face_template": 1,
        "enrolment_photo": 1,
        "departure_evidence": 1,
        "notes": 1,
        "import_quarantine": 1,
        "accounting": 0,
    }
    assert result.deleted == 9 and result.held == 0


def test_each_batch_writes_a_certificate_row_and_ledger_event(enrolled, privacy_ctx, users):
    e = enrolled.enrolment
    due = [make_checkin(e) for _ in range(5)]
    mark = last_event_id()

    result = run_purge(privacy_ctx, data_class="failed_check_image", batch_size=2)

    assert result.classes["failed_check_image"].deleted == 5
    certificates = list(DeletionCertificate.objects.order_by("issued_at", "id"))
    assert [c.count for c in certificates] == [2, 2, 1]
    assert sorted(i for c in certificates for i in c.record_ids) == sorted(str(c.pk) for c in due)
    schedule = Schedule.objects.get(data_class="failed_check_image")
    purge_events = Event.objects.filter(id__gt=mark, action="purge").order_by("id")
    assert purge_events.count() == 3
    for cert, event in zip(certificates, purge_events, strict=True):
        assert event.uuid == cert.ledger_event
        assert event.data_category == "retention"
        assert event.record_type == "retention.deletioncertificate"
        assert event.record_id == str(cert.pk)
        assert event.actor_id == str(users["privacy"].pk)
        assert event.detail["data_class"] == "failed_check_image"
        assert event.detail["count"] == cert.count
        assert event.detail["schedule"] == "failed_check_image"
        assert event.detail["schedule_version"] == schedule.version == cert.schedule_version
        assert event.detail["record_ids"] == cert.record_ids
        assert cert.persons == 1
    run = PurgeRun.objects.get(pk=result.run_id)
    assert run.finished_at is not None and run.started_by == users["privacy"]
    assert run.summary["failed_check_image"] == {
        "due": 5,
        "held": 0,
        "deleted": 5,
        "certificates": 3,
    }
    summary_event = Event.objects.get(id__gt=mark, action="purge_run")
    assert summary_event.record_id == str(run.pk)
    # per person: one item per certificate, with its count
    items = DeletionItem.objects.filter(person_id=e.person_id).order_by("deleted_at", "id")
    assert sorted(i.count for i in items) == [1, 2, 2]


def test_a_second_run_deletes_nothing(enrolled, privacy_ctx):
    e = enrolled.enrolment
    make_checkin(e, location_due=PAST)
    make_checkin(e, location_due=PAST)
    first = run_purge(privacy_ctx)
    assert first.deleted == 4  # two images, two locations
    certificates = DeletionCertificate.objects.count()
    mark = last_event_id()

    second = run_purge(privacy_ctx)

    assert second.deleted == 0 and second.due == 0
    assert DeletionCertificate.objects.count() == certificates
    assert not Event.objects.filter(id__gt=mark, action="purge").exists()


def test_dry_run_counts_and_writes_nothing(enrolled, privacy_ctx, users):
    e = enrolled.enrolment
    rows = [make_checkin(e) for _ in range(3)]
    make_checkin(e, image_due=FUTURE)
    LegalHold.objects.create(
        person_id=e.person_id,
        data_class="checkin_location",
        reason="Litigation hold for the location data",
        placed_by=users["privacy"],
        placed_at=clock.now(),
    )
    CheckIn.objects.filter(pk=rows[0].pk).update(location_delete_after=day(PAST))
    mark = last_event_id()

    result = run_purge(privacy_ctx, dry_run=True)

    assert result.dry_run and result.run_id is None
    assert result.classes["failed_check_image"].due == 3
    assert result.classes["failed_check_image"].takeable == 3
    assert result.classes["checkin_location"].due == 1
    assert result.classes["checkin_location"].held == 1
    assert result.classes["checkin_location"].takeable == 0
    assert result.deleted == 0
    assert Event.objects.filter(id__gt=mark).count() == 0
    assert not DeletionCertificate.objects.exists() and not PurgeRun.objects.exists()
    assert CheckIn.objects.filter(image_encrypted__isnull=False).count() == 4


def test_a_hold_keeps_the_held_persons_expired_data(enrolled, second, privacy_ctx):
    ana, ben = enrolled.enrolment, second.enrolment
    ana_rows = [make_checkin(ana, location_due=PAST) for _ in range(2)]
    ben_row = make_checkin(ben, location_due=PAST)
    hold = services.place_hold(
        ctx=privacy_ctx, person_id=ana.person_id, reason="Pending litigation: preserve all records"
    )

    result = run_purge(privacy_ctx)

    for row in (*ana_rows, ben_row):
        row.refresh_from_db()
    assert all(bytes(r.image_encrypted) == b"sealed-image-bytes" for r in ana_rows)
    assert all(r.accuracy_m == 25.0 for r in ana_rows)
    assert ben_row.image_encrypted is None and ben_row.accuracy_m == 0
    assert result.classes["failed_check_image"].held == 2
    assert result.classes["failed_check_image"].deleted == 1
    assert result.classes["checkin_location"].held == 2
    assert PurgeRun.objects.get(pk=result.run_id).summary["failed_check_image"]["held"] == 2
    certified = {i for c in DeletionCertificate.objects.all() for i in c.record_ids}
    assert not certified & {str(r.pk) for r in ana_rows}

    services.release_hold(ctx=privacy_ctx, hold_id=hold.pk, reason="Litigation settled.")
    after = run_purge(privacy_ctx)
    assert after.classes["failed_check_image"].deleted == 2
    assert after.classes["checkin_location"].deleted == 2


def test_a_hold_on_one_class_keeps_only_that_class(enrolled, privacy_ctx):
    e = enrolled.enrolment
    row = make_checkin(e, location_due=PAST)
    services.place_hold(
        ctx=privacy_ctx,
        person_id=e.person_id,
        data_class="checkin_location",
        reason="Location evidence requested by counsel",
    )

    run_purge(privacy_ctx)

    row.refresh_from_db()
    assert row.image_encrypted is None  # not held
    assert row.accuracy_m == 25.0  # held


def test_the_scheduled_job_runs_as_the_system(enrolled):
    make_checkin(enrolled.enrolment)
    mark = last_event_id()

    result = services.run_purge(SYSTEM_CONTEXT, trigger="task")

    assert result.deleted == 1
    event = Event.objects.get(id__gt=mark, action="purge")
    assert event.actor_role == "system" and event.actor_id == ""
    assert PurgeRun.objects.get(pk=result.run_id).started_by is None


def test_the_task_purges(enrolled):
    from caseledger.retention.tasks import purge_due

    make_checkin(enrolled.enrolment)
    out = purge_due.call(batch_size=10)
    assert out["classes"]["failed_check_image"]["deleted"] == 1
    assert CheckIn.objects.filter(image_encrypted__isnull=False).count() == 0


# --- refusals -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role", ["officer_east", "supervisor_east", "admin", "participant", "representative"]
)
def test_purge_by_another_role_is_refused_and_deletes_nothing(enrolled, users, role):
    row = make_checkin(enrolled.enrolment)
    mark = last_event_id()

    with pytest.raises(PermissionDenied) as err:
        run_purge(context(users[role]))

    assert "privacy officer" in err.value.message and err.value.code == "role"
    row.refresh_from_db()
    assert row.image_encrypted is not None
    events = list(Event.objects.filter(id__gt=mark))
    assert [(e.action, e.outcome) for e in events] == [("purge", "denied")]
    assert not PurgeRun.objects.exists()


def test_purging_ledger_events_is_refused(enrolled, privacy_ctx):
    make_checkin(enrolled.enrolment)
    before = Event.objects.count()

    with pytest.raises(ValidationError) as err:
        run_purge(privacy_ctx, data_class="ledger_event")

    assert err.value.code == "permanent" and "append-only" in err.value.message
    assert Event.objects.count() == before + 1  # only the recorded refusal
    assert Event.objects.order_by("-id").first().outcome == "denied"
    assert not DeletionCertificate.objects.exists()
    with pytest.raises(ValidationError) as err:
        run_purge(privacy_ctx, data_class="case_file")
    assert err.value.code == "not_automatic"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"data_class": "faces"}, "data_class"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10_001}, "batch_size"),
    ],
)
def test_bad_purge_arguments_are_refused(enrolled, privacy_ctx, kwargs, field):
    make_checkin(enrolled.enrolment)
    with pytest.raises(ValidationError) as err:
        run_purge(privacy_ctx, **kwargs)
    assert err.value.field == field
    assert CheckIn.objects.filter(image_encrypted__isnull=False).count() == 1
    assert not PurgeRun.objects.exists()
