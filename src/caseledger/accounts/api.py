from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from caseledger.access import policies
from caseledger.access.api_auth import access_context
from caseledger.access.context import AccessContext
from caseledger.access.policies import Ability
from caseledger.core import clock
from caseledger.core.api_common import ERRORS, StrictIn
from caseledger.ledger.vocabulary import Action, Category

from . import selectors, services
from .models import RoleGrantRequest, User

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


# --- account administration (administrators) -------------------------------------------------
# Registered at the API root: /users, /users/{id}/..., /role-requests. Every call checks the
# access policy first (one denied event and a 403 for any role but the administrator); the
# services record each change, and each refused rule, in the ledger. Accounts only: no data of
# a person is read or returned, and participants' logins are not administered here.

users_router = Router(tags=["accounts"])
ADMIN_ONLY = "Only administrators manage accounts."
ROLES = {"enum": list(services.MANAGED_ROLES)}


class AccountOut(BaseModel):
    id: uuid.UUID
    username: str
    role: str
    office: str | None = Field(description="Office code; null for roles without an office")
    active: bool
    last_sign_in: datetime | None
    mfa_enrolled: bool = Field(description="An authenticator app is set up")
    locked: bool = Field(description="Sign-in is locked after too many failed attempts")
    must_change_password: bool = Field(
        description="The password is a temporary one an administrator set: the holder chooses "
        "their own at the next sign-in")
    pending_role_request: uuid.UUID | None = Field(
        description="A role change waiting for a second administrator")


class AccountPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[AccountOut]


class RoleRequestOut(BaseModel):
    id: uuid.UUID
    account: uuid.UUID
    username: str
    role: str = Field(description="The role proposed")
    office: str | None
    from_role: str = Field(description="The account's role when proposed; empty: a new account")
    new_account: bool
    status: Literal["pending", "approved", "declined"]
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class CreatedOut(BaseModel):
    account: AccountOut
    temporary_password: str = Field(
        description="Shown this once and never again; the account holder should change it")
    role_request: RoleRequestOut | None = Field(
        description="For a role that needs two administrators: the account stays inactive "
        "until a second administrator approves this request")


class RoleChangeOut(BaseModel):
    account: AccountOut
    role_request: RoleRequestOut | None = Field(
        description="Set (with status 202) when the role needs a second administrator")


class DeactivatedOut(BaseModel):
    account: AccountOut
    tokens_revoked: int


class ReactivatedOut(BaseModel):
    account: AccountOut
    changed: bool = Field(description="false: the account was already active")


class UnlockedOut(BaseModel):
    account: AccountOut
    attempts_cleared: int


class MfaResetOut(BaseModel):
    account: AccountOut
    devices_removed: int


class TokensRevokedOut(BaseModel):
    account: AccountOut
    tokens_revoked: int


class PasswordResetOut(BaseModel):
    account: AccountOut
    temporary_password: str = Field(
        description="Shown this once and never again; the holder chooses their own password "
        "at their next sign-in (API tokens are refused until then)")
    tokens_revoked: int


class AccountIn(StrictIn):
    username: str = Field(min_length=1, max_length=150,
                          description="Letters a-z, digits and @ . + - _; unique ignoring case")
    role: str = Field(json_schema_extra=ROLES)
    office: str = Field("", max_length=32,
                        description="Office code: required for case officers and supervisors")
    password: str = Field("", max_length=200,
                          description="A temporary password; empty: one is generated")


class RoleIn(StrictIn):
    role: str = Field(json_schema_extra=ROLES)
    office: str = Field("", max_length=32,
                        description="Office code: required for case officers and supervisors")


class AccountParams(BaseModel):
    role: str = Field("", max_length=32, description="Only accounts of this role")
    office: str = Field("", max_length=32, description="Only accounts of this office (code)")
    active: bool | None = None
    locked: bool | None = None
    q: str = Field("", max_length=150, description="Part of a username")
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(25, ge=1, le=100)


def _admin(request: HttpRequest, action: str, record_id: Any = "",
           record_type: str = services.USER_RECORD) -> AccessContext:
    """The caller's context if their role may manage accounts; else one denied event, 403."""
    ctx = access_context(request)
    policies.require(ctx, Ability.MANAGE_ACCOUNTS, action=action, category=Category.ACCOUNT,
                     record_type=record_type, record_id=record_id, message=ADMIN_ONLY)
    return ctx


def _account(row: selectors.AccountRow) -> AccountOut:
    user = row.user
    return AccountOut(
        id=user.pk, username=user.username, role=user.role,
        office=user.office.code if user.office else None, active=user.is_active,
        last_sign_in=user.last_login, mfa_enrolled=row.mfa_enrolled, locked=row.locked,
        must_change_password=user.must_change_password,
        pending_role_request=row.pending.pk if row.pending else None,
    )


def _account_of(user: User) -> AccountOut:
    return _account(selectors.account_detail(user).row)


def _request_out(r: RoleGrantRequest) -> RoleRequestOut:
    return RoleRequestOut(
        id=r.pk, account=r.user_id, username=r.user.username, role=r.role,
        office=r.office.code if r.office else None, from_role=r.from_role,
        new_account=r.new_account, status=r.status, proposed_by=r.proposed_by.username,
        proposed_at=r.proposed_at, decided_by=r.decided_by.username if r.decided_by else None,
        decided_at=r.decided_at,
    )


def _target(request: HttpRequest, user_id: uuid.UUID, action: str) -> tuple[AccessContext, User]:
    ctx = _admin(request, action, user_id)
    return ctx, selectors.managed_account(ctx, user_id, action=action)


@users_router.get("/users", response={200: AccountPage, **ERRORS})
def list_accounts(request: HttpRequest, params: Query[AccountParams]) -> AccountPage:
    """Accounts by username (participants' logins, kept with their person, are not listed)."""
    _admin(request, Action.LIST)
    page, rows = selectors.accounts(
        selectors.AccountFilter(role=params.role, office=params.office, active=params.active,
                                locked=params.locked, q=params.q),
        page=params.page, per_page=params.per_page)
    return AccountPage(total=page.paginator.count, page=page.number, per_page=params.per_page,
                       items=[_account(r) for r in rows])


@users_router.post("/users", response={201: CreatedOut, **ERRORS})
def create_account(request: HttpRequest, payload: AccountIn) -> Status:
    """A new account with a temporary password, returned once. An account of a role that
    needs two administrators (privacy officer, administrator) is created inactive, with a
    role request that a second administrator approves."""
    ctx = _admin(request, Action.CREATE)
    made = services.create_account(ctx, username=payload.username, role=payload.role,
                                   office=payload.office, password=payload.password)
    return Status(201, CreatedOut(
        account=_account_of(made.user), temporary_password=made.password,
        role_request=_request_out(made.role_request) if made.role_request else None))


@users_router.get("/users/{user_id}", response={200: AccountOut, **ERRORS})
def get_account(request: HttpRequest, user_id: uuid.UUID) -> AccountOut:
    _ctx, user = _target(request, user_id, Action.READ)
    return _account_of(user)


@users_router.post("/users/{user_id}/deactivate", response={200: DeactivatedOut, **ERRORS})
def deactivate(request: HttpRequest, user_id: uuid.UUID) -> DeactivatedOut:
    """Switch the account off and revoke its API tokens. Your own account and the last
    active administrator are refused (409)."""
    ctx, user = _target(request, user_id, Action.DEACTIVATE)
    revoked = services.deactivate_account(ctx, user)
    return DeactivatedOut(account=_account_of(user), tokens_revoked=revoked)


@users_router.post("/users/{user_id}/reactivate", response={200: ReactivatedOut, **ERRORS})
def reactivate(request: HttpRequest, user_id: uuid.UUID) -> ReactivatedOut:
    """Switch the account back on (409 while its role waits for a second administrator)."""
    ctx, user = _target(request, user_id, Action.REACTIVATE)
    changed = services.reactivate_account(ctx, user)
    return ReactivatedOut(account=_account_of(user), changed=changed)


@users_router.post("/users/{user_id}/unlock", response={200: UnlockedOut, **ERRORS})
def unlock(request: HttpRequest, user_id: uuid.UUID) -> UnlockedOut:
    """End a sign-in lockout: the failed attempts counted against the account are cleared."""
    ctx, user = _target(request, user_id, Action.UNLOCK)
    cleared = services.unlock_account(ctx, user)
    return UnlockedOut(account=_account_of(user), attempts_cleared=cleared)


@users_router.post("/users/{user_id}/reset-mfa", response={200: MfaResetOut, **ERRORS})
def reset_mfa(request: HttpRequest, user_id: uuid.UUID) -> MfaResetOut:
    """Remove the account's authenticator: the person sets up a new one at their next
    sign-in; their sessions end and their API tokens are revoked."""
    ctx, user = _target(request, user_id, Action.MFA_RESET)
    removed = services.reset_mfa(ctx, user)
    return MfaResetOut(account=_account_of(user), devices_removed=removed)


@users_router.post("/users/{user_id}/revoke-tokens", response={200: TokensRevokedOut, **ERRORS})
def revoke_tokens(request: HttpRequest, user_id: uuid.UUID) -> TokensRevokedOut:
    """Revoke every live API token of the account."""
    ctx, user = _target(request, user_id, Action.TOKEN_REVOKE)
    revoked = services.revoke_account_tokens(ctx, user)
    return TokensRevokedOut(account=_account_of(user), tokens_revoked=revoked)


@users_router.post("/users/{user_id}/reset-password",
                   response={200: PasswordResetOut, **ERRORS})
def reset_password(request: HttpRequest, user_id: uuid.UUID) -> PasswordResetOut:
    """Give the account a new temporary password, returned once: the old one stops working,
    its sessions end and its API tokens are revoked; the holder chooses their own at the next
    sign-in. Your own account and the accounts of privacy officers and administrators are
    refused (409: the operator resets those)."""
    ctx, user = _target(request, user_id, Action.PASSWORD_CHANGE)
    reset = services.reset_password(ctx, user)
    return PasswordResetOut(account=_account_of(reset.user), temporary_password=reset.password,
                            tokens_revoked=reset.tokens_revoked)


@users_router.post("/users/{user_id}/role", response={200: RoleChangeOut, 202: RoleChangeOut,
                                                       **ERRORS})
def change_role(request: HttpRequest, user_id: uuid.UUID, payload: RoleIn) -> Status:
    """Change the account's role and office (200). The privacy-officer and administrator roles
    need a second administrator: the answer is then 202 with the pending role request, and the
    account keeps its role until it is approved."""
    ctx, user = _target(request, user_id, Action.UPDATE)
    pending = services.change_role(ctx, user, role=payload.role, office=payload.office)
    out = RoleChangeOut(account=_account_of(user),
                        role_request=_request_out(pending) if pending else None)
    return Status(202 if pending else 200, out)


@users_router.get("/role-requests", response={200: list[RoleRequestOut], **ERRORS})
def pending_role_requests(request: HttpRequest) -> list[RoleRequestOut]:
    """Role requests waiting for a second administrator, oldest first."""
    _admin(request, Action.LIST, record_type=services.ROLE_REQUEST_RECORD)
    return [_request_out(r) for r in selectors.pending_role_requests()]


def _decide(request: HttpRequest, role_request_id: uuid.UUID, approve: bool) -> RoleRequestOut:
    action = Action.APPROVE if approve else Action.DECLINE
    ctx = _admin(request, action, role_request_id, services.ROLE_REQUEST_RECORD)
    found = selectors.role_request(ctx, role_request_id, action=action)
    return _request_out(services.decide_role_request(ctx, found, approve=approve))


@users_router.post("/role-requests/{role_request_id}/approve",
                   response={200: RoleRequestOut, **ERRORS})
def approve_role_request(request: HttpRequest, role_request_id: uuid.UUID) -> RoleRequestOut:
    """A second administrator approves: the account gets the role (a new account is switched
    on). The proposer cannot approve their own proposal (403)."""
    return _decide(request, role_request_id, approve=True)


@users_router.post("/role-requests/{role_request_id}/decline",
                   response={200: RoleRequestOut, **ERRORS})
def decline_role_request(request: HttpRequest, role_request_id: uuid.UUID) -> RoleRequestOut:
    """A second administrator declines: the account keeps its role (a new account stays off)."""
    return _decide(request, role_request_id, approve=False)
