from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from pydantic import BaseModel, Field

from caseledger.core.api import ERRORS, UUID_TEXT, ErrorOut, access_context, links
from caseledger.core.errors import NotFound

from . import checkpoints, proofs, selectors
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


class InclusionOut(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="base64 of SHA-256(0x00 || leaf bytes)")
    hashes: list[str] = Field(description="base64 audit path, RFC 6962")


class ConsistencyOut(BaseModel):
    first: int
    second: int
    hashes: list[str]


class InclusionParams(BaseModel):
    event: str = Field(max_length=64, description="Event id (UUID)", json_schema_extra=UUID_TEXT)
    size: int | None = Field(
        default=None, ge=1, description="Tree size; default: the latest checkpoint's"
    )


class ConsistencyParams(BaseModel):
    first: int = Field(alias="from", ge=0)
    second: int = Field(alias="to", ge=1)


@router.get(
    "/checkpoint",
    auth=None,
    response={200: str, 404: ErrorOut},
    openapi_extra={"responses": {200: {"content": {"text/plain": {}}}}},
)
def checkpoint(request: HttpRequest) -> HttpResponse:
    """The latest signed checkpoint (C2SP signed note). Public: it holds no personal data."""
    latest = checkpoints.latest()
    if latest is None:
        raise NotFound("No checkpoint has been signed yet.")
    return HttpResponse(latest.note, content_type="text/plain; charset=utf-8")


@router.get("/proofs/inclusion", auth=None, response={200: InclusionOut, **ERRORS})
def inclusion_proof(request: HttpRequest, params: Query[InclusionParams]) -> dict:
    """Proof that an event is in the tree of the given size (verify with caseledger-verify)."""
    return proofs.inclusion(event_id=params.event, size=params.size)


@router.get("/proofs/consistency", auth=None, response={200: ConsistencyOut, **ERRORS})
def consistency_proof(request: HttpRequest, params: Query[ConsistencyParams]) -> dict:
    """Proof that the tree of size `to` extends the tree of size `from`."""
    return proofs.consistency(first=params.first, second=params.second)


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
    rows, total = selectors.access_history(ctx=ctx, person_id=params.person, page=params.page)
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
