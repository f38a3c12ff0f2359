from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import BaseModel, Field

from caseledger.core.api import ERRORS, access_context

from . import selectors
from .models import Entry

router = Router(tags=["ledger"])


class EventOut(BaseModel):
    id: uuid.UUID
    time: datetime
    actor: str
    role: str
    office: str
    action: str
    subject: uuid.UUID | None
    record_type: str
    record_id: str
    category: str
    purpose: str
    outcome: str
    request_id: str
    detail: dict
    position: int | None


class EventPage(BaseModel):
    items: list[EventOut]
    total: int
    page: int


class EventParams(BaseModel):
    subject: str = Field(max_length=64, description="Person id")
    page: int = Field(default=1, ge=1, le=100_000)


@router.get("/events", response={200: EventPage, **ERRORS})
def events(request: HttpRequest, params: Query[EventParams]) -> EventPage:
    """Every ledger event about one person (privacy officers only), newest first."""
    ctx = access_context(request)
    rows, total = selectors.events_for_subject(ctx=ctx, subject_id=params.subject, page=params.page)
    positions = dict(
        Entry.objects.filter(event_id__in=[e.id for e in rows]).values_list("event_id", "position")
    )
    items = [
        EventOut(
            id=e.uuid,
            time=e.time,
            actor=e.actor_id,
            role=e.actor_role,
            office=e.office,
            action=e.action,
            subject=e.subject_id,
            record_type=e.record_type,
            record_id=e.record_id,
            category=e.data_category,
            purpose=e.purpose,
            outcome=e.outcome,
            request_id=e.request_id,
            detail=e.detail,
            position=positions.get(e.id),
        )
        for e in rows
    ]
    return EventPage(items=items, total=total, page=params.page)
