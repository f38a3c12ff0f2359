from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "caseledger.notices"
    label = "notices"
