"""Reads of the disclosures app. Personal data only through the gate; each read one event.

Disclosure requests and packages are the privacy office's records about one person: a
privacy officer sees every request, a supervisor the requests about persons of their office;
each list, view and download is recorded in the ledger (category `disclosure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When, prefetch_related_objects

from caseledger.access import policies
from caseledger.access.context import AccessContext, Purpose, default_purpose
from caseledger.access.gate import deny, record_access, refuse_role
from caseledger.access.policies import Ability, Act
from caseledger.core import crypto
from caseledger.core.errors import NotFound
from caseledger.core.ids import as_uuid
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .models import (
    AccountingEntry,
    CorrectionNotice,
    DisclosureRequest,
    RequestStatus,
    RoutineUse,
)
from .services.accounting import accounting_subject
from .services.common import RECORD_TYPE, letter_ad, package_ad

NOTICE_TYPE = record_type_of(CorrectionNotice)
SUBJECT_PURPOSES = frozenset({Purpose.SELF_SERVICE, Purpose.REPRESENTATION})


@dataclass
class AccountingView:
    """The accounting of disclosures of one person as this viewer may see it.

    `entries`: the visible entries, newest first; `withheld_count`: entries this viewer may
    not see (withheld from the subject and their representative at a (b)(7) requester's
    written request, 5 U.S.C. 552a(c)(3)); 0 for staff, who see all."""

    person: Any
    entries: list[AccountingEntry]
    withheld_count: int


def accounting_for_person(ctx: AccessContext, person_id: Any) -> AccountingView:
    """Who may see it: `services.accounting_subject` (whoever the gate gives the person; the
    privacy office for any person named in a disclosure request, without a grant on the
    person's record). Each read is one `read`/`disclosure` event."""
    person = accounting_subject(ctx, person_id)
    prefetch_related_objects([person], "names")  # the page names the person it concerns
    rows = list(
        policies.restrict(AccountingEntry.objects.filter(subject_id=person.pk), ctx)
        .select_related("agency", "request")
        .order_by("-disclosed_on", "-created_at")
    )
    if ctx.purpose in SUBJECT_PURPOSES:
        visible = [e for e in rows if not e.withheld_from_subject]
    else:
        visible = rows
    withheld = len(rows) - len(visible)
    record_access(
        ctx,
        action=Action.READ,
        category=Category.DISCLOSURE,
        subject_id=person.pk,
        record_type=record_type_of(AccountingEntry),
        record_id=person.pk,
        detail={"entries": [str(e.pk) for e in visible], "withheld": withheld},
    )
    return AccountingView(person=person, entries=visible, withheld_count=withheld)


# --- requests (staff) -------------------------------------------------------------------------
def _refusal(request_id: Any, action: str) -> dict[str, Any]:
    """The fields of a refusal about a request: its record id (under which the subject's
    history leaves out a withheld request) and its person, when it exists."""
    key = as_uuid(request_id)
    return {"action": action, "category": Category.DISCLOSURE, "record_type": RECORD_TYPE,
            "record_id": key or request_id or "",
            "subject_id": policies.person_of(DisclosureRequest, key) if key else None}


def _scope(ctx: AccessContext, *, act: Act = Act.VIEW, action: str = Action.LIST,
           request_id: Any = None) -> QuerySet[DisclosureRequest]:
    """The requests in the context's reach (`policies.restrict`: the privacy office keeps all
    of them, a supervisor sees their office's), under the role's own purpose only: break-glass
    reaches none of them. Any other role or purpose: one denied event and a 403."""
    message = "Disclosure requests are for privacy officers and supervisors."
    refusal = _refusal(request_id, action)
    policies.require(ctx, Ability.ENTER_DISCLOSURE, **refusal, message=message)
    if ctx.purpose != default_purpose(ctx.user):
        raise refuse_role(ctx, **refusal, message=message)
    qs = DisclosureRequest.objects.select_related("agency", "routine_use")
    return policies.restrict(qs, ctx, act)


def list_requests(
    ctx: AccessContext, *, page: int = 1, per_page: int = 25, status: str = ""
) -> tuple[list[DisclosureRequest], int]:
    """Pending first (oldest first), then decided (newest first)."""
    qs = _scope(ctx)
    if status in RequestStatus.values:
        qs = qs.filter(status=status)
    qs = qs.annotate(
        pending_first=Case(
            When(status=RequestStatus.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )
    total = qs.count()
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    rows = list(
        qs.order_by("pending_first", "-entered_at")[(page - 1) * per_page : page * per_page]
    )
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.DISCLOSURE,
        record_type=RECORD_TYPE,
        detail={"results": [str(r.pk) for r in rows], "page": page},
        # A request withheld from its subject ((b)(7), 552a(c)(3)) must not surface as "your
        # record appeared in a list of disclosure requests".
        subjects=[r.person_id for r in rows if not r.withhold_from_subject],
    )
    return rows, total


def _get(ctx: AccessContext, request_id: Any, *, action: str = Action.READ,
         act: Act = Act.VIEW) -> DisclosureRequest:
    """The request if the context may `act` on it; otherwise a denial event (naming the
    person of a request that exists) and NotFound."""
    qs = _scope(ctx, act=act, action=action, request_id=request_id)
    key = as_uuid(request_id)
    req = qs.select_related("entered_by", "decided_by").filter(pk=key).first() if key else None
    if req is None:
        raise deny(ctx, **_refusal(request_id, action))
    return req


def get_request(ctx: AccessContext, request_id: Any) -> DisclosureRequest:
    req = _get(ctx, request_id)
    prefetch_related_objects([req], "person__names")  # the page names the person, not their id
    record_access(
        ctx,
        action=Action.READ,
        category=Category.DISCLOSURE,
        subject_id=req.person_id,
        record_type=RECORD_TYPE,
        record_id=req.pk,
    )
    return req


def letter(ctx: AccessContext, request_id: Any) -> tuple[DisclosureRequest, bytes]:
    req = _get(ctx, request_id, action=Action.DOWNLOAD)
    data = crypto.decrypt(bytes(req.letter_encrypted), associated_data=letter_ad(req.pk))
    record_access(
        ctx,
        action=Action.DOWNLOAD,
        category=Category.DISCLOSURE,
        subject_id=req.person_id,
        record_type=RECORD_TYPE,
        record_id=req.pk,
        detail={"file": "letter"},
    )
    return req, data


def package(
    ctx: AccessContext, request_id: Any, kind: str = "json"
) -> tuple[DisclosureRequest, bytes]:
    """The release package (`json` or `pdf`) of an approved request: the privacy office only
    (`Act.EXPORT` of a request)."""
    policies.require(ctx, Ability.DECIDE_DISCLOSURE, **_refusal(request_id, Action.DOWNLOAD),
                     message="Only privacy officers download release packages.")
    req = _get(ctx, request_id, action=Action.DOWNLOAD, act=Act.EXPORT)
    if req.status != RequestStatus.APPROVED or kind not in ("json", "pdf"):
        deny(ctx, action=Action.DOWNLOAD, category=Category.DISCLOSURE, record_type=RECORD_TYPE,
             record_id=req.pk, subject_id=req.person_id)
        raise NotFound("This request has no release package.")
    token = req.package_json_encrypted if kind == "json" else req.package_pdf_encrypted
    data = crypto.decrypt(bytes(token), associated_data=package_ad(req.pk, kind))
    record_access(
        ctx,
        action=Action.DOWNLOAD,
        category=Category.DISCLOSURE,
        subject_id=req.person_id,
        record_type=RECORD_TYPE,
        record_id=req.pk,
        detail={"file": f"package_{kind}", "sha256": req.package_sha256},
    )
    return req, data


def routine_uses() -> list[RoutineUse]:
    """The registry (no personal data)."""
    return list(RoutineUse.objects.prefetch_related("agencies").order_by("code"))


def list_corrections(
    ctx: AccessContext, *, page: int = 1, per_page: int = 25
) -> tuple[list[CorrectionNotice], int]:
    """The correction notices in reach (the privacy office keeps all of them), newest
    first: one list event naming each person (not a person a withheld request concerns)."""
    policies.require(ctx, Ability.DECIDE_DISCLOSURE, action=Action.LIST,
                     category=Category.DISCLOSURE, record_type=NOTICE_TYPE,
                     message="Correction notices are for privacy officers.")
    qs = policies.restrict(CorrectionNotice.objects.all(), ctx)
    qs = qs.select_related("agency", "entry", "entry__request")
    qs = qs.prefetch_related("log")
    total = qs.count()
    page = max(1, page)
    rows = list(qs.order_by("-created_at")[(page - 1) * per_page : page * per_page])
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.DISCLOSURE,
        record_type=NOTICE_TYPE,
        detail={"results": [str(r.pk) for r in rows], "page": page},
        subjects=[r.subject_id for r in rows if not r.entry.request.withhold_from_subject],
    )
    return rows, total
