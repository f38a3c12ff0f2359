"""The person's own view: "My record", its export, and amendment requests.

GET  /api/v1/me/record[?person=<id>]    the whole record (participant; representative:
                                        their client), the same document as the JSON export
POST /api/v1/me/amendments              ask to amend a named part of the record
GET  /api/v1/me/amendments[?person=<id>]
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from caseledger.access.api_auth import access_context
from caseledger.core.api_common import ERRORS, StrictIn, text_pattern

from . import selectors, services
from .models import AmendmentCategory

router = Router(tags=["portal"])


class RecordParams(BaseModel):
    person: str | None = Field(
        default=None, max_length=64, description="Representatives: the client's person id"
    )


@router.get("/record", response={200: dict[str, Any], **ERRORS})
def my_record(request: HttpRequest, params: Query[RecordParams]) -> dict[str, Any]:
    """My record (participants) or my client's (representatives): identity, addresses,
    contacts, cases, hearings, decisions, deadlines, check-ins and review dispositions, the
    accounting of disclosures, who accessed the record, deletions, amendment requests and
    statements of disagreement. Every read is recorded; so is the export itself."""
    ctx = access_context(request)
    return selectors.export_record(ctx, params.person, fmt="json")


TEXT = {**text_pattern(), "maxLength": services.MAX_TEXT}


class AmendmentIn(StrictIn):
    person: str | None = Field(
        default=None,
        max_length=64,
        description="Representatives: the client's person id (participants: omit)",
    )
    category: str = Field(
        max_length=32,
        description="Part of the record",
        json_schema_extra={"enum": AmendmentCategory.values},
    )
    # Longer texts are refused by the service, with its own message (its limit is documented).
    what_is_wrong: str = Field(max_length=20_000, json_schema_extra=TEXT)
    correction: str = Field(
        max_length=20_000, description="The correction asked for", json_schema_extra=TEXT
    )


class StatementOut(BaseModel):
    text: str
    filed_at: datetime


class AmendmentOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    category: str
    what_is_wrong: str
    correction: str
    status: Literal["received", "acknowledged", "granted", "refused"]
    submitted_at: datetime
    acknowledge_due: date
    decision_due: date
    acknowledged_at: datetime | None
    decided_at: datetime | None
    reasons: str | None
    late: list[str]
    statement_of_disagreement: StatementOut | None


def _out(detail: selectors.AmendmentDetail) -> AmendmentOut:
    r = detail.request
    s = detail.statement
    return AmendmentOut(
        id=r.pk,
        person=r.person_id,
        category=r.category,
        what_is_wrong=r.what_is_wrong,
        correction=r.correction,
        status=r.status,
        submitted_at=r.submitted_at,
        acknowledge_due=r.acknowledge_due,
        decision_due=r.decision_due,
        acknowledged_at=r.acknowledged_at,
        decided_at=r.decided_at,
        reasons=r.decision_reasons or None,
        late=detail.late,
        statement_of_disagreement=StatementOut(text=s.text, filed_at=s.filed_at) if s else None,
    )


@router.post("/amendments", response={201: AmendmentOut, **ERRORS})
def request_amendment(request: HttpRequest, payload: AmendmentIn) -> Status:
    """Ask to amend one part of the record (5 U.S.C. 552a(d)(2)). An acknowledgement is due
    within 10 working days and a decision within 30."""
    ctx = access_context(request)
    row = services.request_amendment(
        ctx=ctx,
        person_id=payload.person,
        category=payload.category,
        what_is_wrong=payload.what_is_wrong,
        correction=payload.correction,
    )
    return Status(201, _out(selectors.AmendmentDetail(row, None, [], row.acknowledge_due)))


@router.get("/amendments", response={200: list[AmendmentOut], **ERRORS})
def list_amendments(request: HttpRequest, params: Query[RecordParams]) -> list[AmendmentOut]:
    """My amendment requests (or my client's), newest first, with their clock."""
    ctx = access_context(request)
    return [_out(d) for d in selectors.my_amendments(ctx=ctx, person_id=params.person)]
