from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "caseledger.records"
    label = "records"
