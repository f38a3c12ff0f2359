from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "reports"
urlpatterns = [
    path("", RedirectView.as_view(pattern_name="reports:transparency"), name="index"),
    path("anomalies/", views.anomaly_list, name="anomalies"),
    path("anomalies/items/<str:item_id>/", views.anomaly_item, name="anomaly_item"),
    path("anomalies/<str:week>/", views.anomaly_report, name="anomaly_report"),
    path("events/<str:event_id>/", views.event_detail, name="event"),
    path("field/", views.field_page, name="field"),
    path("household/", views.household, name="household"),
    path("household/<str:member_id>/remove/", views.household_remove, name="household_remove"),
    path("transparency/", views.transparency_page, name="transparency"),
]
