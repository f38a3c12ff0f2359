"""The eight weeks, step by step: the plan's steps in time order, each with the clock set to
its moment and made through the services, as the participants, the staff and the background
jobs would have made them.

A step that does not go as planned (the verifier or a rule answering otherwise) is kept in
`History.surprises`; `strict` turns the first one into an error (the tests use it).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from caseledger.access.context import AccessContext, Purpose
from caseledger.access.gate import grant_break_glass
from caseledger.cases import services as cases
from caseledger.cases.models import CaseStatus, Court, Hearing
from caseledger.core.errors import DomainError
from caseledger.core.pdf import html_to_pdf
from caseledger.ledger.services import integrate_pending
from caseledger.ledger.vocabulary import Category
from caseledger.people.models import PersonName
from caseledger.people.selectors import get_person, list_caseload
from caseledger.supervision import selectors as supervision_reads
from caseledger.supervision import services as supervision
from caseledger.supervision.models import CheckIn, Review

from . import plan as planning
from .photos import Photos
from .setup import DEMO_PASSWORD, PARTICIPANT, World

ABROAD = (Decimal("14.634900"), Decimal("-90.506900"))  # Guatemala City
NOTES = {
    "verified_by_review": "Same person as the enrolment photo; the picture was blurred or the "
                          "face partly covered.",
    "technical_problem": "The camera of the phone is damaged; the participant was told how "
                         "to check in at the office until it is replaced.",
    "needs_contact": "No check-in and no answer by phone; a home visit is planned.",
    "suspected_impersonation": "The photo shows someone else than the enrolled participant; "
                               "the participant is asked to come to the office in person.",
}
FINDINGS = {  # rule: (finding, outcome)
    "break_glass": ("Reason confirmed with the assigned officer's supervisor; the records "
                    "opened match the stated need.", "justified"),
    "after_hours": ("Reads from home after hours without a case need; reminded of the "
                    "after-hours access policy.", "training"),
    "outside_policy": ("Tried to open records of another office before asking for access; "
                       "shown how to request break-glass access.", "training"),
    "household": ("The officer opened the record of a declared household member; the case "
                  "was reassigned and the matter referred to the inspector.", "referred"),
    "bulk_viewing": ("Quarterly caseload audit of the office, agreed in advance with the "
                     "privacy officer.", "justified"),
}
LETTER_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Request letter</title></head><body><h1>{agency}</h1>
<p>Request for the record of one person, for: {activity}</p>
<p>Signed, {official}, {title}</p></body></html>"""
INTEGRATE_EVERY = timedelta(minutes=30)
HOLD_REASON = "Records preserved for pending litigation (Doe v. Agency)."


class History:
    def __init__(self, world: World, photos: Photos, *, strict: bool = False) -> None:
        self.world, self.photos, self.strict = world, photos, strict
        self.plan = world.plan
        self.surprises: list[str] = []
        self.requests: dict[int, Any] = {}  # id(disclosure) -> request id
        self.changes: dict[tuple[int, int], Any] = {}
        self.letters: dict[tuple[str, str], bytes] = {}
        self.amendment: Any = None
        self.decisions: dict[tuple[str, datetime], list[tuple[int, int]]] = defaultdict(list)
        for p in self.plan.participants:
            for w in p.windows:
                if w.decided_at is not None:
                    self.decisions[(p.office, w.decided_at)].append((p.index, w.index))

    def run(self, tick: Callable[[], None] | None = None) -> None:
        """Every step in time order. The ledger's integrator places the new events every
        half hour of the history (as `ledger integrate --loop` would, in batches)."""
        integrated = self.world.clock.now
        for step in self.plan.ordered():
            if step.at - integrated >= INTEGRATE_EVERY:
                integrate_pending()
                integrated = step.at
            self.world.clock.set(step.at)
            getattr(self, f"_{step.kind}")(step)
            if tick:
                tick()

    def surprise(self, what: str) -> None:
        if self.strict:
            raise RuntimeError(f"The demo's history went off its plan: {what}")
        self.surprises.append(what)

    # --- participants ---------------------------------------------------------------------
    def _enrol(self, step: planning.Step) -> None:
        p = self.plan.participants[step.args["p"]]
        seeded = self.world.enrolled[p.index]
        conditions = ["attend_hearings", "report_address_changes"]
        if p.level == "intensive":
            conditions.append("no_travel_outside_state")
        result = supervision.enrol(
            ctx=self.world.ctx(f"officer.{p.office}"), person_id=seeded.person_id,
            data=supervision.EnrolmentInput(
                level=p.level, photo=self.photos.reference[p.face],
                language="es" if "es" in seeded.languages else "en", acknowledged=True,
                alternatives_offered=["office_visit", "phone_call"], conditions=conditions,
                first_window_at=p.first_window_at, every_days=p.every_days,
                window_hours=p.window_hours, grace_minutes=p.grace_minutes, max_attempts=3))
        seeded.enrolment_id = result.enrolment.pk
        user = result.enrolment.person.participant_account
        if p.role == "demo":  # the one participant who signs in to the demo
            user.username = PARTICIPANT
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["username", "password"])
        seeded.user = user

    def _checkin(self, step: planning.Step) -> None:
        p = self.plan.participants[step.args["p"]]
        upload: planning.Upload = step.args["upload"]
        seeded = self.world.enrolled[p.index]
        kind = "self" if upload.photo == "early" else upload.photo
        lat, lon = ABROAD if upload.abroad else seeded.home
        rng = self.world.rng
        jitter = Decimal("0.02") if rng.random() < 0.8 else Decimal("0.15")
        try:
            receipt = supervision.submit_check_in(
                user=seeded.user, image=self.photos.pick(p.face, kind, upload.turn),
                latitude=lat + jitter * Decimal(f"{rng.uniform(-1, 1):.4f}"),
                longitude=lon + jitter * Decimal(f"{rng.uniform(-1, 1):.4f}"),
                accuracy=round(rng.uniform(6, 60), 1),
                submission_id=uuid.UUID(int=rng.getrandbits(128)),
                request_id=uuid.UUID(int=rng.getrandbits(128)).hex,
            )
        except DomainError as exc:
            if exc.code != upload.refusal:
                self.surprise(f"participant {p.index}'s {kind} photo refused ({exc.code})")
            return
        if receipt.outcome != upload.outcome:
            self.surprise(f"participant {p.index}'s {kind} photo: {receipt.outcome}")

    def _sweep(self, _step: planning.Step) -> None:
        supervision.sweep_missed_windows()

    def _review_round(self, step: planning.Step) -> None:
        office = step.args["office"]
        if office == "west" and step.at >= self.plan.end - planning.LEAVE:
            return  # officer.west is on leave
        decisions = self.decisions.get((office, step.at), [])
        ctx = self.world.ctx(f"officer.{office}")
        supervision_reads.review_queue(ctx=ctx)
        for p_index, w_index in decisions:
            self._decide_review(ctx, p_index, w_index)

    def _decide_review(self, ctx: AccessContext, p_index: int, w_index: int) -> None:
        p = self.plan.participants[p_index]
        window = p.windows[w_index]
        review = Review.objects.filter(enrolment_id=self.world.enrolled[p_index].enrolment_id,
                                       window_opens_at=window.opens).first()
        if review is None:
            self.surprise(f"no review of participant {p_index}'s window {w_index}")
            return
        detail = supervision_reads.get_review(ctx=ctx, review_id=review.pk)
        for attempt in detail.attempts:
            if attempt.image_encrypted:
                supervision_reads.review_image(ctx=ctx, review_id=review.pk,
                                               checkin_id=attempt.pk)
        if detail.has_reference and detail.attempts:
            supervision_reads.review_reference_image(ctx=ctx, review_id=review.pk)
        supervision.dispose_review(ctx=ctx, review_id=review.pk,
                                   disposition=window.disposition, note=NOTES[window.disposition])

    def _propose_change(self, step: planning.Step) -> None:
        p = self.plan.participants[step.args["p"]]
        change = p.changes[step.args["change"]]
        request = supervision.propose_change(
            ctx=self.world.ctx(f"officer.{p.office}"),
            enrolment_id=self.world.enrolled[p.index].enrolment_id, kind=change.kind,
            reason=change.reason, proposed_level=change.level)
        self.changes[(p.index, step.args["change"])] = request.pk

    def _decide_change(self, step: planning.Step) -> None:
        p = self.plan.participants[step.args["p"]]
        change = p.changes[step.args["change"]]
        supervision.decide_change(ctx=self.world.ctx(f"supervisor.{p.office}"),
                                  request_id=self.changes[(p.index, step.args["change"])],
                                  approve=change.approve, reason=change.decision_reason)

    def _departure(self, step: planning.Step) -> None:
        p = self.plan.participants[step.args["p"]]
        seeded = self.world.enrolled[p.index]
        abroad = next(w for w in p.windows if w.behaviour == "abroad")
        checkin = CheckIn.objects.filter(enrolment_id=seeded.enrolment_id,
                                         window_opens_at=abroad.opens,
                                         outcome="verified").first()
        supervision.confirm_departure(
            ctx=self.world.ctx(f"officer.{p.office}"), enrolment_id=seeded.enrolment_id,
            kind="voluntary_departure", evidence_kind="checkin_abroad",
            departed_on=planning.local_day(self.world.clock.now, p.office),
            checkin_id=checkin.pk if checkin else None)

    # --- hearings ---------------------------------------------------------------------------
    def _hearing_outcome(self, step: planning.Step) -> None:
        args = step.args
        ctx = self.world.ctx(f"officer.{args['office']}")
        hearing_id = args["hearing"]
        if args["fate"] == "held":
            cases.record_hearing_held(ctx=ctx, hearing_id=hearing_id)
            if args["decision"]:
                self._decision(ctx, hearing_id, args["decision"])
            return
        if args["fate"] == "cancelled":
            cases.cancel_hearing(ctx=ctx, hearing_id=hearing_id)
        else:
            cases.adjourn_hearing(ctx=ctx, hearing_id=hearing_id)
        self._new_date(ctx, hearing_id, args["court"], args["fate"] == "cancelled")

    def _decision(self, ctx: AccessContext, hearing_id: Any, kind: str) -> None:
        hearing = Hearing.objects.select_related("proceeding__case", "court").get(pk=hearing_id)
        case = hearing.proceeding.case
        decided_on = self.world.clock.now.astimezone(ZoneInfo(hearing.court.time_zone)).date()
        cases.record_decision(ctx=ctx, case_id=case.pk, kind=kind, decided_on=decided_on,
                              oral=True)  # that day at the court, never UTC's
        if case.status == CaseStatus.OPEN:
            cases.transition_case(ctx=ctx, case_id=case.pk, to_status=CaseStatus.DECIDED,
                                  reason="Oral decision at the individual hearing")

    def _case_status(self, step: planning.Step) -> None:
        case = Hearing.objects.select_related("proceeding__case").get(
            pk=step.args["hearing"]).proceeding.case
        if case.status == CaseStatus.DECIDED:
            cases.transition_case(ctx=self.world.ctx(f"officer.{step.args['office']}"),
                                  case_id=case.pk, to_status=step.args["status"],
                                  reason="No appeal within 30 days" if step.args["status"]
                                  != CaseStatus.APPEALED else "Notice of appeal filed (EOIR-26)")

    def _new_date(self, ctx: AccessContext, hearing_id: Any, court_code: str,
                  cancelled: bool) -> None:
        """The court's new date: an adjourned hearing is moved to it; a cancelled one is
        replaced by a new master hearing."""
        court = Court.objects.get(code=court_code)
        day = self.world.clock.now.date() + timedelta(days=self.world.rng.randint(30, 120))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        when = datetime.combine(day, time(9, 30), tzinfo=ZoneInfo(court.time_zone))
        if cancelled:
            case = Hearing.objects.select_related("proceeding__case").get(
                pk=hearing_id).proceeding.case
            cases.schedule_hearing(ctx=ctx, case_id=case.pk, calendar="master",
                                   scheduled_at=when.astimezone(UTC))
        else:
            cases.reschedule_hearing(ctx=ctx, hearing_id=hearing_id,
                                     scheduled_at=when.astimezone(UTC))

    # --- the staff's routine -------------------------------------------------------------------
    def _caseload(self, step: planning.Step) -> None:
        list_caseload(ctx=self.world.ctx(step.args["actor"]), page=1)

    def _dashboard(self, step: planning.Step) -> None:
        if step.args["actor"] == "officer.west" and step.at >= self.plan.end - planning.LEAVE:
            return
        supervision_reads.supervision_dashboard(ctx=self.world.ctx(step.args["actor"]))

    def _read(self, step: planning.Step) -> None:
        actor = step.args["actor"]
        if actor == "officer.west" and step.at >= self.plan.end - planning.LEAVE:
            return
        get_person(ctx=self.world.ctx(actor), person_id=self.world.person(step.args["person"]))

    def _purge(self, _step: planning.Step) -> None:
        from caseledger.retention.services import SYSTEM_CONTEXT, run_purge

        run_purge(SYSTEM_CONTEXT, trigger="task")

    # --- oversight --------------------------------------------------------------------------
    def _break_glass(self, step: planning.Step) -> None:
        args = step.args
        user = self.world.staff[args["actor"]]
        person_id = self.world.person(args["person"])
        request_id = uuid.UUID(int=self.world.rng.getrandbits(128)).hex
        grant_break_glass(user=user, person_id=person_id, reason=args["reason"],
                          request_id=request_id)
        ctx = AccessContext(user=user, purpose=Purpose.BREAK_GLASS, reason=args["reason"],
                            request_id=request_id)
        for _ in range(args["reads"]):
            get_person(ctx=ctx, person_id=person_id)
            self.world.clock.advance(timedelta(minutes=4))

    def _break_glass_refused(self, step: planning.Step) -> None:
        try:
            grant_break_glass(user=self.world.staff[step.args["actor"]],
                              person_id=self.world.person(step.args["person"]),
                              reason="Checking why this record is not listed on my screen.")
        except DomainError:
            return
        self.surprise("break-glass by the administrator was granted")

    def _denied_reads(self, step: planning.Step) -> None:
        for ref in step.args["persons"]:
            try:
                get_person(ctx=self.world.ctx(step.args["actor"]),
                           person_id=self.world.person(ref))
            except DomainError:
                self.world.clock.advance(timedelta(minutes=2))
                continue
            self.surprise("an officer read a record of another office")

    def _after_hours_reads(self, step: planning.Step) -> None:
        office, actor = step.args["office"], step.args["actor"]
        persons = self.world.others[office]
        for n in range(step.args["reads"]):
            get_person(ctx=self.world.ctx(actor), person_id=persons[n % len(persons)])
            self.world.clock.advance(timedelta(seconds=90))

    def _household_declare(self, step: planning.Step) -> None:
        from caseledger.reports.services import declare_household_member

        person_id = self.world.person(step.args["person"])
        name = PersonName.objects.filter(person_id=person_id, kind="primary").first()
        if name is not None:
            declare_household_member(user=self.world.staff[step.args["actor"]],
                                     full_name=name.full_name, relationship="sibling",
                                     request_id=uuid.UUID(int=self.world.rng.getrandbits(128)).hex)

    def _household_read(self, step: planning.Step) -> None:
        get_person(ctx=self.world.ctx(step.args["actor"]),
                   person_id=self.world.person(step.args["person"]))

    def _bulk_list(self, step: planning.Step) -> None:
        ctx = self.world.ctx(step.args["actor"])
        page, total = 1, 1
        while (page - 1) * 25 < total:
            _rows, total = list_caseload(ctx=ctx, page=page, per_page=25)
            page += 1
            self.world.clock.advance(timedelta(minutes=1))

    def _legal_hold(self, step: planning.Step) -> None:
        from caseledger.retention.services import place_hold

        place_hold(ctx=self.world.ctx("privacy"),
                   person_id=self.world.person(step.args["person"]), reason=HOLD_REASON)

    def _anomaly_report(self, step: planning.Step) -> None:
        from caseledger.reports.periods import week_of
        from caseledger.reports.services import build_anomaly_report

        build_anomaly_report(week_of(step.args["week"]))

    def _close_findings(self, step: planning.Step) -> None:
        from caseledger.reports.models import AnomalyItem
        from caseledger.reports.periods import week_of
        from caseledger.reports.selectors import get_item
        from caseledger.reports.services import close_item

        items = AnomalyItem.objects.filter(report__week=week_of(step.args["week"]),
                                           closed_at__isnull=True).order_by("created_at")
        for item_id, rule in items.values_list("pk", "rule"):
            ctx = self.world.ctx("privacy")
            get_item(ctx, item_id)
            finding, outcome = FINDINGS[rule]
            close_item(ctx=ctx, item_id=item_id, finding=finding, outcome=outcome)
            self.world.clock.advance(timedelta(minutes=6))

    # --- disclosures --------------------------------------------------------------------------
    def _letter(self, d: planning.Disclosure) -> bytes:
        key = (d.agency, d.activity)
        if key not in self.letters:
            name, title, _rank = d.official
            self.letters[key] = html_to_pdf(LETTER_HTML.format(
                agency=d.agency, activity=d.activity, official=name, title=title))
        return self.letters[key]

    def _disclosure_enter(self, step: planning.Step) -> None:
        from caseledger.disclosures import services as disclosures

        d: planning.Disclosure = step.args["disclosure"]
        name, title, rank = d.official
        request = disclosures.create_request(
            self.world.ctx(f"supervisor.{d.office}"),
            disclosures.RequestInput(
                person=str(self.world.person(d.subject)), agency=d.agency, official_name=name,
                official_title=title, official_rank=rank, authority=d.authority,
                activity=d.activity, categories=list(d.categories), letter=self._letter(d),
                letter_content_type="application/pdf", withhold_from_subject=d.withhold))
        self.requests[id(d)] = request.pk

    def _disclosure_decide(self, step: planning.Step) -> None:
        from caseledger.disclosures import services as disclosures

        d: planning.Disclosure = step.args["disclosure"]
        disclosures.decide(self.world.ctx("privacy"), self.requests[id(d)],
                           decision=d.decision, reason=d.reason)

    # --- participant.demo's correction request -----------------------------------------------
    def _participant_ctx(self, index: int) -> AccessContext:
        user = self.world.enrolled[index].user
        return AccessContext(user=user, purpose=Purpose.SELF_SERVICE,
                             request_id=uuid.UUID(int=self.world.rng.getrandbits(128)).hex)

    def _amendment_request(self, step: planning.Step) -> None:
        from caseledger.portal import services as portal

        self.amendment = portal.request_amendment(
            ctx=self._participant_ctx(step.args["p"]), category=Category.LANGUAGE,
            what_is_wrong="My record lists English as a language I speak well.",
            correction="Please list Spanish only; I need an interpreter for English.")

    def _amendment_acknowledge(self, _step: planning.Step) -> None:
        from caseledger.portal import services as portal

        portal.acknowledge_amendment(ctx=self.world.ctx("privacy"),
                                     request_id=self.amendment.pk)

    def _amendment_decide(self, _step: planning.Step) -> None:
        from caseledger.portal import services as portal

        portal.decide_amendment(
            ctx=self.world.ctx("privacy"), request_id=self.amendment.pk, decision="refuse",
            reasons="The interview notes record the interview held in English without an "
                    "interpreter; the record is kept as it is.")

    def _amendment_statement(self, step: planning.Step) -> None:
        from caseledger.portal import services as portal

        portal.file_statement(
            ctx=self._participant_ctx(step.args["p"]), request_id=self.amendment.pk,
            text="The interview was short and I did not understand everything. I ask for a "
                 "Spanish interpreter at every hearing.")
