"""Reminders follow the obligations other apps create: enrolment windows, address changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from tests.conftest import context
from tests.supervision.conftest import enrolment_input
from tests.supervision.conftest import stub as supervision_stub  # noqa: F401  (fixture)

from caseledger.cases.services import open_case
from caseledger.notices.models import Reminder
from caseledger.people.services import AddressInput, record_address
from caseledger.supervision import services as supervision

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("supervision_stub")
def test_enrolment_plans_check_in_reminders_and_ending_cancels_them(users, make_person):
    person = make_person("officer_east", contacts=[])
    result = supervision.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                               data=enrolment_input(first_window_at=timezone.now()
                                                    + timedelta(days=2)))
    planned = Reminder.objects.filter(person=person).exclude(status="cancelled")
    assert planned.exists()
    request = supervision.propose_change(ctx=context(users["officer_east"]),
                                         enrolment_id=result.enrolment.pk, kind="termination",
                                         reason="Relief granted by the court")
    supervision.decide_change(ctx=context(users["supervisor_east"]), request_id=request.pk,
                              approve=True)
    assert not Reminder.objects.filter(person=person, status="planned").exists()


def test_change_of_address_plans_the_eoir33_reminder(users, make_person):
    person = make_person("officer_east")
    ctx = context(users["officer_east"])
    open_case(ctx=ctx, person_id=person.pk, case_type="removal", court_code="NYC",
              opened_on=date(2026, 1, 5))
    before = Reminder.objects.filter(person=person).count()
    record_address(ctx=ctx, person_id=person.pk, data=AddressInput(
        line1="1 New Rd", city="Newark", region="NJ", valid_from=timezone.localdate()))
    assert Reminder.objects.filter(person=person).count() > before
