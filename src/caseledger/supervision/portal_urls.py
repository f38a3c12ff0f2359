from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.portal_home, name="home"),
    path("check-in/", views.portal_check_in, name="check_in"),
]
