from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "caseledger.people"
    label = "people"
