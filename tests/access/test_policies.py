"""The one policy: abilities per role, scopes, declared paths from every personal model to its
person, and `restrict`/`can` giving the same answer as the gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.db.models import ForeignKey, OneToOneField

from caseledger.access import policies
from caseledger.access.policies import ABILITIES, PERSON_PATHS, Ability, Act, Scope
from caseledger.accounts.models import Role, User
from caseledger.cases.models import Case
from caseledger.cases.services import open_case
from caseledger.ledger.models import Event, Outcome
from caseledger.people.models import Person
from tests.conftest import context

pytestmark = pytest.mark.django_db


def test_every_ability_is_declared_with_known_roles() -> None:
    assert set(ABILITIES) == set(Ability)
    for ability, roles in ABILITIES.items():
        assert roles, ability
        assert roles <= set(Role.values), ability


def _points_at_person(model: Any, depth: int = 0) -> bool:
    for f in model._meta.get_fields():
        if isinstance(f, ForeignKey | OneToOneField) and f.concrete:
            if f.related_model is Person:
                return True
            if depth < 3 and _points_at_person(f.related_model, depth + 1):
                return True
    return False


def test_every_model_that_reaches_a_person_is_declared() -> None:
    """A new model with a path to a person fails here until its path (or its exemption) is
    written in access.policies, where a reviewer sees every rule together."""
    undeclared = [
        m._meta.label_lower
        for m in apps.get_models()
        if m is not Person
        and _points_at_person(m)
        and m._meta.label_lower not in PERSON_PATHS
        and m._meta.label_lower not in policies.NOT_PERSONAL
    ]
    assert undeclared == []


@pytest.mark.parametrize("label", sorted(PERSON_PATHS))
def test_every_declared_path_reaches_the_person(label: str) -> None:
    model = apps.get_model(label)
    path = PERSON_PATHS[label].path
    if path == "pk":
        assert model is Person
        return
    # Resolving the lookup raises FieldError on a wrong path; the SQL must join to the
    # person table (or name the person column directly).
    sql = str(model.objects.filter(**{f"{path}__in": Person.objects.values("pk")}).query)
    assert "people_person" in sql


def test_scopes_follow_roles_and_end_with_the_account(users: dict[str, User]) -> None:
    assert policies.scope(users["officer_east"]) is Scope.CASELOAD
    assert policies.scope(users["supervisor_east"]) is Scope.OFFICE
    assert policies.scope(users["privacy"]) is Scope.GRANTS
    assert policies.scope(users["participant"]) is Scope.SELF
    assert policies.scope(users["representative"]) is Scope.REPRESENTED
    assert policies.scope(users["admin"]) is Scope.NONE
    officer = users["officer_east"]
    officer.is_active = False
    assert policies.scope(officer) is Scope.NONE
    assert not policies.allows(officer, Ability.EDIT_CASE)


def test_allows_reads_the_table(users: dict[str, User]) -> None:
    assert policies.allows(users["officer_east"], Ability.EDIT_CASE)
    assert not policies.allows(users["privacy"], Ability.EDIT_CASE)
    assert policies.allows(users["privacy"], Ability.DECIDE_DISCLOSURE)
    assert not policies.allows(users["supervisor_east"], Ability.DECIDE_DISCLOSURE)
    assert policies.allows(users["participant"], Ability.CHECK_IN)
    assert not policies.allows(users["representative"], Ability.CHECK_IN)
    assert not policies.allows(None, Ability.STAFF_PAGES)


@pytest.fixture
def cases(users: dict[str, User], make_person: Callable[..., Person]) -> dict[str, Case]:
    mine = make_person("officer_east", given="Ana")
    theirs = make_person("officer_west", given="Luis")
    return {
        "mine": open_case(ctx=context(users["officer_east"]), person_id=mine.pk,
                          case_type="removal", court_code="NYC"),
        "theirs": open_case(ctx=context(users["officer_west"]), person_id=theirs.pk,
                            case_type="removal", court_code="NYC"),
    }


def test_restrict_cuts_rows_to_the_persons_in_reach(
    users: dict[str, User], cases: dict[str, Case]
) -> None:
    ctx = context(users["officer_east"])
    seen = set(policies.restrict(Case.objects.all(), ctx).values_list("pk", flat=True))
    assert seen == {cases["mine"].pk}
    supervisor = context(users["supervisor_west"])
    assert set(policies.restrict(Case.objects.all(), supervisor).values_list("pk", flat=True)) \
        == {cases["theirs"].pk}
    assert not policies.restrict(Case.objects.all(), context(users["admin"])).exists()


def test_restrict_refuses_acts_the_role_lacks(
    users: dict[str, User], make_person: Callable[..., Person], cases: dict[str, Case]
) -> None:
    officer = context(users["officer_east"])
    assert policies.can(officer, Act.CHANGE, cases["mine"])
    assert not policies.can(officer, Act.CHANGE, cases["theirs"])
    # The participant sees their own case but may not change it.
    person = cases["mine"].person
    person.participant_account = users["participant"]
    person.save(update_fields=["participant_account"])
    own = context(users["participant"])
    assert policies.can(own, Act.VIEW, cases["mine"])
    assert not policies.can(own, Act.CHANGE, cases["mine"])


def test_person_of_names_the_subject_without_reading_through_the_policy(
    cases: dict[str, Case]
) -> None:
    case = cases["theirs"]
    assert policies.person_of(Case, case.pk) == case.person_id
    assert policies.person_of(Case, "not-a-uuid") is None
    assert policies.person_of(Person, case.person_id) == case.person_id
    assert policies.person_of(Person, "00000000-0000-4000-8000-000000000000") is None


def test_require_records_the_refusal_with_its_person(
    users: dict[str, User], cases: dict[str, Case]
) -> None:
    from caseledger.core.errors import PermissionDenied

    ctx = context(users["privacy"])
    person = cases["mine"].person_id
    with pytest.raises(PermissionDenied):
        policies.require(ctx, Ability.EDIT_CASE, action="update", category="case",
                         record_type="cases.case", record_id=cases["mine"].pk,
                         subject_id=person, message="Only officers change cases.")
    event = Event.objects.order_by("-id").first()
    assert event.outcome == Outcome.DENIED
    assert event.subject_id == person
    assert event.actor_id == str(users["privacy"].pk)
    # Allowed: nothing is raised and nothing is written.
    before = Event.objects.count()
    policies.require(context(users["officer_east"]), Ability.EDIT_CASE, action="update",
                     category="case")
    assert Event.objects.count() == before


def test_require_names_the_person_of_a_row_only_when_refusing(
    users: dict[str, User], cases: dict[str, Case], django_assert_num_queries: Any
) -> None:
    from caseledger.core.errors import PermissionDenied

    case = cases["theirs"]
    with django_assert_num_queries(0):
        policies.require(context(users["officer_east"]), Ability.EDIT_CASE, action="update",
                         category="case", subject_of=(Case, case.pk))
    with pytest.raises(PermissionDenied):
        policies.require(context(users["privacy"]), Ability.EDIT_CASE, action="update",
                         category="case", record_type="cases.case", record_id=case.pk,
                         subject_of=(Case, case.pk))
    assert Event.objects.order_by("-id").first().subject_id == case.person_id
