"""Disclosure endpoints: one-person requests, decisions, release packages, the accounting.

There is no endpoint that takes more than one person: a body that names several persons, or
is a list, is refused with 422 and the reason (the Privacy Act allows a disclosure only for a
particular record)."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from caseledger.access.api_auth import access_context
from caseledger.core.api_common import (
    ERRORS,
    UUID_TEXT,
    StrictIn,
    links,
    require_json,
    text_pattern,
)
from caseledger.core.errors import ValidationError

from . import rules, selectors, services

router = Router(tags=["disclosures"])

# Mounted at /persons next to the people router: GET /persons/{id}/accounting.
persons_router = Router(tags=["disclosures"])

LETTER_B64_MAX = (rules.LETTER_MAX_BYTES * 4) // 3 + 8


class DisclosureIn(StrictIn):
    """A written request for ONE person's record."""

    model_config = ConfigDict(strict=True, extra="forbid", str_max_length=LETTER_B64_MAX)

    person: str = Field(
        max_length=64,
        description="The id of the ONE person the request is "
        "about (a list or a `persons` key is refused with 422)",
        json_schema_extra=UUID_TEXT,
    )
    agency: str = Field(max_length=32, description="Requesting agency code, e.g. FBI")
    official_name: str = Field(max_length=200)
    official_title: str = Field(max_length=200)
    official_rank: str = Field(
        max_length=32,
        description="agent, supervisor, section_chief, division_chief or head_of_agency",
    )
    authority: str = Field(max_length=32, description="'b7' or a routine-use code, e.g. ICE-A")
    activity: str = Field(max_length=2000, description="The activity the record is needed for")
    categories: list[str] = Field(max_length=20, description="Data category codes, explicit")
    letter_base64: str = Field(
        max_length=LETTER_B64_MAX, description="The signed request letter, base64"
    )
    letter_content_type: str = Field(max_length=100, description="application/pdf")
    withhold_from_subject: bool = Field(
        default=False,
        description="(b)(7) only: the requester asked in writing that the subject not be told",
    )


class DisclosureOut(BaseModel):
    id: uuid.UUID
    person: uuid.UUID
    agency: str
    official_name: str
    official_title: str
    official_rank: str
    authority: str
    routine_use: str | None
    activity: str
    categories: list[str]
    withhold_from_subject: bool
    letter_sha256: str
    status: str
    entered_by: uuid.UUID
    entered_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_reason: str
    package_sha256: str


class DisclosurePage(BaseModel):
    items: list[DisclosureOut]
    total: int
    page: int


class ListParams(BaseModel):
    page: int = Field(default=1, ge=1, le=10_000)
    status: Literal["", "pending", "approved", "declined"] = ""


class DecisionIn(StrictIn):
    decision: Literal["approve", "decline"]
    reason: str = Field(
        max_length=2000,
        description="Reasons for the decision (10 characters or more)",
        json_schema_extra=text_pattern(10),
    )


class AccountingEntryOut(BaseModel):
    id: uuid.UUID
    disclosed_on: date
    categories: list[str]
    purpose: str
    recipient_name: str
    recipient_address: str
    authority: str
    request: uuid.UUID
    withheld_from_subject: bool
    retain_until: date


class AccountingOut(BaseModel):
    person: uuid.UUID
    entries: list[AccountingEntryOut]
    withheld_count: int = Field(
        description="Entries withheld from this viewer (5 U.S.C. "
        "552a(c)(3), (b)(7) requests asking so in writing)"
    )


def _out(req) -> DisclosureOut:  # type: ignore[no-untyped-def]
    return DisclosureOut(
        id=req.pk,
        person=req.person_id,
        agency=req.agency.code,
        official_name=req.official_name,
        official_title=req.official_title,
        official_rank=req.official_rank,
        authority=req.authority_code,
        routine_use=req.routine_use.code if req.routine_use else None,
        activity=req.activity,
        categories=list(req.categories),
        withhold_from_subject=req.withhold_from_subject,
        letter_sha256=req.letter_sha256,
        status=req.status,
        entered_by=req.entered_by_id,
        entered_at=req.entered_at,
        decided_by=req.decided_by_id,
        decided_at=req.decided_at,
        decision_reason=req.decision_reason,
        package_sha256=req.package_sha256,
    )


def _body(request: HttpRequest) -> object:
    require_json(request)
    try:
        return json.loads(request.body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("The body must be a JSON object.", code="invalid") from None


def _pydantic_error(exc: PydanticValidationError) -> ValidationError:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ())]
    where = ".".join(loc) or "request"
    return ValidationError(f"{where}: {err.get('msg', 'invalid')}", field=loc[0] if loc else None)


def _request_links(status: int, where: str) -> dict:
    """OpenAPI links from an answer holding a request's id to the operations taking it."""
    ops = ("get_disclosure", "decide_disclosure", "disclosure_package")
    request = {"request_id": f"$response.body#{where}"}
    return links(status, {f"caseledger_disclosures_api_{op}": request for op in ops})


@router.post(
    "",
    response={201: DisclosureOut, **ERRORS},
    openapi_extra={
        **_request_links(201, "/id"),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DisclosureIn.model_json_schema()}},
        }
    },
)
def create_disclosure(request: HttpRequest) -> Status:
    """Enter a written disclosure request for ONE person (privacy officer or supervisor).

    A body naming several persons (`persons`, a list in `person`, or a list body) gets 422:
    the Privacy Act allows a disclosure only for a particular record, one person per request.
    """
    payload = _body(request)
    services.check_one_person(payload)
    try:
        body = DisclosureIn.model_validate(payload)
    except PydanticValidationError as exc:
        raise _pydantic_error(exc) from None
    data = services.RequestInput(
        person=body.person,
        agency=body.agency,
        official_name=body.official_name,
        official_title=body.official_title,
        official_rank=body.official_rank,
        authority=body.authority,
        activity=body.activity,
        categories=body.categories,
        letter=services.decode_letter(body.letter_base64),
        letter_content_type=body.letter_content_type,
        withhold_from_subject=body.withhold_from_subject,
    )
    req = services.create_request(access_context(request), data)
    return Status(201, _out(req))


@router.get(
    "", response={200: DisclosurePage, **ERRORS}, openapi_extra=_request_links(200, "/items/0/id")
)
def list_disclosures(request: HttpRequest, params: Query[ListParams]) -> DisclosurePage:
    """Requests, pending first (privacy officers: all; supervisors: their office's)."""
    rows, total = selectors.list_requests(
        access_context(request), page=params.page, status=params.status
    )
    return DisclosurePage(items=[_out(r) for r in rows], total=total, page=params.page)


@router.get("/{request_id}", response={200: DisclosureOut, **ERRORS})
def get_disclosure(request: HttpRequest, request_id: uuid.UUID) -> DisclosureOut:
    return _out(selectors.get_request(access_context(request), request_id))


@router.post("/{request_id}/decision", response={200: DisclosureOut, **ERRORS})
def decide_disclosure(
    request: HttpRequest, request_id: uuid.UUID, payload: DecisionIn
) -> DisclosureOut:
    """Approve (and release) or decline: a privacy officer who did not enter the request."""
    req = services.decide(
        access_context(request), request_id, decision=payload.decision, reason=payload.reason
    )
    return _out(req)


@router.get("/{request_id}/package", response={200: dict, **ERRORS})
def disclosure_package(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    """The JSON release package of an approved request (privacy officers)."""
    req, data = selectors.package(access_context(request), request_id, "json")
    response = HttpResponse(data, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="disclosure-{req.pk}.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@persons_router.get("/{person_id}/accounting", response={200: AccountingOut, **ERRORS})
def person_accounting(request: HttpRequest, person_id: uuid.UUID) -> AccountingOut:
    """The accounting of disclosures of one person: staff who may see the person get every
    entry; the person and their representative get the entries not withheld, and a count."""
    view = selectors.accounting_for_person(access_context(request, person_id=person_id), person_id)
    return AccountingOut(
        person=view.person.pk,
        withheld_count=view.withheld_count,
        entries=[
            AccountingEntryOut(
                id=e.pk,
                disclosed_on=e.disclosed_on,
                categories=list(e.categories),
                purpose=e.purpose,
                recipient_name=e.recipient_name,
                recipient_address=e.recipient_address,
                authority=e.authority,
                request=e.request_id,
                withheld_from_subject=e.withheld_from_subject,
                retain_until=e.retain_until,
            )
            for e in view.entries
        ],
    )
