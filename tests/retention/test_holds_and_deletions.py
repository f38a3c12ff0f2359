"""Legal holds (place, release, refusals) and the person's view of deletions of their data."""

from __future__ import annotations

import uuid

import pytest

from caseledger.access.context import Purpose
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from caseledger.retention import services
from caseledger.retention.models import LegalHold
from caseledger.retention.selectors import deletions_for_person
from caseledger.retention.services import run_purge
from tests.conftest import context, last_event_id
from tests.retention.conftest import PAST, make_checkin

REASON = "Preserve for litigation: Doe v. Agency"


def test_place_and_release_a_hold_with_ledger_events(enrolled, privacy_ctx, users):
    person_id = enrolled.enrolment.person_id
    mark = last_event_id()

    hold = services.place_hold(
        ctx=privacy_ctx, person_id=person_id, reason=REASON, data_class="face_template"
    )
    released = services.release_hold(
        ctx=privacy_ctx, hold_id=hold.pk, reason="Case closed, no appeal."
    )

    assert hold.placed_by == users["privacy"] and hold.data_class == "face_template"
    assert released.released_by == users["privacy"] and not released.active
    assert released.release_reason == "Case closed, no appeal."
    events = list(Event.objects.filter(id__gt=mark).order_by("id"))
    assert [(e.action, e.data_category, e.record_type) for e in events] == [
        ("place_hold", "retention", "retention.legalhold"),
        ("release_hold", "retention", "retention.legalhold"),
    ]
    assert all(e.subject_id == person_id and e.record_id == str(hold.pk) for e in events)
    assert events[0].detail == {"data_class": "face_template"}
    assert REASON not in str(events[0].detail)  # free text stays out of the ledger


def test_hold_on_an_unknown_person_is_refused(privacy_ctx):
    with pytest.raises(NotFound) as err:
        services.place_hold(ctx=privacy_ctx, person_id=uuid.uuid4(), reason=REASON)
    assert err.value.code == "unknown_person" and "existing person" in err.value.message
    with pytest.raises(ValidationError) as err:
        services.place_hold(ctx=privacy_ctx, person_id="not-a-uuid", reason=REASON)
    assert err.value.field == "person"
    assert not LegalHold.objects.exists()


def test_releasing_an_already_released_hold_is_refused(enrolled, privacy_ctx):
    hold = services.place_hold(
        ctx=privacy_ctx, person_id=enrolled.enrolment.person_id, reason=REASON
    )
    services.release_hold(ctx=privacy_ctx, hold_id=hold.pk, reason="Litigation settled.")
    mark = last_event_id()

    with pytest.raises(Conflict) as err:
        services.release_hold(ctx=privacy_ctx, hold_id=hold.pk, reason="Second try, again.")

    assert err.value.code == "already_released"
    hold.refresh_from_db()
    assert hold.release_reason == "Litigation settled."
    assert not Event.objects.filter(id__gt=mark).exists()
    with pytest.raises(NotFound):
        services.release_hold(ctx=privacy_ctx, hold_id=uuid.uuid4(), reason="No such hold here.")


@pytest.mark.parametrize(
    "kwargs, field, code",
    [
        ({"reason": "short"}, "reason", "invalid"),
        ({"data_class": "faces"}, "data_class", "unknown_class"),
        ({"data_class": "ledger_event"}, "data_class", "not_holdable"),
        ({"data_class": "import_quarantine"}, "data_class", "not_holdable"),
    ],
)
def test_bad_holds_are_refused(enrolled, privacy_ctx, kwargs, field, code):
    values = {"reason": REASON, **kwargs}
    with pytest.raises(ValidationError) as err:
        services.place_hold(ctx=privacy_ctx, person_id=enrolled.enrolment.person_id, **values)
    assert (err.value.field, err.value.code) == (field, code)
    assert not LegalHold.objects.exists()


def test_a_second_hold_on_the_same_class_is_refused(enrolled, privacy_ctx):
    pid = enrolled.enrolment.person_id
    services.place_hold(ctx=privacy_ctx, person_id=pid, reason=REASON)
    with pytest.raises(Conflict) as err:
        services.place_hold(ctx=privacy_ctx, person_id=pid, reason=REASON)
    assert err.value.code == "already_held"
    assert LegalHold.objects.count() == 1
    # another class is another hold
    services.place_hold(ctx=privacy_ctx, person_id=pid, reason=REASON, data_class="notes")
    assert LegalHold.objects.count() == 2


@pytest.mark.parametrize("role", ["officer_east", "supervisor_east", "admin", "participant"])
def test_holds_by_other_roles_are_refused(enrolled, privacy_ctx, users, role):
    hold = services.place_hold(
        ctx=privacy_ctx, person_id=enrolled.enrolment.person_id, reason=REASON
    )
    with pytest.raises(PermissionDenied) as err:
        services.place_hold(
            ctx=context(users[role]),
            person_id=enrolled.enrolment.person_id,
            reason=REASON,
            data_class="notes",
        )
    assert err.value.code == "role"
    with pytest.raises(PermissionDenied):
        services.release_hold(
            ctx=context(users[role]), hold_id=hold.pk, reason="I would like this gone."
        )
    hold.refresh_from_db()
    assert hold.active and LegalHold.objects.count() == 1


# --- the person's view ----------------------------------------------------------------------
def test_the_person_sees_deletions_of_their_data(enrolled, second, privacy_ctx):
    ana, ben = enrolled.enrolment, second.enrolment
    for _ in range(3):
        make_checkin(ana, location_due=PAST)
    make_checkin(ben)
    result = run_purge(privacy_ctx)
    ana_user = ana.person.participant_account
    mark = last_event_id()

    mine = deletions_for_person(context(ana_user), ana.person_id)

    by_class = {d.data_class: d for d in mine}
    assert set(by_class) == {"failed_check_image", "checkin_location"}
    assert by_class["failed_check_image"].count == 3
    assert by_class["checkin_location"].label == "Check-in locations"
    assert {d.certificate_id for d in mine} <= set(result.certificates)
    read = Event.objects.get(id__gt=mark)
    assert (read.action, read.data_category, read.subject_id) == (
        "read",
        "retention",
        ana.person_id,
    )
    # Ben's purge is not in Ana's list, and Ben sees only his own
    ben_view = deletions_for_person(context(ben.person.participant_account), ben.person_id)
    assert [(d.data_class, d.count) for d in ben_view] == [("failed_check_image", 1)]


def test_another_participant_cannot_see_someone_elses_deletions(enrolled, second, privacy_ctx):
    make_checkin(enrolled.enrolment)
    run_purge(privacy_ctx)
    ben_user = second.enrolment.person.participant_account
    mark = last_event_id()

    with pytest.raises(NotFound):
        deletions_for_person(context(ben_user), enrolled.enrolment.person_id)

    denial = Event.objects.get(id__gt=mark)
    assert denial.outcome == "denied" and denial.subject_id == enrolled.enrolment.person_id


def test_staff_see_deletions_only_through_the_gate(enrolled, privacy_ctx, users):
    make_checkin(enrolled.enrolment)
    run_purge(privacy_ctx)
    pid = enrolled.enrolment.person_id
    assert len(deletions_for_person(context(users["officer_east"]), pid)) == 1
    with pytest.raises(NotFound):
        deletions_for_person(context(users["officer_west"]), pid)
    with pytest.raises(NotFound):  # a privacy officer needs a privacy-review grant
        deletions_for_person(context(users["privacy"], Purpose.PRIVACY_REVIEW), pid)
