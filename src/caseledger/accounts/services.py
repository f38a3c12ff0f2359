"""Account writes: users, caseload assignments, API tokens. Each leaves a ledger event."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.core import clock
from caseledger.core.errors import PermissionDenied, ValidationError
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import SYSTEM, Actor, record_event
from caseledger.ledger.vocabulary import Action, Category, Purpose

from .models import STAFF_ROLES, ApiToken, CaseloadAssignment, Office, Role, User


def create_user(
    *,
    username: str,
    password: str,
    role: str,
    office: Office | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    actor: Actor = SYSTEM,
) -> User:
    if role not in Role.values:
        raise ValidationError(f"Unknown role '{role}'.", field="role")
    if role in STAFF_ROLES - {Role.ADMINISTRATOR, Role.PRIVACY_OFFICER} and office is None:
        raise ValidationError("Officers and supervisors belong to an office.", field="office")
    with transaction.atomic():
        user = User(
            username=username,
            role=role,
            office=office,
            first_name=first_name,
            last_name=last_name,
            email=email,
            is_staff=False,
        )
        user.set_password(password)
        user.save()
        record_event(
            actor=actor,
            action=Action.CREATE,
            category=Category.ACCOUNT,
            purpose=Purpose.ADMINISTRATION,
            record_type="accounts.user",
            record_id=user.pk,
            detail={"role": role},
        )
    return user


def assign_caseload(
    *, officer: User, person: Any, actor: Actor = SYSTEM, request_id: str = ""
) -> CaseloadAssignment:
    if officer.role != Role.CASE_OFFICER:
        raise ValidationError("Only case officers carry a caseload.", field="officer")
    now = clock.now()
    with transaction.atomic():
        CaseloadAssignment.objects.filter(person=person, ended_at__isnull=True).update(ended_at=now)
        assignment = CaseloadAssignment.objects.create(
            officer=officer, person=person, started_at=now
        )
        record_event(
            actor=actor,
            action=Action.ASSIGN,
            category=Category.CASELOAD,
            purpose=Purpose.CASELOAD,
            subject_id=person.pk,
            record_type="accounts.caseloadassignment",
            record_id=assignment.pk,
            request_id=request_id,
            detail={"officer": str(officer.pk)},
        )
    return assignment


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mfa_required(user: User) -> bool:
    return settings.CASELEDGER_REQUIRE_STAFF_MFA and user.role in STAFF_ROLES


def check_totp(user: User, code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit():
        return False
    return any(
        device.verify_token(code)
        for device in TOTPDevice.objects.devices_for_user(user, confirmed=True)
    )


def issue_api_token(*, request: HttpRequest, username: str, password: str, otp: str = "") -> str:
    """Password (and TOTP for staff outside the demo) in, bearer token out."""
    user = authenticate(request=request, username=username, password=password)
    request_id = getattr(request, "request_id", "")
    if user is None:
        record_login(SYSTEM, Outcome.DENIED, channel="api", request_id=request_id)
        raise PermissionDenied(
            "Wrong username or password, or the account is locked.", code="bad_credentials"
        )
    if mfa_required(user) and not check_totp(user, otp):
        record_login(Actor.of(user), Outcome.DENIED, channel="api", request_id=request_id,
                     reason="otp")
        raise PermissionDenied(
            "A valid one-time code from your authenticator is required.", code="otp_required"
        )
    # Tell axes (and last_login) that this was a successful sign-in, as a web login does.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(
            user=user, key_hash=_hash_token(token), expires_at=clock.now() + settings.API_TOKEN_TTL
        )
        record_login(Actor.of(user), Outcome.ALLOWED, channel="api", request_id=request_id)
    return token


def record_login(actor: Actor, outcome: str, *, channel: str, request_id: str = "",
                 **detail: str) -> None:
    """The one sign-in event, for the web and the API alike (`channel`): in the transaction
    of the sign-in when there is one (a token being issued), else in its own."""
    with transaction.atomic():
        record_event(
            actor=actor,
            action=Action.LOGIN,
            category=Category.ACCOUNT,
            purpose=Purpose.AUTHENTICATION,
            outcome=outcome,
            request_id=request_id,
            detail={"channel": channel, **detail},
        )


def user_for_token(token: str) -> User | None:
    """The user a bearer token stands for, or None: unknown, revoked and expired tokens are
    refused, and so are tokens of inactive or currently locked-out accounts even when not (yet)
    revoked (defence in depth: the revocation on lockout or deactivation is the first line)."""
    row = (
        ApiToken.objects.select_related("user", "user__office")
        .filter(key_hash=_hash_token(token), revoked_at__isnull=True, expires_at__gt=clock.now())
        .first()
    )
    if row is None or not row.user.is_active or is_locked_out(row.user):
        return None
    return row.user


def is_locked_out(user: User) -> bool:
    """Whether django-axes holds `user`'s account locked right now.

    Asked of axes itself (its failure count within the cool-off), not re-implemented. The lock
    is per account (`AXES_LOCKOUT_PARAMETERS = ["username"]`), so the request axes wants is a
    blank one: no address or browser of the caller decides the answer.
    """
    return AxesProxyHandler.is_locked(HttpRequest(), get_credentials(username=user.username))


# Why tokens were revoked, and the purpose the revocation is recorded under.
REVOKE_REASONS: dict[str, str] = {
    "self": "authentication",  # DELETE /api/v1/auth/token with the token itself
    "logout": "authentication",  # web sign-out
    "password_change": "authentication",
    "lockout": "authentication",  # django-axes locked the account
    "deactivated": "administration",
    "admin_cli": "administration",  # caseledger tokens revoke --user NAME
}


def _record_revocation(
    *, user: User, token_ids: list[Any], reason: str, actor: Actor, request_id: str
) -> None:
    """One `token_revoke` event for one revocation, however many tokens it ended. The record
    id names the token when there is exactly one; `token_ids` always lists them all."""
    record_event(
        actor=actor,
        action=Action.TOKEN_REVOKE,
        category=Category.ACCOUNT,
        purpose=REVOKE_REASONS[reason],
        record_type="accounts.apitoken",
        record_id=token_ids[0] if len(token_ids) == 1 else "",
        request_id=request_id,
        detail={
            "reason": reason,
            "count": len(token_ids),
            "user": str(user.pk),
            "token_ids": [str(pk) for pk in token_ids],
        },
    )


def _mark_revoked(ids: list[Any], now: datetime) -> None:
    ApiToken.objects.filter(pk__in=ids).update(
        revoked_at=now, updated_at=now, row_version=F("row_version") + 1
    )


def revoke_token(*, user: User, token: str, request_id: str = "") -> bool:
    """Revoke the bearer token `token` of `user` (the caller of DELETE /auth/token).

    Returns False when it was already revoked or expired (nothing changes, no event)."""
    now = clock.now()
    with transaction.atomic():
        ids = list(
            ApiToken.objects.select_for_update()
            .filter(
                user=user, key_hash=_hash_token(token), revoked_at__isnull=True, expires_at__gt=now
            )
            .values_list("pk", flat=True)
        )
        if not ids:
            return False
        _mark_revoked(ids, now)
        _record_revocation(
            user=user, token_ids=ids, reason="self", actor=Actor.of(user), request_id=request_id
        )
    return True


def revoke_all_tokens(
    user: User, reason: str, *, actor: Actor = SYSTEM, request_id: str = ""
) -> int:
    """Revoke every live (unrevoked, unexpired) token of `user`; returns how many.

    One ledger event per call, in the transaction of the UPDATE, naming the reason and the
    count. Revoking nothing writes no event: the lockout calls this on every refused attempt
    while the lock lasts, and those attempts are already recorded as denied logins.
    """
    if reason not in REVOKE_REASONS:
        raise ValueError(f"unknown revocation reason {reason!r}")
    now = clock.now()
    with transaction.atomic():
        ids = list(
            ApiToken.objects.select_for_update()
            .filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
            .order_by("created_at")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        _mark_revoked(ids, now)
        _record_revocation(
            user=user, token_ids=ids, reason=reason, actor=actor, request_id=request_id
        )
    return len(ids)


def revoke_tokens_on_lockout(*, username: str, request_id: str = "") -> int:
    """Called from the django-axes lockout response (`AXES_LOCKOUT_CALLABLE`): the account
    named `username` is locked, so its tokens end. An unknown name has nothing to revoke."""
    user = User.objects.filter(username=username).first() if username else None
    if user is None:
        return 0
    return revoke_all_tokens(user, "lockout", request_id=request_id)


def change_password(
    *, user: User, new_password: str, actor: Actor = SYSTEM, request_id: str = ""
) -> int:
    """Set a new password (checked by AUTH_PASSWORD_VALIDATORS) and revoke every token of the
    account: whoever held the old password may hold a token too. Returns the tokens revoked."""
    try:
        password_validation.validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), field="password") from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record_event(
            actor=actor,
            action=Action.PASSWORD_CHANGE,
            category=Category.ACCOUNT,
            purpose=Purpose.AUTHENTICATION if actor.id == str(user.pk) else "administration",
            record_type="accounts.user",
            record_id=user.pk,
            request_id=request_id,
        )
        return revoke_all_tokens(user, "password_change", actor=actor, request_id=request_id)


def deactivate_user(*, user: User, actor: Actor = SYSTEM, request_id: str = "") -> int:
    """Switch an account off (`is_active=False`) and revoke its tokens, in one transaction.
    Deactivating an inactive account records nothing new but still revokes what is left.
    Returns the tokens revoked."""
    with transaction.atomic():
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
            record_event(
                actor=actor,
                action=Action.DEACTIVATE,
                category=Category.ACCOUNT,
                purpose=Purpose.ADMINISTRATION,
                record_type="accounts.user",
                record_id=user.pk,
                request_id=request_id,
            )
        return revoke_all_tokens(user, "deactivated", actor=actor, request_id=request_id)


def create_participant_login(*, username_base: str, language: str) -> tuple[User, str]:
    """A new participant login and its temporary password (to be shown once): the username
    is `username_base`, or it with a random suffix when taken. Writes no event: the caller
    (enrolment) records the account with the person, in its own transaction."""
    password = secrets.token_urlsafe(9)
    username = username_base
    while User.objects.filter(username=username).exists():
        username = f"{username_base}-{secrets.token_hex(2)}"
    user = User(username=username, role=Role.PARTICIPANT, preferred_language=language[:8])
    user.set_password(password)
    user.save()
    return user, password
