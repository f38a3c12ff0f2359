"""Reads of retention. A person's deletions pass the access gate; the privacy officer's lists
(holds name persons) are recorded in the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, record_access, require_person
from caseledger.access.policies import Ability
from caseledger.core.ids import as_uuid
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .models import DataClass, DeletionCertificate, DeletionItem, LegalHold, Schedule

CATEGORY = Category.RETENTION


def require_privacy_officer(
    ctx: AccessContext,
    *,
    record_type: str,
    action: str = Action.READ,
    record_id: Any = "",
    hold_id: Any = None,
) -> None:
    """Retention records are the privacy officer's: anyone else gets one denied event and a
    403. A refusal about a legal hold (`hold_id`) names its person, looked up only to refuse."""
    if policies.allows(ctx.user, Ability.PRIVACY_WORK):
        return
    policies.require(
        ctx, Ability.PRIVACY_WORK, action=action, category=CATEGORY, record_type=record_type,
        record_id=record_id,
        subject_id=policies.person_of(LegalHold, hold_id) if hold_id is not None else None,
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
        action=Action.READ,
        category=CATEGORY,
        subject_id=person.pk,
        record_type=record_type_of(DeletionItem),
        detail={"view": "deletions", "returned": len(rows)},
    )
    return [
        Deletion(code, str(labels.get(code, code)), count, when, cert)
        for code, count, when, cert in rows
    ]


def schedules(ctx: AccessContext) -> list[Schedule]:
    require_privacy_officer(ctx, record_type=record_type_of(Schedule))
    return list(Schedule.objects.order_by("data_class"))


def holds(ctx: AccessContext, *, include_released: bool = True) -> list[LegalHold]:
    """Legal holds (they name persons and give reasons): the read is one ledger event, naming
    every person held."""
    require_privacy_officer(ctx, record_type=record_type_of(LegalHold))
    qs = policies.restrict(LegalHold.objects.all(), ctx).select_related(
        "placed_by", "released_by").order_by("released_at", "-placed_at")
    if not include_released:
        qs = qs.filter(released_at__isnull=True)
    rows = list(qs[:500])
    record_access(
        ctx,
        action=Action.READ,
        category=CATEGORY,
        record_type=record_type_of(LegalHold),
        detail={"view": "holds", "returned": len(rows)},
        subjects=[h.person_id for h in rows],
    )
    return rows


def hold(ctx: AccessContext, hold_id: Any) -> LegalHold:
    require_privacy_officer(ctx, record_type=record_type_of(LegalHold), record_id=hold_id,
                            hold_id=hold_id)
    row = require_hold(ctx, hold_id, action=Action.READ)
    record_access(
        ctx,
        action=Action.READ,
        category=CATEGORY,
        subject_id=row.person_id,
        record_type=record_type_of(LegalHold),
        record_id=row.pk,
    )
    return row


def require_hold(ctx: AccessContext, hold_id: Any, *, action: str,
                 act: policies.Act = policies.Act.VIEW) -> LegalHold:
    """The legal hold `hold_id` if the policy lets the context `act` on it (the privacy office
    keeps every hold); otherwise one denied event, naming the hold's person when it exists."""
    pk = as_uuid(hold_id)
    rows = policies.restrict(LegalHold.objects.select_related("placed_by", "released_by"),
                             ctx, act)
    row = rows.filter(pk=pk).first() if pk else None
    if row is None:
        raise deny(ctx, action=action, category=CATEGORY, record_type=record_type_of(LegalHold),
                   record_id=hold_id, subject_id=policies.person_of(LegalHold, hold_id))
    return row


def certificates(ctx: AccessContext, *, data_class: str = "") -> QuerySet[DeletionCertificate]:
    """Certificates, newest first (a queryset for the paginator; ids and counts only)."""
    require_privacy_officer(ctx, record_type=record_type_of(DeletionCertificate))
    qs = DeletionCertificate.objects.select_related("run").defer("record_ids")
    if data_class:
        qs = qs.filter(data_class=data_class)
    return qs.order_by("-issued_at", "-id")


def certificate(ctx: AccessContext, certificate_id: Any) -> tuple[DeletionCertificate, int]:
    """One certificate with the number of persons it concerns."""
    require_privacy_officer(ctx, record_type=record_type_of(DeletionCertificate),
                            record_id=certificate_id)
    pk = as_uuid(certificate_id)
    row = (
        DeletionCertificate.objects.select_related("run", "schedule").filter(pk=pk).first()
        if pk
        else None
    )
    if row is None:
        raise deny(ctx, action=Action.READ, category=CATEGORY,
                   record_type=record_type_of(DeletionCertificate), record_id=certificate_id)
    return row, row.items.count()

