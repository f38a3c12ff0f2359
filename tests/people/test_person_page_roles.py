"""The person page as each role meets it: the supervision panel of an enrolled person for those
who supervise (read through the supervision selector, one recorded read), the offer to enrol
only for a person who is not enrolled, and a representative offered only what they may do."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from caseledger.biometrics.verifier import StubVerifier
from caseledger.core import clock
from caseledger.people.models import Address, AddressSource
from caseledger.people.services import record_representation
from caseledger.supervision import services as supervision
from caseledger.supervision.models import Review
from tests.access.test_query_counts import assert_flat
from tests.conftest import context, last_event_id

PHOTO, STRANGER = b"enrolment-photo", b"someone-else"
SELFIES = [b"selfie-1", b"selfie-2", b"selfie-3"]


def _text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    return html.unescape(response.content.decode())


def _section(page: str, marker: str) -> str:
    found = re.search(rf"<section[^>]*{marker}.*?</section>", page, re.S)
    return found.group(0) if found else ""


@pytest.fixture
def faces(settings) -> StubVerifier:
    verifier = StubVerifier()
    for image in (PHOTO, *SELFIES):
        verifier.add(image, person="ana")
    verifier.add(STRANGER, person="stranger")
    settings.FACE_VERIFIER = verifier
    return verifier


def _enrol(users, person, **overrides):
    values = dict(level="intensive", photo=PHOTO, language="es", acknowledged=True,
                  alternatives_offered=["office_visit"], conditions=["attend_hearings"],
                  first_window_at=timezone.now() - timedelta(hours=1), every_days=7,
                  window_hours=24, grace_minutes=60, max_attempts=5)
    values.update(overrides)
    return supervision.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                             data=supervision.EnrolmentInput(**values))


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    real = clock.now
    clock.now = lambda: moment  # type: ignore[assignment]
    try:
        yield
    finally:
        clock.now = real  # type: ignore[assignment]


def _check_in(result, image: bytes, window: int) -> None:
    """A check-in an hour into daily window `window` of `result`'s schedule."""
    opens = result.enrolment.schedule.first_window_at + timedelta(days=window, hours=1)
    with _clock_at(min(opens, timezone.now())):
        supervision.submit_check_in(user=result.enrolment.person.participant_account,
                                    image=image, latitude="40.7128", longitude="-74.0060",
                                    accuracy="20")


@pytest.fixture
def ana(faces, users, make_person):
    """Ana, enrolled with a daily check-in: verified in three windows, then one that did not
    match (a review is open, and the window still is); a level change waits for a
    supervisor."""
    person = make_person("officer_east", "Ana", "Ramirez", languages=["es"])
    result = _enrol(users, person, every_days=1,
                    first_window_at=timezone.now() - timedelta(days=3, hours=1))
    for window, image in enumerate([*SELFIES, STRANGER]):
        _check_in(result, image, window)
    supervision.propose_change(ctx=context(users["officer_east"]),
                               enrolment_id=result.enrolment.pk, kind="level",
                               proposed_level="standard", reason="Steady for three months")
    return result.enrolment


def test_an_enrolled_persons_page_shows_the_supervision_panel(users, web_client, ana,
                                                             events_since):
    mark = last_event_id()
    page = _text(web_client(users["officer_east"]).get(f"/persons/{ana.person_id}/"))
    panel = _section(page, f'data-supervision="{ana.pk}"')
    assert panel, "no supervision panel"
    assert "Intensive (check-in twice a week)" in panel
    assert 'data-compliance="compliant"' in panel
    assert "Check-in open now" in panel and re.search(r"until \w+\.? \d+, \d{4}, .* E[SD]T", panel)
    last = re.search(r"<dd data-last-checkins>(.*?)</dd>", panel, re.S).group(1)
    assert last.count("<li>") == 3  # the last three of four
    assert last.index("cl-tag--review") < last.index("cl-tag--verified")  # newest first
    review = Review.objects.get(enrolment=ana)
    reviews = re.search(r"<dd data-open-reviews>(.*?)</dd>", panel, re.S).group(1)
    assert f'href="/supervision/reviews/{review.pk}/"' in reviews
    assert "Face did not match" in reviews
    changes = re.search(r"<dd data-pending-changes>(.*?)</dd>", panel, re.S).group(1)
    assert "Level change: Standard (weekly check-in)" in changes and "officer.east" in changes
    assert f'href="/supervision/enrolments/{ana.pk}/"' in panel
    # Enrolled already: no offer to enrol again (it opened a blank form).
    assert "Enrol in supervision" not in page
    # The person page's read and the supervision read, each one event about Ana.
    reads = [(e.action, e.data_category, e.record_type) for e in events_since(mark)]
    assert reads == [("read", "identity", "people.person"),
                     ("read", "supervision", "supervision.enrolment")]
    assert {e.subject_id for e in events_since(mark)} == {ana.person_id}


def test_a_person_not_enrolled_is_offered_enrolment_and_no_panel(users, web_client, make_person,
                                                                events_since):
    person = make_person("officer_east", "Luis", "Fernandez")
    mark = last_event_id()
    page = _text(web_client(users["officer_east"]).get(f"/persons/{person.pk}/"))
    assert "data-supervision" not in page
    assert f'href="/supervision/enrol/{person.pk}/"' in page
    assert [e.data_category for e in events_since(mark)] == ["identity"]  # nothing else read


def test_an_ended_enrolment_is_no_panel_and_enrolment_is_offered_again(users, web_client, ana):
    officer, supervisor = context(users["officer_east"]), context(users["supervisor_east"])
    pending = ana.changes.get()
    supervision.decide_change(ctx=supervisor, request_id=pending.pk, approve=False,
                              reason="Not yet: one more month at this level")
    ending = supervision.propose_change(ctx=officer, enrolment_id=ana.pk, kind="termination",
                                        reason="Proceedings terminated")
    supervision.decide_change(ctx=supervisor, request_id=ending.pk, approve=True)
    page = _text(web_client(users["officer_east"]).get(f"/persons/{ana.person_id}/"))
    assert "data-supervision" not in page
    assert "Enrol in supervision" in page


def test_the_supervisor_sees_the_panel_of_an_office_person(users, web_client, ana):
    page = _text(web_client(users["supervisor_east"]).get(f"/persons/{ana.person_id}/"))
    assert _section(page, f'data-supervision="{ana.pk}"')


@pytest.fixture
def represented(users, ana):
    record_representation(ctx=context(users["officer_east"]), person_id=ana.person_id,
                          representative=users["representative"], form="G-28",
                          filed_on=date(2026, 1, 5))
    return ana


def test_a_representative_is_offered_only_what_they_may_do(users, web_client, represented,
                                                          events_since):
    rep = web_client(users["representative"])
    mark = last_event_id()
    page = _text(rep.get(f"/persons/{represented.person_id}/"))
    actions = re.search(r"<div class=\"cl-actions\" data-actions>(.*?)</div>", page, re.S).group(1)
    assert re.findall(r">([^<>]+)</a>", actions) == ["Report a new address"]
    for refused in ("Edit identity", "Open a case", "Enrol in supervision"):
        assert refused not in page
    # Supervision data is for supervision screens: none of it here, and none read.
    assert "data-supervision" not in page
    assert {e.data_category for e in events_since(mark)} == {"identity"}
    assert "My clients" in page and "My caseload" not in page  # the breadcrumb


def test_the_address_a_representative_is_offered_to_report_is_recorded(users, web_client,
                                                                      represented):
    response = web_client(users["representative"]).post(
        f"/persons/{represented.person_id}/addresses/new/",
        {"line1": "5 Elm St", "line2": "", "city": "Paterson", "region": "NJ",
         "postal_code": "07501", "country": "US",
         "valid_from": (timezone.localdate() + timedelta(days=1)).isoformat()})
    assert response.status_code == 302, response.content[:500]
    current = Address.objects.get(person_id=represented.person_id, valid_to__isnull=True)
    assert (current.line1, current.source) == ("5 Elm St", AddressSource.REPRESENTATIVE)


def test_the_representatives_home_is_my_clients(users, web_client, represented):
    page = _text(web_client(users["representative"]).get("/persons/"))
    assert "<h1>My clients</h1>" in page
    assert "Ana Ramirez" in page


def test_the_enrolled_persons_page_costs_the_same_queries_however_many_check_ins(
        users, web_client, faces, make_person, django_assert_num_queries, settings):
    settings.LEDGER_INTEGRATE_INLINE = False  # as on PostgreSQL (see tests/access)
    person = make_person("officer_east", "Ana", "Ramirez")
    result = _enrol(users, person, every_days=1,
                    first_window_at=timezone.now() - timedelta(days=20, hours=1))
    officer = web_client(users["officer_east"])
    windows = iter(range(20))

    def grow(n: int) -> None:
        for _ in range(n):  # one check-in that did not match (and its review) a day
            _check_in(result, STRANGER, next(windows))

    def shown(response, mark) -> int:
        return 12 if _section(html.unescape(response.content.decode()), "data-supervision") else 0

    assert_flat(officer, f"/persons/{person.pk}/", grow, django_assert_num_queries, shown=shown)
