"""Rows of cases and hearings files become cases and hearings, through `cases.services`
(`open_case`, `schedule_hearing`: the services the screens use). The person or case a row
names is looked up through the importer's access policy (`lookups.Lookups`)."""

from __future__ import annotations

from caseledger.access.context import AccessContext
from caseledger.cases.models import CalendarType, Case, CaseType, Court
from caseledger.cases.services import open_case, schedule_hearing
from caseledger.core import clock
from caseledger.people import validation

from ..models import Reason
from .lookups import Applied, Lookups
from .validation import (
    EARLIEST_DATE,
    Cells,
    RowRejected,
    check_code,
    max_length,
    not_before,
    parse_local_time,
)

MAX_REFERENCE = 32
MAX_JUDGE = 120


def apply_case(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    a_number = validation.normalize_a_number(c.required("person_a_number"))
    if a_number is None:
        raise RowRejected(
            Reason.INVALID_A_NUMBER,
            f"person_a_number '{c.text('person_a_number')}' is not an A-number (A and 8 or 9 "
            "digits).",
        )
    case_type = check_code(c.required("case_type"), CaseType, "case type")
    court = lookups.court(c.required("court"))
    opened_on = not_before("opened_on", c.date("opened_on", required=True), EARLIEST_DATE)
    reference = max_length("reference", c.text("reference"), MAX_REFERENCE) or None
    # A reference is unique across the system (a database constraint): this check only
    # words the refusal the constraint would give anyway.
    if reference and Case.objects.filter(reference=reference).exists():
        raise RowRejected(
            Reason.ALREADY_EXISTS, f"A case with reference {reference} already exists."
        )
    person_id = lookups.persons.get(a_number)
    if person_id is None:
        raise RowRejected(
            Reason.NOT_FOUND,
            f"No person with A-number {a_number} is visible to {ctx.user.username}: import "
            "the person first, or check that they are on your caseload (supervisors: in "
            "your office).",
        )
    case = open_case(
        ctx=ctx,
        person_id=person_id,
        case_type=case_type,
        court_code=court.code,
        opened_on=opened_on,
        reference=reference,
    )
    return Applied("cases.case", case.pk, case.person_id)


def _open_proceeding_court(case_id: object, reference: str) -> Court:
    court = (
        Court.objects.filter(proceedings__case_id=case_id, proceedings__ended_on__isnull=True)
        .order_by("-proceedings__started_on")
        .first()
    )
    if court is None:
        raise RowRejected(
            Reason.INVALID_VALUE,
            f"Case {reference} has no open proceeding to schedule a hearing in.",
        )
    return court


def apply_hearing(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    reference = c.required("case_reference")
    calendar = check_code(c.required("calendar"), CalendarType, "calendar type")
    court = lookups.court(c.text("court")) if c.text("court") else None
    when_text = c.required("scheduled_at_local")
    judge = max_length("judge", c.text("judge"), MAX_JUDGE)
    found = lookups.cases.get(reference)
    if found is None:
        raise RowRejected(
            Reason.NOT_FOUND,
            f"No case with reference {reference} is visible to {ctx.user.username}: import "
            "the case first, or check that its person is on your caseload (supervisors: in "
            "your office).",
        )
    case_id, person_id = found
    if court is None:
        court = _open_proceeding_court(case_id, reference)
    scheduled_at = parse_local_time("scheduled_at_local", when_text, court.time_zone)
    if scheduled_at < clock.now():
        raise RowRejected(
            Reason.PAST_HEARING,
            f"The hearing is scheduled in the past ({when_text} in {court.time_zone}); a new "
            "hearing cannot be scheduled in the past.",
        )
    hearing = schedule_hearing(
        ctx=ctx,
        case_id=case_id,
        calendar=calendar,
        scheduled_at=scheduled_at,
        judge=judge,
        court_code=court.code,
    )
    return Applied("cases.hearing", hearing.pk, person_id)
