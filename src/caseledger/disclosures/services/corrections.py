"""Correction notices to earlier recipients (5 U.S.C. 552a(c)(4)): a correction of the
person's record, or a statement of disagreement with it, is told to every agency that received
a release including a corrected category."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.core import clock
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .. import delivery
from ..models import AccountingEntry, CorrectionNotice
from .accounting import accounting_subject
from .common import check_categories, text_field


def notify_prior_recipients(
    ctx: AccessContext, *, person_id: Any, categories: list[str], reason: str
) -> list[CorrectionNotice]:
    """A correction to the person's record: one notice to every earlier recipient whose
    release included any corrected category (5 U.S.C. 552a(c)(4)), each delivered and logged;
    failed deliveries are retried by `caseledger send_corrections`.

    The notices are delivered only once the transaction that creates them commits (the
    caller's, when called inside one, e.g. an amendment's decision): a rolled-back correction
    sends nothing."""
    codes = check_categories(categories)
    reason = text_field(reason, "reason", "description of the correction", minimum=5)
    person = accounting_subject(ctx, person_id, action=Action.NOTIFY)
    entries = [
        e
        for e in policies.restrict(AccountingEntry.objects.filter(subject_id=person.pk), ctx)
        .select_related("agency", "request")
        .order_by("disclosed_on", "created_at")
        if set(e.categories) & set(codes)
    ]
    notices: list[CorrectionNotice] = []
    with transaction.atomic():
        for entry in entries:
            overlap = [c for c in entry.categories if c in codes]
            notice = CorrectionNotice.objects.create(
                entry=entry,
                agency=entry.agency,
                subject_id=person.pk,
                categories=overlap,
                reason=reason,
                created_by=ctx.user if ctx.user.is_authenticated else None,
                channel=delivery.channel_for(entry.agency),
                next_attempt_at=clock.now(),
            )
            record_write(
                actor=ctx.actor,
                action=Action.NOTIFY_CORRECTION,
                category=Category.DISCLOSURE,
                purpose=ctx.purpose,
                subject_id=person.pk,
                record_type=record_type_of(CorrectionNotice),
                record_id=notice.pk,
                request_id=ctx.request_id,
                task=ctx.task,
                detail={
                    "entry": str(entry.pk),
                    "request_id": str(entry.request_id),
                    "agency": entry.agency.code,
                    "categories": overlap,
                    "channel": notice.channel,
                },
            )
            notices.append(notice)
            transaction.on_commit(partial(delivery.deliver, notice), robust=True)
    return notices
