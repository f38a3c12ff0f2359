"""Users, their roles and offices, caseload assignments and API tokens."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from caseledger.core.models import BaseModel


class Role(models.TextChoices):
    CASE_OFFICER = "case_officer", "Case officer"
    SUPERVISOR = "supervisor", "Supervisor"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    ADMINISTRATOR = "administrator", "Administrator"
    PARTICIPANT = "participant", "Participant"
    REPRESENTATIVE = "representative", "Representative"


STAFF_ROLES = frozenset(
    {Role.CASE_OFFICER, Role.SUPERVISOR, Role.PRIVACY_OFFICER, Role.ADMINISTRATOR}
)


class Office(BaseModel):
    code = models.SlugField(max_length=32, unique=True, db_comment="Short code, e.g. east")
    name = models.CharField(max_length=120, db_comment="Display name")
    time_zone = models.CharField(
        max_length=64, default="America/New_York", db_comment="IANA time zone of the office"
    )

    class Meta:
        db_table = "accounts_office"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(max_length=32, choices=Role.choices, db_comment="What the user does")
    office = models.ForeignKey(
        Office,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        db_comment="Office of a staff member",
    )
    preferred_language = models.CharField(max_length=8, default="en")
    must_change_password = models.BooleanField(
        default=False,
        db_comment="The password was set by an administrator (a new account or a reset): the "
        "holder chooses their own at the next sign-in; API tokens are refused until then",
    )

    class Meta:
        db_table = "accounts_user"
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="accounts_user_role_valid"
            ),
        ]

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    def __str__(self) -> str:
        return self.username


class CaseloadAssignment(BaseModel):
    """Which officer supervises which person; one open assignment per person at a time."""

    officer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="caseload")
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="caseload_assignments"
    )
    started_at = models.DateTimeField(db_comment="When the officer took the person on")
    ended_at = models.DateTimeField(null=True, blank=True, db_comment="Open while null")

    class Meta:
        db_table = "accounts_caseload"
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(ended_at__isnull=True),
                name="accounts_caseload_one_open_per_person",
            ),
        ]
        indexes = [models.Index(fields=["officer", "ended_at"], name="accounts_caseload_officer")]


class ApiToken(BaseModel):
    """A bearer token: only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True, db_comment="SHA-256 hex of the token")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_api_token"


class RoleRequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second administrator"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class RoleGrantRequest(BaseModel):
    """A role that needs two administrators (`services.TWO_PERSON_ROLES`): proposed by one,
    approved or declined by another. Until it is approved the account keeps its role (a new
    account waits inactive). One pending request per account; the decider is never the
    proposer (both also database constraints)."""

    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False, db_comment="Id of the request"
    )
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="role_requests",
        db_comment="The account whose role would change",
    )
    role = models.CharField(max_length=32, choices=Role.choices, db_comment="The role proposed")
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_comment="The office proposed with the role (empty: none)",
    )
    from_role = models.CharField(
        max_length=32, blank=True,
        db_comment="The account's role when proposed (empty: a new account); approval is "
        "refused if it has changed since",
    )
    new_account = models.BooleanField(
        default=False, db_comment="Proposed with a new account, which stays inactive until approved"
    )
    status = models.CharField(
        max_length=16, choices=RoleRequestStatus.choices, default=RoleRequestStatus.PENDING,
        db_comment="pending, approved or declined",
    )
    proposed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+",
        db_comment="The administrator who proposed the role",
    )
    proposed_at = models.DateTimeField(db_comment="When the role was proposed (UTC)")
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_comment="The second administrator, who approved or declined",
    )
    decided_at = models.DateTimeField(
        null=True, blank=True, db_comment="When it was approved or declined (UTC)"
    )

    class Meta:
        db_table = "accounts_role_request"
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="pending"),
                name="accounts_role_request_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="accounts_role_request_two_people",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True)
                | Q(~Q(status="pending"), decided_by__isnull=False, decided_at__isnull=False),
                name="accounts_role_request_decided",
            ),
        ]
