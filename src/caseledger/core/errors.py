"""Domain errors. Views and the API translate them to HTTP in one place each."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `message` is written for the person who sees it."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationError(DomainError):
    status_code = 422
    code = "invalid"


class NotFound(DomainError):
    """Also what a caller without access sees: we never confirm that a record exists."""

    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class LedgerUnavailable(DomainError):
    """The access could not be recorded, so it is not granted (fail closed)."""

    status_code = 503
    code = "ledger_unavailable"


class RateLimited(DomainError):
    """Too many requests of one kind in a short time; `retry_after` is in seconds (sent as the
    `Retry-After` header)."""

    status_code = 429
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        field: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message, field=field, code=code)
        self.retry_after = max(1, int(retry_after))
