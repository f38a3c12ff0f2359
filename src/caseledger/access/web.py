"""Choosing the access context for a page request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from caseledger.core import clock
from caseledger.core.errors import PermissionDenied

from .context import AccessContext, Purpose, default_purpose
from .gate import can_see, refuse_role
from .models import Grant, GrantKind
from .policies import Ability, allows, person_of


def context_for(request: HttpRequest, *, person_id: Any = None) -> AccessContext:
    """The ordinary purpose of the user's role; break-glass only where the ordinary policy
    does not reach the person and the user holds an open break-glass grant for them."""
    user = request.user
    request_id = getattr(request, "request_id", "")
    ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
    if person_id is None or not allows(user, Ability.BREAK_GLASS):
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


#: URL keyword -> (model, path to its person, record type) of the record a page names; a
#: model of None means the keyword is the person's id itself. The person of a refused record
#: is found by the policy's own path (`policies.person_of`); the path here is that same one
#: (`policies.person_path(model)`), written out for the reader.
PageRecords = Mapping[str, tuple[Any, str, str]]
PERSON_RECORD: PageRecords = {"person_id": (None, "", "people.person")}


def refuse_page(
    request: HttpRequest,
    kwargs: Mapping[str, Any],
    *,
    category: str,
    message: str,
    records: PageRecords = PERSON_RECORD,
    action: str = "",
) -> PermissionDenied:
    """A page the user's role may not use: one denied event (naming the person the URL names,
    when it names a real one's record) and the 403 to raise."""
    ctx = context_for(request)
    action = action or ("read" if request.method in ("GET", "HEAD") else "update")
    for name, (model, _path, record_type) in records.items():
        if name in kwargs:
            pk = kwargs[name]
            subject = pk if model is None else person_of(model, pk)
            return refuse_role(ctx, action=action, category=category, record_type=record_type,
                               record_id=pk, subject_id=subject, message=message)
    match = getattr(request, "resolver_match", None)  # a page of no record: named by its view
    return refuse_role(ctx, action=action, category=category, record_type="",
                       record_id=match.view_name if match else "", message=message)
