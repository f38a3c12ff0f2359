"""Base model shared by every record that holds personal or case data."""

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
