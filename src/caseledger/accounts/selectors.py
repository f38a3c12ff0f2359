"""Account reads for operators (no personal data of a person: no access gate here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.core import clock
from caseledger.core.errors import NotFound, ValidationError

from . import services
from .models import (
    ApiToken,
    CaseloadAssignment,
    Office,
    Role,
    RoleGrantRequest,
    RoleRequestStatus,
    User,
)


def user_named(username: str) -> User | None:
    """The account called exactly `username` (active or not), or None."""
    return User.objects.filter(username=username).first()


def api_tokens(user: User) -> list[ApiToken]:
    """Every token of `user`, newest first, without its hash: a listing never needs it."""
    return list(
        ApiToken.objects.filter(user=user)
        .only("id", "created_at", "expires_at", "revoked_at")
        .order_by("-created_at")
    )


# --- account administration -------------------------------------------------------------------
# What an administrator sees of an account: username, role, office, active, last sign-in,
# whether an authenticator is set up, whether sign-in is locked, a pending role request. Never
# a person's data: participants' logins (kept with their person) are not listed at all.


@dataclass(frozen=True)
class AccountFilter:
    role: str = ""
    office: str = ""  # an office code
    active: bool | None = None
    locked: bool | None = None
    q: str = ""  # part of a username


@dataclass(frozen=True)
class AccountRow:
    user: User
    mfa_enrolled: bool
    locked: bool
    pending: RoleGrantRequest | None


@dataclass(frozen=True)
class AccountDetail:
    row: AccountRow
    live_tokens: int
    open_caseload: int
    requests: list[RoleGrantRequest]
    role_not_approved: bool  # a two-person role no second administrator approved: stays off
    two_person_role: bool  # privacy officer or administrator: the operator resets the password


def _managed() -> QuerySet[User]:
    return (
        User.objects.exclude(role=Role.PARTICIPANT)
        .select_related("office")
        .annotate(mfa=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
    )


def _locked_ids(users: QuerySet[User]) -> set[Any]:
    """The accounts of `users` that django-axes holds locked now: only those with a recorded
    failed attempt are asked (one query), each of them of axes itself."""
    candidates = users.filter(
        username__in=AccessAttempt.objects.values("username")
    ).values_list("pk", "username")
    return {pk for pk, name in candidates if services.is_locked_out(User(username=name))}


def _check_filter(f: AccountFilter) -> None:
    if f.role and f.role not in services.MANAGED_ROLES:
        raise ValidationError(f"Unknown role '{f.role[:32]}'.", field="role")
    if f.office and not Office.objects.filter(code=f.office).exists():
        raise ValidationError(f"There is no office '{f.office[:32]}'.", field="office")


def accounts(
    f: AccountFilter, *, page: int = 1, per_page: int = 25
) -> tuple[Page, list[AccountRow]]:
    """One page of the administered accounts that pass the filter, by username."""
    _check_filter(f)
    qs = _managed().order_by("username")
    if f.role:
        qs = qs.filter(role=f.role)
    if f.office:
        qs = qs.filter(office__code=f.office)
    if f.active is not None:
        qs = qs.filter(is_active=f.active)
    if f.q.strip():
        qs = qs.filter(username__icontains=f.q.strip()[:150])
    if f.locked is not None:
        locked = _locked_ids(qs)
        qs = qs.filter(pk__in=locked) if f.locked else qs.exclude(pk__in=locked)
    page_obj = Paginator(qs, per_page).get_page(page)
    return page_obj, _rows(list(page_obj.object_list))


def _rows(users: list[User]) -> list[AccountRow]:
    ids = [u.pk for u in users]
    locked = _locked_ids(User.objects.filter(pk__in=ids))
    pending = {
        r.user_id: r
        for r in RoleGrantRequest.objects.filter(user_id__in=ids, status=RoleRequestStatus.PENDING)
    }
    return [AccountRow(user=u, mfa_enrolled=bool(getattr(u, "mfa", False)), locked=u.pk in locked,
                       pending=pending.get(u.pk)) for u in users]


def managed_account(by: services.Acting, user_id: Any, *, action: str) -> User:
    """The administered account `user_id`. An id of no account, or of a participant's login,
    is one denied event (naming the participant's person, so they can see the attempt) and a
    NotFound: a participant's login is their person's, not the administrator's."""
    try:
        key = uuid.UUID(str(user_id))
    except ValueError:
        key = None
    user = _managed().filter(pk=key).first() if key else None
    if user is None:
        person = (
            User.objects.filter(pk=key).values_list("participant_person", flat=True).first()
            if key else None
        )
        services.record_account_refusal(by, action=action, record_type=services.USER_RECORD,
                                        record_id=key or "", code="not_found", subject_id=person)
        raise NotFound("There is no such account here.")
    return user


def account_detail(user: User) -> AccountDetail:
    """An administered account (from `managed_account`), as it is now, with what its page
    shows."""
    user = _managed().get(pk=user.pk)
    return AccountDetail(
        row=_rows([user])[0],
        live_tokens=ApiToken.objects.filter(
            user=user, revoked_at__isnull=True, expires_at__gt=clock.now()
        ).count(),
        open_caseload=CaseloadAssignment.objects.filter(
            officer=user, ended_at__isnull=True
        ).count(),
        requests=list(
            RoleGrantRequest.objects.filter(user=user)
            .select_related("office", "proposed_by", "decided_by")
            .order_by("-proposed_at")[:10]
        ),
        role_not_approved=services.role_not_approved(user),
        two_person_role=user.role in services.TWO_PERSON_ROLES,
    )


def pending_role_requests() -> list[RoleGrantRequest]:
    """Role requests waiting for a second administrator, oldest first (bounded)."""
    return list(
        RoleGrantRequest.objects.filter(status=RoleRequestStatus.PENDING)
        .select_related("user", "office", "proposed_by")
        .order_by("proposed_at")[:200]
    )


def role_request(by: services.Acting, request_id: Any, *, action: str) -> RoleGrantRequest:
    """One role request; an id of none is one denied event and a NotFound."""
    try:
        key = uuid.UUID(str(request_id))
    except ValueError:
        key = None
    request = (
        RoleGrantRequest.objects.select_related("user", "user__office", "office", "proposed_by",
                                                "decided_by").filter(pk=key).first()
        if key else None
    )
    if request is None:
        services.record_account_refusal(by, action=action,
                                        record_type=services.ROLE_REQUEST_RECORD,
                                        record_id=key or "", code="not_found")
        raise NotFound("There is no such role request.")
    return request


def offices() -> list[Office]:
    return list(Office.objects.order_by("code"))
