from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    name = "caseledger.biometrics"
    label = "biometrics"
