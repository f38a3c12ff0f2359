"""'Who accessed my record': the person (and their representative) see every staff access."""

from __future__ import annotations

from datetime import date

import pytest

from caseledger.access.history import access_history
from caseledger.core.errors import NotFound
from caseledger.ledger.models import Event
from caseledger.people.selectors import get_person
from caseledger.people.services import record_representation
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def person_with_login(make_person, users):
    person = make_person("officer_east", "Rosa", "Diaz")
    person.participant_account = users["participant"]
    person.save()
    return person


def test_participant_sees_staff_accesses_with_role_office_and_purpose(users, person_with_login):
    get_person(ctx=context(users["officer_east"]), person_id=person_with_login.pk)
    get_person(ctx=context(users["supervisor_east"]), person_id=person_with_login.pk)
    mark = last_event_id()
    rows, total = access_history(ctx=context(users["participant"]))
    assert total >= 3  # created, assigned, two reads
    seen = {(e.actor_role, e.office, e.purpose, e.action) for e in rows}
    assert ("case_officer", "east", "caseload", "read") in seen
    assert ("supervisor", "east", "office_supervision", "read") in seen
    assert all(e.actor_role != "participant" for e in rows)
    viewing = Event.objects.get(id__gt=mark)
    assert (viewing.actor_role, viewing.data_category, viewing.subject_id) == (
        "participant", "ledger", person_with_login.pk)


def test_denied_attempts_are_shown_too(users, person_with_login):
    with pytest.raises(NotFound):
        get_person(ctx=context(users["officer_west"]), person_id=person_with_login.pk)
    rows, _ = access_history(ctx=context(users["participant"]))
    assert any(e.office == "west" and e.outcome == "denied" for e in rows)


def test_representative_sees_their_client_only(users, person_with_login, make_person):
    other = make_person("officer_east", "Ana", "Lopez")
    record_representation(ctx=context(users["officer_east"]), person_id=person_with_login.pk,
                          representative=users["representative"], form="EOIR-28",
                          filed_on=date(2026, 2, 1))
    rows, total = access_history(ctx=context(users["representative"]),
                                 person_id=person_with_login.pk)
    assert total > 0 and {e.subject_id for e in rows} == {person_with_login.pk}
    with pytest.raises(NotFound):
        access_history(ctx=context(users["representative"]), person_id=other.pk)


def test_officer_cannot_use_it_for_persons_outside_the_caseload(users, make_person):
    west = make_person("officer_west")
    with pytest.raises(NotFound):
        access_history(ctx=context(users["officer_east"]), person_id=west.pk)


def test_api(users, person_with_login, api_client):
    get_person(ctx=context(users["officer_east"]), person_id=person_with_login.pk)
    body = api_client(users["participant"]).get("/api/v1/me/accesses").json()
    assert body["total"] >= 1
    assert {"time", "role", "office", "purpose", "action", "category", "outcome"} <= set(
        body["items"][0])
    assert "actor" not in body["items"][0]  # roles and offices, not staff identities


def _withheld_release(users, person):
    """A (b)(7) release of the person's record withheld from them at the requester's written
    request, entered by one privacy officer and approved by another."""
    from caseledger.accounts.models import Role
    from caseledger.accounts.services import create_user
    from caseledger.disclosures import services as disclosures
    from tests.conftest import PASSWORD
    from tests.disclosures.conftest import b7_input

    privacy2 = create_user(
        username="privacy2", password=PASSWORD, role=Role.PRIVACY_OFFICER, office=None
    )
    req = disclosures.create_request(
        context(users["privacy"]), b7_input(person, withhold_from_subject=True)
    )
    disclosures.decide(context(privacy2), req.pk, decision="approve",
                       reason="Written (b)(7) request from a section chief.")
    return req


def test_withheld_disclosure_is_not_in_the_persons_access_history(users, person_with_login):
    req = _withheld_release(users, person_with_login)
    get_person(ctx=context(users["officer_east"]), person_id=person_with_login.pk)
    rows, total = access_history(ctx=context(users["participant"]), per_page=500)
    assert total == len(rows)
    assert not [e for e in rows if e.detail.get("task") == f"disclosure:{req.pk}"
                or e.record_id == str(req.pk) or e.actor_role == "privacy_officer"]
    assert any(e.actor_role == "case_officer" and e.action == "read" for e in rows)
    staff, staff_total = access_history(ctx=context(users["officer_east"]),
                                        person_id=person_with_login.pk, per_page=500)
    assert {"create", "grant", "disclose"} <= {
        e.action for e in staff if e.detail.get("task") == f"disclosure:{req.pk}"}
    assert staff_total > total


def test_access_history_works_without_the_disclosures_app(users, person_with_login):
    """The ledger looks the disclosures model up lazily and does without it."""
    from unittest import mock

    from django.apps import apps

    _withheld_release(users, person_with_login)
    real = apps.get_model

    def no_disclosures(app_label, *args, **kwargs):
        if app_label == "disclosures":
            raise LookupError(app_label)
        return real(app_label, *args, **kwargs)

    with mock.patch.object(apps, "get_model", side_effect=no_disclosures):
        rows, total = access_history(ctx=context(users["participant"]), per_page=500)
    assert total == len(rows) and any(e.action == "disclose" for e in rows)


def test_pages_cover_the_history_once_newest_first_with_one_total(users, person_with_login):
    """The page and its total come from one evaluation of the union: pages laid end to end
    are the whole history, each event once (an event both about the person and listing them
    counts once), newest first; a page past the end is empty and still carries the total."""
    from caseledger.ledger.services import Actor, record_event
    from caseledger.people.selectors import search_persons

    officer = context(users["officer_east"])
    for _ in range(4):
        get_person(ctx=officer, person_id=person_with_login.pk)
        search_persons(ctx=officer, query="Rosa Diaz")
    officer_user = users["officer_east"]
    both = record_event(actor=Actor(str(officer_user.pk), "case_officer", "east"),
                        action="read", category="identity", purpose="caseload",
                        record_type="people.person",
                        record_id=str(person_with_login.pk), subject_id=person_with_login.pk,
                        subjects=[person_with_login.pk])
    participant = context(users["participant"])
    whole, total = access_history(ctx=participant, per_page=500)
    assert total == len(whole) >= 10
    assert [e.pk for e in whole].count(both.pk) == 1
    keys = [(e.time, e.pk) for e in whole]
    assert keys == sorted(keys, reverse=True)
    pages = []
    for number in range(1, total // 3 + 2):
        rows, page_total = access_history(ctx=participant, page=number, per_page=3)
        assert page_total == total and len(rows) <= 3
        pages.extend(rows)
    assert [e.pk for e in pages] == [e.pk for e in whole]
    past, past_total = access_history(ctx=participant, page=total, per_page=3)
    assert past == [] and past_total == total


@pytest.mark.postgres_only
def test_the_subject_time_index_carries_id_and_role_on_every_partition():
    """Migration 0009: the history's count reads the index alone (the role is in it)."""
    from django.db import connection

    from caseledger.ledger.partitions import ensure_partitions

    ensure_partitions()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_inherits h "
            "JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_index i ON i.indrelid = c.oid "
            "WHERE h.inhparent = 'ledger_event'::regclass "
            "AND pg_get_indexdef(i.indexrelid) LIKE '%(subject_id, \"time\")%'"
        )
        per_partition = dict(cursor.fetchall())
        cursor.execute("SELECT pg_get_indexdef('ledger_event_subject_time'::regclass)")
        parent = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_inherits "
                       "WHERE inhparent = 'ledger_event'::regclass")
        partitions = cursor.fetchone()[0]
    assert parent.endswith("(subject_id, \"time\") INCLUDE (id, actor_role)")
    assert len(per_partition) == partitions > 1
    assert all(d.endswith("INCLUDE (id, actor_role)") for d in per_partition.values())
