from django.urls import path

from . import views

app_name = "retention"
urlpatterns = [
    path("", views.schedules, name="schedules"),
    path("holds/", views.holds, name="holds"),
    path("holds/<str:hold_id>/release/", views.release, name="release"),
    path("certificates/", views.certificates, name="certificates"),
    path("certificates/<str:certificate_id>/", views.certificate, name="certificate"),
    path("preview/", views.preview, name="preview"),
]
