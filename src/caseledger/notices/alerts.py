"""Alerts to the people responsible for a person when a reminder fails or cannot be sent.

The alert is an in-app row (the officer's and representative's "Reminder alerts" page), and a
short copy by email when the user has an address. The copy names no one and carries no
contact details: it says that a reminder failed, with the error code, and links to the
page, where the officer sees which person it concerns (through the access gate).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.apps import apps
from django.urls import reverse

from caseledger.core import clock

from .models import Alert, Reminder

log = logging.getLogger(__name__)


def _representatives(person_id: Any) -> list[Any]:
    try:
        representation = apps.get_model("people", "Representation")
    except LookupError:  # representation is not part of this build
        return []
    return [
        r.representative
        for r in representation.objects.filter(person_id=person_id, ended_on__isnull=True)
        .select_related("representative")
    ]


def alert_recipients(person_id: Any) -> list[Any]:
    """The person's case officer (open caseload assignment), the officer of an active
    enrolment, and representatives of record; the office's supervisors if no officer."""
    from caseledger.access.policies import Scope, users_reaching
    from caseledger.accounts.models import CaseloadAssignment
    from caseledger.people.models import Person
    from caseledger.supervision.models import Enrolment, EnrolmentStatus

    users: dict[Any, Any] = {}
    assignment = (
        CaseloadAssignment.objects.filter(person_id=person_id, ended_at__isnull=True)
        .select_related("officer")
        .first()
    )
    if assignment:
        users[assignment.officer.pk] = assignment.officer
    enrolment = (
        Enrolment.objects.filter(person_id=person_id, status=EnrolmentStatus.ACTIVE)
        .select_related("officer")
        .first()
    )
    if enrolment:
        users.setdefault(enrolment.officer.pk, enrolment.officer)
    if not users:
        office_id = Person.objects.filter(pk=person_id).values_list("office_id", flat=True).first()
        # the users whose view reaches the whole office (its supervisors)
        for supervisor in users_reaching(Scope.OFFICE, office_id=office_id):
            users[supervisor.pk] = supervisor
    for representative in _representatives(person_id):
        users.setdefault(representative.pk, representative)
    return [u for u in users.values() if u.is_active]


def raise_alert(
    person_id: Any,
    kind: str,
    *,
    reminder: Reminder | None = None,
    error: str = "",
    now: datetime | None = None,
    exclude_user_id: Any = None,
) -> list[Alert]:
    """One unread alert per recipient (not repeated for the same reminder and kind); never to
    `exclude_user_id`, the user whose own action the alert is about."""
    now = now or clock.now()
    made = []
    for user in alert_recipients(person_id):
        if exclude_user_id is not None and user.pk == exclude_user_id:
            continue
        exists = Alert.objects.filter(
            user=user, person_id=person_id, kind=kind, reminder=reminder, read_at__isnull=True
        ).exists()
        if exists:
            continue
        made.append(
            Alert.objects.create(
                user=user, person_id=person_id, reminder=reminder, kind=kind, error=error, at=now
            )
        )
    return made


def email_copies(alerts: list[Alert]) -> None:
    """Send each recipient with an email address the short copy (one attempt; the in-app
    alert stays whatever happens). Called after the alert rows are committed."""
    from .channels import Message, channel_for, enabled_channels
    from .models import Medium, TemplateKind
    from .templating import find_template, render

    channels = enabled_channels()
    transport = "file" if "file" in channels else ("email" if "email" in channels else None)
    for alert in alerts:
        user = alert.user
        if transport is None or not user.email:
            Alert.objects.filter(pk=alert.pk).update(emailed="none")
            continue
        template = find_template(
            TemplateKind.DELIVERY_FAILURE, [user.preferred_language or "en"], Medium.EMAIL
        )
        if template is None:
            Alert.objects.filter(pk=alert.pk).update(emailed="no_template")
            continue
        values = {
            "alert_url": site_url(reverse("notices:alerts")),
            "error": alert.error or alert.kind,
        }
        message = Message(
            to=user.email,
            medium="email",
            subject=render(template.subject, values),
            body=render(template.body, values),
            reference=f"alert-{alert.pk}",
        )
        try:
            result = channel_for(transport).send(message)
        except Exception:  # the copy is a courtesy; the in-app alert is the record
            log.exception("alert email copy failed")
            result = None
        Alert.objects.filter(pk=alert.pk).update(
            emailed="sent" if result is not None and result.ok else "failed"
        )


def site_url(path: str) -> str:
    """An absolute URL for links in messages (settings.SITE_URL, else the environment)."""
    import os

    from django.conf import settings

    base = getattr(settings, "SITE_URL", "") or os.environ.get(
        "CASELEDGER_SITE_URL", "http://127.0.0.1:8000"
    )
    return base.rstrip("/") + path
