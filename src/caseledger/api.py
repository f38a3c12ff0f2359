"""The JSON API under /api/v1: one NinjaAPI, one place that turns errors into HTTP."""

from __future__ import annotations

from typing import Any

import pydantic
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from caseledger.access.api_auth import BearerAuth
from caseledger.core.api_common import NotJson, require_json
from caseledger.core.errors import DomainError, RateLimited
from caseledger.core.inputs import invalid_input


class JsonParser(Parser):
    """Bodies are read as JSON only when they say they are (`require_json`). A JSON body sent
    as `multipart/form-data` without a boundary once reached the sign-in view while
    django-axes, reading the same request as a form, failed before it counted the attempt:
    passwords could be tried without a lockout."""

    def parse_body(self, request: HttpRequest) -> Any:
        require_json(request)
        return super().parse_body(request)


api = NinjaAPI(
    title="caseledger API",
    version="1",
    description=(
        "Accountable case management. Every read and write of a person's data passes the "
        "access gate and is recorded in the ledger. Authenticate with POST /auth/token, then "
        "send `Authorization: Bearer <token>`."
    ),
    auth=BearerAuth(),
    urls_namespace="api-v1",
    parser=JsonParser(),
)


def _error(
    request: HttpRequest, status: int, detail: str, code: str, field: str | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"detail": detail, "code": code, "field": field}, status=status
    )


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = _error(request, exc.status_code, exc.message, exc.code, exc.field)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return on_domain_error(request, invalid_input(exc.errors))


@api.exception_handler(pydantic.ValidationError)
def on_input_error(request: HttpRequest, exc: pydantic.ValidationError) -> HttpResponse:
    """An input model checked inside a view (not as the request body): the same 422."""
    return on_domain_error(request, invalid_input(exc.errors(include_url=False)))


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, 413, "The request body is too large.", "too_large")


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "Sign in first: send a valid bearer token.", "unauthenticated")


@api.exception_handler(Http404)
def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "No such record, or you do not have access to it.", "not_found")


@api.exception_handler(NotJson)
def on_not_json(request: HttpRequest, exc: NotJson) -> HttpResponse:
    detail = "Send the request body as application/json."
    return _error(request, 415, detail, "unsupported_media_type")


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    return _error(request, 400, "The multipart/form-data body cannot be read.", "bad_multipart")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, NotJson):  # django-ninja wraps what the parser raises
        return on_not_json(request, exc.__cause__)
    return _error(request, exc.status_code, str(exc), "error")


def _register() -> None:
    from caseledger.access.history_api import me_router
    from caseledger.access.history_api import router as history_router
    from caseledger.accounts.api import router as accounts_router
    from caseledger.accounts.api import users_router
    from caseledger.cases.api import hearings_router
    from caseledger.cases.api import router as cases_router
    from caseledger.disclosures.api import persons_router as disclosure_persons_router
    from caseledger.disclosures.api import router as disclosures_router
    from caseledger.ledger.api import router as ledger_router
    from caseledger.people.api import router as people_router
    from caseledger.portal.api import router as portal_router
    from caseledger.reports.api import router as reports_router
    from caseledger.retention.api import router as retention_router
    from caseledger.supervision.api import router as supervision_router

    api.add_router("/auth", accounts_router)
    api.add_router("", users_router)
    api.add_router("/persons", people_router)
    api.add_router("/cases", cases_router)
    api.add_router("/hearings", hearings_router)
    api.add_router("/ledger", ledger_router)
    api.add_router("/ledger", history_router)
    api.add_router("/me", me_router)
    api.add_router("/persons", disclosure_persons_router)
    api.add_router("/disclosures", disclosures_router)
    api.add_router("/me", portal_router)
    api.add_router("/retention", retention_router)
    api.add_router("/reports", reports_router)
    api.add_router("", supervision_router)


_register()
