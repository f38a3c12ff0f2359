"""Views of the project itself (not of an app)."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("caseledger.health")


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
