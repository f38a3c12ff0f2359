"""The notices app under the one access policy: who sets an office's contact (each refusal
recorded), who is alerted when nobody is assigned, and a reminder finished by a worker that
lost its claim."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import last_event_id

from caseledger.accounts.models import Office
from caseledger.core.errors import PermissionDenied
from caseledger.ledger.models import Event
from caseledger.notices import channels
from caseledger.notices.alerts import alert_recipients
from caseledger.notices.delivery import send_due
from caseledger.notices.models import Delivery, OfficeContact, Reminder, ReminderStatus
from caseledger.notices.services import set_office_contact
from caseledger.people.models import Person

pytestmark = pytest.mark.django_db


def test_office_contact_is_set_by_administrators_and_the_office_supervisor(users):
    east, west = Office.objects.get(code="east"), Office.objects.get(code="west")
    set_office_contact(user=users["admin"], office=west, phone="+1 213 555 0100")
    set_office_contact(user=users["supervisor_east"], office=east, phone="+1 212 555 0100")
    assert set(OfficeContact.objects.values_list("office__code", flat=True)) == {"east", "west"}
    for user, code in ((users["supervisor_east"], "other_office"), (users["officer_east"], "role"),
                       (users["participant"], "role")):
        mark = last_event_id()
        with pytest.raises(PermissionDenied) as exc:
            set_office_contact(user=user, office=west, phone="+1 213 555 0199")
        assert exc.value.code == code
        [event] = Event.objects.filter(id__gt=mark)
        assert (event.action, event.outcome, event.data_category, event.record_type,
                event.record_id, event.actor_id) == (
            "update", "denied", "office", "accounts.office", str(west.pk), str(user.pk))
    assert OfficeContact.objects.get(office=west).phone == "+12135550100"


def test_a_person_nobody_is_assigned_to_alerts_the_office_supervisors(users):
    person = Person.objects.create(office=Office.objects.get(code="east"), languages=["es"])
    assert [u.pk for u in alert_recipients(person.pk)] == [users["supervisor_east"].pk]
    supervisor = users["supervisor_east"]
    supervisor.is_active = False
    supervisor.save(update_fields=["is_active"])
    assert alert_recipients(person.pk) == []


def test_a_worker_that_lost_its_claim_logs_the_attempt_and_leaves_the_status(
    notice_settings, make_hearing, monkeypatch
):
    """The send stalled past the claim timeout and another worker took the reminder over: the
    first worker's attempt still gets its delivery log and ledger event, but the reminder's
    status is the new holder's, never overwritten by the stale worker."""
    notice_settings.NOTICE_CHANNELS = ["file"]
    hearing = make_hearing(days=30)
    notice = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")
    real_send = channels.FileChannel.send
    taken_over: list[object] = []

    def stalled_send(self, message):  # noqa: ANN001, ANN202
        result = real_send(self, message)
        later = Reminder.objects.get(pk=notice.pk).claimed_at + timedelta(minutes=20)
        Reminder.objects.filter(pk=notice.pk).update(claimed_at=later)  # the other worker
        taken_over.append(later)
        return result

    monkeypatch.setattr(channels.FileChannel, "send", stalled_send)
    mark = last_event_id()
    report = send_due()
    assert report.sent == 1 and taken_over
    notice.refresh_from_db()
    assert (notice.status, notice.claimed_at, notice.attempts) == (
        ReminderStatus.SENDING, taken_over[0], 0)
    assert Delivery.objects.filter(reminder=notice, status="sent").count() == 1
    [event] = Event.objects.filter(id__gt=mark, action="notify")
    assert (event.subject_id, event.outcome, event.detail["status"]) == (
        notice.person_id, "allowed", "sent")


def test_a_worker_that_keeps_its_claim_settles_the_reminder(notice_settings, make_hearing):
    """The claim and the settling are each one versioned write (so a planner that read the
    reminder as waiting cannot retire it while it is being sent)."""
    notice_settings.NOTICE_CHANNELS = ["file"]
    hearing = make_hearing(days=30)
    notice = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")
    version = notice.row_version
    assert send_due().sent == 1
    notice.refresh_from_db()
    assert (notice.status, notice.claimed_at, notice.attempts, notice.row_version) == (
        ReminderStatus.SENT, None, 1, version + 2)


def test_planning_leaves_a_reminder_that_changed_since_it_was_read(notice_settings, make_hearing):
    """Re-planning supersedes what it read as waiting; a reminder changed meanwhile (here: sent
    by a worker) keeps what that change made of it."""
    from caseledger.notices.planner import _retire

    hearing = make_hearing(days=30)
    read = Reminder.objects.get(obligation_id=str(hearing.pk), kind="7d")
    Reminder.objects.filter(pk=read.pk).update(status=ReminderStatus.SENT,
                                               row_version=read.row_version + 1)
    assert _retire(read, ReminderStatus.SUPERSEDED, "obligation_moved") is False
    assert Reminder.objects.get(pk=read.pk).status == ReminderStatus.SENT
    waiting = Reminder.objects.get(obligation_id=str(hearing.pk), kind="3d")
    assert _retire(waiting, ReminderStatus.SUPERSEDED, "obligation_moved") is True
    waiting.refresh_from_db()
    assert (waiting.status, waiting.last_error) == (ReminderStatus.SUPERSEDED, "obligation_moved")
