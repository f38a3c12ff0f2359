"""Shared pieces of the JSON API: bearer auth, error bodies, the access context of a request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from pydantic import BaseModel, ConfigDict, field_validator


class StrictIn(BaseModel):
    """Base of every request body: exact types, no unknown fields, no bare strings, no
    control characters (a NUL byte cannot be stored by PostgreSQL and means nothing here)."""

    model_config = ConfigDict(strict=True, extra="forbid", str_max_length=2000)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        for text in _strings(value):
            if any(ord(ch) < 32 and ch not in "\t\n\r" or ord(ch) == 127 for ch in text):
                raise ValueError("must not contain control characters")
        return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


class ErrorOut(BaseModel):
    detail: str
    code: str
    field: str | None = None


ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
    503: ErrorOut,
}


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from caseledger.accounts.services import user_for_token

        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


def access_context(request: HttpRequest, *, person_id: Any = None) -> Any:
    """The AccessContext for an API call. Break-glass is declared by headers:
    `X-Access-Purpose: break-glass` and `X-Access-Reason: <why, 20+ characters>`.

    A declared purpose must be one of `Purpose`; anything else (and a reason over
    `MAX_REASON_CHARS`) is a 400 that is itself recorded, with the person when one is named.
    """
    from caseledger.access.context import MAX_REASON_CHARS, AccessContext, Purpose, default_purpose
    from caseledger.access.gate import grant_break_glass, refuse_declaration

    user = request.user
    request_id = getattr(request, "request_id", "")
    ordinary = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
    declared = request.headers.get("X-Access-Purpose", "")
    purpose = Purpose.parse(declared) if declared.strip() else None
    if declared.strip() and purpose is None:
        raise refuse_declaration(
            ordinary, person_id=person_id, code="unknown_purpose", field="X-Access-Purpose",
            message="X-Access-Purpose is not a purpose this system knows. Use one of: "
            + ", ".join(p.value for p in Purpose) + " (or leave it out for your role's own).",
        )
    reason = request.headers.get("X-Access-Reason", "")
    if len(reason) > MAX_REASON_CHARS:
        raise refuse_declaration(
            ordinary, person_id=person_id, code="reason_too_long", field="X-Access-Reason",
            message=f"X-Access-Reason may hold at most {MAX_REASON_CHARS} characters.",
        )
    if purpose == Purpose.BREAK_GLASS:
        if person_id is not None:
            grant_break_glass(user=user, person_id=person_id, reason=reason, request_id=request_id)
        return AccessContext(
            user=user, purpose=Purpose.BREAK_GLASS, reason=reason, request_id=request_id
        )
    if purpose is None:
        return ordinary
    return AccessContext(user=user, purpose=purpose, request_id=request_id)
