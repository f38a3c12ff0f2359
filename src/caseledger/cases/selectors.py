"""Reads of case data, through the access gate; one ledger event per read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import record_access, require_related, visible_persons
from caseledger.core import clock
from caseledger.core.ids import as_uuid
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from .deadlines import CaseDeadline, deadlines_for_case
from .models import Case, Hearing, Proceeding, StatusChange
from .workflow import allowed_next


def require_case(
    ctx: AccessContext, case_id: Any, *, action: str = Action.READ,
    category: str = Category.CASE,
) -> Case:
    """The case if its person is visible to ctx; a denial event and NotFound otherwise."""
    return require_related(
        ctx,
        Case,
        case_id,
        person_path=policies.person_path(Case),
        record_type=record_type_of(Case),
        category=category,
        action=action,
        related=("person",),
    )


def person_within_reach(
    ctx: AccessContext, model: type[Case] | type[Hearing], pk: Any
) -> uuid.UUID | None:
    """The person of the `model` row `pk` when `ctx` may see it, else None. Read through the
    policy, so it tells nothing about a row outside the context's reach; used only to choose
    a page's access context (no event: the gated read that follows records the access)."""
    key = as_uuid(pk)
    if key is None:
        return None
    rows = policies.restrict(model.objects.filter(pk=key), ctx)
    return rows.values_list(policies.person_path(model), flat=True).first()


def open_deadlines(
    case: Case, proceedings: list[Proceeding], status_changes: list[StatusChange]
) -> list[CaseDeadline]:
    """A case's open deadlines, in the time zone of its latest proceeding's court
    (proceedings and status changes already loaded, decisions prefetched)."""
    decisions = [d for p in proceedings for d in p.decisions.all()]
    zone = proceedings[-1].court.time_zone if proceedings else "America/New_York"
    return deadlines_for_case(case, decisions, status_changes, zone, clock.today())


@dataclass
class CaseDetail:
    case: Case
    proceedings: list[Proceeding]
    status_changes: list[StatusChange]
    next_statuses: list[str]

    @property
    def deadlines(self) -> list[CaseDeadline]:
        return open_deadlines(self.case, self.proceedings, self.status_changes)

    @property
    def hearings(self) -> list[Hearing]:
        return sorted(
            (h for p in self.proceedings for h in p.hearings.all()), key=lambda h: h.scheduled_at
        )


def get_case(*, ctx: AccessContext, case_id: Any) -> CaseDetail:
    case = require_case(ctx, case_id)
    proceedings = list(
        case.proceedings.select_related("court").prefetch_related(
            Prefetch("hearings", queryset=Hearing.objects.select_related("court")), "decisions"
        )
    )
    changes = list(case.status_changes.select_related("changed_by"))
    record_access(
        ctx,
        action=Action.READ,
        category=Category.CASE,
        subject_id=case.person_id,
        record_type=record_type_of(Case),
        record_id=case.pk,
        detail={"categories": ["case", "hearing", "decision"]},
    )
    return CaseDetail(case, proceedings, changes, allowed_next(case.status))


def deadlines_due(*, ctx: AccessContext, within_days: int = 7) -> list[tuple[Case, CaseDeadline]]:
    """Overdue deadlines and those due within `within_days`, over the cases the context sees."""
    from .models import CaseStatus

    cases = list(
        policies.restrict(Case.objects.all(), ctx)
        .filter(status__in=[CaseStatus.DECIDED, CaseStatus.APPEALED, CaseStatus.FINAL_ORDER])
        .select_related("person")
        .prefetch_related(
            "person__names", "proceedings__court", "proceedings__decisions", "status_changes"
        )
    )
    today = clock.today()
    due: list[tuple[Case, CaseDeadline]] = []
    for case in cases:
        for deadline in open_deadlines(
            case, list(case.proceedings.all()), list(case.status_changes.all())
        ):
            if deadline.state == "overdue" or (
                deadline.due is not None and (deadline.due - today).days <= within_days
            ):
                due.append((case, deadline))
    due.sort(key=lambda item: item[1].due or today)
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.CASE,
        record_type=record_type_of(Case),
        detail={"results": sorted({str(c.pk) for c, _ in due}), "view": "deadlines"},
        subjects=[c.person_id for c, _ in due],
    )
    return due


@dataclass
class Obligations:
    hearings: list[Hearing]
    deadlines: list[tuple[Case, CaseDeadline]]


def my_obligations(*, ctx: AccessContext) -> Obligations:
    """A participant's own upcoming hearings and open deadlines (self-service, one event)."""
    person = visible_persons(ctx).first()
    if person is None:
        return Obligations([], [])
    cases = list(
        Case.objects.filter(person=person).prefetch_related(
            "proceedings__court", "proceedings__decisions", "status_changes"
        )
    )
    hearings = list(
        Hearing.objects.filter(
            proceeding__case__in=cases, scheduled_at__gte=clock.now(), status="scheduled"
        )
        .select_related("court", "proceeding__case")
        .order_by("scheduled_at")
    )
    deadlines: list[tuple[Case, CaseDeadline]] = []
    for case in cases:
        deadlines += [
            (case, d)
            for d in open_deadlines(
                case, list(case.proceedings.all()), list(case.status_changes.all())
            )
        ]
    record_access(
        ctx,
        action=Action.READ,
        category=Category.CASE,
        subject_id=person.pk,
        record_type=record_type_of(Case),
        detail={"view": "my_obligations", "hearings": len(hearings)},
    )
    return Obligations(hearings, deadlines)


@dataclass
class HearingDetail:
    hearing: Hearing
    case: Case

    @property
    def can_move(self) -> bool:
        return self.hearing.status in ("scheduled", "adjourned")

    @property
    def can_adjourn(self) -> bool:
        return self.hearing.status == "scheduled"


def get_hearing(*, ctx: AccessContext, hearing_id: Any) -> HearingDetail:
    """One hearing with its case, if the case's person is visible to ctx."""
    hearing = require_related(
        ctx,
        Hearing,
        hearing_id,
        person_path=policies.person_path(Hearing),
        record_type=record_type_of(Hearing),
        category=Category.HEARING,
        related=("court", "proceeding__case__person"),
    )
    case = hearing.proceeding.case
    record_access(
        ctx,
        action=Action.READ,
        category=Category.HEARING,
        subject_id=case.person_id,
        record_type=record_type_of(Hearing),
        record_id=hearing.pk,
    )
    return HearingDetail(hearing, case)


def address_change_deadline(person_id: Any, changed_on: Any) -> tuple[Any, str] | None:
    """(EOIR-33 due date, court name) for a change of address on `changed_on`, at the court
    of the person's most recent open case; None when no case is open. Not a read of personal
    data by itself: callers reach it through a gated selector."""
    from .deadlines import compute
    from .models import CaseStatus

    case = (
        Case.objects.filter(person_id=person_id)
        .exclude(status__in=[CaseStatus.CLOSED, CaseStatus.DEPARTED])
        .order_by("-opened_on")
        .first()
    )
    if case is None:
        return None
    proceeding = case.proceedings.select_related("court").order_by("-started_on").first()
    if proceeding is None:
        return None
    court = proceeding.court
    return compute("address-change", changed_on, time_zone=court.time_zone), court.name
