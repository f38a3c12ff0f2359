"""What the seeding made, counted from the database, in plain words for the operator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from caseledger.access.models import Grant, GrantKind
from caseledger.accounts.models import Office
from caseledger.cases.models import Hearing, HearingStatus
from caseledger.disclosures.models import DisclosureRequest, RequestStatus
from caseledger.ledger.models import Event, Outcome
from caseledger.ledger.vocabulary import Action
from caseledger.people.models import Person
from caseledger.reports.models import AnomalyItem, AnomalyReport
from caseledger.supervision.models import (
    ChangeDecision,
    ChangeRequest,
    CheckIn,
    Departure,
    Enrolment,
    Review,
)


@dataclass
class Summary:
    offices: int
    persons: int
    participants: int
    departed: int
    since: datetime
    checkins: dict[str, int]
    refused: int
    missed: int
    reviews: dict[str, int]
    changes_waiting: int
    hearings: dict[str, int]
    disclosures: dict[str, int]
    break_glass: int
    anomaly: dict[str, int]
    events: int
    surprises: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        c, r, h, d, a = self.checkins, self.reviews, self.hearings, self.disclosures, self.anomaly
        changes = "change" if self.changes_waiting == 1 else "changes"
        out = [
            f"Seeded in {self.seconds:.0f} s: {self.persons} persons in {self.offices} offices, "
            f"{self.participants} enrolled in supervision ({self.departed} departed), with "
            f"history since {self.since:%d %B %Y}:",
            f"  {c['total']} check-ins ({c['verified']} verified, {c['review']} sent to a "
            f"person for review), {self.refused} photos refused, {self.missed} missed "
            "check-ins",
            f"  {r['decided']} reviews decided; {r['open']} open, {r['overdue']} of them "
            f"overdue; {self.changes_waiting} level {changes} waiting for a supervisor",
            f"  {h['total']} hearings: {h['held']} held, {h['adjourned']} adjourned, "
            f"{h['cancelled']} cancelled, {h['upcoming']} upcoming",
            f"  {d['total']} disclosure requests ({d['released']} released, {d['declined']} "
            f"declined, {d['waiting']} waiting), {self.break_glass} break-glass uses",
            f"  {a['reports']} weekly access reviews with {a['items']} findings "
            f"({a['open']} still open)",
            f"  {self.events} events in the ledger",
        ]
        if self.surprises:
            out.append(f"  {len(self.surprises)} steps did not go as planned, the first: "
                       f"{self.surprises[0]}")
        return out


def count(*, since: datetime, now: datetime, surprises: list[str] | None = None) -> Summary:
    checkins = CheckIn.objects.aggregate(
        total=Count("id"), verified=Count("id", filter=Q(outcome="verified")),
        review=Count("id", filter=Q(outcome="review")))
    reviews = Review.objects.aggregate(
        decided=Count("id", filter=~Q(disposition="")),
        open=Count("id", filter=Q(disposition="")),
        overdue=Count("id", filter=Q(disposition="", due_at__lt=now)))
    hearings = Hearing.objects.aggregate(
        total=Count("id"), held=Count("id", filter=Q(status=HearingStatus.HELD)),
        adjourned=Count("id", filter=Q(status=HearingStatus.ADJOURNED)),
        cancelled=Count("id", filter=Q(status=HearingStatus.CANCELLED)),
        upcoming=Count("id", filter=Q(status=HearingStatus.SCHEDULED)))
    disclosures = DisclosureRequest.objects.aggregate(
        total=Count("id"), released=Count("id", filter=Q(status=RequestStatus.APPROVED)),
        declined=Count("id", filter=Q(status=RequestStatus.DECLINED)),
        waiting=Count("id", filter=Q(status=RequestStatus.PENDING)))
    return Summary(
        offices=Office.objects.count(),
        persons=Person.objects.count(),
        participants=Enrolment.objects.count(),
        departed=Departure.objects.count(),
        since=since,
        checkins=checkins,
        refused=Event.objects.filter(action=Action.CHECKIN, outcome=Outcome.FAILED).count(),
        missed=Review.objects.filter(kind="missed_window").count(),
        reviews=reviews,
        changes_waiting=ChangeRequest.objects.filter(decision=ChangeDecision.PENDING).count(),
        hearings=hearings,
        disclosures=disclosures,
        break_glass=Grant.objects.filter(kind=GrantKind.BREAK_GLASS).count(),
        anomaly={"reports": AnomalyReport.objects.count(), "items": AnomalyItem.objects.count(),
                 "open": AnomalyItem.objects.filter(closed_at__isnull=True).count()},
        events=Event.objects.count(),
        surprises=list(surprises or []),
    )
