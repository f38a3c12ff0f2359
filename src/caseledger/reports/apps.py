from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "caseledger.reports"
    label = "reports"
