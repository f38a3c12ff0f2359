"""The gate as a matrix: each role x (own caseload / same office / other office / break-glass)
-> the person is returned or "not found", and exactly one ledger event records the outcome."""

from __future__ import annotations

import pytest

from caseledger.access.context import Purpose
from caseledger.access.gate import grant_break_glass
from caseledger.core.errors import NotFound, PermissionDenied
from caseledger.ledger.models import Event
from caseledger.people.selectors import get_person
from tests.conftest import context, last_event_id

REASON = "Detainee transferred overnight; verifying identity before the hearing"

# role -> (sees own-caseload person, sees same-office person of another officer,
#          sees other-office person, may use break-glass)
MATRIX = {
    "officer_east": (True, False, False, True),
    "supervisor_east": (True, True, False, True),
    "privacy": (False, False, False, True),
    "admin": (False, False, False, False),
    "representative": (False, False, False, False),
    "participant": (False, False, False, False),
}


@pytest.fixture
def persons(make_person):
    return {
        "own": make_person("officer_east", "Ana", "Ramirez"),
        "same_office": make_person("officer_east2", "Luis", "Fernandez"),
        "other_office": make_person("officer_west", "Jean", "Pierre"),
    }


def _read(user, person, purpose=None):
    return get_person(ctx=context(user, purpose), person_id=person.pk)


@pytest.mark.parametrize("role", MATRIX)
@pytest.mark.parametrize("target", ["own", "same_office", "other_office"])
def test_ordinary_access_matrix(users, persons, role, target):
    expected = MATRIX[role][["own", "same_office", "other_office"].index(target)]
    person = persons[target]
    mark = last_event_id()
    if expected:
        detail = _read(users[role], person)
        assert detail.person.pk == person.pk
    else:
        with pytest.raises(NotFound):
            _read(users[role], person)
    events = list(Event.objects.filter(id__gt=mark))
    assert len(events) == 1
    event = events[0]
    assert event.actor_id == str(users[role].pk)
    assert event.actor_role == users[role].role
    assert event.subject_id == person.pk
    assert event.record_type == "people.person"
    assert event.record_id == str(person.pk)
    assert event.data_category == "identity"
    assert event.outcome == ("allowed" if expected else "denied")


@pytest.mark.parametrize("role", MATRIX)
def test_break_glass_matrix(users, persons, role):
    person = persons["other_office"]
    user = users[role]
    allowed = MATRIX[role][3]
    mark = last_event_id()
    if not allowed:
        with pytest.raises(PermissionDenied):
            grant_break_glass(user=user, person_id=person.pk, reason=REASON)
        event = Event.objects.get(id__gt=mark)
        assert (event.action, event.outcome) == ("break_glass", "denied")
        with pytest.raises(NotFound):
            _read(user, person, Purpose.BREAK_GLASS)
        return
    grant = grant_break_glass(user=user, person_id=person.pk, reason=REASON)
    assert grant.flagged_for_review
    detail = _read(user, person, Purpose.BREAK_GLASS)
    assert detail.person.pk == person.pk
    grant_event, read_event = Event.objects.filter(id__gt=mark).order_by("id")
    assert grant_event.action == "break_glass" and grant_event.detail["flagged"] is True
    assert grant_event.subject_id == person.pk
    assert REASON not in grant_event.leaf.decode()  # the reason stays in the grant, not the log
    assert (read_event.action, read_event.purpose, read_event.outcome) == (
        "read",
        "break_glass",
        "allowed",
    )
    # The grant covers that one person only: under break-glass nobody else is visible.
    with pytest.raises(NotFound):
        _read(user, persons["same_office"], Purpose.BREAK_GLASS)
