"""The route matrix: every page route (from the URL conf) and every API operation (from the
OpenAPI schema) x every role x {own record, other office, no relation, nonexistent,
break-glass} gives the status and writes the ledger event that tests/access/route_matrix.py
expects; a refusal writes exactly one denied event, naming the person the request named when
that person exists, and changes nothing else. A route without an entry in the table fails.

The world (tests/access/matrix_world.py) is built once for the module, inside a transaction
rolled back at its end; each test runs in a savepoint of it.
"""

from __future__ import annotations

import uuid
from functools import cache

import pytest
from django.db import transaction

from caseledger.ledger.models import Event
from caseledger.people.models import Person

from . import matrix_harness as h
from .matrix_world import World, build
from .route_matrix import AN, API, GROUPS, OWN, PAGES, Expect

ROLES = h.ROLES
PAGE_CASES = [
    (key, method)
    for key, rules in PAGES.items()
    for method, rule in zip(("get", "post"), rules, strict=True)
    if rule is not None
]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The matrix's world, once per module, rolled back afterwards (like setUpTestData)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build()
        transaction.set_rollback(True)


@cache
def _pages() -> dict[str, h.PageRoute]:
    return {route.key: route for route in h.page_routes()}


@cache
def _operations() -> dict[str, h.ApiOperation]:
    return {op.key: op for op in h.api_operations()}


def table_problems(pages: set[str], operations: set[str], page_table: dict[str, tuple],
                   api_table: dict[str, str]) -> list[str]:
    """Routes and operations without an entry, entries of no route, unknown groups."""
    groups = {g for rules in page_table.values() for g in rules if g} | set(api_table.values())
    return [
        f"page route {key!r} has no entry: add an entry to tests/access/route_matrix.py (PAGES)"
        for key in sorted(pages - set(page_table))
    ] + [
        f"API operation {key!r} has no entry: add an entry to tests/access/route_matrix.py (API)"
        for key in sorted(operations - set(api_table))
    ] + [
        f"tests/access/route_matrix.py names {key!r}, which is no route or operation any more"
        for key in sorted((set(page_table) - pages) | (set(api_table) - operations))
    ] + [
        f"tests/access/route_matrix.py names an unknown group {group!r}"
        for group in sorted(groups - set(GROUPS))
    ]


def test_every_route_and_operation_has_an_expectation() -> None:
    problems = table_problems(set(_pages()), set(_operations()), PAGES, API)
    assert not problems, "\n".join(problems)


def test_a_route_or_operation_without_an_entry_is_named() -> None:
    pages = {k: v for k, v in PAGES.items() if k != "people:detail"}
    api = {k: v for k, v in API.items() if k != "GET /api/v1/cases/{case_id}"}
    assert table_problems(set(_pages()), set(_operations()), pages, api) == [
        "page route 'people:detail' has no entry: add an entry to tests/access/route_matrix.py "
        "(PAGES)",
        "API operation 'GET /api/v1/cases/{case_id}' has no entry: add an entry to "
        "tests/access/route_matrix.py (API)",
    ]


def test_every_api_url_is_an_operation_of_the_schema() -> None:
    """An operation left out of the schema would be left out of the matrix too."""
    documented = {op.path for op in _operations().values()}
    assert h.api_route_paths() <= documented, sorted(h.api_route_paths() - documented)


# --- checking one request ---------------------------------------------------------------------
def _person(world: World, scenario: str, subject: str) -> uuid.UUID | None:
    return h.person_of(world, OWN if subject == "own" else scenario)


def _names(event: Event, person: uuid.UUID | None) -> bool:
    return event.subject_id == person or (
        person is not None and str(person) in (event.detail.get("subjects") or [])
    )


def _subject_ok(event: Event, expect: Expect, person: uuid.UUID | None) -> bool:
    if expect.subject == "any":
        return True
    if expect.subject == "none":
        return event.subject_id is None
    return _names(event, person)


def problems_with(world: World, expect: Expect, observed: h.Observed, scenario: str) -> list[str]:
    """What differs between the expectation and what the request did (empty: nothing)."""
    found: list[str] = []
    if observed.status not in expect.statuses:
        found.append(f"status {observed.status}, expected {sorted(expect.statuses)}")
    if expect.location and not observed.location.startswith(expect.location):
        found.append(f"redirect to {observed.location!r}, expected {expect.location!r}")
    person = _person(world, scenario, expect.subject)
    if not expect.event:
        if observed.events:
            found.append("a ledger event, expected none")
    else:
        action, outcome = expect.event.split("/")
        denials = [e for e in observed.events if e.outcome == "denied"]
        if outcome == "denied":
            if len(denials) != 1:
                found.append(f"{len(denials)} denied events, expected exactly one")
            elif denials[0].action != action or not _subject_ok(denials[0], expect, person):
                found.append(f"the denial is {denials[0].action} of {denials[0].subject_id}, "
                             f"expected {action} of {person if expect.subject != 'none' else '-'}")
        elif denials:
            found.append("a denied event in an allowed request")
        elif not any(e.action == action and e.outcome == outcome and _subject_ok(e, expect, person)
                     for e in observed.events):
            found.append(f"no {expect.event} event naming {expect.subject}")
    if not expect.event.endswith("/allowed") and observed.writes:
        found.append(f"a refusal changed {sorted(set(observed.writes))}")
    return found


def _report(label: str, failures: list[str]) -> str:
    return f"{label}:\n" + "\n".join(failures) + (
        "\n(fix the route, or the expectation in tests/access/route_matrix.py)")


# --- the matrix -------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("key", "method"), PAGE_CASES)
def test_page_route(world: World, db: None, key: str, method: str, role: str) -> None:
    route = _pages()[key]
    rule = GROUPS[PAGES[key][0 if method == "get" else 1]]  # type: ignore[index]
    client = world.web[role]
    names = {r.person: s for s, r in world.records.items()}
    failures = []
    for scenario in h.scenarios_for(route.params):
        expect = rule(role, scenario)
        if expect is None:
            continue
        url = h.page_url(world, route, scenario, role)
        body = h.page_body(world, key, scenario) if method == "post" else None
        observed = h.send(client, method, url, body)
        for problem in problems_with(world, expect, observed, scenario):
            failures.append(f"  {scenario}: {problem}; got {observed.describe(names)}")
    assert not failures, _report(f"{method.upper()} {key} as {role}", failures)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", list(API))
def test_api_operation(world: World, db: None, key: str, role: str) -> None:
    op = _operations()[key]
    rule = GROUPS[API[key]]
    client = world.api[role]
    names = {r.person: s for s, r in world.records.items()}
    failures = []
    for scenario in h.scenarios_for(op.params, op.key):
        expect = rule(role, scenario)
        if expect is None:
            continue
        url = h.api_url(world, op, scenario, role)
        body, content_type = (
            h.api_body(world, key, scenario) if op.method in h.WRITE_METHODS else None
        ) or (None, "")
        headers = h.BREAK_GLASS_HEADERS if scenario == "break_glass" and role != AN else None
        observed = h.send(client, op.method, url, body, content_type, headers)
        for problem in problems_with(world, expect, observed, scenario):
            failures.append(f"  {scenario}: {problem}; got {observed.describe(names)}")
    assert not failures, _report(f"{key} as {role}", failures)



# --- refusals about a disclosure withheld from its subject --------------------------------------
def test_refusals_on_a_withheld_disclosure_stay_out_of_the_subjects_history(
    world: World, db: None
) -> None:
    """A refusal names the request's person (so staff reviewing the ledger see who was
    probed), under the request's record id, which keeps it out of the history the person and
    their representative see while the request is withheld (5 U.S.C. 552a(c)(3))."""
    from caseledger.access.history import access_history
    from caseledger.disclosures import services as disclosures
    from tests.conftest import context
    from tests.conftest import token_client as api_client
    from tests.disclosures.conftest import b7_input

    users, subject = world.users, Person.objects.get(pk=world.records[OWN].person)
    req = disclosures.create_request(context(users["privacy2"]),
                                     b7_input(subject, withhold_from_subject=True))
    mark = h.last_event_id()
    assert world.web["case_officer"].get(f"/disclosures/{req.pk}/").status_code == 403
    west = api_client(users["supervisor_west"])
    assert west.get(f"/api/v1/disclosures/{req.pk}").status_code == 404
    assert world.api["supervisor"].post(
        f"/api/v1/disclosures/{req.pk}/decision",
        {"decision": "decline", "reason": "Not a law-enforcement activity."},
        content_type="application/json").status_code == 403
    refusals = list(Event.objects.filter(id__gt=mark, outcome="denied").order_by("id"))
    assert [(e.actor_role, e.action, e.subject_id, e.record_id) for e in refusals] == [
        ("case_officer", "read", subject.pk, str(req.pk)),
        ("supervisor", "read", subject.pk, str(req.pk)),
        ("supervisor", "decide", subject.pk, str(req.pk)),
    ]
    for viewer in ("participant", "representative"):
        rows, _total = access_history(ctx=context(users[viewer]), person_id=subject.pk,
                                      per_page=1000)
        assert not {e.pk for e in rows} & {e.pk for e in refusals}
    staff, _total = access_history(ctx=context(users["officer_east"]), person_id=subject.pk,
                                   per_page=1000)
    assert {e.pk for e in refusals} <= {e.pk for e in staff}
