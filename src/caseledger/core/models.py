"""Base model shared by every record that holds personal or case data, and the office-wide
figures reused for a short while (`Figure`)."""

from __future__ import annotations

import uuid

from django.db import models


class BaseModel(models.Model):
    """UUID primary key, creation/update times and a row version for optimistic locking.

    `row_version` is bumped by services on every update; an update that names an older
    version is refused (HTTP 409) instead of silently overwriting someone else's change.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(
        auto_now_add=True, db_comment="When the row was created (UTC)"
    )
    updated_at = models.DateTimeField(auto_now=True, db_comment="When the row last changed (UTC)")
    row_version = models.PositiveIntegerField(
        default=1, db_comment="Optimistic-lock counter, bumped by every service update"
    )

    class Meta:
        abstract = True


class Figure(models.Model):
    """A figure about a whole office kept for reuse (`core.reuse`): a count, or the chart's
    weekly counts. Numbers only, never personal data, stored as JSON (never pickled: a row of
    the database must not be able to run code in the application). Kept in the database it
    describes, shared by every process and kept across restarts."""

    key = models.CharField(max_length=200, primary_key=True,
                           db_comment="The office and the figure's name")
    value = models.JSONField(db_comment="The figure (a number, or lists of numbers)")
    as_of = models.CharField(max_length=64, blank=True,
                             db_comment="What the figure was counted for (a day), if anything")
    computed_at = models.DateTimeField(db_comment="When it was counted (UTC)")
    recounting_since = models.DateTimeField(
        null=True, blank=True,
        db_comment="Set while a process recounts it in the background (one at a time)")

    class Meta:
        db_table = "core_figure"
        db_table_comment = "Office-wide figures reused for a short while (numbers only)"

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"
