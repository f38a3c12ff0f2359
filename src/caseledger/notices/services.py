"""Writes of the notices app: templates and their approval, opt-outs, office contacts; and
the planner and sender (re-exported here as the app's public surface).

Deliberately absent: any function that sends to many people at once, any function that
takes free text to send, any selection of recipients by office, status or date. A reminder
is always about one person's own scheduled obligation and its text is always an approved
template (tests/notices/test_no_broadcast.py keeps it that way).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Max

from caseledger.access import policies
from caseledger.access.context import AccessContext, default_purpose
from caseledger.access.gate import deny, refuse_role
from caseledger.access.policies import Ability, Scope
from caseledger.core import clock
from caseledger.core.errors import Conflict, NotFound, ValidationError
from caseledger.core.ids import as_uuid
from caseledger.ledger.services import SYSTEM, Actor, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose
from caseledger.people import validation

from . import templating
from .delivery import OPT_OUT_SALT, send_due, send_reminder
from .models import Medium, NoticeTemplate, OfficeContact, OptOut, Reminder, TemplateStatus
from .planner import (
    plan_for_address_change,
    plan_for_case_deadlines,
    plan_for_deadline,
    plan_for_hearing,
    plan_for_schedule,
    plan_for_window,
    plan_hearings,
    plan_upcoming,
    replan_hearing,
)

__all__ = [
    "approve_template",
    "draft_template",
    "handle_inbound_sms",
    "opt_out_by_token",
    "plan_for_address_change",
    "plan_for_case_deadlines",
    "plan_for_deadline",
    "plan_for_hearing",
    "plan_for_schedule",
    "plan_for_window",
    "plan_hearings",
    "plan_upcoming",
    "record_opt_in",
    "record_opt_out",
    "replan_hearing",
    "send_due",
    "send_reminder",
    "set_office_contact",
]

def _sha256(template: NoticeTemplate) -> str:
    return hashlib.sha256(f"{template.subject}\n\n{template.body}".encode()).hexdigest()


# --- templates --------------------------------------------------------------------------------
def draft_template(
    *, user: Any, kind: str, language: str, channel: str, body: str, subject: str = ""
) -> NoticeTemplate:
    """A new version of a template, as a draft: not used until a privacy officer approves it."""
    policies.require(
        AccessContext(user=user, purpose=default_purpose(user)),
        Ability.AUTHOR_NOTICE_TEMPLATE, action=Action.CREATE, category=Category.NOTICE_TEMPLATE,
        record_type="notices.noticetemplate",
        message="Only privacy officers, supervisors and administrators draft reminder texts.")
    language = validation.check_languages([language])[0] if language else ""
    if not language or len(language) != 2:
        raise ValidationError("Give the template's language as a two-letter code (en, es).",
                              field="language")
    subject, body = subject.strip(), body.strip() + "\n"
    templating.check_template(kind, channel, subject, body)
    with transaction.atomic():
        latest = NoticeTemplate.objects.filter(
            kind=kind, language=language, channel=channel
        ).aggregate(v=Max("version"))["v"] or 0
        template = NoticeTemplate.objects.create(
            kind=kind, language=language, channel=channel, subject=subject, body=body,
            version=latest + 1, status=TemplateStatus.DRAFT, created_by=user,
        )
        record_write(
            actor=Actor.of(user), purpose=default_purpose(user), action=Action.CREATE,
            category=Category.NOTICE_TEMPLATE, record_type="notices.noticetemplate",
            record_id=template.pk,
            detail={"kind": kind, "language": language, "channel": channel,
                    "version": template.version, "sha256": _sha256(template)},
        )
    return template


def approve_template(*, user: Any, template_id: Any, request_id: str = "") -> NoticeTemplate:
    """Approve a draft (a privacy officer who did not write it): it replaces the approved
    version of its kind, language and channel from the next reminder on. A ledger event
    records who approved which text (its SHA-256, not the text); so does each refusal."""
    ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
    refusal = {"action": Action.APPROVE, "category": Category.NOTICE_TEMPLATE,
               "record_type": "notices.noticetemplate", "record_id": template_id}
    policies.require(ctx, Ability.APPROVE_NOTICE_TEMPLATE, **refusal,
                     message="Only a privacy officer approves reminder texts.")
    key = as_uuid(template_id)
    authors = list(NoticeTemplate.objects.filter(pk=key).values_list("created_by_id", flat=True)
                   if key else [])
    if not authors:
        raise deny(ctx, **refusal)
    if authors[0] == user.pk:
        raise refuse_role(ctx, **refusal, code="four_eyes",
                          message="You wrote this text; another privacy officer must approve it.")
    with transaction.atomic():
        template = NoticeTemplate.objects.select_for_update().filter(pk=key).first()
        if template is None:
            raise NotFound("No such template.")
        if template.status != TemplateStatus.DRAFT:
            raise Conflict(f"This template is {template.status}; only a draft can be approved.",
                           code="not_draft")
        previous = list(NoticeTemplate.objects.filter(
            kind=template.kind, language=template.language, channel=template.channel,
            status=TemplateStatus.APPROVED))
        NoticeTemplate.objects.filter(pk__in=[p.pk for p in previous]).update(
            status=TemplateStatus.RETIRED, updated_at=clock.now())
        template.status = TemplateStatus.APPROVED
        template.approved_by = user
        template.approved_at = clock.now()
        template.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
        record_write(
            actor=Actor.of(user), purpose=default_purpose(user), action=Action.APPROVE,
            category=Category.NOTICE_TEMPLATE, record_type="notices.noticetemplate",
            record_id=template.pk,
            detail={"kind": template.kind, "language": template.language,
                    "channel": template.channel, "version": template.version,
                    "sha256": _sha256(template), "author": str(template.created_by_id or ""),
                    "replaces": [str(p.pk) for p in previous]},
        )
    return template


# --- opt-outs ---------------------------------------------------------------------------------
def _check_channel(channel: str) -> str:
    if channel not in Medium.values:
        raise ValidationError(f"Unknown channel '{channel}'. Use: {', '.join(Medium.values)}.",
                              field="channel")
    return channel


def record_opt_out(person: Any, channel: str, source: str, *, actor: Actor = SYSTEM) -> OptOut:
    """The person asked for no more reminders over `channel`. Idempotent."""
    _check_channel(channel)
    with transaction.atomic():
        existing = OptOut.objects.filter(person=person, channel=channel,
                                         revoked_at__isnull=True).first()
        if existing:
            return existing
        try:
            with transaction.atomic():
                opt_out = OptOut.objects.create(person=person, channel=channel, at=clock.now(),
                                                source=source[:32])
        except IntegrityError:  # a concurrent STOP
            return OptOut.objects.get(person=person, channel=channel, revoked_at__isnull=True)
        record_write(actor=actor, purpose=Purpose.NOTICE, action=Action.OPT_OUT,
                     category=Category.NOTICE, subject_id=person.pk,
                     record_type="notices.optout", record_id=opt_out.pk,
                     detail={"channel": channel, "source": source[:32]})
    return opt_out


def record_opt_in(person: Any, channel: str, source: str, *, actor: Actor = SYSTEM) -> int:
    """The person asked to get reminders over `channel` again."""
    _check_channel(channel)
    with transaction.atomic():
        open_ = list(OptOut.objects.filter(person=person, channel=channel,
                                           revoked_at__isnull=True))
        for opt_out in open_:
            opt_out.revoked_at = clock.now()
            opt_out.revoked_source = source[:32]
            opt_out.save(update_fields=["revoked_at", "revoked_source", "updated_at"])
            record_write(actor=actor, purpose=Purpose.NOTICE, action=Action.OPT_IN,
                         category=Category.NOTICE, subject_id=person.pk,
                         record_type="notices.optout", record_id=opt_out.pk,
                         detail={"channel": channel, "source": source[:32]})
    return len(open_)


STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ALTO",
                        "PARAR", "PARE", "BAJA", "CANCELAR"})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "INICIAR", "ALTA", "SI"})
REPLIES = {
    "stop": {"en": "You will get no more reminders by text message. Reply START to get them "
                   "again. Your obligations (hearings, check-ins) do not change.",
             "es": "Ya no recibirá recordatorios por mensaje de texto. Responda ALTA para "
                   "recibirlos de nuevo. Sus obligaciones (audiencias, registros) no cambian."},
    "start": {"en": "Text message reminders are on again. Reply STOP to end them.",
              "es": "Los recordatorios por mensaje de texto están activos de nuevo. Responda "
                    "ALTO para terminarlos."},
}


@dataclass(frozen=True)
class InboundResult:
    action: str  # stop | start | ignored
    reply: str  # what the gateway may answer (the same whether the number is known or not)


def _keyword(text: str) -> str:
    word = (text or "").strip().split(maxsplit=1)[0] if (text or "").strip() else ""
    folded = unicodedata.normalize("NFKD", word)
    return "".join(c for c in folded if c.isalpha() and c.isascii()).upper()


def handle_inbound_sms(from_number: str, text: str) -> InboundResult:
    """An SMS the gateway received: STOP/ALTO (and synonyms) opts every person reached at
    that number out of text reminders; START/ALTA opts them back in. The reply is the same
    whether or not the number is known, so the webhook reveals nothing."""
    from caseledger.people.models import Contact, ContactKind

    number = validation.normalize_phone(from_number)
    keyword = _keyword(text)
    if keyword in STOP_WORDS:
        action = "stop"
    elif keyword in START_WORDS:
        action = "start"
    else:
        return InboundResult("ignored", "")
    language = "es" if keyword in {"ALTO", "PARAR", "PARE", "BAJA", "CANCELAR", "INICIAR",
                                   "ALTA", "SI"} else "en"
    persons = {c.person for c in Contact.objects.filter(kind=ContactKind.PHONE, value=number)
               .select_related("person")}
    source = f"SMS {keyword}"[:32]
    for person in persons:
        if action == "stop":
            record_opt_out(person, Medium.SMS, source)
        else:
            record_opt_in(person, Medium.SMS, source)
    return InboundResult(action, REPLIES[action][language])


def opt_out_by_token(token: str) -> tuple[Any, str]:
    """The opt-out link of a reminder email: (person, channel) after recording it."""
    try:
        data = signing.loads(token, salt=OPT_OUT_SALT)
        reminder = Reminder.objects.select_related("person").filter(pk=data["r"]).first()
        channel = data.get("m", Medium.EMAIL)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        reminder = None
    if reminder is None:
        raise NotFound("This link is not valid. Ask your officer to stop email reminders.")
    record_opt_out(reminder.person, channel, "email link")
    return reminder.person, channel


# --- how to reach an office -------------------------------------------------------------------
def set_office_contact(*, user: Any, office: Any, phone: str, email: str = "") -> OfficeContact:
    """The phone (and email) reminders give as the way to reach the office."""
    ctx = AccessContext(user=user, purpose=default_purpose(user))
    refusal = {"action": Action.UPDATE, "category": Category.OFFICE,
               "record_type": "accounts.office", "record_id": office.pk}
    policies.require(ctx, Ability.EDIT_OFFICE_CONTACT, **refusal,
                     message="Only administrators and supervisors set an office's contact.")
    if policies.scope(user) is Scope.OFFICE and user.office_id != office.pk:
        raise refuse_role(ctx, **refusal, code="other_office",
                          message="Supervisors set the contact of their own office only.")
    phone = validation.normalize_phone(phone)
    email = validation.normalize_email(email) if email.strip() else ""
    with transaction.atomic():
        contact, _created = OfficeContact.objects.update_or_create(
            office=office, defaults={"phone": phone, "email": email})
        record_write(actor=Actor.of(user), purpose=default_purpose(user), action=Action.UPDATE,
                     category=Category.OFFICE, record_type="notices.officecontact",
                     record_id=contact.pk, detail={"office": office.code})
    return contact
