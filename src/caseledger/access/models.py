"""Time-limited grants of access to one person outside the ordinary policies."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from caseledger.core.models import BaseModel


class GrantKind(models.TextChoices):
    BREAK_GLASS = "break_glass", "Break-glass"
    PRIVACY_REVIEW = "privacy_review", "Privacy review"


class Grant(BaseModel):
    """Access for one user to one person until `expires_at`.

    Break-glass grants carry the user's stated reason and are flagged for privacy review
    until a privacy officer records a finding.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_grants"
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="access_grants"
    )
    kind = models.CharField(max_length=32, choices=GrantKind.choices)
    reason = models.TextField(db_comment="Why access was needed, in the user's words")
    expires_at = models.DateTimeField()
    flagged_for_review = models.BooleanField(default=True)
    review_finding = models.TextField(blank=True)

    class Meta:
        db_table = "access_grant"
        indexes = [
            models.Index(fields=["user", "person", "expires_at"], name="access_grant_lookup")
        ]
