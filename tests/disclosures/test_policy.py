"""The disclosures app's reach as declared in `access.policies`: who may name a person in a
new request (by id or A-number), who keeps the requests and the accounting, and what a
declared break-glass does not widen. A person out of reach gets the answer of nobody, and the
refusal names them in the ledger."""

from __future__ import annotations

import pytest

from caseledger.access import policies
from caseledger.access.context import Purpose
from caseledger.access.policies import Act
from caseledger.core.errors import NotFound, PermissionDenied
from caseledger.disclosures import selectors, services
from caseledger.disclosures.models import AccountingEntry, DisclosureRequest
from caseledger.ledger.models import Event
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import request_input

pytestmark = pytest.mark.django_db


def _refused_entry(user, who, value) -> tuple[NotFound, Event]:
    """Enter a request naming `value` as `user`: the NotFound and its one event."""
    mark = last_event_id()
    with pytest.raises(NotFound) as err:
        services.create_request(context(user), request_input(who, person=value))
    (event,) = Event.objects.filter(id__gt=mark)
    assert DisclosureRequest.objects.count() == 0
    return err.value, event


def test_another_offices_person_by_a_number_gets_the_answer_of_nobody(users, person):
    """The A-number of a person of another office is not confirmed: the same 404 as an
    A-number of nobody, and the denial names the person (never the A-number itself)."""
    west = users["supervisor_west"]
    theirs, theirs_event = _refused_entry(west, person, person.a_number)
    nobody, nobody_event = _refused_entry(west, person, "A999999998")
    assert (theirs.code, theirs.message) == (nobody.code, nobody.message)
    assert theirs.code == "unknown_person" and theirs.field == "person"
    assert (theirs_event.outcome, theirs_event.action, theirs_event.data_category) == (
        "denied", "create", "disclosure")
    assert theirs_event.subject_id == person.pk
    assert nobody_event.subject_id is None
    digits = person.a_number[1:]
    for event in (theirs_event, nobody_event):
        assert event.record_id.startswith("hmac:")
        assert digits not in event.record_id + str(event.detail)
    # Keyed: the plain SHA-256 of the A-number (which anyone could compute for every 9-digit
    # number) is not what the ledger keeps.
    import hashlib

    plain = hashlib.sha256(person.a_number.encode()).hexdigest()[:32]
    assert plain not in theirs_event.record_id
    # By record id: the same answer, the person named, the id tried kept.
    by_id, by_id_event = _refused_entry(west, person, str(person.pk))
    assert (by_id.code, by_id.message) == (nobody.code, nobody.message)
    assert (by_id_event.subject_id, by_id_event.record_id) == (person.pk, str(person.pk))


def test_a_number_entry_in_reach(users, person, make_person):
    """The office's supervisor and the privacy office (every person) name a person by
    A-number, written any way the form accepts."""
    east = services.create_request(
        context(users["supervisor_east"]), request_input(person, person=person.a_number)
    )
    assert east.person_id == person.pk
    stranger = make_person("officer_west", "Omar", "Haddad")
    digits = stranger.a_number[1:]
    written = f"a-{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    privacy = services.create_request(
        context(users["privacy"]), request_input(stranger, person=written)
    )
    assert privacy.person_id == stranger.pk


def test_the_reach_of_a_new_request_is_declared(users, person, make_person):
    stranger = make_person("officer_west", "Omar", "Haddad")

    def reach(who, purpose=None):
        ctx = context(users[who], purpose)
        rows = policies.persons_in_reach(ctx, DisclosureRequest, Act.CREATE)
        return set(rows.filter(pk__in=[person.pk, stranger.pk]).values_list("pk", flat=True))

    assert reach("privacy") == {person.pk, stranger.pk}
    assert reach("supervisor_east") == {person.pk}
    assert reach("supervisor_west") == {stranger.pk}
    # A case officer sees their caseload but enters no disclosure request.
    assert reach("officer_east") == set()
    # Break-glass never widens to the keeper's reach: only the persons of open grants.
    assert reach("privacy", Purpose.BREAK_GLASS) == set()


def test_the_privacy_office_keeps_the_requests_only_under_its_own_purpose(
    users, person, privacy2
):
    req = services.create_request(context(users["supervisor_east"]), request_input(person))
    privacy = context(users["privacy"])
    assert policies.keeps(privacy, DisclosureRequest) and policies.keeps(privacy, AccountingEntry)
    assert policies.can(privacy, Act.DECIDE, req) and policies.can(privacy, Act.EXPORT, req)
    supervisor = context(users["supervisor_east"])
    assert not policies.keeps(supervisor, DisclosureRequest)
    assert policies.can(supervisor, Act.VIEW, req)
    assert not policies.can(supervisor, Act.DECIDE, req)
    # The person's case officer sees the person, not the disclosure requests about them.
    assert not policies.can(context(users["officer_east"]), Act.VIEW, req)
    # A privacy officer who declares break-glass decides nothing outside their grants: the
    # refusal names the person and nothing is written.
    emergency = context(privacy2, Purpose.BREAK_GLASS, reason="Checking one record urgently.")
    assert not policies.keeps(emergency, DisclosureRequest)
    mark = last_event_id()
    with pytest.raises(NotFound):
        services.decide(emergency, req.pk, decision="decline", reason="Declined in an emergency.")
    (event,) = Event.objects.filter(id__gt=mark)
    assert (event.outcome, event.action, event.subject_id) == ("denied", "decide", person.pk)
    req.refresh_from_db()
    assert req.status == "pending" and req.decided_by is None
    with pytest.raises(PermissionDenied):
        selectors.list_requests(emergency)
    with pytest.raises(NotFound):
        selectors.accounting_for_person(emergency, person.pk)


def test_a_decision_is_one_versioned_update(users, person, privacy2):
    req = services.create_request(context(users["privacy"]), request_input(person))
    before = req.row_version
    declined = services.decide(context(privacy2), req.pk, decision="decline",
                               reason="Not needed for the stated activity.")
    assert declined.row_version == before + 1 and declined.status == "declined"
    assert declined.decided_by == privacy2
