"""Account writes: users, caseload assignments, API tokens. Each leaves a ledger event."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.core import clock
from caseledger.core.errors import PermissionDenied, ValidationError
from caseledger.ledger.services import SYSTEM, Actor, record_event

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
            action="create",
            category="account",
            purpose="administration",
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
            action="assign",
            category="caseload",
            purpose="caseload",
            subject_id=person.pk,
            record_type="accounts.caseload",
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
        with transaction.atomic():
            record_event(
                actor=SYSTEM,
                action="login",
                category="account",
                purpose="authentication",
                outcome="denied",
                request_id=request_id,
                detail={"channel": "api"},
            )
        raise PermissionDenied(
            "Wrong username or password, or the account is locked.", code="bad_credentials"
        )
    if mfa_required(user) and not check_totp(user, otp):
        with transaction.atomic():
            record_event(
                actor=Actor.of(user),
                action="login",
                category="account",
                purpose="authentication",
                outcome="denied",
                request_id=request_id,
                detail={"channel": "api", "reason": "otp"},
            )
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
        record_event(
            actor=Actor.of(user),
            action="login",
            category="account",
            purpose="authentication",
            request_id=request_id,
            detail={"channel": "api"},
        )
    return token


def user_for_token(token: str) -> User | None:
    row = (
        ApiToken.objects.select_related("user", "user__office")
        .filter(key_hash=_hash_token(token), revoked_at__isnull=True, expires_at__gt=clock.now())
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    return row.user
