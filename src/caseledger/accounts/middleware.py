from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .models import STAFF_ROLES

#: Paths a staff session may reach before its TOTP step: signing in and out (and what needs no
#: session). Not all of /accounts/: the account administration pages are there.
EXEMPT_PREFIXES = ("/accounts/login/", "/accounts/mfa/", "/accounts/logout/", "/static/",
                   "/api/", "/healthz")


class StaffMfaRequiredMiddleware:
    """A staff session that has not passed TOTP is not a session: back to sign-in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            settings.CASELEDGER_REQUIRE_STAFF_MFA
            and user is not None
            and user.is_authenticated
            and getattr(user, "role", None) in STAFF_ROLES
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
        ):
            logout(request)
            return redirect("accounts:login")
        return self.get_response(request)
