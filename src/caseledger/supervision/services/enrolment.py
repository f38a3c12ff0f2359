"""Enrolment: level, conditions, schedule, consent, the reference photo and a participant
login, in one transaction; and the end of an enrolment (termination, departure)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import require_person
from caseledger.access.policies import Ability, Scope
from caseledger.accounts.models import User
from caseledger.accounts.services import create_participant_login
from caseledger.biometrics import verifier as faces
from caseledger.core import clock
from caseledger.core.errors import Conflict, ValidationError
from caseledger.core.versioning import update_versioned
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of
from caseledger.notices import services as notices
from caseledger.people.models import Person

from .. import consent as consent_notice
from ..models import Enrolment, EnrolmentStatus, Level, ReferencePhoto
from ..sealing import seal
from .consent import record_consent
from .schedule import ScheduleInput, create_schedule

CONDITIONS = {
    "report_address_changes": "Report any change of address within 5 days",
    "attend_hearings": "Attend every hearing",
    "no_travel_outside_state": "Do not travel outside the state without permission",
    "office_visit_monthly": "Visit the office once a month",
}


@dataclass
class EnrolmentInput:
    level: str
    photo: bytes
    language: str
    acknowledged: bool
    alternatives_offered: list[str]
    conditions: list[str]
    first_window_at: datetime
    every_days: int = 7
    window_hours: int = 24
    grace_minutes: int = 60
    max_attempts: int = 3

    def schedule(self) -> ScheduleInput:
        return ScheduleInput(self.first_window_at, self.every_days, self.window_hours,
                             self.grace_minutes, self.max_attempts)


@dataclass(frozen=True)
class EnrolmentResult:
    enrolment: Enrolment
    username: str
    temporary_password: str | None  # shown once, when a new participant login is issued


def _check_enrolment_input(data: EnrolmentInput) -> None:
    if data.level not in Level.values:
        raise ValidationError(f"Unknown supervision level '{data.level}'.", field="level")
    unknown = sorted(set(data.conditions) - set(CONDITIONS))
    if unknown:
        raise ValidationError(f"Unknown condition codes: {', '.join(unknown)}.", field="conditions")
    if not data.acknowledged:
        raise ValidationError(
            "The person must acknowledge the notice before enrolment. If they "
            "do not agree, offer the alternatives instead.",
            field="acknowledged",
        )
    bad = sorted(set(data.alternatives_offered) - set(consent_notice.ALTERNATIVES))
    if bad or not data.alternatives_offered:
        raise ValidationError(
            "Record the alternatives offered (office visit, phone call).",
            field="alternatives_offered",
        )
    data.schedule().check()


def _participant_login(person: Person) -> tuple[User, str | None]:
    """The person's login, issued now (with a temporary password) if they have none."""
    if person.participant_account_id:
        return person.participant_account, None
    base = f"p{person.a_number[1:]}" if person.a_number else f"p{secrets.token_hex(4)}"
    user, password = create_participant_login(
        username_base=base, language=(person.languages or ["en"])[0]
    )
    person.participant_account = user
    person.save(update_fields=["participant_account", "updated_at"])
    return user, password


def _officer_for(ctx: AccessContext, person: Person) -> User:
    """The responsible officer: a case officer enrols for themselves; anyone whose reach is
    wider (a supervisor) enrols for the person's case officer."""
    if policies.scope(ctx.user) is Scope.CASELOAD:
        return ctx.user
    assignment = (
        person.caseload_assignments.filter(ended_at__isnull=True).select_related("officer").first()
    )
    if assignment is None:
        raise ValidationError("Assign the person to a case officer before enrolling them.")
    return assignment.officer


def enrol(*, ctx: AccessContext, person_id: Any, data: EnrolmentInput) -> EnrolmentResult:
    """Enrol a person: level, conditions, schedule, consent bound to the notice's hash, the
    reference photo (quality-checked, template and photo encrypted) and a participant login."""
    policies.require(ctx, Ability.SUPERVISE, action=Action.CREATE, category=Category.SUPERVISION,
                     record_type=record_type_of(Person), record_id=person_id,
                     subject_id=person_id,
                     message="Only case officers and supervisors enrol participants.")
    person = require_person(ctx, person_id, category=Category.SUPERVISION, action=Action.CREATE)
    _check_enrolment_input(data)
    analysis = faces.get_verifier().embed(data.photo)
    if not analysis.ok:
        raise ValidationError(
            f"The reference photo cannot be used: {analysis.message}",
            field="photo",
            code=analysis.outcome,
        )
    try:
        with transaction.atomic():
            return _create_enrolment(ctx, person, data, analysis)
    except IntegrityError as exc:
        raise Conflict(
            "This person is already enrolled in supervision.", code="already_enrolled"
        ) from exc


def _create_enrolment(
    ctx: AccessContext, person: Person, data: EnrolmentInput, analysis: Any
) -> EnrolmentResult:
    """The rows and events of an enrolment; inside its transaction."""
    if Enrolment.objects.filter(person=person, status=EnrolmentStatus.ACTIVE).exists():
        raise Conflict("This person is already enrolled in supervision.", code="already_enrolled")
    now = clock.now()
    enrolment = Enrolment.objects.create(
        person=person,
        officer=_officer_for(ctx, person),
        level=data.level,
        conditions=sorted(set(data.conditions)),
        started_at=now,
    )
    record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                 action=Action.CREATE, category=Category.SUPERVISION, subject_id=person.pk,
                 record_type=record_type_of(Enrolment), record_id=enrolment.pk,
                 detail={"level": data.level, "conditions": enrolment.conditions})
    record_consent(ctx, enrolment, consent_notice.notice(data.language),
                   alternatives=data.alternatives_offered, at=now)
    schedule = create_schedule(enrolment, data.schedule())
    _store_reference_photo(ctx, enrolment, data.photo, analysis)
    user, password = _participant_login(person)
    if password:
        record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                     action=Action.CREATE, category=Category.ACCOUNT, subject_id=person.pk,
                     record_type=record_type_of(User), record_id=user.pk,
                     detail={"role": user.role})
    notices.plan_for_schedule(schedule)
    return EnrolmentResult(enrolment, user.username, password)


def _store_reference_photo(
    ctx: AccessContext, enrolment: Enrolment, image: bytes, analysis: Any
) -> ReferencePhoto:
    """The enrolment photo and its face template, each sealed to the row."""
    photo = ReferencePhoto(
        enrolment=enrolment,
        model_id=analysis.model_id,
        quality=analysis.measures(),
    )
    photo.photo_encrypted = seal(image, photo.pk, "enrolment_photo")
    photo.template_encrypted = seal(analysis.template(), photo.pk, "face_template")
    photo.save(force_insert=True)
    record_write(actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id,
                 action=Action.CREATE, category=Category.BIOMETRIC,
                 subject_id=enrolment.person_id, record_type=record_type_of(ReferencePhoto),
                 record_id=photo.pk, detail={"model": analysis.model_id})
    return photo


def end_enrolment(enrolment: Enrolment, now: datetime, reason: str) -> None:
    """End an active enrolment (inside the caller's transaction, before its event): the
    reference photo falls due for deletion and reminders still waiting are cancelled. An
    enrolment that ended meanwhile is a Conflict, never a second end."""
    update_versioned(
        enrolment, None, where=Q(status=EnrolmentStatus.ACTIVE), what="enrolment",
        conflict_message="Supervision has already ended.", conflict_code="ended",
        status=EnrolmentStatus.ENDED, ended_at=now, end_reason=reason,
    )
    ReferencePhoto.objects.filter(enrolment=enrolment).update(
        active=False,
        delete_after=(now + timedelta(days=settings.ENROLMENT_PHOTO_RETENTION_DAYS)).date(),
    )
    notices.plan_for_schedule(enrolment.schedule)  # an ended enrolment cancels what waits
