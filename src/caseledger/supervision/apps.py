from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "caseledger.supervision"
    label = "supervision"
