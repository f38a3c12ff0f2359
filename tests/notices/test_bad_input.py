"""Bad contact data and broken channels: clear errors, an alert for the officer, and the
reminder still reaches the person another way when it can."""

from __future__ import annotations

import pytest
from tests.conftest import last_event_id

from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from caseledger.notices.channels import FileChannel, Message, check_address
from caseledger.notices.delivery import send_due
from caseledger.notices.models import Alert, AlertKind, Delivery, Reminder, ReminderStatus
from caseledger.people.models import Contact


@pytest.mark.parametrize(
    ("medium", "value", "message"),
    [
        ("email", "ana@@example", "not a valid email address"),
        ("email", "ana@example.org\nBcc: everyone@example.org", "not a valid email address"),
        ("sms", "555-01", "not a valid phone number"),
        ("sms", "+1 999 555 0147", "not a valid phone number"),
        ("fax", "123", "Unknown channel"),
    ],
)
def test_addresses_that_fail_validation_get_a_clear_error(medium, value, message):
    with pytest.raises(ValidationError, match=message):
        check_address(medium, value)


def test_normalised_addresses_pass():
    assert check_address("sms", "(213) 555-0147") == "+12135550147"
    assert check_address("email", " Ana@Example.org ") == "ana@example.org"


def test_an_invalid_preferred_contact_is_skipped_logged_and_alerted(notice_settings, ana,
                                                                   make_hearing, officer):
    notice_settings.NOTICE_CHANNELS = ["file"]
    Contact.objects.filter(person=ana, kind="email").update(value="not-an-address")
    hearing = make_hearing(days=30)
    assert send_due().sent == 1
    notice = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")
    deliveries = list(Delivery.objects.filter(reminder=notice).order_by("at", "created_at"))
    assert [(d.status, d.error) for d in deliveries] == [("permanent", "invalid_address"),
                                                          ("sent", "")]
    assert deliveries[1].contact.kind == "phone"
    alert = Alert.objects.get(kind=AlertKind.INVALID_CONTACT)
    assert alert.user == officer and alert.reminder is None
    # the next reminder does not pile up a second unread alert for the same person
    make_hearing(days=40)
    send_due()
    assert Alert.objects.filter(kind=AlertKind.INVALID_CONTACT).count() == 1


def test_no_usable_contact_fails_and_alerts(notice_settings, ana, make_hearing, officer):
    notice_settings.NOTICE_CHANNELS = ["file"]
    Contact.objects.filter(person=ana).delete()
    hearing = make_hearing(days=30)
    mark = last_event_id()
    assert send_due().failed == 1
    notice = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")
    assert (notice.status, notice.last_error) == (ReminderStatus.FAILED, "no_contact")
    assert Alert.objects.get(kind=AlertKind.NO_CONTACT).user == officer
    event = Event.objects.get(id__gt=mark, action="notify")
    assert event.outcome == "failed" and event.detail["error"] == "no_contact"


def test_an_unwritable_outbox_is_a_temporary_failure(tmp_path):
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the directory should be")
    result = FileChannel(blocker).send(Message(to="+12135550147", medium="sms", body="x"))
    assert result.status == "transient" and result.error == "outbox_unwritable"


def test_alert_and_delivery_log_pages(notice_settings, ana, make_hearing, officer, web_client,
                                      users):
    notice_settings.NOTICE_CHANNELS = ["file"]
    Contact.objects.filter(person=ana).delete()
    make_hearing(days=30)
    send_due()
    client = web_client(officer)
    page = client.get("/notices/alerts/").content.decode()
    assert "No way to send the person reminders" in page
    assert f"/notices/persons/{ana.pk}/" in page
    assert "Ana" not in page  # the alert list itself reads no personal data
    mark = last_event_id()
    log = client.get(f"/notices/persons/{ana.pk}/")
    assert log.status_code == 200 and "no_contact" in log.content.decode()
    assert Event.objects.filter(id__gt=mark, data_category="notice", subject_id=ana.pk,
                                action="read").count() == 1
    alert = Alert.objects.get(user=officer)
    client.post("/notices/alerts/", {"alert": str(alert.pk)})
    alert.refresh_from_db()
    assert alert.read_at is not None
    # an officer of another office sees neither the log nor the alert
    other = web_client(users["officer_west"])
    assert other.get(f"/notices/persons/{ana.pk}/").status_code == 404
    assert f"/notices/persons/{ana.pk}/" not in other.get("/notices/alerts/").content.decode()
    assert web_client(users["participant"]).get("/notices/alerts/").status_code == 403


def test_a_reminder_left_sending_by_a_dead_worker_is_picked_up_again(notice_settings,
                                                                      make_hearing):
    from datetime import timedelta

    from django.utils import timezone

    notice_settings.NOTICE_CHANNELS = ["file"]
    hearing = make_hearing(days=30)
    notice = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")
    crashed = timezone.now()
    Reminder.objects.filter(pk=notice.pk).update(status="sending", claimed_at=crashed)
    assert send_due(now=crashed + timedelta(minutes=5)).sent == 0  # may still be in flight
    assert send_due(now=crashed + timedelta(minutes=16)).sent == 1
    notice.refresh_from_db()
    assert notice.status == ReminderStatus.SENT
