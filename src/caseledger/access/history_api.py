"""The ledger read by person, under the access gate: a privacy officer's view of the events
about one person (`GET /ledger/events`) and a person's "who accessed my record"
(`GET /me/accesses`). The public proofs and checkpoints stay in `ledger/api.py`."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import BaseModel, Field

from caseledger.access.api_auth import access_context
from caseledger.core.api_common import ERRORS, UUID_TEXT, links

from . import history

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
    subject: str = Field(max_length=64, description="Person id", json_schema_extra=UUID_TEXT)
    page: int = Field(default=1, ge=1, le=100_000)


# An event's id leads to its inclusion proof.
EVENT_LINK = links(
    200, {"caseledger_ledger_api_inclusion_proof": {"event": "$response.body#/items/0/id"}}
)


@router.get("/events", response={200: EventPage, **ERRORS}, openapi_extra=EVENT_LINK)
def events(request: HttpRequest, params: Query[EventParams]) -> EventPage:
    """Every ledger event about one person (privacy officers only), newest first."""
    ctx = access_context(request)
    rows, total = history.events_for_subject(ctx=ctx, subject_id=params.subject, page=params.page)
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
            position=e.position,
        )
        for e in rows
    ]
    return EventPage(items=items, total=total, page=params.page)



me_router = Router(tags=["my record"])


class AccessOut(BaseModel):
    time: datetime
    role: str
    office: str
    purpose: str
    action: str
    category: str
    outcome: str


class AccessPage(BaseModel):
    items: list[AccessOut]
    total: int
    page: int


class AccessParams(BaseModel):
    person: str | None = Field(
        default=None, max_length=64, description="Representatives: the client's person id"
    )
    page: int = Field(default=1, ge=1, le=100_000)


@me_router.get("/accesses", response={200: AccessPage, **ERRORS})
def my_accesses(request: HttpRequest, params: Query[AccessParams]) -> AccessPage:
    """Who accessed my record (participants) or my client's (representatives): date, role,
    office and declared purpose of every staff read and write."""
    ctx = access_context(request)
    rows, total = history.access_history(ctx=ctx, person_id=params.person, page=params.page)
    return AccessPage(
        items=[
            AccessOut(
                time=e.time,
                role=e.actor_role,
                office=e.office,
                purpose=e.purpose,
                action=e.action,
                category=e.data_category,
                outcome=e.outcome,
            )
            for e in rows
        ],
        total=total,
        page=params.page,
    )
