"""Choosing the access context for a page request."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest

from caseledger.core import clock

from .context import AccessContext, Purpose, default_purpose
from .gate import BREAK_GLASS_ROLES, can_see
from .models import Grant, GrantKind


def context_for(request: HttpRequest, *, person_id: Any = None) -> AccessContext:
    """The ordinary purpose of the user's role; break-glass only where the ordinary policy
    does not reach the person and the user holds an open break-glass grant for them."""
    user = request.user
    request_id = getattr(request, "request_id", "")
    ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
    if person_id is None or user.role not in BREAK_GLASS_ROLES:
        return ctx
    try:
        person_id = uuid.UUID(str(person_id))
    except ValueError:  # not an id at all: the gate refuses it and records the denial
        return ctx
    if can_see(ctx, person_id):
        return ctx
    grant = Grant.objects.filter(
        user=user, person_id=person_id, kind=GrantKind.BREAK_GLASS, expires_at__gt=clock.now()
    ).first()
    if grant is None:
        return ctx
    return AccessContext(
        user=user, purpose=Purpose.BREAK_GLASS, reason=grant.reason, request_id=request_id
    )


def active_grant(request: HttpRequest, person_id: Any) -> Grant | None:
    return Grant.objects.filter(
        user=request.user,
        person_id=person_id,
        kind=GrantKind.BREAK_GLASS,
        expires_at__gt=clock.now(),
    ).first()
