from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.access.context import Purpose
from caseledger.access.gate import grant_break_glass
from caseledger.access.models import Grant
from caseledger.core.errors import NotFound, ValidationError
from caseledger.ledger.models import Event
from caseledger.people.selectors import get_person
from tests.conftest import context, last_event_id

REASON = "Court called: urgent custody hearing moved to this morning"


def test_short_reason_is_refused_and_grants_nothing(users, make_person):
    person = make_person("officer_west")
    with pytest.raises(ValidationError) as err:
        grant_break_glass(user=users["officer_east"], person_id=person.pk, reason="need it")
    assert "20 characters" in err.value.message
    assert not Grant.objects.exists()


def test_unknown_person_is_refused_and_recorded(users, db):
    mark = last_event_id()
    with pytest.raises(NotFound):
        grant_break_glass(
            user=users["officer_east"],
            person_id="00000000-0000-4000-8000-000000000000",
            reason=REASON,
        )
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.outcome, event.detail["reason"]) == (
        "break_glass",
        "denied",
        "unknown_person",
    )


def test_grant_expires(users, make_person):
    person = make_person("officer_west")
    grant = grant_break_glass(user=users["officer_east"], person_id=person.pk, reason=REASON)
    ctx = context(users["officer_east"], Purpose.BREAK_GLASS)
    assert get_person(ctx=ctx, person_id=person.pk).person == person
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        get_person(ctx=ctx, person_id=person.pk)


def test_repeated_break_glass_reuses_the_open_grant(users, make_person):
    person = make_person("officer_west")
    first = grant_break_glass(user=users["officer_east"], person_id=person.pk, reason=REASON)
    second = grant_break_glass(user=users["officer_east"], person_id=person.pk, reason=REASON)
    assert first.pk == second.pk
    assert Event.objects.filter(action="break_glass", outcome="allowed").count() == 2


def test_purpose_not_of_the_role_sees_nothing(users, make_person):
    person = make_person("officer_east")
    with pytest.raises(NotFound):
        get_person(ctx=context(users["officer_east"], Purpose.PRIVACY_REVIEW), person_id=person.pk)


def test_garbage_id_is_not_found_and_recorded(users, db):
    mark = last_event_id()
    with pytest.raises(NotFound):
        get_person(ctx=context(users["officer_east"]), person_id="../../etc/passwd")
    event = Event.objects.get(id__gt=mark)
    assert event.outcome == "denied" and event.subject_id is None
