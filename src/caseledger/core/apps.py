from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "caseledger.core"
    label = "core"
