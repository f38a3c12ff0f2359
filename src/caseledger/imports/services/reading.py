"""Reading what an import set aside: the recent batches (counts only) and the quarantined
rows of one batch (the rows as written: personal data, so each read is a ledger event).

Who may read a batch: its importer; a user whose view reaches the importer's whole office
(a supervisor); and the privacy officer, whose oversight covers every import."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from caseledger.access import policies
from caseledger.access.context import default_purpose
from caseledger.access.policies import Ability, Scope
from caseledger.accounts.models import User
from caseledger.core.errors import NotFound
from caseledger.ledger.services import Actor, record_read, record_refusal
from caseledger.ledger.vocabulary import Action, Category

from ..models import ImportBatch, QuarantinedRow


def _may_read(user: User, batch: ImportBatch) -> bool:
    if not policies.allows(user, Ability.READ_IMPORTS):
        return False
    if policies.allows(user, Ability.PRIVACY_WORK):
        return True
    if policies.scope(user) is Scope.OFFICE:
        return user.office_id is not None and user.office_id == batch.user.office_id
    return user.pk == batch.user_id


def quarantine_rows(*, user: User, batch_id: Any) -> tuple[ImportBatch, list[QuarantinedRow]]:
    """The quarantined rows of a batch, for its importer, a supervisor of the importer's office
    or a privacy officer. The rows hold personal data: the read is one ledger event."""
    try:
        pk = uuid.UUID(str(batch_id))
    except ValueError:
        raise NotFound("No such import batch.") from None
    batch = ImportBatch.objects.select_related("user").filter(pk=pk).first()
    who = {"actor": Actor.of(user), "purpose": default_purpose(user)}
    if batch is None or not _may_read(user, batch):
        record_refusal(**who, action=Action.READ, category=Category.IMPORT,
                       record_type="imports.importbatch", record_id=pk)
        raise NotFound("No such import batch, or you may not read its quarantine.")
    rows = list(batch.quarantine.order_by("line"))
    record_read(**who, action=Action.READ, category=Category.IMPORT,
                record_type="imports.importbatch", record_id=batch.pk,
                detail={"quarantined_rows": len(rows)})
    return batch, rows


def readable_batches(user: User) -> QuerySet[ImportBatch]:
    """The batches `user` may read, by the same rule as `quarantine_rows`."""
    qs = ImportBatch.objects.select_related("user")
    if not policies.allows(user, Ability.READ_IMPORTS):
        return qs.none()
    if policies.allows(user, Ability.PRIVACY_WORK):
        return qs
    if policies.scope(user) is Scope.OFFICE:
        return qs.filter(user__office_id=user.office_id) if user.office_id else qs.none()
    return qs.filter(user=user)


def recent_batches(*, user: User, limit: int = 20) -> list[ImportBatch]:
    """Batches the user may read (counts only, no row content): no ledger event needed."""
    return list(readable_batches(user).order_by("-started_at")[:limit])
