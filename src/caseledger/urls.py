from django.urls import include, path
from django.views.generic import RedirectView

from caseledger.api import api
from caseledger.core.views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="people:dashboard", permanent=False)),
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
