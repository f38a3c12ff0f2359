from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "caseledger.access"
    label = "access"
