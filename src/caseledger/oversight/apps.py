from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "caseledger.oversight"
    label = "oversight"
