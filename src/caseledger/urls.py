from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path
from django.views.generic import RedirectView

from caseledger.access import policies
from caseledger.access.policies import Ability
from caseledger.api import api
from caseledger.core import views as core_views
from caseledger.core.views import healthz
from caseledger.supervision.participant_web import participant_language


def home(request: HttpRequest) -> HttpResponse:
    """The site's root: each role's own work once signed in, else the sign-in page."""
    from caseledger.accounts.views import home_for

    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect(home_for(request.user))


urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("caseledger.accounts.urls")),
    path("persons/", include("caseledger.people.urls")),
    path("cases/", include("caseledger.cases.urls")),
    path("supervision/", include("caseledger.supervision.urls")),
    path("me/record/", include("caseledger.portal.urls")),
    path("me/", include("caseledger.supervision.portal_urls")),
    path("disclosures/", include("caseledger.disclosures.urls")),
    path("retention/", include("caseledger.retention.urls")),
    path("reports/", include("caseledger.reports.urls")),
    path("", include("caseledger.notices.urls")),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("healthz", healthz),
    path("i18n/", include("django.conf.urls.i18n")),
]


# --- error pages (caseledger/core/views.py); CSRF_FAILURE_VIEW names csrf_failure ----------------
def own_language(request: HttpRequest) -> str | None:
    """A participant's error pages speak the language of their other pages (the language
    switch, else their preferred language); anyone else's follow the request."""
    if policies.allows(request.user, Ability.CHECK_IN):
        return participant_language(request)
    return None


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    return core_views.bad_request(request, exception, language=own_language)


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    return core_views.permission_denied(request, exception, language=own_language)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    return core_views.page_not_found(request, exception, language=own_language)


def handler500(request: HttpRequest) -> HttpResponse:
    return core_views.server_error(request, language=own_language)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return core_views.csrf_failure(request, reason, language=own_language)
