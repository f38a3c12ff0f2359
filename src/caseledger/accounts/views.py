"""Sign-in (password, then TOTP for staff, then a password of one's own when an administrator
set a temporary one), TOTP set-up, sign-out.

The account is signed in only after the last step: until then the session holds the account's
id under a pending key (and, for the password step, the device that passed TOTP and the
password's session hash, so a second reset in between voids the first step's session)."""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from axes.helpers import get_client_username
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseledger.core.errors import DomainError
from caseledger.core.forms import UswdsForm
from caseledger.ledger.models import Outcome
from caseledger.ledger.services import SYSTEM, Actor

from . import services
from .forms import NewPasswordForm
from .models import Role, User
from .services import mfa_required

PENDING_KEY = "mfa_pending_user"
#: The password step: the account, the TOTP device that passed (staff), the password's hash.
CHANGE_KEY, CHANGE_DEVICE_KEY, CHANGE_HASH_KEY = (
    "password_pending_user", "password_pending_device", "password_pending_hash")


class LoginForm(UswdsForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(UswdsForm):
    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def _login_event(request: HttpRequest, actor: Actor, outcome: str, **detail: str) -> None:
    services.record_login(actor, outcome, channel="web",
                          request_id=getattr(request, "request_id", ""), **detail)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' lockout response (`AXES_LOCKOUT_CALLABLE`, called as (request, response,
    credentials)): on the failure that locks an account and on every attempt while it is
    locked. The locked account's API tokens are revoked here; axes has no other hook for the
    lock itself but a signal, and audit does not use signals."""
    username = get_client_username(
        request, credentials or getattr(request, "axes_credentials", None)
    )
    services.revoke_tokens_on_lockout(
        username=username or "", request_id=getattr(request, "request_id", "")
    )
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        response = JsonResponse(
            {
                "detail": "Too many failed sign-ins. This account is locked for 15 minutes.",
                "code": "locked",
                "field": None,
            },
            status=429,
        )
        response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
        return response
    form = LoginForm(request.POST or None)
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "error": _("Too many failed sign-ins. This account is locked for 15 minutes."),
        },
        status=429,
    )


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(home_for(request.user))
    form = LoginForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request=request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if user is None:
            _login_event(request, SYSTEM, Outcome.DENIED)
            error = _("Wrong username or password.")
        elif mfa_required(user):
            request.session[PENDING_KEY] = str(user.pk)
            return redirect("accounts:mfa")
        elif user.must_change_password:
            return _to_password_step(request, user, None)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            _login_event(request, Actor.of(user), Outcome.ALLOWED)
            return redirect(_safe_next(request))
    status = 401 if error else 200
    return render(request, "accounts/login.html", {"form": form, "error": error}, status=status)


#: Where each role lands after sign-in: its own work. Anyone else: their caseload page.
HOMES: dict[str, str] = {
    Role.PARTICIPANT: "portal:home",  # their check-ins
    Role.PRIVACY_OFFICER: "disclosures:queue",  # pending disclosure decisions
    Role.ADMINISTRATOR: "accounts:manage",  # accounts
}


def home_for(user: Any) -> str:
    """Where a user lands: their role's own work (`HOMES`), else their caseload. (Roles are
    this app's own data; the access policy sits above accounts and is not imported.)"""
    return reverse(HOMES.get(getattr(user, "role", None) or "", "people:dashboard"))


def _safe_next(request: HttpRequest) -> str:
    """Where to go after sign-in: `next` only if it stays on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return home_for(request.user)


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@require_http_methods(["GET", "POST"])
def mfa_view(request: HttpRequest) -> HttpResponse:
    user = User.objects.filter(pk=request.session.get(PENDING_KEY)).first()
    if user is None:
        return redirect("accounts:login")
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    setup = device is None
    if setup:
        device = TOTPDevice.objects.filter(
            user=user, confirmed=False
        ).first() or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = CodeForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip().replace(" ", "")):
            if setup:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            del request.session[PENDING_KEY]
            if user.must_change_password:
                return _to_password_step(request, user, device)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            otp_login(request, device)
            _login_event(request, Actor.of(user), Outcome.ALLOWED, mfa="totp")
            return redirect(home_for(user))
        _login_event(request, Actor.of(user), Outcome.DENIED, reason="otp")
        error = _("That code is not valid. Codes change every 30 seconds.")
    context = {"form": form, "error": error, "setup": setup}
    if setup:
        context["qr_svg"] = _qr_svg(device.config_url)
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "accounts/mfa.html", context, status=401 if error else 200)


def _to_password_step(request: HttpRequest, user: User, device: Device | None) -> HttpResponse:
    """Password (and TOTP) passed, but the password is a temporary one: not signed in yet."""
    request.session.cycle_key()
    request.session[CHANGE_KEY] = str(user.pk)
    request.session[CHANGE_DEVICE_KEY] = device.persistent_id if device else ""
    request.session[CHANGE_HASH_KEY] = user.get_session_auth_hash()
    return redirect("accounts:password")


def _password_step_user(request: HttpRequest) -> User | None:
    """The account of this session's password step, if it is still due and still the one the
    earlier steps passed (the same password: no reset since)."""
    user = User.objects.filter(pk=request.session.get(CHANGE_KEY), is_active=True).first()
    if user is None or not user.must_change_password:
        return None
    if request.session.get(CHANGE_HASH_KEY) != user.get_session_auth_hash():
        return None
    return user


@require_http_methods(["GET", "POST"])
def password_view(request: HttpRequest) -> HttpResponse:
    """Choose a password of one's own after an administrator set a temporary one: the last
    sign-in step. Without the earlier steps in this session: back to sign in."""
    user = _password_step_user(request)
    if user is None:
        for key in (CHANGE_KEY, CHANGE_DEVICE_KEY, CHANGE_HASH_KEY):
            request.session.pop(key, None)
        return redirect("accounts:login")
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(user=user, new_password=form.cleaned_data["password"],
                                     actor=Actor.of(user),
                                     request_id=getattr(request, "request_id", ""))
        except DomainError as exc:
            form.add_error("password", exc.message)
        else:
            return _signed_in_after_password(request, user)
    status = 422 if form.errors else 200
    return render(request, "accounts/password.html", {"form": form, "account": user},
                  status=status)


def _signed_in_after_password(request: HttpRequest, user: User) -> HttpResponse:
    device_id = request.session.get(CHANGE_DEVICE_KEY) or ""
    for key in (CHANGE_KEY, CHANGE_DEVICE_KEY, CHANGE_HASH_KEY):
        request.session.pop(key, None)
    device = Device.from_persistent_id(device_id) if device_id else None
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    _login_event(request, Actor.of(user), Outcome.ALLOWED,
                 **({"mfa": "totp"} if device is not None else {}))
    messages.success(request, _("Your new password is set. Use it from now on."))
    return redirect(home_for(user))


@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out: the session ends and so do the account's API tokens."""
    if request.user.is_authenticated:
        services.revoke_all_tokens(
            request.user,
            "logout",
            actor=Actor.of(request.user),
            request_id=getattr(request, "request_id", ""),
        )
    logout(request)
    return redirect("accounts:login")
