"""The case workflow: every (from, to) pair is either a recorded transition or a refusal
that names the statuses allowed next."""

from __future__ import annotations

from itertools import product

import pytest

from caseledger.cases.models import Case, CaseStatus, StatusChange
from caseledger.cases.services import open_case, transition_case
from caseledger.cases.workflow import TRANSITIONS, allowed_next
from caseledger.core.errors import Conflict, NotFound, ValidationError
from caseledger.ledger.models import Event
from tests.conftest import context, last_event_id

STATUSES = list(CaseStatus.values)
PAIRS = list(product(STATUSES, STATUSES))

# The workflow as the domain has it, written out independently of workflow.py.
EXPECTED_ALLOWED = {
    ("open", "decided"),
    ("open", "closed"),
    ("open", "departed"),  # pre-conclusion voluntary departure, self-departure
    ("decided", "departed"),  # post-conclusion voluntary departure
    ("decided", "appealed"),
    ("decided", "final_order"),
    ("decided", "relief_granted"),
    ("appealed", "decided"),
    ("appealed", "final_order"),
    ("appealed", "relief_granted"),
    ("appealed", "open"),
    ("final_order", "departed"),
    ("final_order", "closed"),
    ("final_order", "open"),
    ("relief_granted", "closed"),
    ("departed", "closed"),
}


@pytest.fixture
def case_in(users, make_person):
    """A case of the east officer's person, put directly into `status` (test set-up)."""
    person = make_person("officer_east")

    def make(status: str) -> Case:
        case = open_case(
            ctx=context(users["officer_east"]),
            person_id=person.pk,
            case_type="removal",
            court_code="NEW",
        )
        Case.objects.filter(pk=case.pk).update(status=status)
        case.refresh_from_db()
        return case

    return make


def test_transition_table_covers_every_status():
    assert set(TRANSITIONS) == set(STATUSES)
    for targets in TRANSITIONS.values():
        assert targets <= set(STATUSES)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == EXPECTED_ALLOWED


def test_closed_is_terminal_and_reachable_from_every_end_state():
    assert TRANSITIONS[CaseStatus.CLOSED] == frozenset()
    assert allowed_next(CaseStatus.CLOSED) == []
    for status in (CaseStatus.OPEN, CaseStatus.RELIEF_GRANTED, CaseStatus.DEPARTED):
        assert CaseStatus.CLOSED in TRANSITIONS[status]


def test_allowed_next_is_sorted_and_unknown_has_none():
    assert allowed_next("decided") == [
        "appealed", "departed", "final_order", "relief_granted"]
    assert allowed_next("no-such-status") == []


@pytest.mark.parametrize(("from_status", "to_status"), sorted(EXPECTED_ALLOWED))
def test_allowed_transition_succeeds_and_is_recorded(users, case_in, from_status, to_status):
    case = case_in(from_status)
    officer = users["officer_east"]
    version = case.row_version
    mark = last_event_id()
    result = transition_case(
        ctx=context(officer),
        case_id=case.pk,
        to_status=to_status,
        reason="order served",
        row_version=version,
    )
    assert result.status == to_status
    assert result.row_version == version + 1
    case.refresh_from_db()
    assert (case.status, case.row_version) == (to_status, version + 1)

    change = StatusChange.objects.get(case=case)
    assert (change.from_status, change.to_status) == (from_status, to_status)
    assert change.changed_by == officer
    assert change.reason == "order served"

    event = Event.objects.get(id__gt=mark)
    assert event.action == "transition"
    assert event.data_category == "case"
    assert event.detail == {"from": from_status, "to": to_status}
    assert (event.record_type, event.record_id) == ("cases.case", str(case.pk))
    assert event.subject_id == case.person_id
    assert b"order served" not in bytes(event.leaf)


@pytest.mark.parametrize(
    ("from_status", "to_status"), [p for p in PAIRS if p not in EXPECTED_ALLOWED]
)
def test_any_other_transition_is_refused_naming_the_allowed_ones(
    users, case_in, from_status, to_status
):
    case = case_in(from_status)
    mark = last_event_id()
    with pytest.raises(Conflict) as err:
        transition_case(ctx=context(users["officer_east"]), case_id=case.pk, to_status=to_status)
    assert err.value.code == "illegal_transition"
    assert err.value.field == "to_status"
    message = err.value.message
    assert f"'{from_status}' cannot become '{to_status}'" in message
    allowed = allowed_next(from_status)
    if allowed:
        assert f"Allowed next: {', '.join(allowed)}." in message
    else:
        assert "none (the case is closed)" in message
    case.refresh_from_db()
    assert (case.status, case.row_version) == (from_status, 1)
    assert not StatusChange.objects.filter(case=case).exists()
    assert not Event.objects.filter(id__gt=mark, action="transition").exists()


def test_closed_case_cannot_change_at_all(users, case_in):
    case = case_in("closed")
    for status in STATUSES:
        with pytest.raises(Conflict) as err:
            transition_case(ctx=context(users["officer_east"]), case_id=case.pk, to_status=status)
        assert "none (the case is closed)" in err.value.message


@pytest.mark.parametrize("status", ["reopened", "", "OPEN", "Closed"])
def test_unknown_status_is_a_validation_error(users, case_in, status):
    case = case_in("open")
    with pytest.raises(ValidationError) as err:
        transition_case(ctx=context(users["officer_east"]), case_id=case.pk, to_status=status)
    assert err.value.field == "to_status"
    assert "is not a case status" in err.value.message
    assert "final_order" in err.value.message
    case.refresh_from_db()
    assert case.status == "open"


def test_stale_row_version_is_a_conflict(users, case_in):
    case = case_in("open")
    ctx = context(users["officer_east"])
    transition_case(ctx=ctx, case_id=case.pk, to_status="decided", row_version=1)
    with pytest.raises(Conflict) as err:
        transition_case(ctx=ctx, case_id=case.pk, to_status="appealed", row_version=1)
    assert err.value.code == "stale_version"
    case.refresh_from_db()
    assert (case.status, case.row_version) == ("decided", 2)


def test_closing_keeps_the_reason(users, case_in):
    case = case_in("open")
    transition_case(
        ctx=context(users["officer_east"]), case_id=case.pk, to_status="closed", reason="x" * 80
    )
    case.refresh_from_db()
    assert case.closed_reason == "x" * 64
    assert StatusChange.objects.get(case=case).reason == "x" * 80


def test_a_full_path_through_the_workflow(users, case_in):
    case = case_in("open")
    ctx = context(users["officer_east"])
    path = ["decided", "appealed", "final_order", "departed", "closed"]
    for status in path:
        case = transition_case(ctx=ctx, case_id=case.pk, to_status=status)
    assert case.row_version == len(path) + 1
    changes = list(StatusChange.objects.filter(case=case).order_by("changed_at"))
    assert [(c.from_status, c.to_status) for c in changes] == list(
        zip(["open", *path[:-1]], path, strict=True)
    )


def test_transition_of_another_offices_case_is_not_found(users, make_person):
    person = make_person("officer_west")
    case = open_case(
        ctx=context(users["officer_west"]),
        person_id=person.pk,
        case_type="removal",
        court_code="LOS",
    )
    mark = last_event_id()
    with pytest.raises(NotFound):
        transition_case(ctx=context(users["officer_east"]), case_id=case.pk, to_status="closed")
    case.refresh_from_db()
    assert case.status == "open"
    event = Event.objects.get(id__gt=mark)
    assert (event.outcome, event.action, event.subject_id) == ("denied", "transition", person.pk)
