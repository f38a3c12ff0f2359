"""The administrator's account pages (/accounts/manage/): the list with filters, a new account
(its temporary password shown once), one account with its actions, each action behind a
confirmation page (POST; one view, `account_step`, driven by the table `STEPS`), a role change,
and role requests decided by a second administrator.

Thin: every page asks the access policy first (any other role: one denied event and the 403
page), then calls one selector or service. Accounts only: no data of a person is shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.policies import Ability
from caseledger.access.web import context_for
from caseledger.core.errors import DomainError
from caseledger.ledger.vocabulary import Action, Category

from . import selectors, services
from .forms import DecisionForm, FilterForm, NewAccountForm, RoleForm
from .labels import role_name
from .models import User

PER_PAGE = 25
ADMIN_ONLY = "Only administrators manage accounts."


def _admin(request: HttpRequest, action: str, record_id: Any = "",
           record_type: str = services.USER_RECORD) -> AccessContext:
    """The page's context if the user's role may manage accounts; else one denied event and
    the 403 page."""
    ctx = context_for(request)
    policies.require(ctx, Ability.MANAGE_ACCOUNTS, action=action, category=Category.ACCOUNT,
                     record_type=record_type, record_id=record_id, message=ADMIN_ONLY)
    return ctx


def _form_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


@login_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    _admin(request, Action.LIST)
    form = FilterForm(request.GET or None)
    page, rows = selectors.accounts(
        selectors.AccountFilter(role=form.value("role"), office=form.value("office"),
                                active=form.value("active"), locked=form.value("locked"),
                                q=form.value("q")),
        page=_page_number(request), per_page=PER_PAGE)
    return render(request, "accounts/manage_list.html", {
        "form": form, "page_obj": page, "rows": rows,
        "pending": selectors.pending_role_requests(),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def account_new(request: HttpRequest) -> HttpResponse:
    ctx = _admin(request, Action.CREATE if request.method == "POST" else Action.READ)
    form = NewAccountForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            c = form.cleaned_data
            try:
                made = services.create_account(ctx, username=c["username"], role=c["role"],
                                               office=c["office"])
            except DomainError as exc:
                _form_error(form, exc)
                status = exc.status_code
            else:
                return render(request, "accounts/manage_created.html",
                              {"made": made, "role": role_name(made.user.role)}, status=201)
        else:
            status = 422
    return render(request, "accounts/manage_new.html", {"form": form}, status=status)


@login_required
@require_GET
def account_detail(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    ctx = _admin(request, Action.READ, user_id)
    user = selectors.managed_account(ctx, user_id, action=Action.READ)
    return render(request, "accounts/manage_detail.html", {
        "d": selectors.account_detail(user), "account": user, "role": role_name(user.role),
        "is_self": user.pk == request.user.pk,
    })


@login_required
@require_http_methods(["GET", "POST"])
def account_role(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    ctx = _admin(request, Action.UPDATE if request.method == "POST" else Action.READ, user_id)
    user = selectors.managed_account(
        ctx, user_id, action=Action.UPDATE if request.method == "POST" else Action.READ)
    initial = {"role": user.role, "office": user.office.code if user.office else ""}
    form = RoleForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                pending = services.change_role(ctx, user, role=form.cleaned_data["role"],
                                               office=form.cleaned_data["office"])
            except DomainError as exc:
                _form_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _(
                    "The role was proposed. A second administrator must approve it; until then "
                    "the account keeps its role.") if pending else _("The role was changed."))
                return redirect("accounts:manage_detail", user_id=user.pk)
        else:
            status = 422
    return render(request, "accounts/manage_role.html",
                  {"form": form, "account": user, "role": role_name(user.role)}, status=status)


# --- actions behind a confirmation page -------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One account action: its ledger action, what the confirmation page says, the service it
    runs and the message after it (given the service's result); or, for an action whose
    result is shown once (a temporary password), the page that shows it instead."""

    action: str
    title: Promise
    explanation: Promise
    button: Promise
    destructive: bool
    run: Callable[[AccessContext, User], Any]
    done: Callable[[Any], str]
    result_template: str = ""


STEPS: dict[str, Step] = {
    "deactivate": Step(
        Action.DEACTIVATE, gettext_lazy("Deactivate this account"),
        gettext_lazy("The person can no longer sign in: their open sessions end at their next "
                     "click and their API tokens are revoked. Nothing they recorded is removed. "
                     "You can reactivate the account later."),
        gettext_lazy("Deactivate the account"), True, services.deactivate_account,
        lambda n: _("The account was deactivated; %(n)s API token(s) revoked.") % {"n": n}),
    "reactivate": Step(
        Action.REACTIVATE, gettext_lazy("Reactivate this account"),
        gettext_lazy("The person can sign in again with their password (and their "
                     "authenticator app, for staff)."),
        gettext_lazy("Reactivate the account"), False, services.reactivate_account,
        lambda changed: _("The account was reactivated.") if changed
        else _("The account was already active.")),
    "unlock": Step(
        Action.UNLOCK, gettext_lazy("Unlock sign-in"),
        gettext_lazy("Too many failed sign-ins locked this account for a while. Unlocking "
                     "clears the failed attempts, so the person can try again now. Make sure "
                     "it was really them who failed."),
        gettext_lazy("Unlock sign-in"), False, services.unlock_account,
        lambda n: _("Sign-in was unlocked.") if n
        else _("Sign-in was not locked: nothing changed.")),
    "reset_mfa": Step(
        Action.MFA_RESET, gettext_lazy("Reset the authenticator"),
        gettext_lazy("The authenticator app set up for this account is removed. The person's "
                     "sessions end and their API tokens are revoked; at their next sign-in they "
                     "set up an authenticator again. Until they do, the password alone leads "
                     "to that set-up: do this only when you have confirmed who asked."),
        gettext_lazy("Reset the authenticator"), True, services.reset_mfa,
        lambda n: _("The authenticator was reset.") if n
        else _("No authenticator was set up: nothing to reset.")),
    "revoke_tokens": Step(
        Action.TOKEN_REVOKE, gettext_lazy("Revoke API tokens"),
        gettext_lazy("Every API token of this account stops working now. Programs using them "
                     "must sign in again. The person's web sessions are not affected."),
        gettext_lazy("Revoke every token"), True, services.revoke_account_tokens,
        lambda n: _("%(n)s API token(s) revoked.") % {"n": n}),
    "reset_password": Step(
        Action.PASSWORD_CHANGE, gettext_lazy("Reset the password"),
        gettext_lazy("The account gets a new temporary password, shown to you once. The old "
                     "password stops working, the person's sessions end and their API tokens "
                     "are revoked. At their next sign-in they choose a password of their own; "
                     "their authenticator app stays as it is. Do this only when you have "
                     "confirmed who asked."),
        gettext_lazy("Reset the password"), True, services.reset_password,
        lambda reset: _("The password was reset."), "accounts/manage_password_reset.html"),
}


@login_required
@require_http_methods(["GET", "POST"])
def account_step(request: HttpRequest, user_id: uuid.UUID, step: str) -> HttpResponse:
    """The confirmation page of an action (GET) and the action itself (POST)."""
    spec = STEPS[step]
    action = spec.action if request.method == "POST" else Action.READ
    ctx = _admin(request, action, user_id)
    user = selectors.managed_account(ctx, user_id, action=action)
    error, status = None, 200
    if request.method == "POST":
        try:
            result = spec.run(ctx, user)
        except DomainError as exc:
            error, status = exc.message, exc.status_code
        else:
            if spec.result_template:  # shown once, never stored where it can be read again
                return render(request, spec.result_template, {
                    "spec": spec, "account": user, "result": result,
                    "role": role_name(user.role)})
            messages.success(request, spec.done(result))
            return redirect("accounts:manage_detail", user_id=user.pk)
    return render(request, "accounts/manage_confirm.html", {
        "spec": spec, "account": user, "role": role_name(user.role), "error": error,
        "d": selectors.account_detail(user),
    }, status=status)


# --- role requests ----------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def role_request(request: HttpRequest, role_request_id: uuid.UUID) -> HttpResponse:
    """A proposed role: approve or decline it (a second administrator only)."""
    form = DecisionForm(request.POST or None)
    approve = request.POST.get("decision") == "approve"
    action = (Action.APPROVE if approve else Action.DECLINE) if request.method == "POST" \
        else Action.READ
    ctx = _admin(request, action, role_request_id, services.ROLE_REQUEST_RECORD)
    found = selectors.role_request(ctx, role_request_id, action=action)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.decide_role_request(ctx, found, approve=approve)
            except DomainError as exc:
                _form_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("The role was given to the account.") if approve
                                 else _("The role request was declined."))
                return redirect("accounts:manage_detail", user_id=found.user_id)
        else:
            status = 422
    return render(request, "accounts/manage_request.html", {
        "r": found, "form": form,
        "own_proposal": found.proposed_by_id == request.user.pk,
        "own_account": found.user_id == request.user.pk,
    }, status=status)
