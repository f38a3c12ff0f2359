"""How a participant's pages speak: in the participant's language and their office's time,
with refusals in plain words. Shared by supervision's and the portal's participant pages (and
the error pages), so no app imports another app's views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation

from caseledger.accounts.models import Office
from caseledger.core import clock
from caseledger.core.errors import DomainError

View = Callable[..., HttpResponse]


def participant_language(request: HttpRequest) -> str:
    """The language the participant chose with the language switch (a cookie set by Django's
    set_language view), else their preferred language, else English."""
    supported = dict(settings.LANGUAGES)
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in supported:
        return chosen
    preferred = (request.user.preferred_language or "")[:2]
    return preferred if preferred in supported else settings.LANGUAGE_CODE


def as_participant(request: HttpRequest, view: View, *args: Any, **kwargs: Any) -> HttpResponse:
    """Run `view` in the participant's language and their office's time; a refusal is shown
    in plain words on the participant's error page."""
    user = request.user
    language = participant_language(request)
    with translation.override(language):
        zone = (
            Office.objects.filter(persons__participant_account=user)
            .values_list("time_zone", flat=True)
            .first()
        )
        request.LANGUAGE_CODE = language
        with timezone.override(clock.zone(zone)):
            try:
                response = view(request, *args, **kwargs)
            except DomainError as exc:
                response = render(
                    request, "portal/unavailable.html", {"error": exc}, status=exc.status_code
                )
    response.headers["Content-Language"] = language
    return response
