"""Proofs served to auditors and participants (no personal data: hashes and positions)."""

from __future__ import annotations

import uuid
from typing import Any

from caseledger.core.errors import LedgerUnavailable, NotFound, ValidationError
from caseledger_verify import merkle

from . import ids, tree
from .models import Checkpoint, Entry, Event


def _tree_size() -> int:
    last = Entry.objects.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


def _check_size(size: int, what: str = "size") -> None:
    current = _tree_size()
    if size < 1 or size > current:
        raise ValidationError(f"{what} must be between 1 and the tree size ({current}).",
                              field=what)


def inclusion(*, event_id: Any, size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of one event in the tree of `size` (default: latest checkpoint)."""
    try:
        eid = uuid.UUID(str(event_id))
    except ValueError:
        raise ValidationError("event must be an event id (UUID).", field="event") from None
    row = locate(eid)
    if row is None:
        raise NotFound("No event has that id.")
    position, digest = row
    if position is None:
        raise NotFound("That event is not yet integrated into the tree; try again in a few "
                       "seconds.", code="not_integrated")
    if size is None:
        latest = Checkpoint.objects.order_by("-size").values_list("size", flat=True).first()
        if latest is None or latest <= position:
            raise NotFound("No signed checkpoint includes that event yet.",
                           code="not_checkpointed")
        size = latest  # a signed checkpoint never exceeds the integrated tree
    else:
        _check_size(size)
    if position >= size:
        raise ValidationError(f"The event is at position {position}; a tree of size {size} "
                              "does not include it.", field="size")
    return inclusion_at(position, bytes(digest), size)


def inclusion_at(position: int, digest: bytes, size: int) -> dict[str, Any]:
    """The inclusion proof of the leaf `digest` at `position` (found by `locate`) in the tree
    of `size`, which the caller has checked holds it."""
    proof = merkle.InclusionProof(position, size, digest,
                                  tuple(_stored(tree.inclusion_proof, position, size)))
    return proof.to_dict()


def locate(eid: uuid.UUID) -> tuple[int | None, bytes] | None:
    """The event's tree position (None until integrated) and leaf hash. An id that carries its
    time (`ids.time_range`) is looked up within that time, which on the partitioned ledger
    reads one month's index; an id that does not (version 4, or a time that does not match) is
    looked up across every month."""
    rows = Event.objects.filter(uuid=eid).values_list("entry__position", "leaf_hash")
    span = ids.time_range(eid)
    if span is not None:
        found = list(rows.filter(time__gte=span[0], time__lt=span[1])[:1])
        if found:
            return found[0]
    found = list(rows[:1])
    return found[0] if found else None


def _stored(generate: Any, *args: int) -> list[bytes]:
    """Proof hashes from the stored tree; a missing node means the database was altered."""
    try:
        return generate(*args)
    except LookupError as exc:
        raise LedgerUnavailable("The stored tree is incomplete, so no proof can be served. "
                                "Run `caseledger ledger verify`.") from exc


def consistency(*, first: int, second: int) -> dict[str, Any]:
    if first < 0 or first > second:
        raise ValidationError("from must be between 0 and to.", field="from")
    _check_size(second, "to")
    hashes = _stored(tree.consistency_proof, first, second)
    proof = merkle.ConsistencyProof(first, second, tuple(hashes))
    return proof.to_dict()
