"""Amendment requests (5 U.S.C. 552a(d)(2)): the clock, each step, and every refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from unittest import mock

import pytest

from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.disclosures.services import create_request
from caseledger.ledger.models import Event
from caseledger.portal import selectors, services
from caseledger.portal.models import AmendmentRequest, AmendmentStatus, DisagreementStatement
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import request_input

pytestmark = pytest.mark.django_db


def ask(user, person_id=None, **overrides):
    values = dict(
        category="address",
        what_is_wrong="The street number is 21, not 12.",
        correction="12 Main St should read 21 Main St.",
    )
    values.update(overrides)
    return services.request_amendment(ctx=context(user), person_id=person_id, **values)


def assert_nothing_written(mark, rows=0, statements=0):
    assert AmendmentRequest.objects.count() == rows
    assert DisagreementStatement.objects.count() == statements
    assert (
        not Event.objects.filter(id__gt=mark, data_category="amendment", outcome="allowed")
        .exclude(action__in=["read", "list"])
        .exists()
    )


# --- the clock --------------------------------------------------------------------------------
def test_clock_worked_example_across_thanksgiving_christmas_and_new_year():
    """Received Wednesday 18 November 2026 (New York). Working days skip weekends, Thanksgiving
    (Thursday 26 November), Christmas (Friday 25 December) and New Year's Day (Friday
    1 January 2027):
    - acknowledgement, 10 working days: 19, 20, 23, 24, 25, 27, 30 Nov, 1, 2, 3 Dec -> 3 Dec;
    - decision, 30 working days: ... 22, 23, 24, 28, 29, 30, 31 Dec, 4 Jan -> 4 Jan 2027."""
    received = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
    ack, decide = services.amendment_clock(received, "America/New_York")
    assert ack == date(2026, 12, 3)
    assert decide == date(2027, 1, 4)


def test_clock_counts_from_the_day_in_the_office_time_zone():
    # 06:30 UTC on Thursday 19 Nov is still Wednesday 18 Nov in Los Angeles.
    late_evening = datetime(2026, 11, 19, 6, 30, tzinfo=UTC)
    assert services.amendment_clock(late_evening, "America/Los_Angeles")[0] == date(2026, 12, 3)
    assert services.amendment_clock(late_evening, "America/New_York")[0] == date(2026, 12, 4)


def test_request_gets_its_due_dates_and_one_event(users, rosa, events_since):
    mark = last_event_id()
    received = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
    with mock.patch("caseledger.core.clock.now", return_value=received):
        request = ask(users["participant"])
    assert (request.acknowledge_due, request.decision_due) == (date(2026, 12, 3), date(2027, 1, 4))
    assert request.person_id == rosa.pk and request.status == AmendmentStatus.RECEIVED
    events = [e for e in events_since(mark) if e.data_category == "amendment"]
    assert [(e.action, e.subject_id, e.actor_role) for e in events] == [
        ("request", rosa.pk, "participant")
    ]
    assert events[0].detail == {
        "category": "address",
        "acknowledge_due": "2026-12-03",
        "decision_due": "2027-01-04",
    }
    assert "21 Main" not in str(events[0].detail)  # no free text in the ledger


# --- the whole path ---------------------------------------------------------------------------
def test_representative_asks_privacy_officer_acknowledges_and_grants(users, rosa, events_since):
    request = ask(
        users["representative"],
        rosa.pk,
        category="identity",
        what_is_wrong="Date of birth is wrong.",
        correction="It is 17 May 1991.",
    )
    assert request.requester_role == "representative"
    privacy = context(users["privacy"])
    # Rosa was named in a disclosure request, so her record may have earlier recipients.
    create_request(privacy, request_input(rosa))
    mark = last_event_id()
    services.acknowledge_amendment(ctx=privacy, request_id=request.pk)
    with mock.patch(
        "caseledger.disclosures.services.notify_prior_recipients", return_value=["n1", "n2"]
    ) as notify:
        decided = services.decide_amendment(
            ctx=privacy,
            request_id=request.pk,
            decision="grant",
            reasons="The birth certificate on file confirms 17 May 1991.",
        )
    assert decided.status == AmendmentStatus.GRANTED
    assert decided.correction_officer == users["officer_east"]  # the caseload officer
    assert decided.recipients_notified == 2
    kwargs = notify.call_args.kwargs
    assert kwargs["person_id"] == rosa.pk and kwargs["categories"] == ["identity"]
    actions = [(e.action, e.data_category) for e in events_since(mark)]
    assert ("acknowledge", "amendment") in actions and ("decide", "amendment") in actions
    # the accounting is reached by its keeper: no grant opens the rest of the record
    assert ("grant", "access") not in actions
    decide = Event.objects.get(id__gt=mark, action="decide")
    assert decide.detail["decision"] == "granted"
    assert decide.detail["correction_officer"] == str(users["officer_east"].pk)

    # the officer sees the correction to make, and reports it made
    officer = context(users["officer_east"])
    assert [r.pk for r in selectors.corrections_to_make(ctx=officer)] == [request.pk]
    with pytest.raises(NotFound):  # not their caseload
        services.mark_corrected(ctx=context(users["officer_east2"]), request_id=request.pk)
    services.mark_corrected(ctx=officer, request_id=request.pk)
    assert selectors.corrections_to_make(ctx=officer) == []
    with pytest.raises(Conflict) as exc:
        services.mark_corrected(ctx=officer, request_id=request.pk)
    assert exc.value.code == "already_corrected"


def test_a_person_never_disclosed_has_no_recipients_to_notify(users, rosa):
    request = ask(
        users["participant"],
        rosa.pk,
        category="address",
        what_is_wrong="The old street is misspelled.",
        correction="Calle Ocho, not Calle Ocha.",
    )
    with mock.patch("caseledger.disclosures.services.notify_prior_recipients") as notify:
        decided = services.decide_amendment(
            ctx=context(users["privacy"]),
            request_id=request.pk,
            decision="grant",
            reasons="The lease on file confirms the spelling.",
        )
    assert decided.recipients_notified == 0
    notify.assert_not_called()


def test_grant_notifies_earlier_recipients_through_the_disclosures_service(users, rosa):
    from caseledger.disclosures import services as disclosures
    from caseledger.disclosures.models import CorrectionNotice
    from tests.disclosures.conftest import request_input

    privacy2 = _privacy2(users)
    req = disclosures.create_request(
        context(users["privacy"]), request_input(rosa, categories=["identity", "addresses"])
    )
    disclosures.decide(
        context(privacy2),
        req.pk,
        decision="approve",
        reason="Routine use A applies; court proceedings pending.",
    )
    request = ask(users["participant"])  # address
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="grant",
        reasons="The lease shows 21 Main St.",
    )
    notices = list(CorrectionNotice.objects.filter(subject_id=rosa.pk))
    assert len(notices) == 1 and notices[0].categories == ["addresses"]
    request.refresh_from_db()
    assert request.recipients_notified == 1


def _privacy2(users):
    from caseledger.accounts.models import Role
    from caseledger.accounts.services import create_user
    from tests.conftest import PASSWORD

    return create_user(
        username="privacy2", password=PASSWORD, role=Role.PRIVACY_OFFICER, office=None
    )


def test_refusal_then_statement_of_disagreement(users, rosa, events_since):
    request = ask(
        users["participant"],
        category="supervision",
        what_is_wrong="The missed check-in on 3 March was a phone fault.",
        correction="Record it as a technical problem.",
    )
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="The review found no fault report.",
    )
    mark = last_event_id()
    statement = services.file_statement(
        ctx=context(users["participant"]),
        request_id=request.pk,
        text="I called my officer that day to report it.",
    )
    event = events_since(mark)[-1]
    assert (event.action, event.data_category, event.subject_id) == (
        "disagree",
        "amendment",
        rosa.pk,
    )
    assert "called" not in str(event.detail)
    # attached to the record: staff pages read it through the selector
    shown = selectors.statements_for_person(context(users["officer_east"]), rosa.pk)
    assert [s.pk for s in shown] == [statement.pk]
    assert [s.pk for s in selectors.statements_for_person(context(users["privacy"]), rosa.pk)] == [
        statement.pk
    ]
    with pytest.raises(NotFound):
        selectors.statements_for_person(context(users["officer_west"]), rosa.pk)
    # one statement per request
    with pytest.raises(Conflict) as exc:
        services.file_statement(
            ctx=context(users["representative"]), request_id=request.pk, text="Again."
        )
    assert exc.value.code == "statement_exists"
    assert DisagreementStatement.objects.count() == 1


# --- refusals: each names its rule, nothing is written ----------------------------------------
def test_request_for_someone_elses_record_is_not_found_and_the_denial_recorded(
    users, rosa, make_person, events_since
):
    other = make_person("officer_east", "Ana", "Lopez")
    mark = last_event_id()
    for user in (users["participant"], users["representative"]):
        with pytest.raises(NotFound):
            ask(user, other.pk)
    assert_nothing_written(mark)
    denials = [e for e in events_since(mark) if e.outcome == "denied"]
    assert [(e.actor_role, e.subject_id, e.data_category, e.action) for e in denials] == [
        ("participant", other.pk, "amendment", "create"),
        ("representative", other.pk, "amendment", "create"),
    ]


def test_participant_without_a_record_and_invented_ids_are_refused(users, make_user):
    from caseledger.accounts.models import Role

    loner = make_user("loner", Role.PARTICIPANT)
    mark = last_event_id()
    with pytest.raises(NotFound):
        ask(loner)
    with pytest.raises(NotFound):
        ask(users["representative"], "not-a-uuid")
    assert_nothing_written(mark)
    assert Event.objects.filter(id__gt=mark, outcome="denied").count() == 2


def test_staff_cannot_file_amendment_requests(users, rosa):
    mark = last_event_id()
    with pytest.raises(PermissionDenied) as exc:
        ask(users["officer_east"], rosa.pk)
    assert exc.value.code == "role"
    assert_nothing_written(mark)


@pytest.mark.parametrize("field", ["what_is_wrong", "correction"])
@pytest.mark.parametrize(
    "value,code,words",
    [
        ("", "empty", "cannot be empty"),
        ("   \n ", "empty", "cannot be empty"),
        ("x" * 2001, "too_long", "at most 2000"),
        (None, "empty", "cannot be empty"),
        ("bad\x00byte", "invalid", "control characters"),
    ],
)
def test_empty_or_oversized_text_is_refused(users, rosa, field, value, code, words):
    mark = last_event_id()
    with pytest.raises(ValidationError) as exc:
        ask(users["participant"], **{field: value})
    assert (exc.value.field, exc.value.code) == (field, code)
    assert words in exc.value.message
    assert_nothing_written(mark)


@pytest.mark.parametrize("category", ["", "biometrics", "ADDRESS", None, "x" * 300])
def test_unknown_category_is_refused(users, rosa, category):
    mark = last_event_id()
    with pytest.raises(ValidationError) as exc:
        ask(users["participant"], category=category)
    assert (exc.value.field, exc.value.code) == ("category", "unknown_category")
    assert "identity, language, address" in exc.value.message
    assert_nothing_written(mark)


def test_deciding_twice_is_a_conflict(users, rosa):
    request = ask(users["participant"])
    privacy = context(users["privacy"])
    services.decide_amendment(
        ctx=privacy,
        request_id=request.pk,
        decision="refuse",
        reasons="The address of record matches the lease.",
    )
    mark = last_event_id()
    with pytest.raises(Conflict) as exc:
        services.decide_amendment(
            ctx=privacy, request_id=request.pk, decision="grant", reasons="Changed my mind."
        )
    assert exc.value.code == "already_decided" and "already decided" in exc.value.message
    request.refresh_from_db()
    assert request.status == AmendmentStatus.REFUSED
    assert_nothing_written(mark, rows=1)
    with pytest.raises(Conflict) as exc:
        services.acknowledge_amendment(ctx=privacy, request_id=request.pk)
    assert exc.value.code == "already_acknowledged"


def test_decisions_need_a_privacy_officer_a_known_decision_and_reasons(users, rosa):
    request = ask(users["participant"])
    mark = last_event_id()
    with pytest.raises(PermissionDenied):
        services.decide_amendment(
            ctx=context(users["officer_east"]),
            request_id=request.pk,
            decision="grant",
            reasons="Fine.",
        )
    with pytest.raises(PermissionDenied):
        services.acknowledge_amendment(ctx=context(users["supervisor_east"]), request_id=request.pk)
    with pytest.raises(ValidationError) as exc:
        services.decide_amendment(
            ctx=context(users["privacy"]), request_id=request.pk, decision="maybe", reasons="Fine."
        )
    assert exc.value.code == "unknown_decision"
    with pytest.raises(ValidationError) as exc:
        services.decide_amendment(
            ctx=context(users["privacy"]), request_id=request.pk, decision="refuse", reasons="  "
        )
    assert (exc.value.field, exc.value.code) == ("reasons", "empty")
    with pytest.raises(NotFound):
        services.decide_amendment(
            ctx=context(users["privacy"]),
            request_id="00000000-0000-0000-0000-000000000000",
            decision="refuse",
            reasons="No.",
        )
    request.refresh_from_db()
    assert request.status == AmendmentStatus.RECEIVED and request.decided_at is None
    assert_nothing_written(mark, rows=1)


@pytest.mark.parametrize("status", ["received", "acknowledged", "granted"])
def test_statement_on_a_request_not_refused_is_a_conflict(users, rosa, status):
    request = ask(users["participant"])
    privacy = context(users["privacy"])
    if status == "acknowledged":
        services.acknowledge_amendment(ctx=privacy, request_id=request.pk)
    if status == "granted":
        with mock.patch("caseledger.disclosures.services.notify_prior_recipients", return_value=[]):
            services.decide_amendment(
                ctx=privacy,
                request_id=request.pk,
                decision="grant",
                reasons="Confirmed by the lease.",
            )
    mark = last_event_id()
    with pytest.raises(Conflict) as exc:
        services.file_statement(
            ctx=context(users["participant"]), request_id=request.pk, text="I disagree."
        )
    assert exc.value.code == "not_refused" and status in exc.value.message
    assert_nothing_written(mark, rows=1)


def test_statement_on_someone_elses_request_is_not_found(users, rosa, make_person, make_user):
    from caseledger.accounts.models import Role
    from caseledger.people.models import Person

    request = ask(users["participant"])
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="No evidence.",
    )
    stranger = make_user("stranger", Role.PARTICIPANT)
    other = make_person("officer_east", "Ana", "Lopez")
    Person.objects.filter(pk=other.pk).update(participant_account=stranger)
    mark = last_event_id()
    with pytest.raises(NotFound):
        services.file_statement(ctx=context(stranger), request_id=request.pk, text="Mine now.")
    assert_nothing_written(mark, rows=1)
    denial = Event.objects.get(id__gt=mark, outcome="denied")
    assert (denial.subject_id, denial.record_type) == (rosa.pk, "portal.amendmentrequest")


# --- the staff queue --------------------------------------------------------------------------
def test_queue_orders_by_what_is_due_first_and_flags_overdue(users, rosa):
    privacy = context(users["privacy"])
    with mock.patch(
        "caseledger.core.clock.now", return_value=datetime(2026, 10, 1, 15, tzinfo=UTC)
    ):
        old = ask(users["participant"])  # ack due 2026-10-16 (Columbus Day skipped)
    with mock.patch("caseledger.core.clock.now", return_value=datetime(2026, 9, 1, 15, tzinfo=UTC)):
        older = ask(
            users["participant"],
            category="contact",
            what_is_wrong="Old phone.",
            correction="New phone.",
        )
        services.acknowledge_amendment(ctx=privacy, request_id=older.pk)  # decision due 10-15
    with mock.patch(
        "caseledger.core.clock.now", return_value=datetime(2026, 11, 2, 15, tzinfo=UTC)
    ):
        fresh = ask(
            users["participant"],
            category="case",
            what_is_wrong="Wrong court.",
            correction="Newark.",
        )
    assert old.acknowledge_due == date(2026, 10, 16)
    assert older.decision_due == date(2026, 10, 15)  # Labor and Columbus Days skipped
    with mock.patch(
        "caseledger.core.clock.now", return_value=datetime(2026, 11, 3, 15, tzinfo=UTC)
    ):
        rows, total = selectors.amendment_queue(ctx=privacy)
    assert total == 3
    assert [r.request.pk for r in rows] == [older.pk, old.pk, fresh.pk]
    assert [r.late for r in rows] == [["decision"], ["acknowledgement"], []]
    assert rows[0].due == date(2026, 10, 15) and rows[2].due == fresh.acknowledge_due
    # the case officer of the person sees the queue too; an officer of another office not
    assert selectors.amendment_queue(ctx=context(users["officer_east"]))[1] == 3
    assert selectors.amendment_queue(ctx=context(users["officer_west"]))[1] == 0
    with pytest.raises(NotFound):
        selectors.amendment_queue(ctx=context(users["participant"]))
    with pytest.raises(NotFound):
        selectors.get_amendment(ctx=context(users["officer_west"]), request_id=old.pk)


def test_statement_of_disagreement_shows_on_the_staff_person_page(users, rosa, web_client):
    """The statement travels with the record: the officer sees it on the person page, read in
    the page's single ledger event."""
    from caseledger.portal import services as portal

    mine = context(users["participant"])
    staff = context(users["privacy"])
    request = portal.request_amendment(
        ctx=mine,
        category="language",
        what_is_wrong="English is listed as fluent.",
        correction="List Spanish only.",
    )
    portal.decide_amendment(
        ctx=staff,
        request_id=request.pk,
        decision="refuse",
        reasons="The interview record shows the interview in English.",
    )
    portal.file_statement(
        ctx=mine, request_id=request.pk, text="I did not understand the interview in English."
    )
    client = web_client(users["officer_east"])
    mark = last_event_id()
    page = client.get(f"/persons/{rosa.pk}/").content.decode()
    assert "data-statements" in page
    assert "I did not understand the interview in English." in page
    read = Event.objects.get(id__gt=mark)
    assert read.detail["statements"] == 1
