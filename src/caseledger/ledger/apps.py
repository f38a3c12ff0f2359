from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "caseledger.ledger"
    label = "ledger"
    verbose_name = "Ledger"
