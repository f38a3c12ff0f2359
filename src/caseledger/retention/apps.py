from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "caseledger.retention"
    label = "retention"
