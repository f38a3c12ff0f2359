"""The API's side of access: who a bearer token is, and the AccessContext of a call (its
declared purpose and reason validated, refusals recorded). Every app's API builds its context
here, so the rules for headers are written once."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from caseledger.accounts.services import user_for_token

from .context import MAX_REASON_CHARS, AccessContext, Purpose, default_purpose
from .gate import grant_break_glass, refuse_declaration


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
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
