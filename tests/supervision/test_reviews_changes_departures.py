"""Only a human disposition changes compliance; changes need two people; departures close."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from caseledger.cases.models import Case
from caseledger.cases.services import open_case
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from caseledger.supervision import selectors, services
from caseledger.supervision.models import (
    ChangeRequest,
    CheckIn,
    Compliance,
    Enrolment,
    ReferencePhoto,
    Review,
)
from tests.conftest import context, last_event_id
from tests.supervision.conftest import ANA_SELFIE, ENROL_PHOTO, STRANGER, ana_today

pytestmark = pytest.mark.django_db


def failed_check(enrolled):
    return services.submit_check_in(user=enrolled.enrolment.person.participant_account,
                                    image=STRANGER, latitude="40.7", longitude="-74.0",
                                    accuracy="30")


@pytest.mark.parametrize(("disposition", "compliance"), [
    ("verified_by_review", Compliance.COMPLIANT),
    ("technical_problem", Compliance.COMPLIANT),
    ("needs_contact", Compliance.NEEDS_CONTACT),
    ("suspected_impersonation", Compliance.NON_COMPLIANT),
])
def test_disposition_is_what_changes_compliance(enrolled, users, disposition, compliance):
    failed_check(enrolled)
    enrolment = Enrolment.objects.get()
    assert enrolment.compliance == Compliance.COMPLIANT  # the failed check changed nothing
    review = Review.objects.get()
    mark = last_event_id()
    services.dispose_review(ctx=context(users["officer_east"]), review_id=review.pk,
                            disposition=disposition,
                            note="Compared with the enrolment photo and called the person")
    enrolment.refresh_from_db()
    assert enrolment.compliance == compliance
    event = Event.objects.get(id__gt=mark)
    assert event.detail["disposition"] == disposition
    assert event.detail["compliance_after"] == compliance
    image_row = CheckIn.objects.get()
    assert image_row.image_delete_after == timezone.localdate() + timedelta(days=28)
    with pytest.raises(Conflict):
        services.dispose_review(ctx=context(users["officer_east"]), review_id=review.pk,
                                disposition="verified_by_review")


def test_review_refusals(enrolled, users):
    failed_check(enrolled)
    review = Review.objects.get()
    with pytest.raises(ValidationError):
        services.dispose_review(ctx=context(users["officer_east"]), review_id=review.pk,
                                disposition="violation")
    with pytest.raises(ValidationError, match="20 characters"):
        services.dispose_review(ctx=context(users["officer_east"]), review_id=review.pk,
                                disposition="suspected_impersonation", note="looks off")
    with pytest.raises(NotFound):
        services.dispose_review(ctx=context(users["officer_west"]), review_id=review.pk,
                                disposition="verified_by_review")
    with pytest.raises(PermissionDenied):
        services.dispose_review(ctx=context(users["privacy"]), review_id=review.pk,
                                disposition="verified_by_review")
    assert Review.objects.get().disposition == ""


def test_reviewer_sees_score_history_and_image_and_the_read_is_logged(enrolled, users):
    failed_check(enrolled)
    services.submit_check_in(user=enrolled.enrolment.person.participant_account, image=ANA_SELFIE,
                             latitude="40.7", longitude="-74.0", accuracy="30")
    ctx = context(users["officer_east"])
    queue = selectors.review_queue(ctx=ctx)
    assert [r.kind for r in queue] == ["failed_check"]
    detail = selectors.get_review(ctx=ctx, review_id=queue[0].pk)
    assert [c.outcome for c in detail.attempts] == ["review", "verified"]
    assert detail.attempts[0].distance > detail.attempts[0].threshold
    mark = last_event_id()
    image = selectors.review_image(ctx=ctx, review_id=queue[0].pk,
                                   checkin_id=detail.attempts[0].pk)
    assert image == STRANGER
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.data_category, event.subject_id) == (
        "read", "biometric", enrolled.enrolment.person_id)
    with pytest.raises(NotFound):  # the verified attempt kept no image
        selectors.review_image(ctx=ctx, review_id=queue[0].pk, checkin_id=detail.attempts[1].pk)
    with pytest.raises(NotFound):
        selectors.review_image(ctx=context(users["officer_west"]), review_id=queue[0].pk,
                               checkin_id=detail.attempts[0].pk)
    assert selectors.review_queue(ctx=context(users["officer_west"])) == []
    assert len(selectors.review_queue(ctx=context(users["supervisor_east"]))) == 1


def test_overdue_reviews_surface_first(enrolled, users):
    failed_check(enrolled)
    Review.objects.update(due_at=timezone.now() - timedelta(hours=1))
    rows, weekly = selectors.supervision_dashboard(ctx=context(users["supervisor_east"]))
    assert rows[0].overdue_reviews == 1 and rows[0].pending_reviews == 1
    assert sum(weekly["review"]) == 1 and len(weekly["weeks"]) == 8


def test_level_change_needs_a_second_person(enrolled, users):
    officer, supervisor = context(users["officer_east"]), context(users["supervisor_east"])
    request = services.propose_change(ctx=officer, enrolment_id=enrolled.enrolment.pk,
                                      kind="level", proposed_level="reduced",
                                      reason="Six months of verified check-ins")
    with pytest.raises(PermissionDenied):  # an officer cannot approve
        services.decide_change(ctx=officer, request_id=request.pk, approve=True)
    mark = last_event_id()
    services.decide_change(ctx=supervisor, request_id=request.pk, approve=True)
    assert Enrolment.objects.get().level == "reduced"
    assert Event.objects.get(id__gt=mark).detail["decision"] == "approved"


def test_self_approval_is_refused(enrolled, users):
    supervisor = context(users["supervisor_east"])
    request = services.propose_change(ctx=supervisor, enrolment_id=enrolled.enrolment.pk,
                                      kind="level", proposed_level="intensive",
                                      reason="Missed two hearings in a row")
    with pytest.raises(PermissionDenied) as err:
        services.decide_change(ctx=supervisor, request_id=request.pk, approve=True)
    assert err.value.code == "self_approval"
    assert Enrolment.objects.get().level == "standard"
    # and the database refuses it too
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.filter(pk=request.pk).update(decided_by=users["supervisor_east"])


def test_termination_ends_supervision_and_schedules_photo_deletion(enrolled, users):
    request = services.propose_change(ctx=context(users["officer_east"]),
                                      enrolment_id=enrolled.enrolment.pk, kind="termination",
                                      reason="Relief granted by the court")
    with pytest.raises(ValidationError):  # declining needs a reason
        services.decide_change(ctx=context(users["supervisor_east"]), request_id=request.pk,
                               approve=False)
    services.decide_change(ctx=context(users["supervisor_east"]), request_id=request.pk,
                           approve=True)
    enrolment = Enrolment.objects.get()
    assert enrolment.status == "ended" and enrolment.end_reason == "terminated"
    photo = ReferencePhoto.objects.get()
    assert not photo.active
    assert photo.delete_after == timezone.localdate() + timedelta(days=30)


def test_departure_closes_the_case(enrolled, users):
    ctx = context(users["officer_east"])
    case = open_case(ctx=ctx, person_id=enrolled.enrolment.person_id, case_type="removal",
                     court_code="NYC")
    departure = services.confirm_departure(
        ctx=ctx, enrolment_id=enrolled.enrolment.pk, kind="self_departure",
        evidence_kind="consular", evidence_reference="MX-CONS-2026-0042",
        departed_on=ana_today())
    assert departure.case_id == case.pk
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_reason == "departed_self_departure"
    assert list(case.status_changes.values_list("to_status", flat=True)) == ["departed", "closed"]
    assert Enrolment.objects.get().status == "ended"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"evidence_kind": "boarding_document"}, "evidence_file"),
    ({"evidence_kind": "checkin_abroad"}, "checkin"),
    ({"evidence_kind": "consular", "evidence_reference": ""}, "evidence_reference"),
    ({"departed_on": timezone.localdate() + timedelta(days=3)}, "departed_on"),
    ({"kind": "deported"}, "kind"),
])
def test_departure_refusals(enrolled, users, kwargs, field):
    args = dict(kind="voluntary_departure", evidence_kind="consular",
                evidence_reference="MX-1", departed_on=ana_today())
    args.update(kwargs)
    with pytest.raises(ValidationError) as err:
        services.confirm_departure(ctx=context(users["officer_east"]),
                                   enrolment_id=enrolled.enrolment.pk, **args)
    assert err.value.field == field
    assert Enrolment.objects.get().status == "active"
    assert not Case.objects.filter(status="closed").exists()


def test_representative_sees_the_disposition_but_not_the_image(enrolled, users):
    from datetime import date

    from caseledger.people.services import record_representation

    failed_check(enrolled)
    record_representation(ctx=context(users["officer_east"]),
                          person_id=enrolled.enrolment.person_id,
                          representative=users["representative"], form="EOIR-28",
                          filed_on=date(2026, 3, 1))
    rep = context(users["representative"])
    review = selectors.review_queue(ctx=rep)[0]
    detail = selectors.get_review(ctx=rep, review_id=review.pk)
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.review_image(ctx=rep, review_id=review.pk, checkin_id=detail.attempts[0].pk)
    denial = Event.objects.get(id__gt=mark)
    assert (denial.outcome, denial.data_category) == ("denied", "biometric")
    with pytest.raises(PermissionDenied):
        services.dispose_review(ctx=rep, review_id=review.pk, disposition="verified_by_review")


def test_confirmed_departure_shows_on_the_officer_dashboard(enrolled, users, web_client):
    services.confirm_departure(ctx=context(users["officer_east"]),
                               enrolment_id=enrolled.enrolment.pk, kind="self_departure",
                               evidence_kind="consular", evidence_reference="MX-CONS-7",
                               departed_on=ana_today())
    listed = selectors.recent_departures(ctx=context(users["supervisor_east"]))
    assert [d.enrolment_id for d in listed] == [enrolled.enrolment.pk]
    assert selectors.recent_departures(ctx=context(users["officer_west"])) == []
    page = web_client(users["officer_east"]).get("/supervision/").content.decode()
    assert "Departures confirmed recently" in page and "MX-CONS-7" in page


def test_reviewer_sees_the_enrolment_photo_beside_the_check_in(enrolled, users, web_client):
    failed_check(enrolled)
    ctx = context(users["officer_east"])
    review = selectors.review_queue(ctx=ctx)[0]
    assert selectors.get_review(ctx=ctx, review_id=review.pk).has_reference
    reference = ReferencePhoto.objects.get(enrolment=enrolled.enrolment)
    mark = last_event_id()
    photo = selectors.review_reference_image(ctx=ctx, review_id=review.pk)
    assert photo == ENROL_PHOTO
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.data_category, event.record_id) == (
        "read", "biometric", str(reference.pk))
    page = web_client(users["officer_east"]).get(f"/supervision/reviews/{review.pk}/")
    assert f'/supervision/reviews/{review.pk}/reference/' in page.content.decode()
    image = web_client(users["officer_east"]).get(f"/supervision/reviews/{review.pk}/reference/")
    assert image.status_code == 200 and image["Cache-Control"] == "no-store"
    assert image.content == ENROL_PHOTO
    # Another office's officer and a representative get nothing, and the refusal is recorded.
    with pytest.raises(NotFound):
        selectors.review_reference_image(ctx=context(users["officer_west"]), review_id=review.pk)
    # Once the photo is no longer kept, the page says so and the image is not found.
    ReferencePhoto.objects.update(photo_encrypted=b"")
    assert not selectors.get_review(ctx=ctx, review_id=review.pk).has_reference
    with pytest.raises(NotFound):
        selectors.review_reference_image(ctx=ctx, review_id=review.pk)


def test_dashboard_shows_each_enrolments_own_last_check_in(enrolled, users, stub, make_person):
    """Ben's only check-in happened at the same instant as an older one of Ana's: each row
    still shows its own latest (matching by time alone could give Ana her older one)."""
    from tests.retention.conftest import make_checkin
    from tests.supervision.conftest import enrolment_input

    stub.add(b"ben-enrolment-photo", person="ben")
    ben = make_person("officer_east", "Ben", "Okafor", languages=["en"])
    second = services.enrol(ctx=context(users["officer_east"]), person_id=ben.pk,
                            data=enrolment_input(photo=b"ben-enrolment-photo")).enrolment
    mine = make_checkin(enrolled.enrolment, submitted_days_ago=1)
    older = make_checkin(enrolled.enrolment, submitted_days_ago=2)  # entered after, older
    theirs = make_checkin(second, submitted_days_ago=1)
    CheckIn.objects.filter(pk=theirs.pk).update(submitted_at=older.submitted_at)
    rows, _weekly = selectors.supervision_dashboard(ctx=context(users["officer_east"]))
    last = {row.enrolment.pk: row.last_checkin.pk for row in rows}
    assert last == {enrolled.enrolment.pk: mine.pk, second.pk: theirs.pk}
    assert older.pk not in last.values()


@pytest.mark.parametrize(("departed_on", "refused"), [
    (date(2026, 12, 8), True),  # UTC's today, but tomorrow in New York
    (date(2026, 12, 7), False),
])
def test_a_departure_is_dated_no_later_than_today_at_the_persons_office(
        enrolled, users, clock_from, departed_on, refused):
    clock_from(datetime(2026, 12, 8, 1, 30, tzinfo=UTC))  # 20:30 on the 7th in New York

    def confirm():
        return services.confirm_departure(
            ctx=context(users["officer_east"]), enrolment_id=enrolled.enrolment.pk,
            kind="self_departure", evidence_kind="consular", evidence_reference="MX-CONS-12",
            departed_on=departed_on)

    if refused:
        with pytest.raises(ValidationError, match="cannot be in the future") as err:
            confirm()
        assert err.value.field == "departed_on"
        assert Enrolment.objects.get().status == "active"
    else:
        assert confirm().departed_on == departed_on
        assert Enrolment.objects.get().status == "ended"
