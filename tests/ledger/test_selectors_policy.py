"""The ledger's reading side asks the access policy: only those who may read the ledger read a
person's events (anyone else is refused, naming the person), and "who accessed my record" lists
what staff did, not the person's or their representative's own acts."""

from __future__ import annotations

from datetime import date

import pytest

from caseledger.access.history import access_history, events_for_subject
from caseledger.core.errors import NotFound, ValidationError
from caseledger.people.selectors import get_person
from caseledger.people.services import record_representation
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(make_person, users):
    person = make_person("officer_east", "Rosa", "Diaz")
    person.participant_account = users["participant"]
    person.save(update_fields=["participant_account"])
    return person


def test_privacy_officer_reads_a_persons_events(users, person, events_since):
    mark = last_event_id()
    events, total = events_for_subject(ctx=context(users["privacy"]), subject_id=person.pk)
    assert total == len(events) > 0 and {e.subject_id for e in events} == {person.pk}
    [read] = events_since(mark)
    assert (read.action, read.outcome, read.subject_id) == ("read", "allowed", person.pk)


@pytest.mark.parametrize("account", ["officer_east", "supervisor_east", "admin", "participant",
                                     "representative"])
def test_others_may_not_read_the_ledger_and_the_refusal_names_the_person(
        users, person, account, events_since):
    mark = last_event_id()
    with pytest.raises(NotFound):
        events_for_subject(ctx=context(users[account]), subject_id=person.pk)
    [denial] = events_since(mark)
    assert (denial.outcome, denial.subject_id, denial.data_category) == (
        "denied", person.pk, "ledger")


def test_a_garbled_subject_is_refused_and_recorded(users, db, events_since):
    mark = last_event_id()
    with pytest.raises(ValidationError):
        events_for_subject(ctx=context(users["privacy"]), subject_id="not-a-uuid")
    [denial] = events_since(mark)
    assert (denial.outcome, denial.subject_id) == ("denied", None)


def test_history_leaves_out_the_persons_and_representatives_own_acts(users, person):
    record_representation(ctx=context(users["officer_east"]), person_id=person.pk,
                          representative=users["representative"], form="G-28",
                          filed_on=date(2026, 1, 5))
    get_person(ctx=context(users["representative"]), person_id=person.pk)
    get_person(ctx=context(users["participant"]), person_id=person.pk)
    get_person(ctx=context(users["officer_east"]), person_id=person.pk)
    rows, _ = access_history(ctx=context(users["participant"]))
    roles = {e.actor_role for e in rows}
    assert "case_officer" in roles
    assert roles.isdisjoint({"participant", "representative"})
