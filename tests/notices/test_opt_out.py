"""Opt-out: SMS STOP / ALTO (through the gateway's webhook), the email link; respected at
send time; START / ALTA turns text reminders back on."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from tests.conftest import last_event_id

from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from caseledger.notices.delivery import send_due
from caseledger.notices.models import Delivery, OptOut, Reminder, ReminderStatus
from caseledger.notices.services import handle_inbound_sms, record_opt_out
from caseledger.people.models import Contact

WEBHOOK = "/notices/sms/inbound"


def post_sms(client: Client, sender: str, text: str, token: str = "gateway-test-token"):
    return client.post(WEBHOOK, {"from": sender, "text": text}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def phone_only(ana):
    Contact.objects.filter(person=ana, kind="email").delete()
    return ana


def test_stop_by_sms_is_recorded_and_respected(gateway, phone_only, make_hearing, client):
    mark = last_event_id()
    response = post_sms(client, "(213) 555-0147", "STOP")
    assert response.status_code == 200
    assert response.json()["action"] == "stop"
    assert "START" in response.json()["reply"]
    opt_out = OptOut.objects.get(person=phone_only, revoked_at__isnull=True)
    assert (opt_out.channel, opt_out.source) == ("sms", "SMS STOP")
    event = Event.objects.get(id__gt=mark, action="opt_out")
    assert event.subject_id == phone_only.pk and event.detail == {"channel": "sms",
                                                                  "source": "SMS STOP"}
    hearing = make_hearing(days=30)
    report = send_due()
    assert report.suppressed == 1 and report.sent == 0
    assert gateway.requests == []  # nothing went to the gateway
    notice = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")
    assert (notice.status, notice.last_error) == (ReminderStatus.SUPPRESSED, "opted_out")
    assert Delivery.objects.get(reminder=notice).status == "suppressed"


def test_alto_in_spanish_and_alta_to_come_back(gateway, phone_only, make_hearing, client):
    response = post_sms(client, "+12135550147", "  alto ")
    assert response.json()["action"] == "stop"
    assert "Ya no recibirá" in response.json()["reply"]
    assert OptOut.objects.filter(person=phone_only, revoked_at__isnull=True).exists()
    response = post_sms(client, "+12135550147", "Alta")
    assert response.json()["action"] == "start"
    assert not OptOut.objects.filter(person=phone_only, revoked_at__isnull=True).exists()
    make_hearing(days=30)
    assert send_due().sent == 1
    assert len(gateway.requests) == 1


def test_opted_out_of_sms_still_gets_email(smtp, notice_settings, ana, make_hearing):
    notice_settings.NOTICE_CHANNELS = ["email", "sms"]
    Contact.objects.filter(person=ana, kind="phone").update(preferred=True)
    Contact.objects.filter(person=ana, kind="email").update(preferred=False)
    record_opt_out(ana, "sms", "SMS STOP")
    make_hearing(days=30)
    assert send_due().sent == 1
    assert smtp.envelopes[0][1] == ["ana.ramirez@example.org"]


def test_unknown_numbers_and_other_words_reveal_nothing(gateway, ana, client):
    unknown = post_sms(client, "+12025550143", "STOP")
    known = post_sms(client, "+12135550147", "STOP")
    assert unknown.status_code == known.status_code == 200
    assert unknown.json() == known.json()
    chatter = post_sms(client, "+12135550147", "hello, what time is my hearing?")
    assert chatter.json() == {"action": "ignored", "reply": ""}
    assert OptOut.objects.count() == 1


def test_the_webhook_needs_the_gateway_token_and_a_valid_number(gateway, ana, client):
    assert post_sms(client, "+12135550147", "STOP", token="wrong").status_code == 403
    assert client.post(WEBHOOK, {"from": "+12135550147", "text": "STOP"},
                       content_type="application/json").status_code == 403
    bad = post_sms(client, "12", "STOP")
    assert bad.status_code == 400 and "not a valid phone number" in bad.json()["error"]
    missing = client.post(WEBHOOK, "[1, 2]", content_type="application/json",
                          HTTP_AUTHORIZATION="Bearer gateway-test-token")
    assert missing.status_code == 400
    assert OptOut.objects.count() == 0
    with pytest.raises(ValidationError, match="not a valid phone number"):
        handle_inbound_sms("not a number", "STOP")


def test_the_email_link_opts_out_of_email(smtp, ana, make_hearing, client):
    make_hearing(days=30)
    send_due()
    [message] = smtp.wait_for(1)
    url = re.search(r"http://testserver(/notices/opt-out/[^/\s]+/)", message.get_content())
    page = client.get(url.group(1))
    assert page.status_code == 200 and "Stop email reminders" in page.content.decode()
    assert not OptOut.objects.exists()  # a GET (a mail scanner following links) changes nothing
    done = client.post(url.group(1))
    assert done.status_code == 200
    opt_out = OptOut.objects.get(person=ana)
    assert (opt_out.channel, opt_out.source) == ("email", "email link")
    assert client.post("/notices/opt-out/forged-token/").status_code == 404
