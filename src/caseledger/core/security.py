"""Browser policy headers that Django does not set itself: Permissions-Policy and Cache-Control.

Permissions-Policy: the browser refuses every powerful feature to every page, except the
camera and the location on the participant's check-in page (the selfie and the one location
reading of a check-in) and the camera on the enrolment page (the officer takes the reference
photo). A script injected into any other page cannot turn the camera or location on.

Cache-Control: nearly every answer holds personal data (a person's page, a search result, an
API answer, the participant's own pages) or a per-response CSP nonce and CSRF token, so every
answer is `no-store`: no shared proxy, and no browser cache or back-forward cache, keeps a copy
after the user leaves (a shared office or family computer). The exceptions are few and named
in `CACHEABLE_VIEWS`; static files never reach this middleware (WhiteNoise answers them first,
with their own long-lived caching headers). A view that already said `no-store` is left as is.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

# Features a page could use, all refused by default. Names Chromium and Firefox know (an
# unknown name only earns a console warning, but there is no reason to send one).
FEATURES = (
    "accelerometer",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "serial",
    "usb",
    "xr-spatial-tracking",
)

# Views (by URL name) whose page may use a feature on the page's own origin.
ALLOWED_FEATURES: dict[str, frozenset[str]] = {
    "portal:check_in": frozenset({"camera", "geolocation"}),
    "supervision:enrol": frozenset({"camera"}),
}

# Views whose answers hold no personal data and no nonce: the API's own description.
CACHEABLE_VIEWS = frozenset({"api-v1:openapi-json", "api-v1:openapi-view"})

NO_STORE = "no-store"


def permissions_policy(view_name: str | None) -> str:
    """The Permissions-Policy header value for a view: `camera=(), geolocation=(), ...`, with
    `(self)` for the features `ALLOWED_FEATURES` grants that view."""
    allowed = ALLOWED_FEATURES.get(view_name or "", frozenset())
    return ", ".join(
        f"{feature}=(self)" if feature in allowed else f"{feature}=()" for feature in FEATURES
    )


def view_name(request: HttpRequest) -> str | None:
    """The URL name the request resolved to; None when it never reached a view (a redirect
    from a middleware, a 404 before resolution)."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else None


class BrowserPolicyMiddleware:
    """Adds Permissions-Policy and `Cache-Control: no-store` (with `Pragma: no-cache` for
    HTTP/1.0 caches) to every answer that passes through Django's views."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        name = view_name(request)
        if "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions_policy(name)
        if name not in CACHEABLE_VIEWS and NO_STORE not in response.get("Cache-Control", ""):
            response["Cache-Control"] = NO_STORE
            response["Pragma"] = "no-cache"
        return response
