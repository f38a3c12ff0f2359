"""Account writes: users, caseload assignments, API tokens. Each leaves a ledger event."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.core import clock
from caseledger.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import SYSTEM, Actor, record_event, record_refusal, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose

from .models import (
    STAFF_ROLES,
    ApiToken,
    CaseloadAssignment,
    Office,
    Role,
    RoleGrantRequest,
    RoleRequestStatus,
    User,
)


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
    temporary: bool = False,
) -> User:
    """A user (tests, the demo, the operator's command). `temporary`: the password is a
    temporary one that the holder replaces at their first sign-in."""
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
            must_change_password=temporary,
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
    if user.must_change_password:
        record_login(Actor.of(user), Outcome.DENIED, channel="api", request_id=request_id,
                     reason=PASSWORD_CHANGE_REQUIRED)
        raise password_change_required()
    # Tell axes (and last_login) that this was a successful sign-in, as a web login does.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(
            user=user, key_hash=_hash_token(token), expires_at=clock.now() + settings.API_TOKEN_TTL
        )
        record_login(Actor.of(user), Outcome.ALLOWED, channel="api", request_id=request_id)
    return token


PASSWORD_CHANGE_REQUIRED = "password_change_required"


def password_change_required() -> PermissionDenied:
    """The 403 of an account whose password an administrator set (a new account, a reset)."""
    return PermissionDenied(
        "This account has a temporary password. Sign in on the web and choose your own "
        "password first; API tokens are refused until then.", code=PASSWORD_CHANGE_REQUIRED)


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
    revoked (defence in depth: the revocation on lockout or deactivation is the first line).
    An account that must choose a new password is a recorded 403 (`PermissionDenied`), so the
    program using the token is told why."""
    row = (
        ApiToken.objects.select_related("user", "user__office")
        .filter(key_hash=_hash_token(token), revoked_at__isnull=True, expires_at__gt=clock.now())
        .first()
    )
    if row is None or not row.user.is_active or is_locked_out(row.user):
        return None
    if row.user.must_change_password:  # a token from before a reset (revoked by it, normally)
        record_login(Actor.of(row.user), Outcome.DENIED, channel="api",
                     reason=PASSWORD_CHANGE_REQUIRED)
        raise password_change_required()
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
    "administrator": "administration",  # an administrator's page or API call
    "mfa_reset": "administration",  # an administrator reset the account's authenticator
    "password_reset": "administration",  # an administrator gave the account a new password
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
    account: whoever held the old password may hold a token too. The account's own choice ends
    a temporary password (`must_change_password`); it must differ from the temporary one.
    Returns the tokens revoked."""
    try:
        password_validation.validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), field="password") from None
    if user.must_change_password and user.check_password(new_password):
        raise ValidationError("Choose a password of your own, not the temporary one.",
                              field="password")
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
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


# --- account administration: the administrator's pages and API ------------------------------
#
# The entry points (`manage_views`, `api`) check with the access policy that the caller may
# manage accounts (`Ability.MANAGE_ACCOUNTS`; the policy sits above this app) and hand the
# services below their access context. The services keep the rules about accounts themselves:
# who can hold which role, two administrators for the roles in `TWO_PERSON_ROLES`, nobody
# deactivating themselves, and always one active administrator.

#: Roles an administrator gives. A participant's login is issued at enrolment, with their
#: person, and is not administered here (its username carries the person's A-number).
MANAGED_ROLES: tuple[str, ...] = tuple(r.value for r in Role if r != Role.PARTICIPANT)
#: Roles given only by two administrators: one proposes, another approves. The administrator
#: role is one of them: otherwise one administrator could make a second administrator account
#: (whose temporary password they see) and approve their own proposals with it.
TWO_PERSON_ROLES = frozenset({Role.PRIVACY_OFFICER, Role.ADMINISTRATOR})
#: Roles whose work is an office's (a caseload in it, or all of it).
OFFICE_ROLES = frozenset({Role.CASE_OFFICER, Role.SUPERVISOR})
USER_RECORD = "accounts.user"
ROLE_REQUEST_RECORD = "accounts.rolegrantrequest"
#: Codes of the refusals that are rules about accounts (recorded as denied events), as
#: opposed to bad input (a 422 the caller corrects).
RULE_REFUSALS = frozenset(
    {"own_account", "last_administrator", "self_approval", "role_pending", "caseload_open",
     "role_not_approved", "stale_request", "inactive", "already_decided", "two_person_role"}
)


class Acting(Protocol):
    """Who administers: an `access.context.AccessContext` whose role may manage accounts."""

    @property
    def user(self) -> User: ...

    @property
    def actor(self) -> Actor: ...

    @property
    def request_id(self) -> str: ...


def record_account_refusal(by: Acting, *, action: str, record_type: str, record_id: Any,
                           code: str, subject_id: Any = None) -> None:
    """One denied event for a refused account action, in a transaction of its own."""
    record_refusal(actor=by.actor, action=action, category=Category.ACCOUNT,
                   purpose=Purpose.ADMINISTRATION, record_type=record_type,
                   record_id=record_id or "", subject_id=subject_id, request_id=by.request_id,
                   detail={"reason": code})


def _refused(by: Acting, error: DomainError, *, action: str, record_id: Any,
             record_type: str = USER_RECORD) -> DomainError:
    record_account_refusal(by, action=action, record_type=record_type, record_id=record_id,
                           code=error.code)
    return error


@contextmanager
def _recorded(by: Acting, *, action: str, record_id: Any,
              record_type: str = USER_RECORD) -> Iterator[None]:
    """Record a rule refusal raised in the block (after its transaction rolled back: wrap the
    `transaction.atomic()`), so the refusal survives it."""
    try:
        yield
    except (Conflict, PermissionDenied) as exc:
        if exc.code in RULE_REFUSALS:
            record_account_refusal(by, action=action, record_type=record_type,
                                   record_id=record_id, code=exc.code)
        raise


def _write(by: Acting, action: str, *, record_id: Any, record_type: str = USER_RECORD,
           **detail: Any) -> None:
    record_write(actor=by.actor, action=action, category=Category.ACCOUNT,
                 purpose=Purpose.ADMINISTRATION, record_type=record_type, record_id=record_id,
                 request_id=by.request_id, detail=detail)


def _role(role: str) -> str:
    if role == Role.PARTICIPANT:
        raise ValidationError("A participant's login is issued when the person is enrolled in "
                              "supervision, not here.", field="role")
    if role not in MANAGED_ROLES:
        raise ValidationError(f"Unknown role '{role[:32]}'. Choose one of: "
                              + ", ".join(MANAGED_ROLES) + ".", field="role")
    return role


def office_for_role(code: str, role: str) -> Office | None:
    """The office named by `code` for an account of `role`: required for officers and
    supervisors, optional for the other staff roles, none for a representative."""
    code = (code or "").strip()
    if not code:
        if role in OFFICE_ROLES:
            raise ValidationError("Case officers and supervisors belong to an office: choose "
                                  "one.", field="office")
        return None
    if role == Role.REPRESENTATIVE:
        raise ValidationError("A representative belongs to no office.", field="office")
    office = Office.objects.filter(code=code).first()
    if office is None:
        raise ValidationError(f"There is no office '{code[:32]}'.", field="office")
    return office


def clean_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise ValidationError("Give a username.", field="username")
    if len(username) > 150:
        raise ValidationError("A username has at most 150 characters.", field="username")
    try:  # ASCII only: no look-alike letters from other scripts ("аdmin" with a Cyrillic а)
        ASCIIUsernameValidator()(username)
    except DjangoValidationError:
        raise ValidationError("A username may hold only English letters, digits and "
                              "@ . + - _ characters.", field="username") from None
    return username


def _password(password: str, username: str) -> str:
    """`password` if AUTH_PASSWORD_VALIDATORS accept it; a generated one when empty."""
    if not password:
        return secrets.token_urlsafe(12)
    try:
        password_validation.validate_password(password, User(username=username))
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), field="password") from None
    return password


def _locked(user: User) -> User:
    """`user` read again under a row lock, for a write that depends on the account's state and
    on who else administers. The active administrators' rows are locked first, always in the
    same order, so two account writes never wait for each other crosswise (a deadlock), and
    two administrators removing each other at once cannot both succeed."""
    list(
        User.objects.select_for_update()
        .filter(role=Role.ADMINISTRATOR, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return User.objects.select_for_update().get(pk=user.pk)


def _keep_an_administrator(user: User) -> None:
    """Refuse (409) to take away the last active administrator. Call after `_locked`."""
    if user.role != Role.ADMINISTRATOR or not user.is_active:
        return
    others = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).exclude(pk=user.pk)
    if not others.exists():
        raise Conflict("This is the last active administrator. Make another account an "
                       "administrator first, so that someone can still manage accounts.",
                       code="last_administrator")


def _check_caseload(user: User, role: str, office: Office | None) -> None:
    """An officer's caseload is by assignment: moving them to another role or office with
    persons still assigned would leave those persons with nobody (or reach across offices)."""
    if user.role != Role.CASE_OFFICER or (role == user.role and office == user.office):
        return
    open_count = CaseloadAssignment.objects.filter(officer=user, ended_at__isnull=True).count()
    if open_count:
        raise Conflict(f"This officer still has {open_count} person(s) on their caseload. "
                       "Reassign them before changing the role or office.",
                       code="caseload_open")


def _pending_request(user: User) -> RoleGrantRequest | None:
    return RoleGrantRequest.objects.filter(user=user, status=RoleRequestStatus.PENDING).first()


def role_not_approved(user: User) -> bool:
    """Whether `user` holds a two-person role that no second administrator approved: the
    account was proposed with that role when it was made, and its latest role request (that
    one, pending or declined) is not approved. Such an account stays inactive."""
    if user.role not in TWO_PERSON_ROLES:
        return False
    latest = RoleGrantRequest.objects.filter(user=user).order_by("-proposed_at").first()
    return latest is not None and latest.new_account and (
        latest.status != RoleRequestStatus.APPROVED)


@dataclass(frozen=True)
class NewAccount:
    """A created account and its temporary password, to be shown once and never again."""

    user: User
    password: str
    role_request: RoleGrantRequest | None


def create_account(by: Acting, *, username: str, role: str, office: str = "",
                   password: str = "") -> NewAccount:
    """A new account of `role` (an office for officers and supervisors) with a temporary
    password (generated unless given; a given one must pass the password rules), which the
    holder replaces at their first sign-in. An account
    of a two-person role starts inactive, with a proposal that a second administrator
    approves (which activates it)."""
    username = clean_username(username)
    role = _role(role)
    office_row = office_for_role(office, role)
    password = _password(password, username)
    guarded = role in TWO_PERSON_ROLES
    taken = Conflict(f"The username '{username}' is taken (usernames are compared without "
                     "regard to case).", field="username", code="username_taken")
    try:
        with transaction.atomic():
            if User.objects.filter(username__iexact=username).exists():
                raise taken
            user = User(username=username, role=role, office=office_row, is_active=not guarded,
                        is_staff=False, must_change_password=True)
            user.set_password(password)
            user.save()
            request = RoleGrantRequest.objects.create(
                user=user, role=role, office=office_row, from_role="", new_account=True,
                proposed_by=by.user, proposed_at=clock.now(),
            ) if guarded else None
            _write(by, Action.CREATE, record_id=user.pk, role=role,
                   office=office_row.code if office_row else "", active=not guarded,
                   role_request=str(request.pk) if request else "")
    except IntegrityError:  # the same username made at the same moment
        raise taken from None
    return NewAccount(user=user, password=password, role_request=request)


def deactivate_account(by: Acting, user: User) -> int:
    """Switch the account off and revoke its API tokens (its sessions end with it). Nobody
    deactivates their own account, and the last active administrator stays. Returns the
    tokens revoked."""
    if user.pk == by.user.pk:
        raise _refused(by, Conflict("You cannot deactivate your own account. Ask another "
                                    "administrator.", code="own_account"),
                       action=Action.DEACTIVATE, record_id=user.pk)
    with _recorded(by, action=Action.DEACTIVATE, record_id=user.pk), transaction.atomic():
        user = _locked(user)
        _keep_an_administrator(user)
        return deactivate_user(user=user, actor=by.actor, request_id=by.request_id)


def reactivate_account(by: Acting, user: User) -> bool:
    """Switch the account back on; False when it was already on (nothing recorded). An
    account whose two-person role was never approved stays off."""
    with _recorded(by, action=Action.REACTIVATE, record_id=user.pk), transaction.atomic():
        user = _locked(user)
        if user.is_active:
            return False
        if role_not_approved(user):
            raise Conflict("This account's role needs a second administrator's approval, "
                           "which it has not had. Approve the pending request, or give the "
                           "account another role first.", code="role_not_approved")
        user.is_active = True
        user.save(update_fields=["is_active"])
        _write(by, Action.REACTIVATE, record_id=user.pk)
    return True


def change_role(by: Acting, user: User, *, role: str, office: str = "") -> RoleGrantRequest | None:
    """Give the account `role` and `office` now; for a role in `TWO_PERSON_ROLES` propose it
    instead (returned: the account keeps its role until a second administrator approves)."""
    role = _role(role)
    office_row = office_for_role(office, role)
    if user.pk == by.user.pk:
        raise _refused(by, Conflict("You cannot change your own role or office. Ask another "
                                    "administrator.", code="own_account"),
                       action=Action.UPDATE, record_id=user.pk)
    with _recorded(by, action=Action.UPDATE, record_id=user.pk):
        try:
            with transaction.atomic():
                return _change_role(by, _locked(user), role, office_row)
        except IntegrityError:  # a second proposal at the same moment
            raise _role_pending() from None


def _role_pending() -> Conflict:
    return Conflict("A role change of this account is waiting for a second administrator: "
                    "approve or decline it first.", code="role_pending")


def _change_role(by: Acting, user: User, role: str, office: Office | None
                 ) -> RoleGrantRequest | None:
    if role == user.role and office == user.office:
        raise ValidationError("The account already has this role and office.", field="role")
    if _pending_request(user) is not None:
        raise _role_pending()
    _check_caseload(user, role, office)
    if role in TWO_PERSON_ROLES and role != user.role:
        if not user.is_active:
            raise Conflict("Reactivate the account before proposing a new role for it.",
                           code="inactive")
        request = RoleGrantRequest.objects.create(
            user=user, role=role, office=office, from_role=user.role, proposed_by=by.user,
            proposed_at=clock.now())
        _write(by, Action.PROPOSE, record_type=ROLE_REQUEST_RECORD, record_id=request.pk,
               user=str(user.pk), role=role, from_role=user.role,
               office=office.code if office else "")
        return request
    if role != Role.ADMINISTRATOR:
        _keep_an_administrator(user)
    before = (user.role, user.office.code if user.office else "")
    user.role, user.office = role, office
    user.save(update_fields=["role", "office"])
    _write(by, Action.UPDATE, record_id=user.pk, role=role, from_role=before[0],
           office=office.code if office else "", from_office=before[1])
    return None


def decide_role_request(by: Acting, request: RoleGrantRequest, *, approve: bool
                        ) -> RoleGrantRequest:
    """A second administrator approves (the account gets the role; a new account is switched
    on) or declines a proposed role. The proposer cannot decide it, nor can the account
    itself; an account whose role or state changed since the proposal is a 409."""
    action = Action.APPROVE if approve else Action.DECLINE
    if request.proposed_by_id == by.user.pk:
        raise _refused(by, PermissionDenied(
            "This role needs two administrators: you proposed it, so another administrator "
            "approves or declines it.", code="self_approval"),
            action=action, record_type=ROLE_REQUEST_RECORD, record_id=request.pk)
    if request.user_id == by.user.pk:
        raise _refused(by, Conflict("You cannot decide a role for your own account.",
                                    code="own_account"),
                       action=action, record_type=ROLE_REQUEST_RECORD, record_id=request.pk)
    with _recorded(by, action=action, record_type=ROLE_REQUEST_RECORD, record_id=request.pk), \
            transaction.atomic():
        request = RoleGrantRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RoleRequestStatus.PENDING:
            raise Conflict("This role request has already been decided.",
                           code="already_decided")
        user = _locked(request.user)
        if approve:
            _grant(request, user)
        request.status = RoleRequestStatus.APPROVED if approve else RoleRequestStatus.DECLINED
        request.decided_by, request.decided_at = by.user, clock.now()
        request.row_version += 1
        request.save(update_fields=["status", "decided_by", "decided_at", "row_version",
                                    "updated_at"])
        _write(by, action, record_type=ROLE_REQUEST_RECORD, record_id=request.pk,
               user=str(user.pk), role=request.role, from_role=request.from_role,
               office=request.office.code if request.office else "",
               proposed_by=str(request.proposed_by_id), new_account=request.new_account)
    return request


def _grant(request: RoleGrantRequest, user: User) -> None:
    """Apply an approved role to the account as the proposal found it, or refuse (409)."""
    if request.new_account:
        if user.role != request.role:
            raise Conflict("The account changed after the proposal: decline this request.",
                           code="stale_request")
        user.is_active = True
    else:
        if user.role != request.from_role:
            raise Conflict("The account's role changed after the proposal: decline this "
                           "request and propose the role again.", code="stale_request")
        if not user.is_active:
            raise Conflict("The account was deactivated after the proposal: decline this "
                           "request.", code="inactive")
        _check_caseload(user, request.role, request.office)
        if request.role != Role.ADMINISTRATOR:
            _keep_an_administrator(user)
    user.role, user.office = request.role, request.office
    user.save(update_fields=["role", "office", "is_active"])


def reset_mfa(by: Acting, user: User) -> int:
    """Remove the account's authenticator devices: at the next sign-in the person sets up a
    new one (the sessions it verified end at their next request), and its API tokens are
    revoked. Returns the devices removed; none removed writes no event."""
    if user.pk == by.user.pk:
        raise _refused(by, Conflict("You cannot reset your own authenticator. Ask another "
                                    "administrator.", code="own_account"),
                       action=Action.MFA_RESET, record_id=user.pk)
    with transaction.atomic():
        devices = TOTPDevice.objects.filter(user=user)
        count = devices.count()
        if count:
            devices.delete()
            _write(by, Action.MFA_RESET, record_id=user.pk, devices=count)
        revoke_all_tokens(user, "mfa_reset", actor=by.actor, request_id=by.request_id)
    return count


def unlock_account(by: Acting, user: User) -> int:
    """End a sign-in lockout (django-axes' failed attempts for the username are cleared).
    Returns the attempts cleared; none writes no event."""
    with transaction.atomic():
        cleared = AxesProxyHandler.reset_attempts(username=user.username)
        if cleared:
            _write(by, Action.UNLOCK, record_id=user.pk, attempts=cleared)
    return cleared


def revoke_account_tokens(by: Acting, user: User) -> int:
    """Revoke every live API token of the account (one `token_revoke` event, none if none)."""
    return revoke_all_tokens(user, "administrator", actor=by.actor, request_id=by.request_id)


@dataclass(frozen=True)
class PasswordReset:
    """An account given a temporary password, to be shown once and never again."""

    user: User
    password: str
    tokens_revoked: int


def reset_password(by: Acting, user: User) -> PasswordReset:
    """Give the account a new temporary password (shown once): its old password stops working,
    its sessions end at their next request and its API tokens are revoked; at the next sign-in
    the holder chooses their own. The authenticator is left as it is, so a staff account still
    needs its holder's phone. Nobody resets their own password here, and the accounts of the
    two-person roles are refused: one administrator could otherwise sign in as another (with a
    reset authenticator too) and approve their own proposals. The operator resets those."""
    if user.pk == by.user.pk:
        raise _refused(by, Conflict("You cannot reset your own password here: sign out and "
                                    "ask another administrator.", code="own_account"),
                       action=Action.PASSWORD_CHANGE, record_id=user.pk)
    password = secrets.token_urlsafe(12)
    with _recorded(by, action=Action.PASSWORD_CHANGE, record_id=user.pk), transaction.atomic():
        user = _locked(user)
        if user.role in TWO_PERSON_ROLES:
            raise Conflict("The password of a privacy officer or an administrator is reset by "
                           "the operator (caseledger accounts reset-password USERNAME), not by "
                           "another administrator.", code="two_person_role")
        revoked = set_temporary_password(user, password, actor=by.actor,
                                         request_id=by.request_id)
    return PasswordReset(user=user, password=password, tokens_revoked=revoked)


def set_temporary_password(user: User, password: str, *, actor: Actor = SYSTEM,
                           request_id: str = "") -> int:
    """Set `password` as the account's temporary password (chosen anew at the next sign-in),
    record it and revoke the account's tokens, in the caller's transaction or one of its own.
    Returns the tokens revoked. (The administrator's reset and the operator's command.)"""
    with transaction.atomic():
        user.set_password(password)
        user.must_change_password = True
        user.save(update_fields=["password", "must_change_password"])
        record_write(actor=actor, action=Action.PASSWORD_CHANGE, category=Category.ACCOUNT,
                     purpose=Purpose.ADMINISTRATION, record_type=USER_RECORD, record_id=user.pk,
                     request_id=request_id, detail={"temporary": True})
        return revoke_all_tokens(user, "password_reset", actor=actor, request_id=request_id)
