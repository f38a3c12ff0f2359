"""Rows of cases and hearings files become cases and hearings, through `cases.services`
(`open_case`, `schedule_hearing`: the services the screens use), each row checked by the
input model the service takes (`cases.inputs.OpenCaseIn`, `ScheduleHearingIn`: the API's
request bodies and the forms' checks). The person or case a row names is looked up through
the importer's access policy (`lookups.Lookups`); a hearing's local time is read in the
CSV's own form (`YYYY-MM-DDTHH:MM`) in its court's zone."""

from __future__ import annotations

from typing import Any

import pydantic

from caseledger.access.context import AccessContext
from caseledger.cases.inputs import MAX_JUDGE, MAX_REFERENCE, OpenCaseIn, ScheduleHearingIn
from caseledger.cases.models import Case, Court
from caseledger.cases.services import open_case, schedule_hearing
from caseledger.core import clock
from caseledger.core.inputs import Input
from caseledger.people import validation

from ..models import Reason
from .lookups import Applied, Lookups
from .validation import Cells, RowRejected, parse_local_time, rejected

__all__ = ["MAX_JUDGE", "MAX_REFERENCE", "apply_case", "apply_hearing"]
# The CSV column of each field of the models, where it is named otherwise.
_COLUMNS = {"scheduled_at": "scheduled_at_local"}


def checked_row[M: Input](model: type[M], data: dict[str, Any]) -> M:
    """The row's values checked by `model` (raises `RowRejected` with its message)."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise rejected(exc, lambda loc: _COLUMNS.get(str(loc[0]), str(loc[0])) if loc
                       else "row") from None


def apply_case(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    a_number = validation.normalize_a_number(c.required("person_a_number"))
    if a_number is None:
        raise RowRejected(
            Reason.INVALID_A_NUMBER,
            f"person_a_number '{c.text('person_a_number')}' is not an A-number (A and 8 or 9 "
            "digits).",
        )
    data = checked_row(OpenCaseIn, {
        "case_type": c.required("case_type"), "court": c.required("court"),
        "opened_on": c.required("opened_on"), "reference": c.text("reference") or None,
    })
    lookups.court(data.court)  # an unknown code is refused naming the courts there are
    reference = data.reference
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
    case = open_case(ctx=ctx, person_id=person_id, data=data)
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
    calendar = c.required("calendar")
    court = lookups.court(c.text("court")) if c.text("court") else None
    when_text = c.required("scheduled_at_local")
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
    data = checked_row(ScheduleHearingIn, {
        "calendar": calendar, "scheduled_at": scheduled_at, "judge": c.text("judge"),
        "court": court.code,
    })
    hearing = schedule_hearing(ctx=ctx, case_id=case_id, data=data)
    return Applied("cases.hearing", hearing.pk, person_id)
