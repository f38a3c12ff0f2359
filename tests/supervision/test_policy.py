"""Supervision through the one access policy: the participant's own paths reach only their
own enrolment, refusals name the person, and decisions are optimistic writes that never
overwrite a change made meanwhile."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.models import F

from caseledger.core.errors import Conflict, NotFound, PermissionDenied
from caseledger.ledger.models import Event
from caseledger.supervision import selectors, services
from caseledger.supervision.models import ChangeRequest, Enrolment, Review
from caseledger.supervision.services import reviews
from tests.conftest import context, last_event_id
from tests.supervision.conftest import ANA_SELFIE, STRANGER, ana_today

pytestmark = pytest.mark.django_db


def _check_in(enrolled, image=ANA_SELFIE):
    return services.submit_check_in(user=enrolled.enrolment.person.participant_account,
                                    image=image, latitude="40.7", longitude="-74.0",
                                    accuracy="30")


def _only_event_since(mark: int) -> Event:
    (event,) = Event.objects.filter(id__gt=mark)
    return event


# --- the participant's own paths -------------------------------------------------------------
def test_only_the_persons_own_context_has_an_active_enrolment(enrolled, users):
    """The officer sees Ana's enrolment through their caseload, but "my check-in schedule" is
    the participant's own: for anyone else it does not exist."""
    own = context(enrolled.enrolment.person.participant_account)
    assert selectors.participant_status(ctx=own).enrolment.pk == enrolled.enrolment.pk
    for name in ("officer_east", "supervisor_east", "participant"):
        with pytest.raises(NotFound) as err:
            selectors.participant_status(ctx=context(users[name]))
        assert err.value.code == "not_enrolled"


@pytest.mark.parametrize("asker", ["participant", "officer_east"])
def test_a_receipt_proof_of_someone_elses_check_in_is_a_recorded_denial(enrolled, users, asker):
    receipt = _check_in(enrolled)
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.receipt_proof(ctx=context(users[asker]), checkin_id=receipt.id)
    denial = _only_event_since(mark)
    assert (denial.action, denial.outcome, denial.record_type, denial.record_id) == (
        "read", "denied", "supervision.checkin", str(receipt.id))
    assert denial.subject_id == enrolled.enrolment.person_id


def test_a_receipt_proof_of_no_check_in_names_nobody(enrolled):
    own = context(enrolled.enrolment.person.participant_account)
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.receipt_proof(ctx=own, checkin_id="not-a-check-in")
    denial = _only_event_since(mark)
    assert (denial.outcome, denial.subject_id) == ("denied", None)


# --- role refusals name the person of the record ------------------------------------------------
def test_role_refusals_name_the_person_of_the_record(enrolled, users):
    _check_in(enrolled, image=STRANGER)
    review = Review.objects.get()
    change = services.propose_change(ctx=context(users["officer_east"]),
                                     enrolment_id=enrolled.enrolment.pk, kind="termination",
                                     reason="Relief granted by the court")
    person = enrolled.enrolment.person_id
    refused = [
        lambda: services.dispose_review(ctx=context(users["privacy"]), review_id=review.pk,
                                        disposition="verified_by_review"),
        lambda: services.propose_change(ctx=context(users["privacy"]),
                                        enrolment_id=enrolled.enrolment.pk, kind="termination",
                                        reason="Relief granted by the court"),
        lambda: services.decide_change(ctx=context(users["officer_east"]), request_id=change.pk,
                                       approve=True),
        lambda: services.confirm_departure(ctx=context(users["participant"]),
                                           enrolment_id=enrolled.enrolment.pk,
                                           kind="self_departure", evidence_kind="consular",
                                           evidence_reference="MX-1",
                                           departed_on=ana_today()),
    ]
    for attempt in refused:
        mark = last_event_id()
        with pytest.raises(PermissionDenied) as err:
            attempt()
        assert err.value.code == "role"
        denial = _only_event_since(mark)
        assert (denial.outcome, denial.subject_id) == ("denied", person)
    assert Review.objects.get().disposition == ""
    assert ChangeRequest.objects.get().decision == "pending"
    assert Enrolment.objects.get().status == "active"


# --- optimistic writes ---------------------------------------------------------------------------
def test_a_disposition_bumps_the_versions_of_the_review_and_the_enrolment(enrolled, users):
    _check_in(enrolled, image=STRANGER)
    review, enrolment = Review.objects.get(), Enrolment.objects.get()
    services.dispose_review(ctx=context(users["officer_east"]), review_id=review.pk,
                           disposition="technical_problem")
    assert Review.objects.get().row_version == review.row_version + 1
    assert Enrolment.objects.get().row_version == enrolment.row_version + 1


def test_a_disposition_on_an_enrolment_changed_meanwhile_is_a_conflict(enrolled, users):
    """Another write reaches the enrolment between the reviewer's read and their save: the
    decision is refused (reload and decide again), and nothing of it is kept."""
    _check_in(enrolled, image=STRANGER)
    review = Review.objects.get()
    real = reviews.require_review

    def read_then_changed_meanwhile(*args, **kwargs):
        found = real(*args, **kwargs)
        Enrolment.objects.update(row_version=F("row_version") + 1)
        return found

    mark = last_event_id()
    with mock.patch.object(reviews, "require_review", read_then_changed_meanwhile), \
            pytest.raises(Conflict) as err:
        services.dispose_review(ctx=context(users["officer_east"]), review_id=review.pk,
                                disposition="needs_contact")
    assert err.value.code == "stale_version"
    assert Review.objects.get().disposition == ""
    assert Enrolment.objects.get().compliance == "compliant"
    assert not Event.objects.filter(id__gt=mark, action="decide").exists()


@pytest.mark.parametrize(("kind", "level"), [("termination", ""), ("level", "reduced")])
def test_an_approval_after_a_departure_ended_supervision_is_a_conflict(
    enrolled, users, kind, level
):
    """A change proposed before the departure was confirmed cannot overwrite its end."""
    officer = context(users["officer_east"])
    change = services.propose_change(ctx=officer, enrolment_id=enrolled.enrolment.pk, kind=kind,
                                     proposed_level=level, reason="Six months of good reports")
    services.confirm_departure(ctx=officer, enrolment_id=enrolled.enrolment.pk,
                               kind="self_departure", evidence_kind="consular",
                               evidence_reference="MX-CONS-9", departed_on=ana_today())
    mark = last_event_id()
    with pytest.raises(Conflict) as err:
        services.decide_change(ctx=context(users["supervisor_east"]), request_id=change.pk,
                               approve=True)
    assert err.value.code == "ended"
    enrolment = Enrolment.objects.get()
    assert (enrolment.status, enrolment.end_reason, enrolment.level) == (
        "ended", "departed_self_departure", "standard")
    assert ChangeRequest.objects.get().decision == "pending"
    assert not Event.objects.filter(id__gt=mark).exists()
    # declining it still works: it touches only the request
    services.decide_change(ctx=context(users["supervisor_east"]), request_id=change.pk,
                           approve=False, reason="Supervision ended with the departure")
    assert ChangeRequest.objects.get().decision == "declined"
