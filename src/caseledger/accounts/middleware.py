from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .models import STAFF_ROLES

#: Paths a session may reach before its sign-in steps are done: signing in and out (and what
#: needs no session). Not all of /accounts/: the account administration pages are there.
EXEMPT_PREFIXES = ("/accounts/login/", "/accounts/mfa/", "/accounts/password/",
                   "/accounts/logout/", "/static/", "/api/", "/healthz")


class StaffMfaRequiredMiddleware:
    """A session that has not passed every sign-in step is not a session: back to sign-in.
    The steps: TOTP for staff; a password of one's own when an administrator set a temporary
    one (`must_change_password`). The sign-in views take no shortcut past either, and a reset
    changes the password, which ends the account's sessions; this catches any other way in
    (a session made before the flag was set, a forced login)."""

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
        ) or (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
            logout(request)
            return redirect("accounts:login")
        return self.get_response(request)
