from django.urls import path, re_path

from . import views
from .calendars import TOKEN_PATTERN

app_name = "notices"
urlpatterns = [
    path("calendar/", views.calendar_page, name="calendar"),
    re_path(
        rf"^calendar/(?P<token>{TOKEN_PATTERN})\.ics$", views.calendar_feed, name="calendar_feed"
    ),
    path("notices/opt-out/<str:token>/", views.opt_out, name="opt_out"),
    path("notices/sms/inbound", views.sms_inbound, name="sms_inbound"),
    path("notices/alerts/", views.alerts, name="alerts"),
    path("notices/persons/<str:person_id>/", views.person_reminders, name="person_reminders"),
    path("notices/templates/", views.template_list, name="templates"),
    path(
        "notices/templates/<str:template_id>/approve/",
        views.template_approve,
        name="template_approve",
    ),
]
