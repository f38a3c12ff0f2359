"""Gives every request an id that ledger events carry: made by the server, always."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """`request.request_id` is a fresh server id (a UUID), whatever the client sends.

    A client's `X-Request-Id` is a correlation value only: kept (if it is a short safe token)
    as `request.correlation_id` and echoed as `X-Correlation-Id`, never written into a ledger
    event and never used to decide what anyone sees or is hidden from."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request.request_id = uuid.uuid4().hex  # type: ignore[attr-defined]
        request.correlation_id = incoming if _SAFE_ID.match(incoming) else ""  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id  # type: ignore[attr-defined]
        if request.correlation_id:  # type: ignore[attr-defined]
            response["X-Correlation-Id"] = request.correlation_id  # type: ignore[attr-defined]
        return response


class DomainErrorMiddleware:
    """Turns a DomainError raised by a page into an error page with its status and message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.shortcuts import render
        from django.urls import get_resolver

        from .errors import DomainError, NotFound, PermissionDenied

        if request.path.startswith("/api/") or not isinstance(exception, DomainError):
            return None
        if isinstance(exception, PermissionDenied):  # the project's 403 page (urls.handler403)
            handler = get_resolver(getattr(request, "urlconf", None)).resolve_error_handler(403)
            return handler(request, exception)
        return render(
            request,
            "error.html",
            {"error": exception, "is_not_found": isinstance(exception, NotFound)},
            status=exception.status_code,
        )
