"""Record ids from the outside world (URLs, request bodies)."""

from __future__ import annotations

import uuid
from typing import Any


def as_uuid(value: Any) -> uuid.UUID | None:
    """`value` as a UUID, or None when it is not one (the caller decides what that means)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
