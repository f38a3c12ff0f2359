"""Reminder texts: shipped approved in English and Spanish; a new or changed text is a draft
until a privacy officer who did not write it approves it (a ledger event); placeholders are
checked when the text is written."""

from __future__ import annotations

import hashlib

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from tests.conftest import last_event_id

from caseledger.accounts.models import Role
from caseledger.core.errors import Conflict, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from caseledger.notices.defaults import TEMPLATES
from caseledger.notices.delivery import send_due
from caseledger.notices.models import NoticeTemplate, TemplateStatus
from caseledger.notices.services import approve_template, draft_template
from caseledger.notices.templating import check_template

NEW_BODY = "{given_name}: hearing {date} {time} at {court_name} ({when}). Call {office_phone}."


@pytest.fixture
def second_privacy(make_user):
    return make_user("privacy2", Role.PRIVACY_OFFICER)


def test_every_kind_ships_approved_in_english_and_spanish(db):
    approved = NoticeTemplate.objects.filter(status=TemplateStatus.APPROVED)
    keys = {(t.kind, t.language, t.channel) for t in approved}
    assert keys == set(TEMPLATES)
    for kind in ("hearing", "hearing_moved", "hearing_cancelled", "hearing_postponed", "checkin",
                 "deadline", "address_change"):
        for language in ("en", "es"):
            for channel in ("email", "sms"):
                assert (kind, language, channel) in keys
    for t in approved:
        check_template(t.kind, t.channel, t.subject, t.body)  # the shipped texts pass the check
        assert t.shipped and t.version == 1


def test_a_draft_is_not_used_until_approved_by_another_privacy_officer(
    notice_settings, users, second_privacy, make_hearing, tmp_path
):
    notice_settings.NOTICE_CHANNELS = ["file"]
    from caseledger.people.models import Contact

    Contact.objects.all().update(preferred=False)
    Contact.objects.filter(kind="phone").update(preferred=True)
    author = users["privacy"]
    draft = draft_template(user=author, kind="hearing", language="es", channel="sms",
                           body=NEW_BODY)
    assert (draft.status, draft.version) == (TemplateStatus.DRAFT, 2)
    make_hearing(days=30)
    send_due()
    [first] = (tmp_path / "outbox").glob("*.txt")
    assert "audiencia en la corte de inmigración" in first.read_text()  # still the shipped v1
    with pytest.raises(PermissionDenied, match="another privacy officer"):
        approve_template(user=author, template_id=draft.pk)
    with pytest.raises(PermissionDenied, match="Only a privacy officer"):
        approve_template(user=users["supervisor_east"], template_id=draft.pk)
    draft.refresh_from_db()
    assert draft.status == TemplateStatus.DRAFT
    mark = last_event_id()
    approved = approve_template(user=second_privacy, template_id=draft.pk)
    assert approved.status == TemplateStatus.APPROVED and approved.approved_by == second_privacy
    old = NoticeTemplate.objects.get(kind="hearing", language="es", channel="sms", version=1)
    assert old.status == TemplateStatus.RETIRED
    event = Event.objects.get(id__gt=mark, action="approve")
    assert event.actor_id == str(second_privacy.pk) and event.data_category == "notice_template"
    assert event.record_id == str(draft.pk)
    digest = hashlib.sha256(f"{draft.subject}\n\n{draft.body}".encode()).hexdigest()
    assert event.detail["sha256"] == digest and event.detail["version"] == 2
    assert event.detail["author"] == str(author.pk)
    assert "hearing {date}" not in str(event.detail)  # the ledger holds the hash, not the text
    with pytest.raises(Conflict):
        approve_template(user=second_privacy, template_id=draft.pk)
    # the next reminder uses the approved text
    make_hearing(days=40)
    send_due()
    texts = [p.read_text() for p in (tmp_path / "outbox").glob("*.txt")]
    assert any("at Los Angeles Immigration Court" in t for t in texts)


def test_the_database_refuses_self_approval_too(users):
    template = NoticeTemplate.objects.create(kind="hearing", language="fr", channel="sms",
                                             body="x", version=1, created_by=users["privacy"])
    with pytest.raises(IntegrityError), transaction.atomic():
        NoticeTemplate.objects.filter(pk=template.pk).update(
            status="approved", approved_by=users["privacy"], approved_at=timezone.now())


@pytest.mark.parametrize(
    ("kind", "channel", "subject", "body", "message"),
    [
        ("hearing", "sms", "", "Hi {name}", "Unknown placeholder"),
        ("hearing", "sms", "", "Hi {given_name.__class__}", "not a plain placeholder"),
        ("hearing", "sms", "", "On {date:%Y}", "not a plain placeholder"),
        ("hearing", "sms", "", "On {date!r}", "not a plain placeholder"),
        ("hearing", "sms", "", "Unclosed {date", "unmatched brace"),
        ("hearing", "sms", "", "x" * 481, "at most 480"),
        ("hearing", "sms", "Subject", "Body", "no subject"),
        ("hearing", "email", "", "Body {date}", "needs a subject"),
        ("hearing", "sms", "", "Click {opt_out_url}", "Unknown placeholder"),
        ("broadcast", "sms", "", "Everyone report to the office", "Unknown template kind"),
        ("checkin", "sms", "", "{court_name}", "Unknown placeholder"),
    ],
)
def test_bad_templates_are_refused_with_a_clear_message(users, kind, channel, subject, body,
                                                        message):
    with pytest.raises(ValidationError, match=message):
        draft_template(user=users["privacy"], kind=kind, language="en", channel=channel,
                       subject=subject, body=body)
    assert not NoticeTemplate.objects.filter(status=TemplateStatus.DRAFT).exists()


def test_only_some_roles_draft(users):
    for role in ("officer_east", "participant", "representative"):
        with pytest.raises(PermissionDenied):
            draft_template(user=users[role], kind="hearing", language="en", channel="sms",
                           body=NEW_BODY)
    with pytest.raises(ValidationError, match="language"):
        draft_template(user=users["privacy"], kind="hearing", language="zz", channel="sms",
                       body=NEW_BODY)


def test_the_templates_page_drafts_and_approves(users, second_privacy, web_client):
    author = web_client(users["privacy"])
    response = author.post("/notices/templates/", {
        "kind": "checkin", "language": "es", "channel": "sms",
        "body": "{given_name}: registro {date} {time}. {office_phone}"})
    assert response.status_code == 302
    draft = NoticeTemplate.objects.get(status="draft")
    page = author.get("/notices/templates/").content.decode()
    assert "registro {date}" in page
    assert f"/notices/templates/{draft.pk}/approve/" not in page  # not for its author
    approver = web_client(second_privacy)
    assert f"/notices/templates/{draft.pk}/approve/" in approver.get(
        "/notices/templates/").content.decode()
    approver.post(f"/notices/templates/{draft.pk}/approve/")
    draft.refresh_from_db()
    assert draft.status == "approved"
    assert web_client(users["officer_east"]).get("/notices/templates/").status_code == 403
