from __future__ import annotations

import uuid
from datetime import date, datetime

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from caseledger.access.api_auth import access_context
from caseledger.core.api_common import ERRORS, links

from . import selectors, services
from .inputs import AddressIn, PersonIn, PersonPatch

router = Router(tags=["persons"])

class NameOut(BaseModel):
    kind: str
    given_names: str
    family_names: str
    full_name: str


class AddressOut(BaseModel):
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    valid_from: date
    valid_to: date | None


class AddressReceiptOut(BaseModel):
    id: uuid.UUID
    address: AddressOut
    source: str
    received_at: datetime
    ledger_event: uuid.UUID | None
    eoir33_due: date | None = Field(
        description="When Form EOIR-33 is due at the court of the open case (5 business days)"
    )
    court: str


class ContactOut(BaseModel):
    kind: str
    value: str
    preferred: bool


class CaseRef(BaseModel):
    id: uuid.UUID
    reference: str
    case_type: str
    status: str


class PersonOut(BaseModel):
    id: uuid.UUID
    row_version: int
    office: str
    a_number: str | None
    date_of_birth: date | None
    citizenship: list[str]
    languages: list[str]
    interpreter_needed: bool
    names: list[NameOut]
    addresses: list[AddressOut]
    contacts: list[ContactOut]
    cases: list[CaseRef]


class PersonSummary(BaseModel):
    id: uuid.UUID
    name: str
    a_number: str | None
    date_of_birth: date | None
    score: float | None = None
    matched_name: str | None = None


class PersonPage(BaseModel):
    items: list[PersonSummary]
    total: int
    page: int


def _detail_out(detail: selectors.PersonDetail) -> PersonOut:
    p = detail.person
    return PersonOut(
        id=p.pk,
        row_version=p.row_version,
        office=p.office.code,
        a_number=p.a_number,
        date_of_birth=p.date_of_birth,
        citizenship=p.citizenship,
        languages=p.languages,
        interpreter_needed=p.interpreter_needed,
        names=[NameOut.model_validate(n, from_attributes=True) for n in detail.names],
        addresses=[AddressOut.model_validate(a, from_attributes=True) for a in detail.addresses],
        contacts=[ContactOut.model_validate(c, from_attributes=True) for c in detail.contacts],
        cases=[CaseRef.model_validate(c, from_attributes=True) for c in detail.cases],
    )


class SearchParams(BaseModel):
    q: str = Field(default="", max_length=200, description="Name (any spelling/script) or A-number")
    page: int = Field(default=1, ge=1, le=10_000)


def _person_links(status: int, where: str) -> dict:
    """OpenAPI links from an answer holding a person's id to the operations taking it."""
    person = {"person_id": f"$response.body#{where}"}
    ops = ("people_api_get_person", "people_api_add_address", "disclosures_api_person_accounting")
    return links(status, {f"caseledger_{op}": person for op in ops})


CASE_LINK = links(200, {"caseledger_cases_api_get_case": {"case_id": "$response.body#/cases/0/id"}})


@router.get(
    "", response={200: PersonPage, **ERRORS}, openapi_extra=_person_links(200, "/items/0/id")
)
def list_persons(request: HttpRequest, params: Query[SearchParams]) -> PersonPage:
    """Search by name or A-number; without `q`, the persons of your ordinary work."""
    ctx = access_context(request)
    if params.q.strip():
        results = selectors.search_persons(ctx=ctx, query=params.q)
        items = [
            PersonSummary(
                id=p.pk,
                name=str(p),
                a_number=p.a_number,
                date_of_birth=p.date_of_birth,
                score=h.score,
                matched_name=h.matched_name,
            )
            for p, h in results
        ]
        return PersonPage(items=items, total=len(items), page=1)
    rows, total = selectors.list_caseload(ctx=ctx, page=params.page)
    items = [
        PersonSummary(
            id=r.person.pk,
            name=str(r.person),
            a_number=r.person.a_number,
            date_of_birth=r.person.date_of_birth,
        )
        for r in rows
    ]
    return PersonPage(items=items, total=total, page=params.page)


@router.post("", response={201: PersonOut, **ERRORS}, openapi_extra=_person_links(201, "/id"))
def create_person(request: HttpRequest, payload: PersonIn) -> Status:
    ctx = access_context(request)
    person = services.create_person(ctx=ctx, data=payload)
    return Status(201, _detail_out(selectors.get_person(ctx=ctx, person_id=person.pk)))


@router.get("/{person_id}", response={200: PersonOut, **ERRORS}, openapi_extra=CASE_LINK)
def get_person(request: HttpRequest, person_id: str) -> PersonOut:
    ctx = access_context(request, person_id=person_id)
    return _detail_out(selectors.get_person(ctx=ctx, person_id=person_id))


@router.patch("/{person_id}", response={200: PersonOut, **ERRORS})
def patch_person(request: HttpRequest, person_id: str, payload: PersonPatch) -> PersonOut:
    ctx = access_context(request, person_id=person_id)
    services.update_person(ctx=ctx, person_id=person_id, data=payload)
    return _detail_out(selectors.get_person(ctx=ctx, person_id=person_id))


@router.post("/{person_id}/addresses", response={201: AddressReceiptOut, **ERRORS})
def add_address(request: HttpRequest, person_id: str, payload: AddressIn) -> Status:
    """A change of address: recorded by the officer or supervisor, or reported by the person
    (their own record) or their representative. The previous address is kept in the history;
    the officer and representative are alerted; the EOIR-33 reminder is planned."""
    ctx = access_context(request, person_id=person_id)
    address = services.record_address(ctx=ctx, person_id=person_id, data=payload)
    receipt = selectors.address_receipt(ctx=ctx, address_id=address.pk)
    return Status(
        201,
        AddressReceiptOut(
            id=address.pk,
            address=AddressOut.model_validate(address, from_attributes=True),
            source=address.source,
            received_at=receipt.received_at,
            ledger_event=receipt.event_id,
            eoir33_due=receipt.eoir33_due,
            court=receipt.court_name,
        ),
    )
