"""The list pages and the person page run the same number of queries whatever the number of
rows they show: measured with 3 persons (or records), then asserted with 12 (an N+1 query
would add at least 9). The ledger is integrated out of line here (as on PostgreSQL), so the
count does not depend on where the events fall in the Merkle tree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from caseledger.accounts.models import User
from caseledger.cases import services as cases
from caseledger.disclosures.services import create_request
from caseledger.ledger.models import Event
from caseledger.people.models import Person
from caseledger.people.services import record_representation
from caseledger.portal.services import request_amendment
from tests.conftest import context
from tests.disclosures.conftest import request_input
from tests.supervision.conftest import (
    ENROL_PHOTO,
    STRANGER,
    enrolling,
    get_with_as_many_queries,
)

FIRST, THEN = 3, 12


pytestmark = pytest.mark.usefixtures("out_of_line_ledger")


def most_listed(response: Any, mark: int) -> int:
    """The most persons one event of the request named (its list or search)."""
    return max((len(e.detail.get("subjects") or []) for e in Event.objects.filter(id__gt=mark)),
               default=0)


def assert_flat(client: Client, url: str, grow: Callable[[int], Any],
                django_assert_num_queries: Any,
                shown: Callable[[Any, int], int] = most_listed) -> None:
    """`grow(n)` adds n rows to what `url` shows; the page's query count must not change
    (and the page must show all the rows: `shown(response, mark)`)."""
    response, mark = get_with_as_many_queries(client, url, grow, (FIRST, THEN),
                                              django_assert_num_queries)
    assert shown(response, mark) >= THEN


def _on_caseload(make_person: Callable[..., Person], users: dict[str, User],
                 with_decision: bool = True) -> Callable[[int], list[Person]]:
    """Persons on officer_east's caseload, each with a case, a hearing and (decided) a
    decision whose deadline shows on the dashboard."""
    officer = context(users["officer_east"])

    def grow(n: int) -> list[Person]:
        persons = []
        for _ in range(n):
            person = make_person("officer_east", "Maria", "Gonzalez")
            case = cases.open_case(ctx=officer, person_id=person.pk, case_type="removal",
                                   court_code="NEW", opened_on=date.today() - timedelta(days=40))
            cases.schedule_hearing(
                ctx=officer, case_id=case.pk, calendar="master",
                scheduled_at=datetime.now(UTC).replace(hour=15, minute=0, second=0,
                                                       microsecond=0) + timedelta(days=12))
            if with_decision:
                cases.record_decision(ctx=officer, case_id=case.pk, kind="removal_ordered",
                                      decided_on=date.today() - timedelta(days=2))
                cases.transition_case(ctx=officer, case_id=case.pk, to_status="decided")
            persons.append(person)
        return persons

    return grow


def test_caseload_dashboard(users, make_person, web_client, django_assert_num_queries):
    assert_flat(web_client(users["officer_east"]), "/persons/",
                _on_caseload(make_person, users), django_assert_num_queries)


def test_person_search(users, make_person, web_client, django_assert_num_queries):
    assert_flat(web_client(users["officer_east"]), "/persons/search/?q=Gonzalez",
                _on_caseload(make_person, users, with_decision=False),
                django_assert_num_queries)


def test_supervision_dashboard(faces, users, make_person, web_client,
                               django_assert_num_queries):
    assert_flat(web_client(users["officer_east"]), "/supervision/",
                enrolling(make_person, users, ENROL_PHOTO), django_assert_num_queries)


def test_review_queue(faces, users, make_person, web_client, django_assert_num_queries):
    assert_flat(web_client(users["officer_east"]), "/supervision/reviews/",
                enrolling(make_person, users, STRANGER), django_assert_num_queries)


def test_disclosure_list(users, make_person, web_client, privacy2,
                         django_assert_num_queries):
    entry = context(privacy2)

    def grow(n: int) -> None:
        for _ in range(n):
            create_request(entry, request_input(make_person("officer_east", "Luis", "Soto")))

    assert_flat(web_client(users["privacy"]), "/disclosures/", grow, django_assert_num_queries)


@pytest.mark.parametrize("viewer", ["privacy", "officer_east"])
def test_amendment_queue(users, make_person, web_client, viewer, django_assert_num_queries):
    officer, representative = context(users["officer_east"]), context(users["representative"])

    def grow(n: int) -> None:
        for _ in range(n):
            person = make_person("officer_east", "Rosa", "Diaz")
            record_representation(ctx=officer, person_id=person.pk,
                                  representative=users["representative"], form="G-28",
                                  filed_on=date(2026, 1, 5))
            request_amendment(ctx=representative, person_id=person.pk, category="identity",
                              what_is_wrong="The date of birth is wrong",
                              correction="It is 17 May 1990")

    assert_flat(web_client(users[viewer]), "/me/record/staff/amendments/", grow,
                django_assert_num_queries)


def test_person_page(users, make_person, web_client, django_assert_num_queries):
    """One person with 3, then 12, cases (each with a hearing and a decision) and addresses."""
    from caseledger.people.services import AddressInput, record_address

    officer = context(users["officer_east"])
    person = make_person("officer_east", "Maria", "Gonzalez")
    moved = iter(range(1, 100))

    def grow(n: int) -> None:
        for _ in range(n):
            case = cases.open_case(ctx=officer, person_id=person.pk, case_type="removal",
                                   court_code="NEW", opened_on=date.today() - timedelta(days=40))
            cases.schedule_hearing(
                ctx=officer, case_id=case.pk, calendar="master",
                scheduled_at=datetime.now(UTC).replace(hour=15, minute=0, second=0,
                                                       microsecond=0) + timedelta(days=12))
            cases.record_decision(ctx=officer, case_id=case.pk, kind="removal_ordered",
                                  decided_on=date.today() - timedelta(days=2))
            record_address(ctx=officer, person_id=person.pk, data=AddressInput(
                line1=f"{next(moved)} Elm St", city="Newark", region="NJ",
                postal_code="07102", valid_from=date(2024, 1, 1) + timedelta(days=next(moved))))

    assert_flat(web_client(users["officer_east"]), f"/persons/{person.pk}/", grow,
                django_assert_num_queries,
                shown=lambda response, mark: response.content.decode().count("Elm St"))


def test_who_accessed_my_record(users, make_person, api_client, django_assert_num_queries):
    """The participant's access history: as many statements with 12 staff reads and searches
    naming them as with 3 (one union, its page and total together)."""
    from caseledger.people.selectors import get_person, search_persons

    person = make_person("officer_east", "Rosa", "Diaz")
    person.participant_account = users["participant"]
    person.save()
    officer = context(users["officer_east"])

    def grow(n: int) -> None:
        for _ in range(n):
            get_person(ctx=officer, person_id=person.pk)
            search_persons(ctx=officer, query="Rosa Diaz")

    def shown(response: Any, mark: int) -> int:
        return response.json()["total"] // 2

    assert_flat(api_client(users["participant"]), "/api/v1/me/accesses", grow,
                django_assert_num_queries, shown=shown)


def test_inclusion_proof(db, django_assert_num_queries):
    """An inclusion proof takes the same statements in a tree of 20 events as of 300 (the
    leaves and the stored subtrees of its path are fetched in one statement each; a tree of
    fewer than 4 has no stored subtree to fetch)."""
    from caseledger.ledger import checkpoints
    from caseledger.ledger.services import SYSTEM, integrate_pending, record_event

    client, first = Client(), []

    def grow(n: int) -> None:
        for _ in range(n):
            event = record_event(actor=SYSTEM, action="read", category="identity",
                                 purpose="caseload", record_type="people.person",
                                 record_id="r")
            first.append(event)
        integrate_pending()
        checkpoints.sign_checkpoint(force=True)

    url = lambda: f"/api/v1/ledger/proofs/inclusion?event={first[1].uuid}"  # noqa: E731
    grow(20)
    client.get(url())
    with CaptureQueriesContext(connection) as few:
        assert client.get(url()).status_code == 200
    grow(280)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url())
    assert response.status_code == 200 and response.json()["tree_size"] == 300
