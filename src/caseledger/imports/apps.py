from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "caseledger.imports"
    label = "imports"
