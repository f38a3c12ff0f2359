"""Reads of retention. A person's deletions pass the access gate; the privacy officer's lists
(holds name persons) are recorded in the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db.models import QuerySet

from caseledger.access import gate
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, record_access, require_person, subject_of
from caseledger.core.ids import as_uuid

from .models import DataClass, DeletionCertificate, DeletionItem, LegalHold, Schedule
from .services import run_purge

CATEGORY = "retention"


#: Retention records are the privacy officer's.
require_privacy_officer = partial(
    gate.require_privacy_officer,
    category=CATEGORY,
    message="Only a privacy officer may see retention records.",
)


@dataclass(frozen=True)
class Deletion:
    """One purge batch's deletion of a person's data, as the person sees it."""

    data_class: str
    label: str
    count: int
    date: datetime
    certificate_id: uuid.UUID


def deletions_for_person(ctx: AccessContext, person_id: Any) -> list[Deletion]:
    """What the purge deleted of this person's data (class, count, date, certificate id),
    newest first. Passes the gate (the person themself, their representative, staff who may
    see them); the read is one ledger event. One indexed query on (person_id, deleted_at)."""
    person = require_person(ctx, person_id, category=CATEGORY)
    labels = dict(DataClass.choices)
    rows = list(
        DeletionItem.objects.filter(person_id=person.pk)
        .order_by("-deleted_at", "data_class")
        .values_list("data_class", "count", "deleted_at", "certificate_id")
    )
    record_access(
        ctx,
        action="read",
        category=CATEGORY,
        subject_id=person.pk,
        record_type="retention.deletionitem",
        detail={"view": "deletions", "returned": len(rows)},
    )
    return [
        Deletion(code, str(labels.get(code, code)), count, when, cert)
        for code, count, when, cert in rows
    ]


def schedules(ctx: AccessContext) -> list[Schedule]:
    require_privacy_officer(ctx, record_type="retention.schedule")
    return list(Schedule.objects.order_by("data_class"))


def holds(ctx: AccessContext, *, include_released: bool = True) -> list[LegalHold]:
    """Legal holds (they name persons and give reasons): the read is one ledger event, naming
    every person held."""
    require_privacy_officer(ctx, record_type="retention.legalhold")
    qs = LegalHold.objects.select_related("placed_by", "released_by").order_by(
        "released_at", "-placed_at"
    )
    if not include_released:
        qs = qs.filter(released_at__isnull=True)
    rows = list(qs[:500])
    record_access(
        ctx,
        action="read",
        category=CATEGORY,
        record_type="retention.legalhold",
        detail={"view": "holds", "returned": len(rows)},
        subjects=[h.person_id for h in rows],
    )
    return rows


def hold(ctx: AccessContext, hold_id: Any) -> LegalHold:
    require_privacy_officer(ctx, record_type="retention.legalhold", record_id=hold_id,
                     subject_id=subject_of(LegalHold, hold_id))
    pk = as_uuid(hold_id)
    row = (
        LegalHold.objects.select_related("placed_by", "released_by").filter(pk=pk).first()
        if pk
        else None
    )
    if row is None:
        raise deny(ctx, action="read", category=CATEGORY, record_type="retention.legalhold",
                   record_id=hold_id)
    record_access(
        ctx,
        action="read",
        category=CATEGORY,
        subject_id=row.person_id,
        record_type="retention.legalhold",
        record_id=row.pk,
    )
    return row


def certificates(ctx: AccessContext, *, data_class: str = "") -> QuerySet[DeletionCertificate]:
    """Certificates, newest first (a queryset for the paginator; ids and counts only)."""
    require_privacy_officer(ctx, record_type="retention.deletioncertificate")
    qs = DeletionCertificate.objects.select_related("run").defer("record_ids")
    if data_class:
        qs = qs.filter(data_class=data_class)
    return qs.order_by("-issued_at", "-id")


def certificate(ctx: AccessContext, certificate_id: Any) -> tuple[DeletionCertificate, int]:
    """One certificate with the number of persons it concerns."""
    require_privacy_officer(ctx, record_type="retention.deletioncertificate",
                            record_id=certificate_id)
    pk = as_uuid(certificate_id)
    row = (
        DeletionCertificate.objects.select_related("run", "schedule").filter(pk=pk).first()
        if pk
        else None
    )
    if row is None:
        raise deny(ctx, action="read", category=CATEGORY,
                   record_type="retention.deletioncertificate", record_id=certificate_id)
    return row, row.items.count()


def preview(ctx: AccessContext) -> Any:
    """What a purge would delete now, per class (a dry run: nothing is written)."""
    require_privacy_officer(ctx, record_type="retention.schedule")
    return run_purge(ctx, dry_run=True)
