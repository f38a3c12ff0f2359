from django.apps import AppConfig


class DisclosuresConfig(AppConfig):
    name = "caseledger.disclosures"
    label = "disclosures"
