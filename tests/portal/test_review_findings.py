"""Fixes from a code review of the portal: "late" flags on the office's local day, no check-in
location in the export, a statement of disagreement and its notices in one transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from io import BytesIO
from unittest import mock

import pytest
from pypdf import PdfReader

from caseledger.ledger.models import Event
from caseledger.portal import selectors, services
from caseledger.portal.models import AmendmentRequest, DisagreementStatement
from tests.conftest import context, last_event_id

pytestmark = pytest.mark.django_db

# 2026-03-11 02:30 UTC is still 2026-03-10 (22:30 EDT) in the office's zone, America/New_York.
LATE_EVENING_LOCAL = datetime(2026, 3, 11, 2, 30, tzinfo=UTC)
NEXT_MORNING_LOCAL = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)


def _patched_clock(moment):
    return (
        mock.patch("caseledger.core.clock.now", return_value=moment),
        mock.patch("caseledger.core.clock.today", return_value=moment.date()),
    )


@pytest.fixture
def due_today(rosa, users):
    """A received request whose acknowledgement is due 2026-03-10 (office-local)."""
    request = services.request_amendment(
        ctx=context(users["participant"]),
        category="address",
        what_is_wrong="The street number is 21, not 12.",
        correction="21 Main St.",
    )
    AmendmentRequest.objects.filter(pk=request.pk).update(
        acknowledge_due=date(2026, 3, 10), decision_due=date(2026, 4, 21)
    )
    return request


def _late_everywhere(users, request_id):
    """The late flags of the request on the detail, the person's list and the staff queue."""
    detail = selectors.get_amendment(ctx=context(users["participant"]), request_id=request_id)
    (mine,) = selectors.my_amendments(ctx=context(users["participant"]))
    rows, _ = selectors.amendment_queue(ctx=context(users["privacy"]))
    (row,) = [r for r in rows if r.request.pk == request_id]
    return detail.late, mine.late, row.late


def test_not_late_on_the_due_day_in_the_office_time_zone(users, due_today):
    now_patch, today_patch = _patched_clock(LATE_EVENING_LOCAL)
    with now_patch, today_patch:
        assert _late_everywhere(users, due_today.pk) == ([], [], [])


def test_late_the_next_local_day(users, due_today):
    now_patch, today_patch = _patched_clock(NEXT_MORNING_LOCAL)
    with now_patch, today_patch:
        assert _late_everywhere(users, due_today.pk) == (
            ["acknowledgement"],
            ["acknowledgement"],
            ["acknowledgement"],
        )


def test_the_export_holds_no_check_in_location(enrolled, users, web_client):
    from caseledger.supervision import services as supervision
    from tests.supervision.conftest import ANA_SELFIE

    participant = enrolled.enrolment.person.participant_account
    supervision.submit_check_in(
        user=participant,
        image=ANA_SELFIE,
        latitude="40.712345",
        longitude="-74.006789",
        accuracy="30",
    )
    client = web_client(participant)
    client.cookies["django_language"] = "en"
    raw = client.get("/me/record/export.json").content.decode()
    (check_in,) = json.loads(raw)["supervision"][0]["check_ins"]
    assert set(check_in) == {"submitted_at", "outcome"}
    for text in ("40.712345", "-74.006789", "latitude", "longitude"):
        assert text not in raw
    pdf = client.get("/me/record/export.pdf")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() or "" for p in PdfReader(BytesIO(pdf.content)).pages)
    assert "40.71" not in text and "74.00" not in text and "None, None" not in text


def test_statement_and_its_notices_stand_or_fall_together(rosa, users):
    request = services.request_amendment(
        ctx=context(users["participant"]),
        category="case",
        what_is_wrong="The case type is wrong.",
        correction="It is an asylum-only case.",
    )
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="The charging document shows removal proceedings.",
    )
    mark = last_event_id()
    with (
        mock.patch(
            "caseledger.disclosures.services.notify_prior_recipients",
            side_effect=RuntimeError("the notices could not be made"),
        ),
        pytest.raises(RuntimeError),
    ):
        services.file_statement(
            ctx=context(users["participant"]),
            request_id=request.pk,
            text="I disagree with the case type.",
        )
    assert not DisagreementStatement.objects.exists()
    assert not Event.objects.filter(id__gt=mark, action="disagree").exists()
    # Filed again once notices can be made: the statement is kept.
    statement = services.file_statement(
        ctx=context(users["participant"]),
        request_id=request.pk,
        text="I disagree with the case type.",
    )
    assert DisagreementStatement.objects.get().pk == statement.pk


def test_statement_notices_are_created_in_its_transaction_and_sent_on_commit(
    rosa, users, settings, tmp_path, django_capture_on_commit_callbacks
):
    from caseledger.accounts.models import Role
    from caseledger.accounts.services import create_user
    from caseledger.disclosures import services as disclosures
    from caseledger.disclosures.models import CorrectionNotice
    from tests.conftest import PASSWORD
    from tests.disclosures.conftest import request_input

    settings.VAR_DIR = tmp_path

    privacy2 = create_user(
        username="privacy2", password=PASSWORD, role=Role.PRIVACY_OFFICER, office=None
    )
    req = disclosures.create_request(
        context(users["privacy"]),
        request_input(rosa, agency="NARA", authority="ICE-E", categories=["cases"]),
    )
    disclosures.decide(context(privacy2), req.pk, decision="approve", reason="Records transfer.")
    request = services.request_amendment(
        ctx=context(users["participant"]),
        category="case",
        what_is_wrong="The case type is wrong.",
        correction="It is an asylum-only case.",
    )
    services.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="The charging document shows removal proceedings.",
    )
    from django.db import connection

    baseline = len(connection.savepoint_ids)
    atomic_depths = []
    real_notify = disclosures.notify_prior_recipients

    def notify(*args, **kwargs):
        atomic_depths.append(len(connection.savepoint_ids))
        return real_notify(*args, **kwargs)

    with (
        mock.patch.object(disclosures, "notify_prior_recipients", notify),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        services.file_statement(
            ctx=context(users["participant"]),
            request_id=request.pk,
            text="I disagree with the case type.",
        )
    # Called inside file_statement's own atomic block (one savepoint deeper than the test's).
    assert atomic_depths == [baseline + 1]
    assert len(callbacks) == 1
    (notice,) = CorrectionNotice.objects.filter(subject_id=rosa.pk)
    assert notice.status == "sent"
