from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SupervisionConfig(AppConfig):
    name = "caseledger.supervision"
    label = "supervision"

    def ready(self) -> None:
        from . import partitions  # noqa: F401  (registers the check-ins' monthly partitions)

        post_migrate.connect(_ensure_partitions, sender=self)


def _ensure_partitions(sender: Any, using: str = "default", verbosity: int = 1,
                       **kwargs: Any) -> None:
    """After `migrate` (and a test flush), the monthly partitions of the check-ins from this
    month to three months ahead exist (PostgreSQL; nothing on SQLite). A refusal (check-ins of
    a month waiting in the default partition) is printed, as the ledger's is."""
    import sys

    from caseledger.core.partitions import PartitionRefused, ensure_partitions

    from .partitions import CHECKINS

    try:
        created = ensure_partitions(CHECKINS, using=using)
    except PartitionRefused as exc:
        sys.stderr.write(f"check-in partitions: {exc}\n")
        return
    if created and verbosity >= 1:
        sys.stdout.write(f"  check-in partitions created: {', '.join(created)}\n")
