"""Fixes from a code review of the disclosures app: withheld disclosures out of the subject's
access history, statements of disagreement in release packages, the monthly cap under
concurrent approvals, a malformed person id on the accounting page, the accounting without a
whole-record grant, and correction notices delivered only once their transaction commits."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connections, transaction
from django.db.models.query import QuerySet
from pypdf import PdfReader

from caseledger.access.history import access_history
from caseledger.access.models import Grant
from caseledger.core.errors import ValidationError
from caseledger.disclosures import selectors, services
from caseledger.disclosures.models import (
    AccountingEntry,
    Agency,
    CorrectionNotice,
    DeliveryLog,
    DisclosureRequest,
    RequestStatus,
)
from caseledger.disclosures.services import decisions
from caseledger.ledger.models import Event
from caseledger.people.selectors import get_person
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import b7_input, request_input

RECORD_TYPE = "disclosures.disclosurerequest"


def _approve(ctx, req):
    return services.decide(ctx, req.pk, decision="approve", reason="Meets the rule for it.")


def _all_history(ctx, person_id=None, per_page=500):
    rows, total = access_history(ctx=ctx, person_id=person_id, page=1, per_page=per_page)
    return rows, total


def _about(events, req) -> list[Event]:
    """Events that are about the request `req` in any way the ledger can tell."""
    key = str(req.pk)
    return [
        e
        for e in events
        if e.record_id == key
        or (e.detail or {}).get("request_id") == key
        or (e.detail or {}).get("task") == f"disclosure:{key}"
    ]


# --- 1. a withheld disclosure is not in the subject's access history ---------------------------
@pytest.fixture
def withheld_and_open(users, subject, privacy2):
    """EOIR (routine use, visible to the subject) and FBI ((b)(7), withheld at the requester's
    written request), each entered by one privacy officer and approved by another."""
    eoir = services.create_request(context(users["privacy"]), request_input(subject))
    _approve(context(privacy2), eoir)
    fbi = services.create_request(
        context(users["privacy"]), b7_input(subject, withhold_from_subject=True)
    )
    _approve(context(privacy2), fbi)
    # The privacy officers look at both requests again (reads without a request id).
    for req in (eoir, fbi):
        selectors.get_request(context(privacy2), req.pk)
    return eoir, fbi


def test_events_of_entering_and_deciding_share_one_server_named_task(users, subject, privacy2):
    mark = last_event_id()
    req = services.create_request(context(users["privacy"]), b7_input(subject))
    _approve(context(privacy2), req)
    events = list(Event.objects.filter(id__gt=mark).order_by("id"))
    # The server names the task of every event of the request; request ids are left alone.
    assert {e.detail.get("task") for e in events} == {f"disclosure:{req.pk}"}
    assert {e.request_id for e in events} == {""}
    actions = [e.action for e in events]
    assert actions[0] == "create" and "grant" in actions and actions[-1] == "disclose"
    grant = next(e for e in events if e.action == "grant")
    assert grant.detail["request_id"] == str(req.pk)
    # A request id given by the HTTP request is kept as it is.
    mark = last_event_id()
    other = services.create_request(
        context(users["privacy"], request_id="http-entry"), b7_input(subject)
    )
    services.decide(
        context(privacy2, request_id="http-decision"),
        other.pk,
        decision="approve",
        reason="Meets the rule for it.",
    )
    ids = [e.request_id for e in Event.objects.filter(id__gt=mark).order_by("id")]
    assert ids[0] == "http-entry" and set(ids[1:]) == {"http-decision"}


def test_withheld_disclosure_is_left_out_of_the_subjects_access_history(
    users, subject, withheld_and_open
):
    eoir, fbi = withheld_and_open
    everything = list(Event.objects.filter(subject_id=subject.pk))
    assert len(_about(everything, fbi)) >= 5  # create, grant, reads, disclose, read

    for who, person_id in (("participant", None), ("representative", subject.pk)):
        rows, total = _all_history(context(users[who]), person_id)
        assert total == len(rows)
        assert _about(rows, fbi) == [], who
        # Nothing of the withheld request by any other route either: no grant, no category
        # reads, no release, no look at the request.
        assert not [e for e in rows if e.record_id == str(fbi.pk)]
        assert not [e for e in rows if e.action == "disclose" and e.record_id != str(eoir.pk)]
        # The disclosure the subject may know of is still there, whole.
        visible = _about(rows, eoir)
        assert {e.action for e in visible} >= {"create", "grant", "read", "disclose"}
    # The withheld count on the accounting stays (the subject is told one is withheld).
    mine = selectors.accounting_for_person(context(users["participant"]), subject.pk)
    assert mine.withheld_count == 1
    # Staff see every event.
    participant_total = _all_history(context(users["participant"]))[1]
    staff_rows, staff_total = _all_history(context(users["officer_east"]), subject.pk)
    assert len(_about(staff_rows, fbi)) == len(_about(everything, fbi))
    assert staff_total - participant_total == len(_about(everything, fbi))


def test_withheld_events_with_http_request_ids_are_left_out_too(users, subject, privacy2):
    req = services.create_request(
        context(users["privacy"], request_id="req-enter"),
        b7_input(subject, withhold_from_subject=True),
    )
    services.decide(
        context(privacy2, request_id="req-decide"),
        req.pk,
        decision="approve",
        reason="Written (b)(7) request.",
    )
    selectors.get_request(context(privacy2, request_id="req-look"), req.pk)
    # An officer's ordinary read, without a request id, stays visible.
    get_person(ctx=context(users["officer_east"]), person_id=subject.pk)
    rows, total = _all_history(context(users["participant"]))
    assert not {"req-enter", "req-decide", "req-look"} & {e.request_id for e in rows}
    assert any(e.actor_role == "case_officer" and e.action == "read" for e in rows)
    assert total == len(rows)


def test_access_history_pages_stay_consistent_when_events_are_left_out(
    users, subject, withheld_and_open
):
    _eoir, fbi = withheld_and_open
    ctx = context(users["participant"])
    _rows, total = access_history(ctx=ctx, page=1, per_page=500)
    seen = []
    page = 1
    while True:
        rows, page_total = access_history(ctx=ctx, page=page, per_page=3)
        assert page_total == total
        if not rows:
            break
        seen.extend(rows)
        page += 1
    assert len(seen) == total == len({e.id for e in seen})
    assert _about(seen, fbi) == []


def test_correction_notices_to_a_withheld_recipient_are_left_out(
    users, subject, withheld_and_open, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    notices = services.notify_prior_recipients(
        context(users["officer_east"]),
        person_id=subject.pk,
        categories=["identity"],
        reason="Name spelling corrected.",
    )
    by_agency = {n.agency.code: str(n.pk) for n in notices}
    rows, _ = _all_history(context(users["participant"]))
    shown = {e.record_id for e in rows if e.action == "notify_correction"}
    assert shown == {by_agency["EOIR"]}
    staff = _all_history(context(users["officer_east"]), subject.pk)[0]
    assert {e.record_id for e in staff if e.action == "notify_correction"} == set(
        by_agency.values()
    )


# --- 2. statements of disagreement go with the released part ----------------------------------
@pytest.fixture
def statement(users, subject):
    """A refused amendment of the address, with the person's statement of disagreement."""
    from caseledger.portal import services as portal

    mine = context(users["participant"])
    request = portal.request_amendment(
        ctx=mine,
        category="address",
        what_is_wrong="The street number is 21, not 12.",
        correction="21 Main St.",
    )
    portal.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="The lease on file says 12 Main St.",
    )
    return portal.file_statement(
        ctx=mine, request_id=request.pk, text="My lease was renewed at number 21 in January."
    )


def test_release_package_carries_the_statements_of_disagreement(
    users, subject, privacy2, statement, events_since
):
    req = services.create_request(context(users["privacy"]), b7_input(subject))
    mark = last_event_id()
    _approve(context(privacy2), req)
    _req, raw = selectors.package(context(privacy2), req.pk, "json")
    package = json.loads(raw)
    assert package["disputed"] == [
        {
            "category": "address",
            "released_categories": ["addresses"],
            "filed_on": statement.filed_at.astimezone(ZoneInfo("America/New_York"))
            .date()
            .isoformat(),
            "text": "My lease was renewed at number 21 in January.",
        }
    ]
    digest = package.pop("package_sha256")
    assert digest == hashlib.sha256(services.canonical(package)).hexdigest()
    _req, pdf = selectors.package(context(privacy2), req.pk, "pdf")
    text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )
    assert "Statements of disagreement" in text
    assert "My lease was renewed at number 21 in January." in text
    assert "552a(d)(4)" in text
    # Reading the statements for the package is recorded, under the request's id.
    reads = [
        e
        for e in events_since(mark)
        if e.record_type == "portal.disagreementstatement" and e.action == "read"
    ]
    assert len(reads) == 1 and reads[0].subject_id == subject.pk
    assert reads[0].detail["task"] == f"disclosure:{req.pk}"
    assert reads[0].detail["results"] == [str(statement.pk)]


def test_statement_about_a_part_not_released_is_not_in_the_package(
    users, subject, privacy2, statement
):
    req = services.create_request(context(users["privacy"]), request_input(subject))  # identity
    _approve(context(privacy2), req)
    package = json.loads(selectors.package(context(privacy2), req.pk, "json")[1])
    assert package["disputed"] == []
    pdf = selectors.package(context(privacy2), req.pk, "pdf")[1]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "number 21" not in text


# --- 3. the monthly cap under concurrent approvals ---------------------------------------------
def _locked_models(call):
    locked = []
    original = QuerySet.select_for_update

    def spy(self, *args, **kwargs):
        locked.append(self.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(QuerySet, "select_for_update", spy):
        call()
    return locked


def test_the_agency_row_is_locked_before_the_cap_is_checked(users, person, privacy2):
    entered = []
    assert Agency in _locked_models(
        lambda: entered.append(
            services.create_request(context(users["privacy"]), b7_input(person, agency="NJSP"))
        )
    )
    assert Agency in _locked_models(lambda: _approve(context(privacy2), entered[0]))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_cannot_exceed_the_monthly_cap(users, make_person, privacy2):
    """Two privacy officers approve two requests to an agency with a cap of one at the same
    time: the second waits for the first's lock on the agency, then is refused."""
    import importlib

    from django.apps import apps

    importlib.import_module("caseledger.disclosures.migrations.0002_registry").seed(apps, None)
    person = make_person("officer_east", "Ana", "Ramirez")
    Agency.objects.filter(code="NJSP").update(monthly_cap=1)
    first = services.create_request(context(users["privacy"]), b7_input(person, agency="NJSP"))
    second = services.create_request(context(users["privacy"]), b7_input(person, agency="NJSP"))

    in_first = threading.Event()
    release = threading.Event()
    second_rendered = threading.Event()
    real_render = decisions.render_pdf
    results: dict[str, object] = {}

    def render(template, ctx):
        if ctx["req"].pk == first.pk:
            in_first.set()  # the first approval has checked the cap, not yet committed
            release.wait(20)
        else:
            second_rendered.set()
        return real_render(template, ctx)

    def approve(name, req, user):
        try:
            results[name] = _approve(context(user), req).status
        except ValidationError as exc:
            results[name] = exc.code
        finally:
            connections.close_all()

    with mock.patch.object(decisions, "render_pdf", render):
        one = threading.Thread(target=approve, args=("first", first, privacy2))
        one.start()
        assert in_first.wait(20)
        two = threading.Thread(target=approve, args=("second", second, privacy2))
        two.start()
        # Without the lock the second approval would pass the cap check (the first has not
        # committed) and reach the package; with it, it waits.
        second_rendered.wait(3)
        release.set()
        one.join(30)
        two.join(30)
    assert results == {"first": RequestStatus.APPROVED, "second": "monthly_cap"}
    assert AccountingEntry.objects.count() == 1
    assert DisclosureRequest.objects.get(pk=second.pk).status == RequestStatus.PENDING


# --- 4. and 5. the accounting page ----------------------------------------------------------------
def test_malformed_person_id_on_the_accounting_page_is_404(web_client, users, events_since):
    mark = last_event_id()
    for who in ("privacy", "supervisor_east"):
        response = web_client(users[who]).get("/disclosures/persons/abc/accounting/")
        assert response.status_code == 404, who
    denials = [e for e in events_since(mark) if e.outcome == "denied"]
    assert len(denials) == 2 and all(e.record_id == "abc" for e in denials)


def test_accounting_page_and_api_for_a_privacy_officer_open_no_grant(
    web_client, api_client, users, subject, privacy2, make_person
):
    req = services.create_request(context(users["privacy"]), request_input(subject))
    _approve(context(privacy2), req)
    before = Grant.objects.filter(user=users["privacy"]).count()
    page = web_client(users["privacy"]).get(f"/disclosures/persons/{subject.pk}/accounting/")
    assert page.status_code == 200 and 'data-entry="' in page.content.decode()
    body = api_client(users["privacy"]).get(f"/api/v1/persons/{subject.pk}/accounting").json()
    assert len(body["entries"]) == 1 and body["withheld_count"] == 0
    assert Grant.objects.filter(user=users["privacy"]).count() == before
    # A person named in no request: 404, and there is no way to open a review of them.
    stranger = make_person("officer_west", "Omar", "Haddad")
    url = f"/disclosures/persons/{stranger.pk}/accounting/"
    assert web_client(users["privacy"]).get(url).status_code == 404
    assert web_client(users["privacy"]).post(url, {"action": "review"}).status_code == 404
    assert Grant.objects.filter(user=users["privacy"]).count() == before


# --- 8. correction notices are delivered when their transaction commits ------------------------
@pytest.fixture
def released_to_eoir(users, subject, privacy2, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    Agency.objects.filter(code="EOIR").update(email="records@eoir.example")
    req = services.create_request(context(users["privacy"]), request_input(subject))
    return _approve(context(privacy2), req)


def test_notices_wait_for_the_commit(
    users, subject, released_to_eoir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (notice,) = services.notify_prior_recipients(
            context(users["officer_east"]),
            person_id=subject.pk,
            categories=["identity"],
            reason="Name spelling corrected.",
        )
        # Inside the transaction nothing has been sent yet.
        assert mail.outbox == [] and not DeliveryLog.objects.exists()
        assert CorrectionNotice.objects.get(pk=notice.pk).status == "pending"
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1
    assert CorrectionNotice.objects.get(pk=notice.pk).status == "sent"


def test_a_rolled_back_correction_sends_nothing(users, subject, released_to_eoir, tmp_path):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify_prior_recipients(
            context(users["officer_east"]),
            person_id=subject.pk,
            categories=["identity"],
            reason="Name spelling corrected.",
        )
        raise RuntimeError("the caller's transaction fails after the notices were made")
    assert mail.outbox == []
    assert not CorrectionNotice.objects.exists() and not DeliveryLog.objects.exists()
    assert not (tmp_path / "disclosure-outbox").exists()


def test_an_amendment_grant_that_rolls_back_notifies_nobody(
    users, subject, released_to_eoir, django_capture_on_commit_callbacks
):
    from caseledger.portal import services as portal

    request = portal.request_amendment(
        ctx=context(users["participant"]),
        category="identity",
        what_is_wrong="My name is misspelled.",
        correction="Ana Ramírez.",
    )
    with (
        django_capture_on_commit_callbacks(execute=True),
        # The decision is saved (a versioned update), its notices created, then the count of
        # recipients notified fails to save: the whole step rolls back.
        mock.patch.object(portal.AmendmentRequest, "save", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        portal.decide_amendment(
            ctx=context(users["privacy"]),
            request_id=request.pk,
            decision="grant",
            reasons="The passport shows the accent.",
        )
    assert mail.outbox == [] and not CorrectionNotice.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        portal.decide_amendment(
            ctx=context(users["privacy"]),
            request_id=request.pk,
            decision="grant",
            reasons="The passport shows the accent.",
        )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["records@eoir.example"]
