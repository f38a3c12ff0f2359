from django.urls import path

from caseledger.people import views as people_views

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.portal_home, name="home"),
    path("check-in/", views.portal_check_in, name="check_in"),
    path("check-in/challenge/", views.portal_check_in_challenge, name="check_in_challenge"),
    # The person's change of address is the people app's page, shown as a participant page.
    path("address/", views.participant_page(people_views.portal_address), name="address"),
    path(
        "address/<str:address_id>/receipt/",
        views.participant_page(people_views.portal_address_receipt),
        name="address_receipt",
    ),
]
