"""Reads of the notices app: a user's own alerts; one person's reminders through the gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet

from caseledger.access.context import AccessContext
from caseledger.access.gate import record_access, require_person
from caseledger.core import clock
from caseledger.ledger.vocabulary import Action, Category

from .models import Alert, Delivery, NoticeTemplate, Reminder, TemplateStatus


def my_alerts(user: Any, *, include_read: bool = False, limit: int = 200) -> list[Alert]:
    """The user's own alerts (ids, kinds and codes; no personal data is read here)."""
    qs = Alert.objects.filter(user=user)
    if not include_read:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.select_related("reminder")[:limit])


def unread_alert_count(user: Any) -> int:
    return Alert.objects.filter(user=user, read_at__isnull=True).count()


def mark_alert_read(user: Any, alert_id: Any) -> int:
    return Alert.objects.filter(user=user, pk=alert_id, read_at__isnull=True).update(
        read_at=clock.now(), updated_at=clock.now()
    )


@dataclass
class PersonReminders:
    person: Any
    reminders: list[Reminder]


def reminders_for_person(*, ctx: AccessContext, person_id: Any, limit: int = 200
                         ) -> PersonReminders:
    """One person's reminders with their delivery log, if the context may see the person."""
    person = require_person(ctx, person_id, category=Category.NOTICE)
    reminders = list(
        Reminder.objects.filter(person=person)
        .select_related("template")
        .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("at")))
        .order_by("-due_at")[:limit]
    )
    record_access(ctx, action=Action.READ, category=Category.NOTICE, subject_id=person.pk,
                  record_type="notices.reminder", record_id=person.pk,
                  detail={"count": len(reminders)})
    return PersonReminders(person, reminders)


def templates(*, status: str | None = None) -> QuerySet[NoticeTemplate]:
    qs = NoticeTemplate.objects.select_related("created_by", "approved_by")
    if status:
        qs = qs.filter(status=status)
    return qs.exclude(status=TemplateStatus.RETIRED) if status is None else qs
