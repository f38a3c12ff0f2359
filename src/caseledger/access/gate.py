"""The access gate: which persons a context may see, and the ledger event for each access.

Every selector that returns personal data starts from `visible_persons(ctx)` (or a
queryset filtered by it), so a forgotten check shows up as "not found", never as a leak.
A person outside the policy is indistinguishable from a person who does not exist.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from caseledger.accounts.models import Role, User
from caseledger.core import clock
from caseledger.core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import record_event, record_read
from caseledger.ledger.vocabulary import Action, Category

from .context import MAX_REASON_CHARS, AccessContext, Purpose, default_purpose
from .models import Grant, GrantKind
from .policies import Ability, Scope, allows, scope
from .policies import person_path as declared_path

# Which declared purposes each role may use for ordinary (non-break-glass) access.
ROLE_PURPOSES: dict[str, frozenset[str]] = {
    Role.CASE_OFFICER: frozenset({Purpose.CASELOAD}),
    Role.SUPERVISOR: frozenset({Purpose.OFFICE_SUPERVISION, Purpose.CASELOAD}),
    Role.PRIVACY_OFFICER: frozenset({Purpose.PRIVACY_REVIEW}),
    Role.ADMINISTRATOR: frozenset({Purpose.ADMINISTRATION}),
    Role.PARTICIPANT: frozenset({Purpose.SELF_SERVICE}),
    Role.REPRESENTATIVE: frozenset({Purpose.REPRESENTATION}),
}


def _model(label: str) -> Any:
    """A model of a domain app, looked up in the app registry: the gate sits below the apps
    whose rows it guards (the layers contract in .importlinter), so it names them, never
    imports them."""
    return apps.get_model(label)


def _active_grants(ctx: AccessContext, kind: str) -> QuerySet[Grant]:
    return Grant.objects.filter(user=ctx.user, kind=kind, expires_at__gt=clock.now())


def policy_filter(ctx: AccessContext) -> Q:
    """A filter on Person for what the context may see; Q(pk__in=[]) when nothing.

    The purpose binds the reach: each role may declare only its own purposes
    (`ROLE_PURPOSES`), and break-glass reaches only the persons of open grants."""
    user = ctx.user
    nothing = Q(pk__in=[])
    reach = scope(user)
    if reach is Scope.NONE:
        return nothing
    if ctx.purpose == Purpose.BREAK_GLASS:
        if not allows(user, Ability.BREAK_GLASS):
            return nothing
        return Q(pk__in=_active_grants(ctx, GrantKind.BREAK_GLASS).values("person_id"))
    if ctx.purpose not in ROLE_PURPOSES.get(user.role, frozenset()):
        return nothing
    if reach is Scope.CASELOAD:
        return Q(caseload_assignments__officer=user, caseload_assignments__ended_at__isnull=True)
    if reach is Scope.OFFICE:
        return Q(office_id=user.office_id) if user.office_id else nothing
    if reach is Scope.GRANTS:
        return Q(pk__in=_active_grants(ctx, GrantKind.PRIVACY_REVIEW).values("person_id"))
    if reach is Scope.SELF:
        return Q(participant_account=user)
    return Q(pk__in=_represented(user))


def _represented(user: User) -> QuerySet[Any]:
    return _model("people.Representation").objects.filter(representative=user,
                                         ended_on__isnull=True).values("person_id")


def visible_persons(ctx: AccessContext) -> QuerySet[Any]:
    Person = _model("people.Person")  # noqa: N806

    # No DISTINCT: the only join (caseload) matches at most one open assignment per person,
    # which a unique constraint guarantees; DISTINCT would cost a sort on every search.
    return Person.objects.filter(policy_filter(ctx))


def can_see(ctx: AccessContext, person_id: uuid.UUID | str) -> bool:
    return visible_persons(ctx).filter(pk=person_id).exists()


def _event_kwargs(ctx: AccessContext) -> dict[str, Any]:
    return {"actor": ctx.actor, "purpose": ctx.purpose, "request_id": ctx.request_id,
            "task": ctx.task}


def record_access(
    ctx: AccessContext,
    *,
    action: str,
    category: str,
    subject_id: Any = None,
    record_type: str = "",
    record_id: Any = "",
    detail: dict[str, Any] | None = None,
    subjects: Iterable[Any] | None = None,
) -> None:
    """One ledger event for an allowed read; raises (fail closed) if it cannot be written.

    A search or list names every person it returned in `subjects` (one subject row each), so
    each of them sees the event in "who accessed my record"."""
    record_read(
        **_event_kwargs(ctx),
        action=action,
        category=category,
        subject_id=subject_id,
        record_type=record_type,
        record_id=record_id or "",
        detail=detail,
        subjects=subjects,
    )


def safe_record_id(value: Any) -> str:
    """A record id fit for the ledger: a UUID or short token as is; anything else (too long,
    control characters, NUL) as a hash, so no input can break or pollute the event."""
    text = str(value)
    if len(text) <= 64 and text.isprintable() and text.isascii():
        return text
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def deny(
    ctx: AccessContext,
    *,
    action: str,
    category: str,
    record_type: str,
    record_id: Any,
    subject_id: Any = None,
) -> NotFound:
    """Record a denial and return the NotFound to raise: the caller learns nothing more."""
    record_read(
        **_event_kwargs(ctx),
        action=action,
        category=category,
        outcome=Outcome.DENIED,
        subject_id=subject_id,
        record_type=record_type,
        record_id=safe_record_id(record_id),
    )
    return NotFound("No such record, or you do not have access to it.")


def require_related(ctx: AccessContext, model: Any, pk: Any, *, record_type: str,
                    category: str, action: str = "read", related: tuple[str, ...] = (),
                    person_path: str | None = None) -> Any:
    """The `model` row `pk` if the person it belongs to (the path declared for `model` in
    `policies.PERSON_PATHS`, unless `person_path` names another) is visible to ctx; otherwise
    a denial event (naming that person when the row exists) and NotFound."""
    path = person_path or declared_path(model)
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise deny(ctx, action=action, category=category, record_type=record_type,
                   record_id=pk) from None
    rows = model.objects.select_related(*related) if related else model.objects.all()
    row = rows.filter(pk=key, **{f"{path}__in": visible_persons(ctx).values("pk")}).first()
    if row is None:
        subject = model.objects.filter(pk=key).values_list(path, flat=True).first()
        raise deny(ctx, action=action, category=category, record_type=record_type,
                   record_id=key, subject_id=subject)
    return row


def require_person(ctx: AccessContext, person_id: Any, *, category: str, action: str = "read"):
    """The person if the context may see them (a denial event and NotFound otherwise)."""
    Person = _model("people.Person")  # noqa: N806

    try:
        pid = uuid.UUID(str(person_id))
    except ValueError:
        raise deny(
            ctx,
            action=action,
            category=category,
            record_type="people.person",
            record_id=safe_record_id(person_id),
        ) from None
    person = visible_persons(ctx).filter(pk=pid).first()
    if person is None:
        # The subject is recorded only if the id is real, so a denial still shows in that
        # person's access history; an invented id is recorded as a bare record id.
        exists = Person.objects.filter(pk=pid).exists()
        raise deny(
            ctx,
            action=action,
            category=category,
            record_type="people.person",
            record_id=pid,
            subject_id=pid if exists else None,
        )
    return person


def refuse_declaration(
    ctx: AccessContext, *, person_id: Any, code: str, message: str, field: str
) -> DomainError:
    """Record that a request was refused for what it declared (an unknown purpose, a reason
    too long) and return the 400 to raise. The event names the person when the request named
    a real one, carries a purpose from the closed set (the role's own) and never the client's
    text, so nothing a client sends can make the event fail to write."""
    Person = _model("people.Person")  # noqa: N806

    subject = None
    if person_id is not None:
        try:
            pid = uuid.UUID(str(person_id))
        except ValueError:
            pid = None
        if pid is not None and Person.objects.filter(pk=pid).exists():
            subject = pid
    record_read(
        actor=ctx.actor,
        purpose=default_purpose(ctx.user),
        request_id=ctx.request_id,
        action=Action.READ,
        category=Category.ACCESS,
        outcome=Outcome.DENIED,
        subject_id=subject,
        record_type="people.person" if person_id is not None else "",
        record_id=safe_record_id(person_id) if person_id is not None else "",
        detail={"reason": code},
    )
    return DomainError(message, field=field, code=code)


def grant_break_glass(*, user: User, person_id: Any, reason: str, request_id: str = "") -> Grant:
    """Open time-limited access to one person, with a stated reason, flagged for review."""
    Person = _model("people.Person")  # noqa: N806

    reason = (reason or "").strip()
    ctx = AccessContext(
        user=user, purpose=Purpose.BREAK_GLASS, reason=reason, request_id=request_id
    )
    if not allows(user, Ability.BREAK_GLASS):
        with transaction.atomic():
            record_event(
                **_event_kwargs(ctx),
                action=Action.BREAK_GLASS,
                category=Category.ACCESS,
                outcome=Outcome.DENIED,
                subject_id=real_person(person_id),
                record_type="people.person",
                record_id=safe_record_id(person_id),
                detail={"reason": "role"},
            )
        raise PermissionDenied("Your role cannot use emergency access.", code="role")
    if len(reason) > MAX_REASON_CHARS:
        raise ValidationError(
            f"Keep the reason under {MAX_REASON_CHARS} characters.", field="reason",
            code="reason_too_long",
        )
    if len(reason) < settings.BREAK_GLASS_MIN_REASON:
        raise ValidationError(
            f"State why you need access in at least {settings.BREAK_GLASS_MIN_REASON} "
            "characters; the reason is reviewed by the privacy officer.",
            field="reason",
        )
    try:
        pid = uuid.UUID(str(person_id))
    except ValueError:
        raise ValidationError("That is not a valid person id.", field="person") from None
    person = Person.objects.filter(pk=pid).first()
    if person is None:
        with transaction.atomic():
            record_event(
                **_event_kwargs(ctx),
                action=Action.BREAK_GLASS,
                category=Category.ACCESS,
                outcome=Outcome.DENIED,
                record_type="people.person",
                record_id=pid,
                detail={"reason": "unknown_person"},
            )
        raise NotFound("No person has that id.")
    with transaction.atomic():
        existing = _active_grants(ctx, GrantKind.BREAK_GLASS).filter(person=person).first()
        if existing:
            grant = existing
        else:
            grant = Grant.objects.create(
                user=user,
                person=person,
                kind=GrantKind.BREAK_GLASS,
                reason=reason,
                expires_at=clock.now() + timedelta(minutes=settings.BREAK_GLASS_MINUTES),
            )
        # The reason is kept in the grant (reviewed by the privacy officer); the ledger names
        # the grant and flags it, so the reason's text is not copied into the append-only log.
        record_event(
            **_event_kwargs(ctx),
            action=Action.BREAK_GLASS,
            category=Category.ACCESS,
            subject_id=person.pk,
            record_type="access.grant",
            record_id=grant.pk,
            detail={
                "flagged": True,
                "expires": grant.expires_at.isoformat(),
                "reused": existing is not None,
            },
        )
    return grant


def open_break_glass_grant_ids(user: User) -> Sequence[str]:
    return [
        str(p)
        for p in Grant.objects.filter(
            user=user, kind=GrantKind.BREAK_GLASS, expires_at__gt=clock.now()
        ).values_list("person_id", flat=True)
    ]


def open_privacy_review(
    ctx: AccessContext,
    person_id: Any,
    *,
    reason: str,
    minutes: int,
    detail: dict[str, Any] | None = None,
) -> Grant:
    """A short privacy-review grant for one task of a privacy officer (deciding a disclosure,
    notifying earlier recipients): recorded in the ledger, not flagged (the task is recorded
    on its own), to be closed with `close_grant` as soon as the task is done. Call inside the
    task's transaction."""
    grant = Grant.objects.create(
        user=ctx.user,
        person_id=person_id,
        kind=GrantKind.PRIVACY_REVIEW,
        reason=reason,
        expires_at=clock.now() + timedelta(minutes=minutes),
        flagged_for_review=False,
    )
    record_event(
        **_event_kwargs(ctx),
        action=Action.GRANT,
        category=Category.ACCESS,
        subject_id=person_id,
        record_type="access.grant",
        record_id=grant.pk,
        detail={
            "kind": GrantKind.PRIVACY_REVIEW,
            "expires": grant.expires_at.isoformat(),
            **(detail or {}),
        },
    )
    return grant


def close_grant(grant: Grant) -> None:
    """End a grant now (its task is done)."""
    grant.expires_at = clock.now()
    grant.save(update_fields=["expires_at", "updated_at"])


def real_person(value: Any) -> uuid.UUID | None:
    """`value` as the id of an existing person, else None: a refusal names the person a
    request named when (and only when) that person exists."""
    Person = _model("people.Person")  # noqa: N806

    try:
        pid = uuid.UUID(str(value))
    except ValueError:
        return None
    return pid if Person.objects.filter(pk=pid).exists() else None


def refuse_role(
    ctx: AccessContext,
    *,
    action: str,
    category: str,
    record_type: str,
    record_id: Any = "",
    subject_id: Any = None,
    message: str = "Your role may not do this.",
    code: str = "role",
) -> PermissionDenied:
    """Record that the context's role may not do this (a denied event naming the person when
    `subject_id` is a real person's id) and return the 403 to raise. Call it outside the
    transaction of the refused write, so the event survives the rollback."""
    record_read(
        **_event_kwargs(ctx),
        action=action,
        category=category,
        outcome=Outcome.DENIED,
        subject_id=real_person(subject_id),
        record_type=record_type,
        record_id=safe_record_id(record_id) if record_id not in (None, "") else "",
        detail={"reason": code},
    )
    return PermissionDenied(message, code=code)


def require_privacy_officer(
    ctx: AccessContext,
    *,
    category: str,
    message: str,
    action: str = "read",
    record_type: str = "",
    record_id: Any = "",
    subject_id: Any = None,
) -> None:
    """The policy of the privacy officer's own records (retention, access review): an active
    privacy officer, or one denied event (naming the person of the item asked for, if any)
    and a 403."""
    if not allows(ctx.user, Ability.PRIVACY_WORK):
        raise refuse_role(ctx, action=action, category=category, record_type=record_type,
                          record_id=record_id, subject_id=subject_id, message=message)
