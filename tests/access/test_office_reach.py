"""`policies.restrict` filters an office-wide reach by a join on the row's person's office
(`office_reach`) instead of `person IN (every person of the office)`: the rows must be the
same, and every other reach must keep its own filter."""

from __future__ import annotations

import pytest

from caseledger.access import policies
from caseledger.access.gate import visible_persons
from caseledger.cases.models import Case, Hearing
from caseledger.cases.services import open_case, schedule_hearing
from caseledger.core import clock
from caseledger.ledger.vocabulary import Purpose
from caseledger.people.models import Person
from tests.conftest import context

pytestmark = pytest.mark.django_db


@pytest.fixture
def offices(users, make_person):
    for officer, family in [("officer_east", "East"), ("officer_east2", "Colleague"),
                            ("officer_west", "West")]:
        person = make_person(officer, "Ana", family)
        case = open_case(ctx=context(users[officer]), person_id=person.pk,
                         case_type="removal", court_code="NYC")
        schedule_hearing(ctx=context(users[officer]), case_id=case.pk, calendar="master",
                         scheduled_at=f"{clock.today().year + 2}-03-04T15:00:00Z")
    return users


def _by_subquery(model, ctx):
    visible = visible_persons(ctx).values("pk")
    path = policies.person_path(model)
    return set(model.objects.filter(**{f"{path}__in": visible}).values_list("pk", flat=True))


@pytest.mark.parametrize("model", [Person, Case, Hearing])
def test_an_office_reach_is_a_join_with_the_same_rows(offices, model):
    ctx = context(offices["supervisor_east"])
    assert policies.office_reach(ctx) == offices["supervisor_east"].office_id
    rows = policies.restrict(model.objects.all(), ctx)
    assert "office_id" in str(rows.query) and " IN (SELECT" not in str(rows.query)
    assert set(rows.values_list("pk", flat=True)) == _by_subquery(model, ctx)
    assert len(_by_subquery(model, ctx)) == 2  # east and colleague, not west


@pytest.mark.parametrize("who", ["officer_east", "participant", "representative", "privacy",
                                 "admin"])
def test_other_reaches_keep_their_own_filter(offices, who):
    ctx = context(offices[who])
    assert policies.office_reach(ctx) is None
    assert set(policies.restrict(Case.objects.all(), ctx).values_list("pk", flat=True)) == (
        _by_subquery(Case, ctx))


def test_break_glass_without_a_grant_is_not_an_office_reach(offices):
    ctx = context(offices["supervisor_east"], purpose=Purpose.BREAK_GLASS)
    assert policies.office_reach(ctx) is None
    assert not policies.restrict(Case.objects.all(), ctx).exists()
