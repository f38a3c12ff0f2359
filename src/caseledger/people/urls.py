from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.search, name="search"),
    path("new/", views.person_create, name="create"),
    path("<str:person_id>/", views.person_detail, name="detail"),
    path("<str:person_id>/edit/", views.person_edit, name="edit"),
    path("<str:person_id>/addresses/new/", views.address_add, name="address_add"),
    path("<str:person_id>/cases/new/", views.case_open, name="case_open"),
    path("<str:person_id>/break-glass/", views.break_glass, name="break_glass"),
]
