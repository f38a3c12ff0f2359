"""Reads of the portal: "My record" (composed from the other apps' selectors, each through
the access gate and the ledger), its export, and amendment requests.

Who sees amendment requests: the person and their representative of record (their own); the
case officer and supervisor of the person (through the gate: read only, and the correction
they are asked to make); the privacy officer, who handles every amendment request under the
Privacy Act (their reads are recorded with the privacy-review purpose like any other).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Case as When_
from django.db.models import F, When

from caseledger.access import history as ledger_history
from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, record_access, require_person, visible_persons
from caseledger.access.policies import Ability, Act, Scope
from caseledger.cases import selectors as case_selectors
from caseledger.core import clock
from caseledger.core.ids import as_uuid
from caseledger.ledger.vocabulary import Action, Category, record_type_of
from caseledger.people import selectors as people_selectors
from caseledger.people.models import Person
from caseledger.supervision import selectors as supervision_selectors

from .models import (
    DISCLOSURE_CATEGORIES,
    AmendmentRequest,
    AmendmentStatus,
    DisagreementStatement,
)

if TYPE_CHECKING:
    from caseledger.disclosures.models import DisclosureRequest

CATEGORY = Category.AMENDMENT
RECORD_TYPE = record_type_of(AmendmentRequest)
PERSON_TYPE = record_type_of(Person)
ACCESS_PER_PAGE = 50
EXPORT_ACCESS_LIMIT = 10_000
OPEN = (AmendmentStatus.RECEIVED, AmendmentStatus.ACKNOWLEDGED)


# --- whose record -----------------------------------------------------------------------------
def record_person(ctx: AccessContext, person_id: Any = None, *,
                  action: str = Action.READ) -> Person:
    """The person whose record is shown: a participant's own (no id, or their own id), a
    representative's client. Anyone else, or anyone else's id: a denial event and NotFound."""
    if not policies.allows(ctx.user, Ability.SEE_OWN_RECORD):
        raise deny(
            ctx,
            action=action,
            category=Category.RECORD,
            record_type=PERSON_TYPE,
            record_id=person_id or "self",
            subject_id=policies.person_of(Person, person_id) if person_id else None,
        )
    if person_id in (None, "") and policies.scope(ctx.user) is Scope.SELF:
        person = visible_persons(ctx).first()
        if person is None:
            raise deny(ctx, action=action, category=Category.RECORD, record_type=PERSON_TYPE,
                       record_id="self")
        return person
    if person_id in (None, ""):
        raise deny(ctx, action=action, category=Category.RECORD, record_type=PERSON_TYPE,
                   record_id="none")
    return require_person(ctx, person_id, category=Category.RECORD, action=action)


@dataclass(frozen=True)
class ClientRow:
    person_id: uuid.UUID
    name: str
    a_number: str


def my_clients(*, ctx: AccessContext) -> list[ClientRow]:
    """A representative's clients of record (for the chooser): one list event."""
    persons = (
        list(visible_persons(ctx).prefetch_related("names").order_by("created_at")[:500])
        if policies.scope(ctx.user) is Scope.REPRESENTED
        else []
    )
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.IDENTITY,
        record_type=PERSON_TYPE,
        detail={"view": "my_clients", "results": [str(p.pk) for p in persons]},
        subjects=[p.pk for p in persons],
    )
    return [ClientRow(p.pk, str(p), p.a_number or "") for p in persons]


# --- amendment requests -----------------------------------------------------------------------
def require_amendment(
    ctx: AccessContext, request_id: Any, *, action: str = Action.READ, act: Act = Act.VIEW
) -> AmendmentRequest:
    """The request if the context may `act` on it (`policies.restrict`: the person and their
    representative, the person's officers through the gate; the privacy office, which handles
    every amendment request, all of them); a denial event naming its person, and NotFound,
    otherwise."""
    key = as_uuid(request_id)
    row = (
        policies.restrict(AmendmentRequest.objects.filter(pk=key), ctx, act)
        .select_related("person", "person__office")
        .first()
        if key
        else None
    )
    if row is None:
        subject = policies.person_of(AmendmentRequest, key) if key else None
        raise deny(
            ctx,
            action=action,
            category=CATEGORY,
            record_type=RECORD_TYPE,
            record_id=request_id,
            subject_id=subject,
        )
    return row


def next_due(request: AmendmentRequest) -> date | None:
    if request.status == AmendmentStatus.RECEIVED:
        return request.acknowledge_due
    if request.status == AmendmentStatus.ACKNOWLEDGED:
        return request.decision_due
    return None


def local_today(person: Person) -> date:
    """Today in the person's office time zone: the due dates are office-local days."""
    office = getattr(person, "office", None)
    return clock.now().astimezone(clock.zone(getattr(office, "time_zone", None))).date()


def overdue(request: AmendmentRequest, today: date | None = None) -> list[str]:
    """Which steps are late: "acknowledgement", "decision" (empty when on time). `today` is
    the day in the person's office time zone (computed when not given)."""
    today = today or local_today(request.person)
    late = []
    if request.status == AmendmentStatus.RECEIVED and today > request.acknowledge_due:
        late.append("acknowledgement")
    if request.status in OPEN and today > request.decision_due:
        late.append("decision")
    return late


@dataclass
class QueueRow:
    request: AmendmentRequest
    name: str
    due: date | None
    late: list[str]


def amendment_queue(
    *, ctx: AccessContext, page: int = 1, per_page: int = 25, include_decided: bool = False
) -> tuple[list[QueueRow], int]:
    """Open requests the context may see, what is due first (the acknowledgement while not
    acknowledged, else the decision); each late step flagged."""
    if not policies.allows(ctx.user, Ability.SEE_AMENDMENTS_AS_STAFF):
        raise deny(
            ctx, action=Action.LIST, category=CATEGORY, record_type=RECORD_TYPE,
            record_id="queue",
        )
    qs = policies.restrict(AmendmentRequest.objects.all(), ctx)
    if not include_decided:
        qs = qs.filter(status__in=OPEN)
    qs = qs.annotate(
        due=When_(
            When(status=AmendmentStatus.RECEIVED, then=F("acknowledge_due")),
            default=F("decision_due"),
        )
    ).order_by("due", "submitted_at")
    total = qs.count()
    page = max(1, page)
    rows = list(
        qs.select_related("person", "person__office").prefetch_related("person__names")[
            (page - 1) * per_page : page * per_page
        ]
    )
    record_access(
        ctx,
        action=Action.LIST,
        category=CATEGORY,
        record_type=RECORD_TYPE,
        detail={"view": "amendment_queue", "page": page, "results": [str(r.pk) for r in rows]},
        subjects=[r.person_id for r in rows],
    )
    return [QueueRow(r, str(r.person), next_due(r), overdue(r)) for r in rows], total


def corrections_to_make(*, ctx: AccessContext) -> list[AmendmentRequest]:
    """Granted requests whose correction the context's user was asked to make (an officer of
    a caseload), or any in the office (a supervisor), not yet reported made."""
    if not policies.allows(ctx.user, Ability.MAKE_CORRECTION):
        return []
    qs = policies.restrict(
        AmendmentRequest.objects.filter(status=AmendmentStatus.GRANTED, corrected_at__isnull=True),
        ctx,
        Act.CHANGE,
    )
    if policies.scope(ctx.user) is Scope.CASELOAD:
        qs = qs.filter(correction_officer=ctx.user)
    rows = list(
        qs.select_related("person").prefetch_related("person__names").order_by("decided_at")[:200]
    )
    record_access(
        ctx,
        action=Action.LIST,
        category=CATEGORY,
        record_type=RECORD_TYPE,
        detail={"view": "corrections", "results": [str(r.pk) for r in rows]},
        subjects=[r.person_id for r in rows],
    )
    return rows


@dataclass
class AmendmentDetail:
    request: AmendmentRequest
    statement: DisagreementStatement | None
    late: list[str]
    due: date | None


def get_amendment(*, ctx: AccessContext, request_id: Any) -> AmendmentDetail:
    request = require_amendment(ctx, request_id)
    statement = DisagreementStatement.objects.filter(request=request).first()
    record_access(
        ctx,
        action=Action.READ,
        category=CATEGORY,
        subject_id=request.person_id,
        record_type=RECORD_TYPE,
        record_id=request.pk,
    )
    return AmendmentDetail(request, statement, overdue(request), next_due(request))


def my_amendments(*, ctx: AccessContext, person_id: Any = None) -> list[AmendmentDetail]:
    """The requests about one person's record, newest first, for the person or their
    representative (one read event)."""
    person = record_person(ctx, person_id)
    requests = list(
        policies.restrict(AmendmentRequest.objects.filter(person=person), ctx)
        .select_related("statement")
        .order_by("-submitted_at")[:200]
    )
    record_access(
        ctx,
        action=Action.LIST,
        category=CATEGORY,
        subject_id=person.pk,
        record_type=RECORD_TYPE,
        detail={"results": [str(r.pk) for r in requests]},
    )
    today = local_today(person)
    return [
        AmendmentDetail(r, getattr(r, "statement", None), overdue(r, today), next_due(r))
        for r in requests
    ]


def statements_for_person(ctx: AccessContext, person_id: Any) -> list[DisagreementStatement]:
    """Statements of disagreement attached to a person's record, for any page that shows the
    record: whoever the gate gives the person; the privacy office, which keeps every statement
    (`policies.keeps`), for any existing person. Anyone else: a denial event and NotFound."""
    if policies.keeps(ctx, DisagreementStatement):
        pid = policies.person_of(Person, person_id)
        if pid is None:
            raise deny(ctx, action=Action.READ, category=CATEGORY, record_type=PERSON_TYPE,
                       record_id=person_id)
    else:
        pid = require_person(ctx, person_id, category=CATEGORY).pk
    statements = list(
        policies.restrict(DisagreementStatement.objects.filter(person_id=pid), ctx)
        .select_related("request")
        .order_by("filed_at")
    )
    record_access(
        ctx,
        action=Action.READ,
        category=CATEGORY,
        subject_id=pid,
        record_type=record_type_of(DisagreementStatement),
        detail={"results": [str(s.pk) for s in statements]},
    )
    return statements


def release_disputes(review: AccessContext, req: DisclosureRequest) -> list[dict[str, Any]]:
    """The person's statements of disagreement whose disputed part the disclosure request
    `req` releases (5 U.S.C. 552a(d)(4)), oldest first, each with the released categories it
    concerns: read through `statements_for_person` (gated and recorded). The disclosures app
    asks for them through `disclosures.disputes` (provided in `portal.apps`)."""
    released = list(req.categories)
    office = getattr(req.person, "office", None)
    zone = clock.zone(getattr(office, "time_zone", None))
    out: list[dict[str, Any]] = []
    for statement in statements_for_person(review, req.person_id):
        part = str(statement.request.category)
        concerns = [c for c in DISCLOSURE_CATEGORIES.get(part, []) if c in released]
        if concerns:
            out.append(
                {
                    "category": part,
                    "released_categories": concerns,
                    "filed_on": statement.filed_at.astimezone(zone).date().isoformat(),
                    "text": statement.text,
                }
            )
    return out


# --- My record --------------------------------------------------------------------------------
@dataclass
class AccessPage:
    rows: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class MyRecord:
    person: Person
    detail: Any  # people.selectors.PersonDetail
    cases: list[Any]  # cases.selectors.CaseDetail
    enrolments: list[Any]  # supervision.selectors.EnrolmentPage
    accounting: Any  # disclosures.selectors.AccountingView
    accesses: AccessPage
    deletions: list[Any]
    amendments: list[AmendmentDetail]
    statements: list[DisagreementStatement]
    generated_at: Any = field(default_factory=clock.now)

    @property
    def upcoming_hearings(self) -> list[Any]:
        now = clock.now()
        return sorted(
            (
                h
                for c in self.cases
                for h in c.hearings
                if h.scheduled_at >= now and h.status == "scheduled"
            ),
            key=lambda h: h.scheduled_at,
        )

    @property
    def deadlines(self) -> list[tuple[Any, Any]]:
        return [(c.case, d) for c in self.cases for d in c.deadlines]

    @property
    def decisions(self) -> list[tuple[Any, Any, Any]]:
        return [
            (c.case, p, d) for c in self.cases for p in c.proceedings for d in p.decisions.all()
        ]


def my_record(
    ctx: AccessContext, person_id: Any = None, *, page: int = 1, per_page: int = ACCESS_PER_PAGE
) -> MyRecord:
    """Everything held about the person, for the person or their representative: identity,
    addresses, contacts, cases with proceedings, hearings, decisions and deadlines; check-ins
    with review dispositions; the accounting of disclosures; who accessed the record
    (paginated); deletions; amendment requests and statements of disagreement. Each part is
    read through its app's selector, so each is gated and recorded."""
    from caseledger.disclosures.selectors import accounting_for_person
    from caseledger.retention.selectors import deletions_for_person
    from caseledger.supervision.models import Enrolment

    person = record_person(ctx, person_id)
    pid = person.pk
    detail = people_selectors.get_person(ctx=ctx, person_id=pid)
    cases = [case_selectors.get_case(ctx=ctx, case_id=c.pk) for c in detail.cases]
    enrolment_ids = list(
        policies.restrict(Enrolment.objects.filter(person_id=pid), ctx)
        .order_by("-started_at")
        .values_list("pk", flat=True)[:20]
    )
    enrolments = [
        supervision_selectors.get_enrolment(ctx=ctx, enrolment_id=e) for e in enrolment_ids
    ]
    accounting = accounting_for_person(ctx, pid)
    rows, total = ledger_history.access_history(
        ctx=ctx, person_id=pid, page=page, per_page=per_page
    )
    deletions = list(deletions_for_person(ctx, pid))
    amendments = my_amendments(ctx=ctx, person_id=pid)
    statements = [a.statement for a in amendments if a.statement is not None]
    return MyRecord(
        person,
        detail,
        cases,
        enrolments,
        accounting,
        AccessPage(rows, total, max(1, page), per_page),
        deletions,
        amendments,
        statements,
    )


def export_record(ctx: AccessContext, person_id: Any = None, *, fmt: str) -> dict[str, Any]:
    """The whole record as one document (the same content for JSON and PDF), with the latest
    10,000 accesses; the export itself is a ledger event."""
    from .export import record_as_dict

    record = my_record(ctx, person_id, page=1, per_page=EXPORT_ACCESS_LIMIT)
    document = record_as_dict(record)
    record_access(
        ctx,
        action=Action.EXPORT,
        category=Category.RECORD,
        subject_id=record.person.pk,
        record_type=PERSON_TYPE,
        record_id=record.person.pk,
        detail={
            "format": fmt,
            "accesses": len(record.accesses.rows),
            "disclosures": len(document["disclosures"]["entries"]),
        },
    )
    return document
