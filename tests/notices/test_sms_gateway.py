"""SMS through the HTTP gateway adapter, against a fake gateway on 127.0.0.1:
200 -> sent; 400 -> failed for good and the officer alerted; 503 and timeouts -> retried."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from caseledger.notices.channels import Message, SmsGatewayChannel
from caseledger.notices.delivery import send_due
from caseledger.notices.models import Alert, AlertKind, Delivery, Reminder, ReminderStatus
from caseledger.people.models import Contact


def the_notice(hearing):
    return Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")


def test_200_is_sent_with_the_gateways_id(gateway, make_hearing, ana):
    hearing = make_hearing(days=30, hour=9)
    assert send_due().sent == 1
    [request] = gateway.requests
    assert request["path"] == "/messages"
    assert request["headers"]["Authorization"] == "Bearer gateway-test-token"
    assert request["headers"]["Content-Type"] == "application/json"
    payload = request["json"]
    notice = the_notice(hearing)
    assert payload["to"] == "+12135550147"
    assert payload["reference"] == str(notice.pk)
    body = payload["body"]
    assert body.startswith("Ana: audiencia en la corte de inmigración el ")
    assert "Los Angeles Immigration Court" in body and "Responda ALTO" in body
    assert "{" not in body and len(body) <= 480
    assert (notice.status, notice.channel) == (ReminderStatus.SENT, "sms")
    delivery = Delivery.objects.get(reminder=notice)
    assert (delivery.provider_id, delivery.detail) == ("sms-1", "http 200")
    assert delivery.contact == Contact.objects.get(person=ana, kind="phone")


def test_400_fails_for_good_and_alerts_the_officer(gateway, make_hearing, officer):
    gateway.script = [(400, {"error": "number not reachable"})]
    hearing = make_hearing(days=30)
    assert send_due().failed == 1
    notice = the_notice(hearing)
    assert (notice.status, notice.last_error) == (ReminderStatus.FAILED, "gateway_refused")
    assert Delivery.objects.get(reminder=notice).detail == "http 400"
    alert = Alert.objects.get(kind=AlertKind.DELIVERY_FAILED)
    assert alert.user == officer and alert.reminder == notice
    assert alert.emailed == "none"  # the officer has no email address on file
    assert len(gateway.requests) == 1


def test_503_is_retried_with_back_off_then_sent(gateway, make_hearing):
    gateway.script = [(503, {"error": "busy"}), (503, {"error": "busy"})]
    hearing = make_hearing(days=30)
    start = timezone.now()
    assert send_due(now=start).retrying == 1
    notice = the_notice(hearing)
    assert notice.next_attempt_at == start + timedelta(minutes=5)
    assert send_due(now=start + timedelta(minutes=5)).retrying == 1
    notice.refresh_from_db()
    assert notice.next_attempt_at == start + timedelta(minutes=35)
    assert send_due(now=start + timedelta(minutes=35)).sent == 1
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == (ReminderStatus.SENT, 3)
    assert len(gateway.requests) == 3
    # each attempt carries the same idempotency key, so the gateway can drop a duplicate
    assert {r["headers"]["Idempotency-Key"] for r in gateway.requests} == {str(notice.pk)}


def test_a_gateway_timeout_is_retried(gateway, make_hearing):
    gateway.script = [2.0]  # longer than SMS_GATEWAY_TIMEOUT (1 s)
    hearing = make_hearing(days=30)
    assert send_due().retrying == 1
    assert the_notice(hearing).last_error == "timeout"


def test_the_channel_on_its_own(gateway):
    channel = SmsGatewayChannel()
    ok = channel.send(Message(to="+12135550147", medium="sms", body="hello", reference="r1"))
    assert ok.ok and ok.provider_id == "sms-1"
    gateway.script = [(429, {})]
    assert channel.send(Message(to="+12135550147", medium="sms", body="x")).status == "transient"
    gateway.script = [(404, {})]
    assert channel.send(Message(to="+12135550147", medium="sms", body="x")).status == "permanent"


def test_sms_is_not_tried_without_a_gateway(notice_settings, make_hearing, ana):
    notice_settings.NOTICE_CHANNELS = ["sms"]
    notice_settings.SMS_GATEWAY_URL = ""
    Contact.objects.filter(person=ana, kind="email").delete()
    hearing = make_hearing(days=30)
    assert send_due().failed == 1
    assert the_notice(hearing).last_error == "no_contact"
    assert Alert.objects.filter(kind=AlertKind.NO_CONTACT, reminder__isnull=True).exists()
