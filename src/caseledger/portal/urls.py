from django.urls import path

from . import views

app_name = "record"
urlpatterns = [
    path("", views.home, name="home"),
    path("export.json", views.export, {"fmt": "json"}, name="export_json"),
    path("export.pdf", views.export, {"fmt": "pdf"}, name="export_pdf"),
    path("amendments/new/", views.amendment_new, name="amendment_new"),
    path("amendments/<str:request_id>/statement/", views.statement_new, name="statement_new"),
    path("staff/amendments/", views.queue, name="queue"),
    path("staff/amendments/<str:request_id>/", views.amendment_detail, name="amendment"),
    path("<uuid:person_id>/", views.person_record, name="person"),
    path("<uuid:person_id>/export.json", views.export, {"fmt": "json"}, name="person_export_json"),
    path("<uuid:person_id>/export.pdf", views.export, {"fmt": "pdf"}, name="person_export_pdf"),
    path("<uuid:person_id>/amendments/new/", views.amendment_new, name="person_amendment_new"),
]
