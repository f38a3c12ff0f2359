"""update_versioned: the one optimistic lock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db.models import Q

from caseledger.core.errors import Conflict
from caseledger.core.versioning import update_versioned
from caseledger.people.models import Person

pytestmark = pytest.mark.django_db


def test_a_current_version_updates_and_bumps(make_person: Callable[..., Person]) -> None:
    person = make_person()
    version = person.row_version
    update_versioned(person, version, interpreter_needed=True)
    assert person.row_version == version + 1
    assert Person.objects.get(pk=person.pk).interpreter_needed is True


def test_a_stale_version_names_both_versions_and_changes_nothing(
    make_person: Callable[..., Person],
) -> None:
    person = make_person()
    version = person.row_version
    with pytest.raises(Conflict) as err:
        update_versioned(person, version - 1 if version > 1 else version + 5, what="person",
                         interpreter_needed=True)
    assert "This person changed since you read it" in err.value.message
    assert err.value.code == "stale_version"
    assert Person.objects.get(pk=person.pk).interpreter_needed is False


def test_a_concurrent_writer_wins_and_the_second_gets_a_conflict(
    make_person: Callable[..., Person],
) -> None:
    person = make_person()
    stale = Person.objects.get(pk=person.pk)
    update_versioned(person, None, interpreter_needed=True)
    with pytest.raises(Conflict) as err:
        update_versioned(stale, None, interpreter_needed=False)
    assert "while you were saving" in err.value.message
    assert Person.objects.get(pk=person.pk).interpreter_needed is True


def test_a_required_state_that_no_longer_holds_is_a_conflict(
    make_person: Callable[..., Person],
) -> None:
    person = make_person()
    with pytest.raises(Conflict) as err:
        update_versioned(person, None, where=Q(interpreter_needed=True),
                         conflict_message="Already done.", conflict_code="already",
                         interpreter_needed=False)
    assert (err.value.message, err.value.code) == ("Already done.", "already")
    assert Person.objects.get(pk=person.pk).row_version == person.row_version
