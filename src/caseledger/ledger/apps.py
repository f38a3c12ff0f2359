from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LedgerConfig(AppConfig):
    name = "caseledger.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from caseledger.core.partitions import ensure_after_migrate

        from . import checks  # noqa: F401  (registers the system checks)
        from .partitions import EVENTS

        # the receiver is kept by the app, as post_migrate holds it weakly
        self.ensure_partitions = ensure_after_migrate(EVENTS)
        post_migrate.connect(self.ensure_partitions, sender=self)
