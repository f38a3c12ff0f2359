from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reviews/", views.review_queue, name="reviews"),
    path("reviews/<str:review_id>/", views.review_detail, name="review"),
    path(
        "reviews/<str:review_id>/image/<str:checkin_id>/",
        views.review_image,
        name="review_image",
    ),
    path(
        "reviews/<str:review_id>/reference/",
        views.review_reference_image,
        name="review_reference",
    ),
    path("notice/", views.notice, name="notice"),
    path("enrol/<str:person_id>/", views.enrol, name="enrol"),
    path("enrolments/<str:enrolment_id>/", views.enrolment_detail, name="enrolment"),
    path("changes/", views.changes, name="changes"),
]
