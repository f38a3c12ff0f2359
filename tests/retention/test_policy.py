"""Legal holds are the privacy office's records, reached through the access policy: the privacy
officer keeps every hold under their own purpose, not under break-glass; a refusal is one denied
event naming the hold's person."""

from __future__ import annotations

import pytest

from caseledger.access.context import AccessContext, Purpose
from caseledger.access.gate import grant_break_glass
from caseledger.core.errors import NotFound, PermissionDenied
from caseledger.retention import selectors, services
from tests.conftest import context, last_event_id

REASON = "Preserve for litigation: Doe v. Agency"
GLASS_REASON = "Detainee transferred overnight; verifying identity before the hearing"


@pytest.fixture
def hold(enrolled, privacy_ctx):
    return services.place_hold(ctx=privacy_ctx, person_id=enrolled.enrolment.person_id,
                               reason=REASON)


def test_privacy_officer_keeps_every_hold_under_their_own_purpose(privacy_ctx, hold):
    assert [h.pk for h in selectors.holds(privacy_ctx)] == [hold.pk]
    assert selectors.hold(privacy_ctx, hold.pk) == hold


def test_break_glass_reaches_only_the_holds_of_its_grants(users, hold, events_since):
    glass = AccessContext(user=users["privacy"], purpose=Purpose.BREAK_GLASS)
    assert selectors.holds(glass) == []
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.hold(glass, hold.pk)
    [denial] = events_since(mark)
    assert (denial.outcome, denial.subject_id, denial.record_id) == (
        "denied", hold.person_id, str(hold.pk))
    grant_break_glass(user=users["privacy"], person_id=hold.person_id, reason=GLASS_REASON)
    assert [h.pk for h in selectors.holds(glass)] == [hold.pk]


@pytest.mark.parametrize("account", ["officer_east", "supervisor_east", "participant"])
def test_only_a_privacy_officer_releases_and_the_refusal_names_the_person(
        users, hold, account, events_since):
    mark = last_event_id()
    with pytest.raises(PermissionDenied):
        services.release_hold(ctx=context(users[account]), hold_id=hold.pk,
                              reason="I would like it gone")
    [denial] = events_since(mark)
    assert (denial.action, denial.outcome, denial.subject_id) == (
        "release_hold", "denied", hold.person_id)
    hold.refresh_from_db()
    assert hold.active and hold.row_version == 1


def test_release_bumps_the_version_once(privacy_ctx, hold):
    released = services.release_hold(ctx=privacy_ctx, hold_id=hold.pk,
                                     reason="Litigation settled.")
    assert (released.active, released.row_version) == (False, 2)


@pytest.mark.parametrize("hold_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_releasing_no_hold_is_a_recorded_not_found(privacy_ctx, db, hold_id, events_since):
    mark = last_event_id()
    with pytest.raises(NotFound):
        services.release_hold(ctx=privacy_ctx, hold_id=hold_id, reason="Nothing to release")
    [denial] = events_since(mark)
    assert (denial.action, denial.outcome, denial.subject_id) == ("release_hold", "denied", None)
