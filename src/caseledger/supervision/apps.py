from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SupervisionConfig(AppConfig):
    name = "caseledger.supervision"
    label = "supervision"

    def ready(self) -> None:
        from caseledger.core.partitions import ensure_after_migrate

        from .partitions import CHECKINS

        # the receiver is kept by the app, as post_migrate holds it weakly
        self.ensure_partitions = ensure_after_migrate(CHECKINS)
        post_migrate.connect(self.ensure_partitions, sender=self)
