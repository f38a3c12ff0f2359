"""The accounting of disclosures through the selector, and correction notices to earlier
recipients (delivery log, retries)."""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command

from caseledger.access.context import Purpose
from caseledger.core import clock
from caseledger.core.errors import NotFound, ValidationError
from caseledger.disclosures import delivery, selectors, services
from caseledger.disclosures.models import Agency, CorrectionNotice, DeliveryLog, NoticeStatus
from caseledger.ledger.models import Event
from caseledger.notices import engine
from caseledger.notices.channels import DeliveryResult
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import b7_input, request_input


@pytest.fixture
def released(users, subject, privacy2):
    """Three releases of the subject's record: EOIR (identity, hearings), FBI (identity,
    addresses; withheld from the subject), NARA (cases)."""
    made = []
    for data in (
        request_input(subject),
        b7_input(subject, withhold_from_subject=True),
        request_input(subject, agency="NARA", authority="ICE-E", categories=["cases"]),
    ):
        req = services.create_request(context(users["privacy"]), data)
        made.append(
            services.decide(
                context(privacy2),
                req.pk,
                decision="approve",
                reason="Meets the rule for its authority.",
            )
        )
    return made


def test_accounting_selector_for_subject_representative_and_staff(users, subject, released):
    mine = selectors.accounting_for_person(context(users["participant"]), subject.pk)
    assert mine.withheld_count == 1
    assert {e.agency.code for e in mine.entries} == {"EOIR", "NARA"}
    rep = selectors.accounting_for_person(context(users["representative"]), subject.pk)
    assert rep.withheld_count == 1 and len(rep.entries) == 2
    staff = selectors.accounting_for_person(context(users["officer_east"]), subject.pk)
    assert staff.withheld_count == 0 and len(staff.entries) == 3
    fbi = next(e for e in staff.entries if e.agency.code == "FBI")
    assert fbi.withheld_from_subject and fbi.authority == "b7"
    assert fbi.retain_until == services.add_years(fbi.disclosed_on, 5)
    for user in ("officer_west", "admin"):
        with pytest.raises(NotFound):
            selectors.accounting_for_person(context(users[user]), subject.pk)
    # A participant asking for someone else's accounting gets nothing.
    with pytest.raises(NotFound):
        selectors.accounting_for_person(
            context(users["participant"], Purpose.SELF_SERVICE), released[0].agency_id
        )


def test_correction_notifies_every_earlier_recipient_of_those_categories(
    users, subject, released, settings, tmp_path, events_since, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    Agency.objects.filter(code="EOIR").update(email="records@eoir.example")
    mark = last_event_id()
    with django_capture_on_commit_callbacks(execute=True):
        notices = services.notify_prior_recipients(
            context(users["officer_east"]),
            person_id=subject.pk,
            categories=["identity"],
            reason="Date of birth corrected from 1990-05-17 to 1990-05-18.",
        )
    # EOIR and FBI received identity; NARA received only cases.
    assert sorted(n.agency.code for n in notices) == ["EOIR", "FBI"]
    events = [e for e in events_since(mark) if e.action == "notify_correction"]
    assert len(events) == 2 and all(e.subject_id == subject.pk for e in events)
    assert all(e.data_category == "disclosure" for e in events)
    assert "1990" not in str([e.detail for e in events])  # no free text in the ledger
    by_agency = {n.agency.code: CorrectionNotice.objects.get(pk=n.pk) for n in notices}
    eoir, fbi = by_agency["EOIR"], by_agency["FBI"]
    assert eoir.channel == "email" and eoir.status == NoticeStatus.SENT and eoir.attempts == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["records@eoir.example"]
    assert str(eoir.entry.request_id) in mail.outbox[0].body
    assert fbi.channel == "outbox" and fbi.status == NoticeStatus.SENT
    written = (tmp_path / "disclosure-outbox" / f"correction-{fbi.pk}.txt").read_text()
    assert "Date of birth corrected" in written
    assert list(DeliveryLog.objects.filter(notice=eoir).values_list("status", flat=True)) == [
        "sent"
    ]
    # A correction of a category nobody received notifies nobody.
    assert (
        services.notify_prior_recipients(
            context(users["officer_east"]),
            person_id=subject.pk,
            categories=["contacts"],
            reason="Phone number corrected.",
        )
        == []
    )


def test_failed_delivery_is_logged_and_retried(
    users, subject, released, settings, tmp_path, django_capture_on_commit_callbacks, capsys
):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.VAR_DIR = blocked  # the outbox cannot be made under a file
    with django_capture_on_commit_callbacks(execute=True):
        notices = services.notify_prior_recipients(
            context(users["officer_east"]),
            person_id=subject.pk,
            categories=["cases"],
            reason="Case reference corrected.",
        )
    (notice,) = notices
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.RETRY and notice.attempts == 1
    assert notice.last_error == "outbox_notadirectoryerror"
    # The one back-off schedule of the delivery engine: the first retry after 5 minutes.
    assert notice.next_attempt_at == DeliveryLog.objects.get(notice=notice).at + timedelta(
        minutes=5)
    settings.VAR_DIR = tmp_path
    # Not due yet: nothing is retried.
    call_command("send_corrections", "--quiet")
    assert capsys.readouterr().out.strip() == "sent=0 retry=0 failed=0"
    notice.refresh_from_db()
    assert notice.attempts == 1
    later = clock.now() + timedelta(minutes=6)
    with mock.patch("caseledger.core.clock.now", return_value=later):
        call_command("send_corrections", "--quiet")
    assert capsys.readouterr().out.strip() == "sent=1 retry=0 failed=0"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 2
    assert notice.next_attempt_at is None and notice.sent_at == later
    log = list(DeliveryLog.objects.filter(notice=notice).values_list("attempt", "status", "error"))
    assert log == [(1, "failed", "outbox_notadirectoryerror"), (2, "sent", "")]
    assert (tmp_path / "disclosure-outbox" / f"correction-{notice.pk}.txt").exists()


def test_delivery_gives_up_after_max_attempts(
    users, subject, released, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    failing = mock.Mock(return_value=DeliveryResult("transient", error="outbox_oserror"))
    with mock.patch.dict(delivery.CHANNELS, {"outbox": failing}):
        with django_capture_on_commit_callbacks(execute=True):
            (notice,) = services.notify_prior_recipients(
                context(users["officer_east"]),
                person_id=subject.pk,
                categories=["cases"],
                reason="Case reference corrected.",
            )
        for hours in range(1, engine.max_attempts() + 2):
            with mock.patch(
                "caseledger.core.clock.now", return_value=clock.now() + timedelta(hours=13 * hours)
            ):
                delivery.retry_due()
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.FAILED and notice.attempts == engine.max_attempts() == 5
    assert notice.last_error == "gave_up_outbox_oserror" and notice.next_attempt_at is None
    assert DeliveryLog.objects.filter(notice=notice).count() == 5
    assert failing.call_count == 5


def test_an_email_address_that_does_not_exist_gives_up_at_once(
    users, subject, released, settings, django_capture_on_commit_callbacks
):
    """The agencies' email goes through the notices' email channel, which tells a refused
    address (permanent: no retry) from a server that is down (temporary: retried)."""
    import smtplib

    Agency.objects.filter(code="NARA").update(email="nobody@nara.example")
    refused = smtplib.SMTPRecipientsRefused({"nobody@nara.example": (550, b"no such user")})
    with (
        mock.patch("django.core.mail.EmailMessage.send", side_effect=refused),
        django_capture_on_commit_callbacks(execute=True),
    ):
        (notice,) = services.notify_prior_recipients(
            context(users["officer_east"]),
            person_id=subject.pk,
            categories=["cases"],
            reason="Case reference corrected.",
        )
    notice.refresh_from_db()
    assert (notice.channel, notice.status, notice.attempts) == ("email", NoticeStatus.FAILED, 1)
    assert notice.last_error == "smtp_recipient_refused"
    assert list(DeliveryLog.objects.filter(notice=notice).values_list("status", "error")) == [
        ("failed", "smtp_recipient_refused")]
    assert delivery.due() == []


def test_correction_refusals(users, subject, released):
    mark = last_event_id()
    with pytest.raises(ValidationError):
        services.notify_prior_recipients(
            context(users["officer_east"]),
            person_id=subject.pk,
            categories=["face_template"],
            reason="Photo redone.",
        )
    with pytest.raises(ValidationError):
        services.notify_prior_recipients(
            context(users["officer_east"]), person_id=subject.pk, categories=["identity"], reason=""
        )
    with pytest.raises(NotFound):
        services.notify_prior_recipients(
            context(users["officer_west"]),
            person_id=subject.pk,
            categories=["identity"],
            reason="Name corrected.",
        )
    assert not CorrectionNotice.objects.exists()
    assert not Event.objects.filter(id__gt=mark, action="notify_correction").exists()


def test_privacy_officer_sees_the_accounting_of_a_named_person_without_a_record_grant(
    users, subject, released, make_person, events_since
):
    """Finding 5: the accounting is the privacy officer's to keep, for any person named in a
    disclosure request; reading it opens no grant on the person's whole record."""
    from caseledger.access.gate import can_see
    from caseledger.access.models import Grant
    from caseledger.people.selectors import get_person

    ctx = context(users["privacy"])
    grants = Grant.objects.filter(user=users["privacy"]).count()
    mark = last_event_id()
    view = selectors.accounting_for_person(ctx, subject.pk)
    assert len(view.entries) == 3 and view.withheld_count == 0
    (read,) = events_since(mark)
    assert (read.action, read.data_category, read.subject_id, read.purpose) == (
        "read",
        "disclosure",
        subject.pk,
        "privacy_review",
    )
    assert read.record_type == "disclosures.accountingentry"
    # No grant was opened, and the rest of the record stays closed to the privacy officer.
    assert Grant.objects.filter(user=users["privacy"]).count() == grants
    assert not can_see(ctx, subject.pk)
    with pytest.raises(NotFound):
        get_person(ctx=ctx, person_id=subject.pk)
    assert not hasattr(services, "open_accounting_review")
    # A person named in no request: not found, and the denial recorded.
    stranger = make_person("officer_west", "Omar", "Haddad")
    mark = last_event_id()
    with pytest.raises(NotFound):
        selectors.accounting_for_person(ctx, stranger.pk)
    (denied,) = events_since(mark)
    assert denied.outcome == "denied" and denied.subject_id == stranger.pk
    # Another role does not get this way in.
    with pytest.raises(NotFound):
        selectors.accounting_for_person(context(users["officer_west"]), subject.pk)
    with pytest.raises(NotFound):
        selectors.accounting_for_person(ctx, "not-a-uuid")


def test_an_officers_identity_correction_notifies_earlier_recipients(
    users, subject, released, settings, tmp_path
):
    """update_person is a correction of the identity record: EOIR and the FBI received
    identity (and are told), NARA received only cases (and is not)."""
    from caseledger.people.services import update_person

    settings.VAR_DIR = tmp_path
    subject.refresh_from_db()
    update_person(
        ctx=context(users["officer_east"]),
        person_id=subject.pk,
        row_version=subject.row_version,
        changes={"date_of_birth": date(1990, 5, 18)},
    )
    notices = CorrectionNotice.objects.filter(subject_id=subject.pk)
    assert sorted(n.agency.code for n in notices) == ["EOIR", "FBI"]
    assert all(n.categories == ["identity"] for n in notices)
    assert all("date_of_birth" in n.reason for n in notices)
    # An update that changes nothing is not a correction: nobody is told again.
    subject.refresh_from_db()
    update_person(
        ctx=context(users["officer_east"]),
        person_id=subject.pk,
        row_version=subject.row_version,
        changes={"date_of_birth": date(1990, 5, 18)},
    )
    assert CorrectionNotice.objects.filter(subject_id=subject.pk).count() == 2


def test_a_statement_of_disagreement_is_sent_to_earlier_recipients(
    users, subject, released, settings, tmp_path
):
    """A notation of dispute reaches the recipients of the disputed part (552a(c)(4))."""
    from caseledger.portal import services as portal

    settings.VAR_DIR = tmp_path
    mine = context(users["participant"])
    request = portal.request_amendment(
        ctx=mine,
        category="case",
        what_is_wrong="The case type is wrong.",
        correction="It is an asylum-only case.",
    )
    portal.decide_amendment(
        ctx=context(users["privacy"]),
        request_id=request.pk,
        decision="refuse",
        reasons="The charging document shows removal proceedings.",
    )
    assert not CorrectionNotice.objects.filter(subject_id=subject.pk).exists()
    portal.file_statement(ctx=mine, request_id=request.pk, text="I disagree with the case type.")
    (notice,) = CorrectionNotice.objects.filter(subject_id=subject.pk)
    assert notice.agency.code == "NARA" and notice.categories == ["cases"]
    assert "Statement of disagreement" in notice.reason
    assert "I disagree" not in notice.reason, "the statement's text is not copied out"


def test_a_notice_is_sent_once_when_two_senders_race(
    users, subject, released, settings, tmp_path, django_capture_on_commit_callbacks
):
    """The request's first attempt and the retry loop (or another node) reach one notice at
    once: the first claims it, the second finds it taken and sends nothing."""
    settings.VAR_DIR = tmp_path
    sends: list[str] = []

    def outbox(notice, subject_line, body):
        sends.append(str(notice.pk))
        # While this attempt is sending, a second sender gets to the same notice.
        again = delivery.deliver(notice)
        assert again.status == NoticeStatus.PENDING
        return DeliveryResult("sent")

    with mock.patch.dict(delivery.CHANNELS, {"outbox": outbox}):
        with django_capture_on_commit_callbacks(execute=True):
            (notice,) = services.notify_prior_recipients(
                context(users["officer_east"]),
                person_id=subject.pk,
                categories=["cases"],
                reason="Case reference corrected.",
            )
        # The retry loop, later, finds nothing due.
        with mock.patch(
            "caseledger.core.clock.now", return_value=clock.now() + timedelta(hours=2)
        ):
            assert delivery.retry_due() == {"sent": 0, "retry": 0, "failed": 0}
    notice.refresh_from_db()
    assert sends == [str(notice.pk)]
    assert notice.status == NoticeStatus.SENT and notice.attempts == 1
    assert DeliveryLog.objects.filter(notice=notice).count() == 1


def test_a_channel_that_raises_during_the_page_request_is_a_logged_attempt_not_a_500(
    users, subject, released, settings, tmp_path, web_client, django_capture_on_commit_callbacks
):
    """The correction form's first attempt runs when its transaction commits, inside the
    request: an unexpected error in the channel is a failed attempt in the log, retried on
    the schedule; the page answers as usual."""
    settings.VAR_DIR = tmp_path
    client = web_client(users["privacy"])
    broken = mock.Mock(side_effect=RuntimeError("printer driver crashed"))
    with (
        mock.patch.dict(delivery.CHANNELS, {"outbox": broken}),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            f"/disclosures/persons/{subject.pk}/accounting/",
            {"action": "correct", "categories": ["cases"], "reason": "Case reference corrected."},
        )
    assert response.status_code == 302 and broken.call_count == 1
    notice = CorrectionNotice.objects.get(subject_id=subject.pk)
    assert (notice.status, notice.attempts, notice.last_error) == (
        NoticeStatus.RETRY, 1, "internal_error")
    assert list(DeliveryLog.objects.filter(notice=notice).values_list(
        "attempt", "status", "error")) == [(1, "failed", "internal_error")]
    # The retry loop sends it once the wait is over.
    with mock.patch("caseledger.core.clock.now", return_value=clock.now() + timedelta(minutes=5)):
        assert delivery.retry_due() == {"sent": 1, "retry": 0, "failed": 0}
    assert (tmp_path / "disclosure-outbox" / f"correction-{notice.pk}.txt").exists()
