"""Writes of retention: legal holds and the purge. Each change runs in one transaction with its
ledger event; a purge is one transaction per batch, each batch with its certificate.

The purge is run by a privacy officer or by the scheduled job (`SYSTEM_CONTEXT`). Ledger
events are never purged: the log is append-only and its Merkle proofs would break.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny
from caseledger.access.policies import Ability
from caseledger.core import clock
from caseledger.core.errors import Conflict, NotFound, ValidationError
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import record_refusal, record_write
from caseledger.ledger.vocabulary import Action, Category, Purpose, record_type_of

from .classes import NOT_PURGED, RUN_ORDER, SPECS, ClassSpec
from .models import (
    DataClass,
    DeletionCertificate,
    DeletionItem,
    LegalHold,
    PurgeRun,
    Schedule,
)
from .selectors import require_hold

CATEGORY = Category.RETENTION
MIN_REASON = 10
MAX_BATCH = 10_000
SCAN = 50_000  # candidate keys listed per pass over a table
PERMANENT_MESSAGE = (
    "Ledger events are never purged: the ledger is append-only and every event is a leaf of "
    "the signed Merkle tree, so deleting one would break every later proof (DESIGN invariant "
    "2). Their schedule is permanent."
)


class _SystemUser:
    """The scheduled job's identity: not a login, cannot sign in, acts as `system`."""

    pk = None
    id = None
    role = "system"
    is_active = True
    is_authenticated = False
    username = "system"


SYSTEM_USER = _SystemUser()
SYSTEM_CONTEXT = AccessContext(user=SYSTEM_USER, purpose=Purpose.RETENTION)  # type: ignore[arg-type]


def _is_system(ctx: AccessContext) -> bool:
    return ctx.user is SYSTEM_USER


def _require_privacy_officer(
    ctx: AccessContext,
    action: str,
    *,
    allow_system: bool,
    record_type: str = "retention.schedule",
    record_id: Any = "",
    subject_id: Any = None,
) -> None:
    """A privacy officer (or, where allowed, the scheduled job); anyone else: one denied event,
    naming the person of the hold asked for (if any), and a 403."""
    if allow_system and _is_system(ctx):
        return
    policies.require(
        ctx, Ability.PRIVACY_WORK, action=action, category=CATEGORY, record_type=record_type,
        record_id=record_id, subject_id=subject_id,
        message="Only a privacy officer may do this (retention: purges and legal holds).",
    )


def _class_code(value: str, *, field_name: str, allow_blank: bool = False) -> str:
    code = (value or "").strip()
    if allow_blank and not code:
        return ""
    if code not in DataClass.values:
        raise ValidationError(
            f"Unknown data class '{code[:40]}'. Use one of: {', '.join(DataClass.values)}.",
            field=field_name,
            code="unknown_class",
        )
    return code


# --- legal holds ----------------------------------------------------------------------------
def place_hold(
    *, ctx: AccessContext, person_id: Any, reason: str, data_class: str = ""
) -> LegalHold:
    """A privacy officer keeps one person's data (one class, or all) past its retention date."""
    from caseledger.people.models import Person

    _require_privacy_officer(ctx, Action.PLACE_HOLD, allow_system=False,
                             record_type=record_type_of(Person), record_id=person_id,
                             subject_id=person_id)
    code = _class_code(data_class, field_name="data_class", allow_blank=True)
    if code in NOT_PURGED or code == DataClass.IMPORT_QUARANTINE:
        raise ValidationError(
            f"A hold on '{code}' means nothing: that class is not purged per person.",
            field="data_class",
            code="not_holdable",
        )
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            f"Give the reason for the hold in at least {MIN_REASON} characters.",
            field="reason",
        )
    try:
        pid = uuid.UUID(str(person_id))
    except ValueError:
        deny(ctx, action=Action.PLACE_HOLD, category=CATEGORY,
             record_type=record_type_of(Person), record_id=person_id)
        raise ValidationError("That is not a person id (UUID).", field="person") from None
    if not Person.objects.filter(pk=pid).exists():
        deny(ctx, action=Action.PLACE_HOLD, category=CATEGORY,
             record_type=record_type_of(Person), record_id=pid)
        raise NotFound(
            "No person has that id: a legal hold must name an existing person.",
            code="unknown_person",
        )
    try:
        with transaction.atomic():
            hold = LegalHold.objects.create(
                person_id=pid,
                data_class=code,
                reason=reason[:2000],
                placed_by=ctx.user,
                placed_at=clock.now(),
            )
            record_write(
                actor=ctx.actor,
                purpose=ctx.purpose,
                request_id=ctx.request_id,
                action=Action.PLACE_HOLD,
                category=CATEGORY,
                subject_id=pid,
                record_type=record_type_of(hold),
                record_id=hold.pk,
                detail={"data_class": code or "all"},
            )
    except IntegrityError:
        raise Conflict(
            "This person already has a hold in force on that data class.", code="already_held"
        ) from None
    return hold


def release_hold(*, ctx: AccessContext, hold_id: Any, reason: str) -> LegalHold:
    """A privacy officer releases a hold, with a reason; its data falls due again."""
    if not policies.allows(ctx.user, Ability.PRIVACY_WORK):  # the hold's person: only to refuse
        _require_privacy_officer(ctx, Action.RELEASE_HOLD, allow_system=False,
                                 record_type=record_type_of(LegalHold), record_id=hold_id,
                                 subject_id=policies.person_of(LegalHold, hold_id))
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationError(
            f"Give the reason for the release in at least {MIN_REASON} characters.",
            field="reason",
        )
    hold = require_hold(ctx, hold_id, action=Action.RELEASE_HOLD, act=policies.Act.CHANGE)
    with transaction.atomic():
        update_versioned(
            hold, None, where=Q(released_at__isnull=True), what="legal hold",
            conflict_message="This legal hold has already been released.",
            conflict_code="already_released",
            released_at=clock.now(), released_by=ctx.user, release_reason=reason[:2000],
        )
        record_write(
            actor=ctx.actor,
            purpose=ctx.purpose,
            request_id=ctx.request_id,
            action=Action.RELEASE_HOLD,
            category=CATEGORY,
            subject_id=hold.person_id,
            record_type=record_type_of(hold),
            record_id=hold.pk,
            detail={"data_class": hold.data_class or "all"},
        )
    return hold


# --- the purge ------------------------------------------------------------------------------
@dataclass
class ClassResult:
    data_class: str
    due: int = 0  # due on the day, held or not
    held: int = 0  # due but kept by a legal hold
    deleted: int = 0
    certificates: list[uuid.UUID] = field(default_factory=list)
    skipped: str = ""  # why the class was not run ("model not built yet")

    @property
    def takeable(self) -> int:
        """Due and not held: what the run deletes (or, in a dry run, would delete)."""
        return self.due - self.held

    def as_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "held": self.held,
            "deleted": self.deleted,
            "certificates": len(self.certificates),
            **({"skipped": self.skipped} if self.skipped else {}),
        }


@dataclass
class PurgeResult:
    dry_run: bool
    today: date
    run_id: uuid.UUID | None = None
    classes: dict[str, ClassResult] = field(default_factory=dict)

    @property
    def deleted(self) -> int:
        return sum(c.deleted for c in self.classes.values())

    @property
    def held(self) -> int:
        return sum(c.held for c in self.classes.values())

    @property
    def due(self) -> int:
        return sum(c.due for c in self.classes.values())

    @property
    def takeable(self) -> int:
        return sum(c.takeable for c in self.classes.values())

    @property
    def certificates(self) -> list[uuid.UUID]:
        return [c for r in self.classes.values() for c in r.certificates]

    def as_dict(self) -> dict[str, Any]:
        return {str(code): r.as_dict() for code, r in self.classes.items()}


Progress = Callable[[str, int, int], None]


def held_persons(code: str) -> QuerySet[Any]:
    """Ids of the persons whose data of class `code` is under a hold in force."""
    return (
        LegalHold.objects.filter(released_at__isnull=True)
        .filter(Q(data_class="") | Q(data_class=code))
        .values("person_id")
    )


def _split(spec: ClassSpec, qs: QuerySet[Any]) -> tuple[QuerySet[Any], QuerySet[Any]]:
    """(rows the purge may take, rows a hold keeps)."""
    if spec.person_path is None:
        return qs, qs.none()
    held = {f"{spec.person_path}__in": held_persons(spec.code)}
    return qs.exclude(**held), qs.filter(**held)


def _schedules() -> dict[str, Schedule]:
    return {s.data_class: s for s in Schedule.objects.all()}


def _check_class(ctx: AccessContext, data_class: str | None) -> str | None:
    if data_class is None or data_class == "":
        return None
    code = _class_code(data_class, field_name="data_class")
    if code == DataClass.LEDGER_EVENT:
        record_refusal(
            actor=ctx.actor,
            purpose=ctx.purpose,
            request_id=ctx.request_id,
            action=Action.PURGE,
            category=CATEGORY,
            record_type="ledger.event",
            detail={"data_class": code, "reason": "permanent"},
        )
        raise ValidationError(PERMANENT_MESSAGE, field="data_class", code="permanent")
    if code in NOT_PURGED:
        raise ValidationError(
            f"The '{code}' class is not purged by the engine: its schedule leaves deletion to "
            "the records officer.",
            field="data_class",
            code="not_automatic",
        )
    return code


def run_purge(
    ctx: AccessContext,
    *,
    dry_run: bool = False,
    data_class: str | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    trigger: str = "command",
) -> PurgeResult:
    """Purge what is due today (or, with `dry_run`, count it and write nothing).

    Per class: the due rows that no legal hold keeps are purged in batches of `batch_size`,
    one transaction per batch, each batch leaving a `DeletionCertificate` and a ledger event
    (action `purge`, category `retention`) with the ids; per person, a `DeletionItem` that the
    person sees. A second run finds nothing left to purge.
    """
    _require_privacy_officer(ctx, Action.PURGE, allow_system=True)
    code = _check_class(ctx, data_class)
    if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise ValidationError(
            f"The batch size must be between 1 and {MAX_BATCH:,}.", field="batch_size"
        )
    today = clock.today()
    schedules = _schedules()
    codes = [code] if code else [str(c) for c in RUN_ORDER]
    result = PurgeResult(dry_run=dry_run, today=today)
    run: PurgeRun | None = None
    if not dry_run:
        with transaction.atomic():
            run = PurgeRun.objects.create(
                started_at=clock.now(),
                started_by=None if _is_system(ctx) else ctx.user,
                trigger=trigger[:16],
            )
        result.run_id = run.pk
    for c in codes:
        spec = SPECS[c]
        outcome = ClassResult(c)
        result.classes[c] = outcome
        schedule = schedules.get(c)
        if schedule is None or not schedule.purgeable:
            outcome.skipped = "no schedule" if schedule is None else schedule.method
            continue
        due = spec.due(schedule.period_days, today)
        if due is None:
            outcome.skipped = "model not available"
            continue
        takeable, held = _split(spec, due)
        outcome.held = held.count()
        remaining = takeable.count()
        outcome.due = remaining + outcome.held
        if progress:
            progress(c, 0, remaining)
        if dry_run or remaining == 0:
            continue
        assert run is not None
        _purge_class(ctx, run, spec, schedule, takeable, batch_size, outcome, remaining, progress)
    if run is not None:
        with transaction.atomic():
            PurgeRun.objects.filter(pk=run.pk).update(
                finished_at=clock.now(), summary=result.as_dict(), updated_at=clock.now()
            )
            record_write(
                actor=ctx.actor,
                purpose=ctx.purpose,
                request_id=ctx.request_id,
                action=Action.PURGE_RUN,
                category=CATEGORY,
                record_type=record_type_of(run),
                record_id=run.pk,
                detail={"classes": result.as_dict(), "before": today.isoformat()},
            )
    return result


def _purge_class(
    ctx: AccessContext,
    run: PurgeRun,
    spec: ClassSpec,
    schedule: Schedule,
    takeable: QuerySet[Any],
    batch_size: int,
    outcome: ClassResult,
    total: int,
    progress: Progress | None,
) -> None:
    """Candidates are listed SCAN at a time (one pass over the table each, keyset on the key);
    each batch then re-reads its candidates by key, under row locks, with every condition of
    being due and not held, so what it certifies is exactly what it purged."""
    fields = ("pk", spec.person_path) if spec.person_path else ("pk",)
    last: Any = None
    while True:
        listing = takeable.order_by("pk")
        if last is not None:
            listing = listing.filter(pk__gt=last)
        candidates = list(listing.values_list("pk", flat=True)[:SCAN])
        if not candidates:
            return
        last = candidates[-1]
        for start in range(0, len(candidates), batch_size):
            chunk = candidates[start : start + batch_size]
            with transaction.atomic():
                qs = takeable.filter(pk__in=chunk).order_by("pk")
                if connection.features.has_select_for_update:
                    qs = qs.select_for_update(of=("self",))
                rows = list(qs.values_list(*fields))
                if not rows:  # purged or held meanwhile
                    continue
                ids = [r[0] for r in rows]
                purged = spec.purge(takeable.model.objects.filter(pk__in=ids))
                if purged != len(ids):  # cannot happen under the row locks; never certify a guess
                    raise Conflict("The records changed during the purge; run it again.")
                _certify(ctx, run, spec, schedule, rows, outcome)
            outcome.deleted += len(ids)
            if progress:
                progress(spec.code, outcome.deleted, total)
        if len(candidates) < SCAN:
            return


def _certify(
    ctx: AccessContext,
    run: PurgeRun,
    spec: ClassSpec,
    schedule: Schedule,
    rows: list[tuple[Any, ...]],
    outcome: ClassResult,
) -> None:
    now = clock.now()
    ids = [str(r[0]) for r in rows]
    per_person = Counter(str(r[1]) for r in rows if len(r) > 1 and r[1] is not None)
    certificate = DeletionCertificate(
        run=run,
        data_class=spec.code,
        schedule=schedule,
        schedule_version=schedule.version,
        method=schedule.method,
        count=len(ids),
        record_type=spec.record_type,
        record_ids=ids,
        persons=len(per_person),
        issued_at=now,
    )
    event = record_write(
        actor=ctx.actor,
        purpose=ctx.purpose,
        request_id=ctx.request_id,
        action=Action.PURGE,
        category=CATEGORY,
        record_type=record_type_of(certificate),
        record_id=certificate.pk,
        detail={
            "data_class": spec.code,
            "count": len(ids),
            "schedule": schedule.data_class,
            "schedule_version": schedule.version,
            "record_type": spec.record_type,
            "record_ids": ids,
        },
    )
    certificate.ledger_event = event.uuid
    certificate.save(force_insert=True)
    DeletionItem.objects.bulk_create(
        [
            DeletionItem(
                certificate=certificate,
                person_id=uuid.UUID(person),
                data_class=spec.code,
                count=n,
                deleted_at=now,
            )
            for person, n in sorted(per_person.items())
        ]
    )
    outcome.certificates.append(certificate.pk)
