from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("<str:case_id>/", views.case_detail, name="detail"),
    path("<str:case_id>/transitions/", views.case_transition, name="transition"),
]
