"""An attorney of record sees that client only, and only while the representation lasts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from caseledger.access.context import Purpose
from caseledger.cases.selectors import get_case
from caseledger.cases.services import open_case
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from caseledger.people.models import Representation
from caseledger.people.selectors import get_person, search_persons
from caseledger.people.services import end_representation, record_representation
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_and_other(make_person):
    return make_person("officer_east", "Rosa", "Diaz"), make_person("officer_east", "Ana", "Lopez")


def test_representative_sees_only_their_client(users, client_and_other):
    client, other = client_and_other
    officer, rep = context(users["officer_east"]), users["representative"]
    mark = last_event_id()
    record_representation(ctx=officer, person_id=client.pk, representative=rep, form="EOIR-28",
                          filed_on=date(2026, 1, 5))
    assert Event.objects.get(id__gt=mark).data_category == "representation"
    rep_ctx = context(rep)
    assert rep_ctx.purpose == Purpose.REPRESENTATION
    assert get_person(ctx=rep_ctx, person_id=client.pk).person == client
    with pytest.raises(NotFound):
        get_person(ctx=rep_ctx, person_id=other.pk)
    assert [p.pk for p, _ in search_persons(ctx=rep_ctx, query="Ana Lopez")] == []
    case = open_case(ctx=officer, person_id=client.pk, case_type="removal", court_code="NYC",
                     opened_on=timezone.localdate() - timedelta(days=10))
    assert get_case(ctx=rep_ctx, case_id=case.pk).case == case
    event = Event.objects.filter(action="read", record_type="cases.case").latest("id")
    assert (event.actor_role, event.purpose) == ("representative", "representation")


@pytest.mark.parametrize(("moment", "ended_on"), [
    (datetime(2026, 12, 8, 1, 30, tzinfo=UTC), date(2026, 12, 7)),  # 20:30 in New York
    (datetime(2026, 12, 8, 15, 0, tzinfo=UTC), date(2026, 12, 8)),
])
def test_ended_representation_ends_access(users, client_and_other, clock_from, moment,
                                          ended_on):
    """Access ends at once; the end is dated on the day at the client's office (east: New
    York), never UTC's date."""
    client, _ = client_and_other
    clock_from(moment)
    officer = context(users["officer_east"])
    record = record_representation(ctx=officer, person_id=client.pk,
                                   representative=users["representative"], form="G-28",
                                   filed_on=date(2026, 1, 5))
    end_representation(ctx=officer, representation_id=record.pk, reason="Withdrew as counsel")
    with pytest.raises(NotFound):
        get_person(ctx=context(users["representative"]), person_id=client.pk)
    assert Representation.objects.get().ended_on == ended_on


def test_representation_refusals(users, client_and_other, make_person):
    client, _ = client_and_other
    officer = context(users["officer_east"])
    with pytest.raises(ValidationError):
        record_representation(ctx=officer, person_id=client.pk, representative=users["privacy"],
                              form="G-28", filed_on=date(2026, 1, 5))
    with pytest.raises(ValidationError):
        record_representation(ctx=officer, person_id=client.pk,
                              representative=users["representative"], form="I-130",
                              filed_on=date(2026, 1, 5))
    with pytest.raises(ValidationError):
        record_representation(ctx=officer, person_id=client.pk,
                              representative=users["representative"], form="G-28",
                              filed_on=timezone.localdate() + timedelta(days=1))
    with pytest.raises(PermissionDenied):
        record_representation(ctx=context(users["representative"]), person_id=client.pk,
                              representative=users["representative"], form="G-28",
                              filed_on=date(2026, 1, 5))
    west_person = make_person("officer_west")
    with pytest.raises(NotFound):
        record_representation(ctx=officer, person_id=west_person.pk,
                              representative=users["representative"], form="G-28",
                              filed_on=date(2026, 1, 5))
    record_representation(ctx=officer, person_id=client.pk,
                          representative=users["representative"], form="G-28",
                          filed_on=date(2026, 1, 5))
    with pytest.raises(Conflict):
        record_representation(ctx=officer, person_id=client.pk,
                              representative=users["representative"], form="EOIR-28",
                              filed_on=date(2026, 1, 6))
    assert Representation.objects.count() == 1


def test_representative_cannot_write_or_break_glass(users, client_and_other):
    from caseledger.access.gate import grant_break_glass
    from caseledger.people.services import update_person

    client, _ = client_and_other
    record_representation(ctx=context(users["officer_east"]), person_id=client.pk,
                          representative=users["representative"], form="G-28",
                          filed_on=date(2026, 1, 5))
    with pytest.raises(PermissionDenied):
        grant_break_glass(user=users["representative"], person_id=client.pk,
                          reason="I need to see everything about this person now")
    # identity fields are the agency's record: a representative asks for a correction instead
    before = client.row_version
    with pytest.raises(PermissionDenied):
        update_person(ctx=context(users["representative"]), person_id=client.pk,
                      row_version=before, changes={"interpreter_needed": True})
    client.refresh_from_db()
    assert client.row_version == before and client.interpreter_needed is False
