from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "caseledger.portal"
    label = "portal"
