"""Checks that the ledger in the database is intact.

For every entry, in position order: positions are dense from 0; the event it names exists;
re-encoding the event's fields gives exactly its stored leaf bytes; the leaf hash matches;
the chain hash equals SHA-256(previous chain hash || leaf hash); and the Merkle tree root at
each signed checkpoint's size equals the signed root. An altered field, a removed row or two
swapped rows each break one of these at the first affected position. The subject rows of a
search or list event (`ledger_event_subject`) must be exactly the subjects in its leaf.
A rewrite of the whole log from some point on, or a cut tail, is caught by the signed
checkpoints (their signatures are checked with the configured key); one that also replaces
the checkpoints in the database is caught by the auditor's copies (`caseledger-verify`),
which the database cannot reach.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Exists, OuterRef

from caseledger_verify import merkle, note

from . import checkpoints as checkpoints_mod
from . import encoding, tree
from .models import Checkpoint, Entry, Event, EventSubject, events_by_id


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    pending: int
    head: str
    problem: str = ""
    position: int | None = None
    event_uuid: str = ""

    def summary(self) -> str:
        if self.ok:
            return (
                f"ledger intact: {self.entries} entries, head {self.head[:16]}…, "
                f"{self.pending} pending integration"
            )
        where = f" at position {self.position}" if self.position is not None else ""
        which = f" (event {self.event_uuid})" if self.event_uuid else ""
        return f"ledger NOT intact{where}{which}: {self.problem}"


def _failure(problem: str, uuid: str = "", *, head: bytes, position: int,
             pos: int | None = None) -> VerifyResult:
    where = position if pos is None else pos
    return VerifyResult(False, where, 0, head.hex(), problem, where, uuid)


def verify_ledger(
    *, chunk: int = 5000, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Check every entry, then the Merkle tree against the signed checkpoints.

    Checkpoint signatures are checked with the configured key when one is available.
    """
    expected_position = 0
    previous = encoding.CHAIN_START
    last_position = -1
    builder = merkle.TreeBuilder()
    checkpoints = {c.size: c for c in Checkpoint.objects.all()}
    while True:
        entries = list(
            Entry.objects.filter(position__gt=last_position).order_by("position")[:chunk]
        )
        if not entries:
            break
        events = events_by_id([x.event_id for x in entries])
        subject_rows = _subject_rows(list(events))
        off_time = _rows_off_their_event(list(events))
        for entry in entries:
            fail = partial(_failure, head=previous, position=entry.position)
            if entry.position != expected_position:
                return fail(
                    f"entry {expected_position} is missing (next entry is {entry.position})",
                    pos=expected_position,
                )
            event = events.get(entry.event_id)
            if event is None:
                return fail(f"event #{entry.event_id} placed here has been removed")
            leaf = bytes(event.leaf)
            if encoding.canonical_bytes(encoding.event_fields(event)) != leaf:
                return fail(
                    "event fields do not match its recorded bytes (altered)", str(event.uuid)
                )
            rows = subject_rows.get(event.id, {})
            if set(rows) != set((event.detail or {}).get("subjects", [])):
                return fail(
                    "the persons recorded as returned by this event do not match its bytes "
                    "(a subject row was added or removed)", str(event.uuid)
                )
            if any(when != event.time for when in rows.values()) or event.id in off_time:
                return fail(
                    "a subject row of this event does not carry the event's time (altered: "
                    "the person would not find the event in their access history)",
                    str(event.uuid),
                )
            digest = encoding.leaf_hash(leaf)
            if digest != bytes(event.leaf_hash) or digest != bytes(entry.leaf_hash):
                return fail(
                    "leaf hash does not match the event bytes (altered or reordered)",
                    str(event.uuid),
                )
            builder.append(digest)
            checkpoint = checkpoints.get(builder.size)
            if checkpoint is not None and builder.root() != bytes(checkpoint.root):
                return fail(f"the tree up to here does not match signed checkpoint "
                            f"{checkpoint.size} (an earlier entry was changed)", str(event.uuid))
            previous = encoding.chain_hash(previous, digest)
            if previous != bytes(entry.chain_hash):
                return fail(
                    "chain hash does not follow from the previous entry "
                    "(altered, removed or reordered)",
                    str(event.uuid),
                )
            expected_position += 1
        last_position = entries[-1].position
        if progress:
            progress(len(entries))
    pending = Event.objects.filter(entry__isnull=True).count()
    problem = _check_checkpoints(checkpoints, expected_position, builder)
    if problem:
        return VerifyResult(False, expected_position, pending, previous.hex(), problem)
    return VerifyResult(True, expected_position, pending, previous.hex())


def _subject_rows(event_ids: list[int]) -> dict[int, dict[str, datetime]]:
    """Per event: each person its subject rows name, with the event time the row carries."""
    rows: dict[int, dict[str, datetime]] = defaultdict(dict)
    for event_id, subject, when in EventSubject.objects.filter(
        event_id__in=event_ids
    ).values_list("event_id", "subject_id", "event_time"):
        rows[event_id][str(subject)] = when
    return rows


def _rows_off_their_event(event_ids: list[int]) -> set[int]:
    """On SQLite, the events that have a subject row the access history would not match to
    them: it compares (event, time) in the database, where SQLite compares times as text, so a
    row holding the same instant written otherwise would hide the event while the comparison
    of instants above passes. PostgreSQL compares instants both ways: nothing to add there."""
    if connection.vendor != "sqlite":
        return set()
    same = Event.objects.filter(pk=OuterRef("event_id"), time=OuterRef("event_time"))
    return set(EventSubject.objects.filter(event_id__in=event_ids).exclude(Exists(same))
               .values_list("event_id", flat=True))


def _check_checkpoints(checkpoints: dict[int, Checkpoint], size: int,
                       builder: merkle.TreeBuilder) -> str:
    beyond = [s for s in checkpoints if s > size]
    if beyond:
        return (f"checkpoint {max(beyond)} was signed but the log has only {size} entries: "
                "entries were removed from the end")
    try:
        key = checkpoints_mod.verifier_key()
    except ImproperlyConfigured:
        key = None
    for checkpoint in checkpoints.values():
        if key is None:
            break
        try:
            signed = note.verify_note(checkpoint.note, key)
        except note.NoteError as exc:
            return f"checkpoint {checkpoint.size}: {exc}"
        if signed.size != checkpoint.size or signed.root != bytes(checkpoint.root):
            return f"checkpoint {checkpoint.size}: stored size/root differ from the signed note"
    if size and tree.root_at(size) != builder.root():
        return "the stored Merkle nodes do not match the entries (a node was altered)"
    return ""
