"""The portal's reach as declared in `access.policies`: the privacy office handles every
amendment request and keeps every statement of disagreement (under its own purpose only), the
person's officers reach them through the gate, the correction is the officers' act; and the
disclosures app reads the statements only through the reader the portal hands it."""

from __future__ import annotations

import pytest

from caseledger.access import policies
from caseledger.access.context import Purpose
from caseledger.access.policies import Act
from caseledger.core.errors import NotFound
from caseledger.disclosures import disputes
from caseledger.ledger.models import Event
from caseledger.portal import selectors, services
from caseledger.portal.models import AmendmentRequest, DisagreementStatement
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(users, rosa) -> AmendmentRequest:
    return services.request_amendment(
        ctx=context(users["participant"]),
        category="address",
        what_is_wrong="The street number is 21, not 12.",
        correction="21 Main St.",
    )


def test_who_reaches_an_amendment_request(users, asked):
    privacy = context(users["privacy"])
    officer = context(users["officer_east"])
    assert policies.keeps(privacy, AmendmentRequest)
    assert policies.keeps(privacy, DisagreementStatement)
    assert policies.can(privacy, Act.DECIDE, asked)
    assert not policies.can(privacy, Act.CHANGE, asked)  # the correction is the officers'
    assert policies.can(officer, Act.VIEW, asked) and policies.can(officer, Act.CHANGE, asked)
    assert not policies.can(officer, Act.DECIDE, asked)
    assert not policies.can(context(users["officer_west"]), Act.VIEW, asked)
    own = context(users["participant"])
    assert policies.can(own, Act.VIEW, asked) and not policies.can(own, Act.DECIDE, asked)


def test_break_glass_does_not_reach_the_privacy_offices_queue(users, rosa, asked):
    """A privacy officer who declares break-glass sees the amendment requests of their grants
    only: the queue is empty, and a request is refused with a denial naming its person."""
    emergency = context(users["privacy"], Purpose.BREAK_GLASS, reason="Checking one record.")
    assert not policies.keeps(emergency, AmendmentRequest)
    assert selectors.amendment_queue(ctx=emergency)[1] == 0
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.get_amendment(ctx=emergency, request_id=asked.pk)
    (event,) = Event.objects.filter(id__gt=mark)
    assert (event.outcome, event.subject_id, event.record_id) == ("denied", rosa.pk,
                                                                  str(asked.pk))
    with pytest.raises(NotFound):
        services.acknowledge_amendment(ctx=emergency, request_id=asked.pk)
    asked.refresh_from_db()
    assert asked.acknowledged_at is None
    # Under its own purpose the privacy office reaches it (no grant on the record needed).
    assert selectors.amendment_queue(ctx=context(users["privacy"]))[1] == 1


def test_statements_outside_the_gate_are_refused_and_recorded(users, rosa):
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.statements_for_person(context(users["officer_west"]), rosa.pk)
    (event,) = Event.objects.filter(id__gt=mark)
    assert (event.outcome, event.subject_id) == ("denied", rosa.pk)
    assert selectors.statements_for_person(context(users["privacy"]), rosa.pk) == []
    with pytest.raises(NotFound):
        selectors.statements_for_person(
            context(users["privacy"]), "00000000-0000-4000-8000-000000000000"
        )


def test_the_portal_hands_the_disclosures_app_its_reader_of_statements():
    """Provided once when Django starts (portal.apps); providing it again adds nothing."""
    assert disputes.provided().count(selectors.release_disputes) == 1
    disputes.provide(selectors.release_disputes)
    assert disputes.provided().count(selectors.release_disputes) == 1


def test_each_step_is_one_versioned_update(users, asked):
    version = asked.row_version
    acknowledged = services.acknowledge_amendment(ctx=context(users["privacy"]),
                                                  request_id=asked.pk)
    assert acknowledged.row_version == version + 1
    refused = services.decide_amendment(ctx=context(users["privacy"]), request_id=asked.pk,
                                        decision="refuse", reasons="The lease shows 12.")
    assert refused.row_version == version + 2
    assert refused.status == "refused" and refused.decided_by == users["privacy"]
