from django.urls import path

from . import views

app_name = "disclosures"
urlpatterns: list = [
    path("", views.queue, name="queue"),
    path("new/", views.new_request, name="new"),
    path("routine-uses/", views.routine_uses, name="routine_uses"),
    path("corrections/", views.corrections, name="corrections"),
    path("persons/<str:person_id>/accounting/", views.accounting, name="accounting"),
    path("<uuid:request_id>/", views.detail, name="detail"),
    path("<uuid:request_id>/letter.pdf", views.letter, name="letter"),
    path("<uuid:request_id>/package.<str:kind>", views.package, name="package"),
]
