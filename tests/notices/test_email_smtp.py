"""Email over SMTP, against a real SMTP server (aiosmtpd) on 127.0.0.1: delivered and read
back; refused (5xx) -> failed and the officer alerted; temporary (4xx) and timeouts ->
retried with back-off, then delivered; nothing lost on the way."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from tests.conftest import last_event_id
from tests.notices.conftest import LA

from caseledger.ledger.models import Event
from caseledger.notices.delivery import recipient_hash, send_due
from caseledger.notices.engine import retry_delay
from caseledger.notices.models import Alert, AlertKind, Delivery, Reminder, ReminderStatus
from caseledger.people.models import Contact

WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
             "septiembre", "octubre", "noviembre", "diciembre")


def the_notice(hearing):
    return Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")


def test_an_email_is_really_delivered_and_reads_back_in_spanish(smtp, make_hearing, ana):
    hearing = make_hearing(days=30, hour=9)
    mark = last_event_id()
    report = send_due()
    assert report.sent == 1
    [message] = smtp.wait_for(1)
    mail_from, rcpt_tos = smtp.envelopes[0]
    assert rcpt_tos == ["ana.ramirez@example.org"]
    assert mail_from == "reminders@caseledger.example"
    local = hearing.scheduled_at.astimezone(LA)
    subject = message["subject"]
    assert subject.startswith("Su audiencia en la corte de inmigración el ")
    assert MONTHS_ES[local.month - 1] in subject and WEEKDAYS_ES[local.weekday()] in subject
    assert message["Content-Language"] == "es"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert body.startswith("Hola Ana:")
    assert "Los Angeles Immigration Court" in body
    assert f"a las {local:%H:%M}" in body and "en 30 días" in body
    assert "Qué traer" in body and "Aviso de Audiencia" in body
    assert "el oficial de turno" in body  # the officer has no name on file
    assert "{" not in body and "}" not in body and "{" not in subject
    opt_out = re.search(r"http://testserver/notices/opt-out/[^/\s]+/", body)
    assert opt_out and message["List-Unsubscribe"] == f"<{opt_out.group(0)}>"
    # the log: delivered, by which channel and template, to a hash of the address
    notice = the_notice(hearing)
    assert (notice.status, notice.channel, notice.attempts) == (ReminderStatus.SENT, "email", 1)
    assert notice.template.language == "es" and notice.template.kind == "hearing"
    delivery = Delivery.objects.get(reminder=notice)
    assert delivery.status == "sent" and delivery.provider_id == message["Message-ID"]
    assert delivery.recipient_hash == recipient_hash("email", "ana.ramirez@example.org")
    assert "ana.ramirez" not in delivery.recipient_hash
    event = Event.objects.get(id__gt=mark, action="notify")
    assert event.subject_id == ana.pk and event.record_id == str(notice.pk)
    assert event.detail["status"] == "sent" and event.detail["channel"] == "email"
    assert "example.org" not in str(event.detail) and "Ana" not in str(event.detail)


def test_english_fallback_for_a_language_without_templates(smtp, make_hearing, ana):
    ana.languages = ["ht"]
    ana.save(update_fields=["languages"])
    make_hearing(days=10)
    send_due()
    [message] = smtp.wait_for(1)
    assert message["subject"].startswith("Your immigration court hearing on ")
    assert message.get_content().startswith("Hello Ana,")


def test_a_refused_address_fails_for_good_and_alerts_the_officer(smtp, make_hearing, ana,
                                                                 officer):
    officer.email = "officer.east@agency.example"
    officer.save(update_fields=["email"])
    Contact.objects.filter(person=ana, kind="email").update(value="bounce@example.org")
    hearing = make_hearing(days=30)
    report = send_due()
    assert report.failed == 1
    notice = the_notice(hearing)
    assert notice.status == ReminderStatus.FAILED
    assert notice.last_error == "smtp_recipient_refused"
    delivery = Delivery.objects.get(reminder=notice)
    assert (delivery.status, delivery.detail) == ("permanent", "smtp 550")
    alert = Alert.objects.get(kind=AlertKind.DELIVERY_FAILED)
    assert alert.user == officer and alert.person_id == ana.pk and alert.reminder == notice
    assert alert.emailed == "sent"
    # the officer's copy names no one and has no address in it
    [copy] = smtp.wait_for(1)
    assert smtp.envelopes[0][1] == ["officer.east@agency.example"]
    text = copy.get_content()
    assert "http://testserver/notices/alerts/" in text and "smtp_recipient_refused" in text
    assert "Ana" not in text and "bounce@" not in text and "Ramirez" not in text
    # a failed reminder is not retried
    assert send_due(now=timezone.now() + timedelta(days=1)).sent == 0


def test_a_temporary_refusal_is_retried_with_back_off_then_delivered(smtp, make_hearing):
    smtp.script = ["451 4.3.0 try again later", "451 4.3.0 try again later"]
    hearing = make_hearing(days=30)
    start = timezone.now()
    assert send_due(now=start).retrying == 1
    notice = the_notice(hearing)
    assert (notice.status, notice.attempts, notice.last_error) == ("retrying", 1, "smtp_temporary")
    # the one back-off schedule of the delivery engine: 5 min, 30 min, 2 h, 12 h
    assert notice.next_attempt_at == start + retry_delay(1) == start + timedelta(minutes=5)
    assert send_due(now=start + timedelta(minutes=4)).retrying == 0  # not yet
    second = start + timedelta(minutes=5)
    assert send_due(now=second).retrying == 1
    notice.refresh_from_db()
    assert notice.next_attempt_at == second + timedelta(minutes=30)
    assert send_due(now=second + timedelta(minutes=29)).sent == 0  # not yet
    assert send_due(now=second + timedelta(minutes=30)).sent == 1
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == (ReminderStatus.SENT, 3)
    assert [d.detail for d in Delivery.objects.filter(reminder=notice).order_by("attempt")] == [
        "smtp 451", "smtp 451", ""]
    assert len(smtp.wait_for(1)) == 1


def test_a_server_that_times_out_is_retried_then_delivered(smtp, make_hearing):
    smtp.stall = [2.0]  # longer than the mailer's timeout (1 s)
    hearing = make_hearing(days=30)
    start = timezone.now()
    assert send_due(now=start).retrying == 1
    notice = the_notice(hearing)
    assert notice.last_error == "timeout"
    assert Delivery.objects.get(reminder=notice).detail == "smtp timeout"
    assert send_due(now=start + timedelta(minutes=5)).sent == 1
    assert len(smtp.wait_for(1)) == 1


def test_retries_give_up_after_the_maximum_and_alert(smtp, make_hearing, notice_settings,
                                                     officer):
    notice_settings.NOTICE_MAX_ATTEMPTS = 3
    smtp.script = ["421 4.7.0 closing"] * 3
    hearing = make_hearing(days=30)
    moment = timezone.now()
    for _ in range(3):
        send_due(now=moment)
        moment += timedelta(hours=1)
    notice = the_notice(hearing)
    assert (notice.status, notice.attempts) == (ReminderStatus.FAILED, 3)
    assert notice.last_error == "gave_up_smtp_temporary"
    assert Alert.objects.filter(user=officer, kind=AlertKind.DELIVERY_FAILED).count() == 1


def test_no_smtp_server_at_all_is_a_temporary_failure(notice_settings, make_hearing):
    from tests.notices.conftest import free_port, smtp_mailer

    notice_settings.MAILERS = smtp_mailer(free_port())  # nothing listens there
    notice_settings.NOTICE_CHANNELS = ["email"]
    hearing = make_hearing(days=30)
    assert send_due().retrying == 1
    notice = the_notice(hearing)
    assert notice.last_error == "smtp_unavailable" and notice.status == "retrying"
