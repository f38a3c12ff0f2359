from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status
from pydantic import BaseModel, Field

from caseledger.core import clock
from caseledger.core.api_common import ERRORS, StrictIn

from . import services

router = Router(tags=["auth"])


class TokenIn(StrictIn):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=200)
    otp: str = Field(default="", max_length=12, description="TOTP code (staff, outside the demo)")


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


TOKEN_REFUSALS = {
    "responses": {
        403: {"description": "Wrong username or password (`bad_credentials`), or a missing or "
              "wrong one-time code (`otp_required`)"},
        429: {"description": f"The account is locked (`locked`) after "
              f"{settings.AXES_FAILURE_LIMIT} failed sign-ins in a row, for "
              f"{int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes; every attempt "
              "meanwhile gets this answer, the right password too"},
    }
}


@router.post(
    "/token", auth=None, response={200: TokenOut, **ERRORS}, openapi_extra=TOKEN_REFUSALS
)
def token(request: HttpRequest, payload: TokenIn) -> TokenOut:
    """Exchange a username and password (and a one-time code for staff) for a bearer token.
    Failed attempts count per account; too many in a row lock it for a while (429)."""
    value = services.issue_api_token(
        request=request, username=payload.username, password=payload.password, otp=payload.otp
    )
    return TokenOut(token=value, expires_at=clock.now() + settings.API_TOKEN_TTL)


def _bearer_token(request: HttpRequest) -> str:
    """The token of the `Authorization: Bearer <token>` header, split as django-ninja's
    `HttpBearer` splits it (the bearer auth has already accepted it for this request)."""
    return " ".join(request.headers.get("Authorization", "").split(" ")[1:])


@router.delete("/token", response={204: None, **ERRORS})
def revoke_token(request: HttpRequest) -> Status:
    """Revoke the bearer token this request carries (sign out of the API). Afterwards that
    token gets 401; other tokens of the account keep working. A missing, unknown, expired or
    already revoked token is 401."""
    services.revoke_token(
        user=request.auth,
        token=_bearer_token(request),
        request_id=getattr(request, "request_id", ""),
    )
    return Status(204, None)
