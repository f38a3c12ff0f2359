from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LedgerConfig(AppConfig):
    name = "caseledger.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the system checks)
            partitions,  # noqa: F401  (registers the events' monthly partitions)
        )

        post_migrate.connect(_ensure_partitions, sender=self)


def _ensure_partitions(sender: Any, using: str = "default", verbosity: int = 1,
                       **kwargs: Any) -> None:
    """After `migrate` (and a test flush), the monthly partitions of the ledger from this month
    to three months ahead exist (PostgreSQL; nothing on SQLite). DDL, not audit: no event is
    written. A refusal (events of a month waiting in the default partition) does not undo the
    migration: it is printed, and the system check and `caseledger ledger partitions` say
    what to do."""
    import sys

    from .partitions import PartitionRefused, ensure_partitions

    try:
        created = ensure_partitions(using=using)
    except PartitionRefused as exc:
        sys.stderr.write(f"ledger partitions: {exc}\n")
        return
    if created and verbosity >= 1:
        sys.stdout.write(f"  ledger partitions created: {', '.join(created)}\n")
