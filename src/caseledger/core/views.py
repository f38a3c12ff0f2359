"""Views of the project itself (not of an app): the health probe and the error pages.

The error pages (400, 403, 404, 500 and a refused CSRF check) are built on base.html, speak
the visitor's language and show the server's request id as a reference for support. Under
/api/ they answer JSON in the API's error shape instead. The URL conf wires them
(`handler400` ... `handler500`, and `CSRF_FAILURE_VIEW`) and passes `language`: a function
that names the language a signed-in user's own pages speak (a participant's), which this
layer cannot know (it knows no roles).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.template.context_processors import csp as csp_context
from django.utils import translation
from django.utils.functional import empty
from django.utils.html import escape

from .errors import DomainError

logger = logging.getLogger("caseledger.health")
error_logger = logging.getLogger("caseledger.errors")

#: Names the language of a signed-in user's own pages, or None to keep the request's.
LanguageOf = Callable[[HttpRequest], "str | None"]


def healthz(request: HttpRequest) -> HttpResponse:
    """A load balancer's probe: "ok" when this node can reach its database, else a 503, so a
    node that lost its database leaves the pool. Plain HTTP is allowed (SECURE_REDIRECT_EXEMPT);
    no session, no personal data, nothing recorded."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health check: database unavailable (%s)", type(exc).__name__)
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


# --- error pages ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorPage:
    status: int
    template: str
    code: str  # the API's error code
    detail: str  # the API's message (English, like every API message)


BAD_REQUEST = ErrorPage(400, "errors/400.html", "bad_request", "The request cannot be read.")
FORBIDDEN = ErrorPage(403, "errors/403.html", "forbidden", "You may not use this address.")
NOT_FOUND = ErrorPage(
    404, "errors/404.html", "not_found", "There is no API endpoint at this address."
)
CSRF_FAILED = ErrorPage(
    403, "errors/csrf.html", "csrf_failed", "The request failed the cross-site request check."
)
SERVER_ERROR = ErrorPage(500, "errors/500.html", "server_error", "The server had a problem.")

# What is sent when even the 500 template cannot be rendered: no template, no database.
PLAIN_500 = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Server error</title>'
    "</head><body><main><h1>Something went wrong on our side</h1><p>Please try again in a "
    "few minutes.</p><p>Reference for support: {reference}</p></main></body></html>"
)


def request_id(request: HttpRequest) -> str:
    """The id RequestIdMiddleware gave this request (never a client's header)."""
    return str(getattr(request, "request_id", "") or "")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_error(page: ErrorPage, detail: str | None = None) -> JsonResponse:
    """The API's error shape (caseledger/api.py: detail, code, field)."""
    body = {"detail": detail or page.detail, "code": page.code, "field": None}
    return JsonResponse(body, status=page.status)


def _language(request: HttpRequest, language: LanguageOf | None) -> str:
    """The user's own language when `language` names one, else the request's (the language
    switch's cookie, else the browser's Accept-Language: LocaleMiddleware's choice)."""
    current = translation.get_language() or settings.LANGUAGE_CODE
    if language is None:
        return current
    try:
        chosen = language(request)
    except Exception:  # an error page never fails because the user could not be looked up
        error_logger.warning("error page: the user's language is unknown", exc_info=True)
        return current
    return chosen if chosen in dict(settings.LANGUAGES) else current


def _user_loaded(request: HttpRequest) -> bool:
    """Whether the request's user was already looked up (a 500 page must not query: the
    database may be why it is shown)."""
    user = getattr(request, "user", None)
    if user is None:
        return False
    # A lazy object until first used; reading `_wrapped` does not evaluate it.
    return getattr(user, "_wrapped", user) is not empty


def _render(
    request: HttpRequest,
    page: ErrorPage,
    language: LanguageOf | None,
    message: str = "",
) -> HttpResponse:
    if _is_api(request):
        return _api_error(page)
    lang = _language(request, language)
    with translation.override(lang):
        response = render(
            request,
            page.template,
            {"status": page.status, "request_id": request_id(request), "message": message},
            status=page.status,
        )
    response.headers["Content-Language"] = lang
    return response


def bad_request(
    request: HttpRequest, exception: Exception, *, language: LanguageOf | None = None
) -> HttpResponse:
    """400: a request Django could not accept (too many fields, a suspicious header...)."""
    return _render(request, BAD_REQUEST, language)


def permission_denied(
    request: HttpRequest, exception: Exception, *, language: LanguageOf | None = None
) -> HttpResponse:
    """403: a page the user's role may not open. A DomainError's message is written for the
    person and is shown; any other exception's text is not (it may be technical)."""
    message = exception.message if isinstance(exception, DomainError) else ""
    if _is_api(request):
        return _api_error(FORBIDDEN, message or None)
    return _render(request, FORBIDDEN, language, message)


def page_not_found(
    request: HttpRequest, exception: Exception, *, language: LanguageOf | None = None
) -> HttpResponse:
    """404: no page at this address. The address itself is not repeated on the page."""
    return _render(request, NOT_FOUND, language)


def csrf_failure(
    request: HttpRequest, reason: str = "", *, language: LanguageOf | None = None
) -> HttpResponse:
    """A form sent without a valid CSRF token (an old page, cookies blocked). Django has
    already logged the reason; the page gives none (it is only useful to a developer)."""
    return _render(request, CSRF_FAILED, language)


def server_error(request: HttpRequest, *, language: LanguageOf | None = None) -> HttpResponse:
    """500, with a context that needs no database: no context processors, the user only if
    it was looked up before the error, and a fixed page if even the template fails."""
    reference = request_id(request)
    error_logger.error(
        "server error on %s %s; reference %s", request.method, request.path, reference
    )
    if _is_api(request):
        return _api_error(SERVER_ERROR, f"The server had a problem. Reference: {reference}.")
    lang = _language(request, language if _user_loaded(request) else None)
    try:
        with translation.override(lang):
            html = loader.render_to_string(SERVER_ERROR.template, _minimal_context(request))
    except Exception:
        error_logger.exception("the 500 page could not be rendered; reference %s", reference)
        html = PLAIN_500.format(reference=escape(reference))
    return HttpResponse(html, status=500, headers={"Content-Language": lang})


def _minimal_context(request: HttpRequest) -> dict[str, Any]:
    """What base.html needs, without the request (so no user and no session lookups)."""
    return {
        "status": SERVER_ERROR.status,
        "request_id": request_id(request),
        "DEMO": settings.DEMO,
        **csp_context(request),
    }
