"""Reads of the ledger itself. Who accessed a person is itself personal: reads are recorded."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, record_access
from caseledger.accounts.models import Role
from caseledger.core.errors import ValidationError

from .models import Event

LEDGER_READER_ROLES = frozenset({Role.PRIVACY_OFFICER})


def events_for_subject(
    *, ctx: AccessContext, subject_id: Any, page: int = 1, per_page: int = 50
) -> tuple[list[Event], int]:
    if ctx.user.role not in LEDGER_READER_ROLES:
        raise deny(ctx, action="read", category="ledger", record_type="ledger.event",
                   record_id=subject_id)
    try:
        sid = uuid.UUID(str(subject_id))
    except ValueError:
        raise ValidationError("subject must be a person id (UUID).", field="subject") from None
    qs: QuerySet[Event] = Event.objects.filter(subject_id=sid).order_by("-time", "-id")
    total = qs.count()
    page = max(1, page)
    events = list(qs[(page - 1) * per_page : page * per_page])
    record_access(
        ctx,
        action="read",
        category="ledger",
        subject_id=sid,
        record_type="ledger.event",
        detail={"page": page, "returned": len(events)},
    )
    return events, total


STAFF_ROLE_VALUES = ("case_officer", "supervisor", "privacy_officer", "administrator")


def access_history(*, ctx: AccessContext, person_id: Any = None, page: int = 1,
                   per_page: int = 50) -> tuple[list[Event], int]:
    """Who accessed a person's record: every staff read and write, with date, role, office and
    declared purpose (from the ledger). For a participant, their own record; for a
    representative, a client's (the gate decides). Reading it is itself recorded."""
    from caseledger.access.gate import require_person, visible_persons

    if ctx.user.role == Role.PARTICIPANT:
        person = visible_persons(ctx).first()
        if person is None:
            raise deny(ctx, action="read", category="ledger", record_type="ledger.event",
                       record_id="self")
    else:
        person = require_person(ctx, person_id, category="ledger")
    qs = Event.objects.filter(subject_id=person.pk, actor_role__in=STAFF_ROLE_VALUES) \
        .order_by("-time", "-id")
    total = qs.count()
    page = max(1, page)
    events = list(qs[(page - 1) * per_page: page * per_page])
    record_access(ctx, action="read", category="ledger", subject_id=person.pk,
                  record_type="ledger.event", detail={"view": "access_history", "page": page})
    return events, total
