"""One input model per write (cases/inputs.py): the API, the forms and the CSV importer give
the same verdict, in the same words, for the same bad value."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.cases.forms import HearingForm, MoveHearingForm
from caseledger.cases.inputs import OpenCaseIn, ScheduleHearingIn
from caseledger.cases.models import Case, Hearing
from caseledger.cases.services import open_case
from caseledger.core.errors import ValidationError
from caseledger.core.inputs import parse
from caseledger.imports.models import Reason
from caseledger.imports.services import RowRejected
from caseledger.imports.services.cases import checked_row
from caseledger.people.forms import OpenCaseForm
from tests.conftest import context


@pytest.fixture
def case(users, make_person):
    person = make_person("officer_east")
    return open_case(ctx=context(users["officer_east"]), person_id=person.pk,
                     case_type="removal", court_code="NYC")


def _soon() -> str:
    return (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d 09:30")


def _api(client, url, body) -> dict:
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    return response.json()


def _row(model, data) -> RowRejected:
    with pytest.raises(RowRejected) as err:
        checked_row(model, data)
    return err.value


HEARINGS = [
    pytest.param({"calendar": "merits"}, "calendar",
                 "Unknown calendar type 'merits'. Use one of: master, individual, custody.",
                 Reason.UNKNOWN_CODE, id="unknown-calendar"),
    pytest.param({"judge": "J" * 121}, "judge", "Too long: at most 120 characters.",
                 Reason.INVALID_VALUE, id="too-long"),
]


@pytest.mark.parametrize(("change", "field", "message", "reason"), HEARINGS)
def test_a_hearing_is_refused_alike(users, api_client, case, change, field, message, reason):
    good = {"calendar": "master", "scheduled_at": _soon(), "judge": ""}
    error = _api(api_client(users["officer_east"]), f"/api/v1/cases/{case.pk}/hearings",
                 {**good, **change})
    assert (error["detail"], error["field"]) == (f"{field}: {message}", field)
    page = HearingForm(data={**good, **change})
    assert not page.is_valid() and page.errors[field] == [message]
    refused = _row(ScheduleHearingIn, {**good, **change, "court": "NYC"})
    assert (refused.reason, refused.message) == (reason, f"{field}: {message}")
    assert not Hearing.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2027-02-30 09:00", "'2027-02-30 09:00': February 2027 has no day 30 (it has 28 "
                             "days)."),
        ("next tuesday", "'next tuesday' is not a date and time. Write it as YYYY-MM-DD HH:MM "
                         "in the court's time, for example 2027-03-10 09:00."),
        ("2999-01-01 09:00", "'2999-01-01 09:00' is more than 5 years ahead; check the year."),
    ],
    ids=["no-such-day", "not-a-time", "implausible-year"],
)
def test_a_hearing_time_is_refused_alike(users, api_client, case, value, message):
    error = _api(api_client(users["officer_east"]), f"/api/v1/cases/{case.pk}/hearings",
                 {"calendar": "master", "scheduled_at": value})
    assert (error["detail"], error["field"]) == (f"scheduled_at: {message}", "scheduled_at")
    page = HearingForm(data={"calendar": "master", "scheduled_at": value.replace(" ", "T")})
    assert not page.is_valid() and page.errors["scheduled_at"] == [message]
    with pytest.raises(ValidationError) as err:
        parse(ScheduleHearingIn, {"calendar": "master", "scheduled_at": value})
    assert err.value.message == error["detail"]


def test_a_wrong_type_and_an_extra_field_are_refused(users, api_client, case):
    url = f"/api/v1/cases/{case.pk}/hearings"
    client = api_client(users["officer_east"])
    error = _api(client, url, {"calendar": "master", "scheduled_at": 20270310})
    assert error["detail"] == "scheduled_at: Must be a date and time written YYYY-MM-DD HH:MM."
    error = _api(client, url, {"calendar": "master", "scheduled_at": _soon(), "room": "3"})
    assert (error["detail"], error["field"]) == ("room: Unknown field: leave it out.", "room")
    refused = _row(ScheduleHearingIn, {"calendar": "master", "scheduled_at": _soon(),
                                       "room": "3"})
    assert refused.message == "room: Unknown field: leave it out."


def test_a_move_without_a_time_says_to_adjourn(users, api_client, case):
    hearing_url = f"/api/v1/cases/{case.pk}/hearings"
    client = api_client(users["officer_east"])
    created = client.post(hearing_url, json.dumps({"calendar": "master",
                                                   "scheduled_at": _soon()}),
                          content_type="application/json")
    assert created.status_code == 201, created.content[:300]
    error = _api(client, f"/api/v1/hearings/{created.json()['id']}/move",
                 {"scheduled_at": " "})
    assert error["field"] == "scheduled_at" and "adjourn the hearing instead" in error["detail"]
    page = MoveHearingForm(data={"scheduled_at": "", "row_version": "1"})
    assert not page.is_valid()
    assert error["detail"] == f"scheduled_at: {page.errors['scheduled_at'][0]}"


@pytest.mark.parametrize(
    ("change", "field", "message", "reason"),
    [
        ({"opened_on": "1850-01-01"}, "opened_on",
         "A date before 1900 is not plausible; check the year.", Reason.INVALID_DATE),
        ({"opened_on": "03/01/2024"}, "opened_on",
         "'03/01/2024' is not a date in the form YYYY-MM-DD.", Reason.INVALID_DATE),
        ({"case_type": "deportation"}, "case_type",
         "Unknown case type 'deportation'. Use one of: removal, expedited_removal, "
         "reinstatement, withholding_only, asylum_affirmative.", Reason.UNKNOWN_CODE),
    ],
    ids=["implausible-date", "not-a-date", "unknown-type"],
)
def test_opening_a_case_is_refused_alike(users, make_person, change, field, message, reason):
    good = {"case_type": "removal", "court": "NYC", "opened_on": "2024-03-01"}
    page = OpenCaseForm(data={**good, **change})
    assert not page.is_valid() and page.errors[field] == [message]
    refused = _row(OpenCaseIn, {**good, **change})
    assert (refused.reason, refused.message) == (reason, f"{field}: {message}")
    person = make_person("officer_east")
    with pytest.raises(ValidationError) as err:
        open_case(ctx=context(users["officer_east"]), person_id=person.pk,
                  **{"case_type": "removal", "court_code": "NYC", "opened_on": "2024-03-01",
                     **change})
    assert (err.value.field, err.value.message) == (field, f"{field}: {message}")
    assert not Case.objects.filter(person=person).exists()
