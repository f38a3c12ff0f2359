"""Deciding a disclosure request: a privacy officer who did not enter it declines it, or
approves it and releases exactly the listed categories (the release package, its accounting
entry and its `disclose` event, in one transaction)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from caseledger.access import policies
from caseledger.access.context import AccessContext, Purpose
from caseledger.access.gate import (
    close_grant,
    deny,
    open_privacy_review,
    record_access,
    refuse_role,
    require_person,
)
from caseledger.access.policies import Ability, Act
from caseledger.core import clock, crypto
from caseledger.core.errors import Conflict, NotFound, ValidationError
from caseledger.core.ids import as_uuid
from caseledger.core.pdf import render_pdf
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of
from caseledger.people.models import Person

from .. import disputes, rules
from ..categories import CATEGORIES
from ..categories import label as category_label
from ..models import AccountingEntry, DisclosureRequest, RequestStatus
from .common import (
    PACKAGE_FORMAT,
    RECORD_TYPE,
    add_years,
    canonical,
    check_cap,
    event_detail,
    lock_agency,
    package_ad,
    tagged,
    text_field,
)

WHAT = "disclosure request"


def _tabulate(value: Any) -> tuple[list[str], list[list[str]]]:
    """Columns and rows for the PDF: a dict as field/value pairs, a list of dicts as a table."""

    def text(v: Any) -> str:
        if isinstance(v, list):
            return "; ".join(text(x) for x in v)
        if isinstance(v, dict):
            return ", ".join(f"{k}: {text(x)}" for k, x in v.items() if x not in (None, ""))
        if v is None:
            return "—"
        return str(v)

    if isinstance(value, dict):
        return ["Field", "Value"], [[k, text(v)] for k, v in value.items()]
    rows = [v for v in value or [] if isinstance(v, dict)]
    if not rows:
        return [], []
    columns = list(rows[0])
    return columns, [[text(r.get(c)) for c in columns] for r in rows]


def build_package(
    req: DisclosureRequest,
    data: dict[str, Any],
    released_on: date,
    disputed: list[dict[str, Any]] | None = None,
) -> dict:
    use = req.routine_use
    return {
        "format": PACKAGE_FORMAT,
        "request_id": str(req.pk),
        "released_on": released_on.isoformat(),
        "authority": {
            "kind": req.authority,
            "code": req.authority_code,
            "citation": use.citation if use else "5 U.S.C. 552a(b)(7)",
        },
        "recipient": {
            "agency": req.agency.code,
            "name": req.agency.name,
            "address": req.agency.mailing_address,
            "official": {
                "name": req.official_name,
                "title": req.official_title,
                "rank": req.official_rank,
            },
        },
        "activity": req.activity,
        "subject": {"person_id": str(req.person_id)},
        "categories": list(req.categories),
        "data": data,
        # Statements of disagreement with the released parts (5 U.S.C. 552a(d)(4)).
        "disputed": list(disputed or []),
    }


def _record_step(ctx: AccessContext, req: DisclosureRequest, action: str) -> None:
    record_write(
        actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id, task=ctx.task,
        action=action, category=Category.DISCLOSURE, subject_id=req.person_id,
        record_type=RECORD_TYPE, record_id=req.pk, detail=event_detail(req),
    )


def _read_categories(review: AccessContext, req: DisclosureRequest, person: Person
                     ) -> dict[str, Any]:
    """The listed categories of the person's record, each one recorded read."""
    data: dict[str, Any] = {}
    for code in req.categories:
        record_access(
            review,
            action=Action.READ,
            category=code,
            subject_id=person.pk,
            record_type=record_type_of(Person),
            record_id=person.pk,
            detail={"request_id": str(req.pk), "for": "disclosure_package"},
        )
        data[code] = CATEGORIES[code].extract(person)
    return data


def _render(req: DisclosureRequest, package: dict, digest: str, data: dict[str, Any],
            disputed: list[dict[str, Any]]) -> bytes:
    sections = []
    for code in req.categories:
        columns, rows = _tabulate(data[code])
        sections.append(
            {"code": code, "label": category_label(code), "columns": columns, "rows": rows}
        )
    return render_pdf(
        "disclosures/package_pdf.html",
        {
            "package": package,
            "sha256": digest,
            "sections": sections,
            "req": req,
            "disputed": [
                dict(d, labels=[category_label(c) for c in d["released_categories"]])
                for d in disputed
            ],
        },
    )


def _decline(ctx: AccessContext, req: DisclosureRequest, reason: str, now: datetime) -> None:
    update_versioned(
        req, None, where=Q(status=RequestStatus.PENDING), what=WHAT,
        status=RequestStatus.DECLINED, decided_by=ctx.user, decided_at=now,
        decision_reason=reason,
    )
    _record_step(ctx, req, Action.DECLINE)


def _release(ctx: AccessContext, req: DisclosureRequest, reason: str, now: datetime) -> None:
    """Approve: read the categories under a short privacy-review grant, build and store the
    package, write the accounting entry and the `disclose` event, close the grant."""
    agency = req.agency
    check_cap(lock_agency(agency), exclude=req.pk)
    if req.routine_use and (
        not req.routine_use.active or not set(req.categories) <= set(req.routine_use.categories)
    ):
        raise ValidationError(
            "The routine use no longer allows this release.",
            field="authority",
            code="category_not_allowed",
        )
    grant = open_privacy_review(
        ctx, req.person_id, reason=f"disclosure request {req.pk}", minutes=rules.GRANT_MINUTES,
        detail={"request_id": str(req.pk)},
    )
    review = replace(ctx, purpose=Purpose.PRIVACY_REVIEW, reason=f"disclosure request {req.pk}")
    person = require_person(review, req.person_id, category=Category.DISCLOSURE)
    data = _read_categories(review, req, person)
    disputed = disputes.for_release(review, req)
    released_on = clock.today()
    package = build_package(req, data, released_on, disputed)
    digest = hashlib.sha256(canonical(package)).hexdigest()
    pdf = _render(req, package, digest, data, disputed)
    stored = dict(package, package_sha256=digest)
    update_versioned(
        req, None, where=Q(status=RequestStatus.PENDING), what=WHAT,
        status=RequestStatus.APPROVED, decided_by=ctx.user, decided_at=now,
        decision_reason=reason, package_sha256=digest,
        package_json_encrypted=crypto.encrypt(
            canonical(stored), associated_data=package_ad(req.pk, "json")
        ),
        package_pdf_encrypted=crypto.encrypt(pdf, associated_data=package_ad(req.pk, "pdf")),
    )
    AccountingEntry.objects.create(
        person=person,
        subject_id=person.pk,
        request=req,
        disclosed_on=released_on,
        categories=list(req.categories),
        purpose=req.activity,
        agency=agency,
        recipient_name=f"{agency.name}: {req.official_name}, {req.official_title}",
        recipient_address=agency.mailing_address,
        authority=req.authority_code,
        withheld_from_subject=req.withhold_from_subject,
        retain_until=add_years(released_on, rules.RETAIN_YEARS),
    )
    _record_step(ctx, req, Action.DISCLOSE)
    close_grant(grant)


def decide(ctx: AccessContext, request_id: Any, *, decision: str, reason: str) -> DisclosureRequest:
    """A privacy officer who did not enter the request approves (and releases) or declines it.

    Approval reads the listed categories through the gate under a short privacy-review grant
    (one ledger read per category), builds the package (JSON and PDF, SHA-256), stores it
    encrypted, writes the accounting entry and the `disclose` event, then closes the grant."""
    key = as_uuid(request_id)
    if key is not None:
        ctx = tagged(ctx, key)
    refusal = {"action": Action.DECIDE, "category": Category.DISCLOSURE,
               "record_type": RECORD_TYPE, "record_id": key or request_id,
               "subject_id": policies.person_of(DisclosureRequest, key) if key else None}
    policies.require(ctx, Ability.DECIDE_DISCLOSURE, **refusal,
                     message="Only a privacy officer decides disclosure requests.")
    if decision not in ("approve", "decline"):
        raise ValidationError("The decision is 'approve' or 'decline'.", field="decision")
    reason = text_field(reason, "reason", "reasons for the decision", minimum=10)
    # Refusals are recorded before the transaction, so that their events survive it.
    in_reach = policies.restrict(DisclosureRequest.objects.filter(pk=key), ctx, Act.DECIDE)
    if key is None or not in_reach.exists():
        raise deny(ctx, **refusal)
    if in_reach.filter(entered_by=ctx.user).exists():
        raise refuse_role(
            ctx, **refusal, code="four_eyes",
            message="You entered this request; another privacy officer must decide it (two "
            "people).",
        )
    with transaction.atomic():
        if DisclosureRequest.objects.select_for_update().filter(pk=key).first() is None:
            raise NotFound("No such disclosure request.")
        req = DisclosureRequest.objects.select_related("agency", "routine_use", "person").get(
            pk=key
        )
        if req.status != RequestStatus.PENDING:
            raise Conflict(
                f"This request is already {req.get_status_display().lower()}.", code="decided"
            )
        if decision == "decline":
            _decline(ctx, req, reason, clock.now())
        else:
            _release(ctx, req, reason, clock.now())
    return req
