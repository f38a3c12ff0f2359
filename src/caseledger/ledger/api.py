from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from pydantic import BaseModel, Field

from caseledger.core.api_common import ERRORS, UUID_TEXT, ErrorOut
from caseledger.core.errors import NotFound

from . import checkpoints, proofs

router = Router(tags=["ledger"])


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
