from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("<str:case_id>/", views.case_detail, name="detail"),
    path("<str:case_id>/transitions/", views.case_transition, name="transition"),
    path("<str:case_id>/hearings/new/", views.hearing_new, name="hearing_new"),
    path("<str:case_id>/hearings/<str:hearing_id>/", views.hearing_detail, name="hearing"),
    path("<str:case_id>/hearings/<str:hearing_id>/move/", views.hearing_move, name="hearing_move"),
    path(
        "<str:case_id>/hearings/<str:hearing_id>/<str:action>/",
        views.hearing_confirm,
        name="hearing_confirm",
    ),
]
