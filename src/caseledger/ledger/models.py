"""The append-only ledger.

`Event` is what happened, written in the same transaction as the change it describes (or,
for a read, before the data is handed out). `Entry` gives each committed event its place in
the log: a dense position and a SHA-256 chain hash over every earlier entry. Neither table
has an update or delete path in the code; on PostgreSQL triggers refuse both (see
migrations/0002_append_only.py). On PostgreSQL `ledger_event` is partitioned by month of
`time` (migration 0007, `partitions.py`): its database keys are (id, time) and (uuid, time);
Django still knows `id` as the primary key.

Events hold ids and categories, never copies of personal data: names, addresses and search
terms stay in their own tables, which retention may purge; the ledger keeps only who did
what to which record, when and why.
"""

from __future__ import annotations

import uuid

from django.db import models

from . import ids


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "allowed"
    DENIED = "denied", "denied"
    FAILED = "failed", "failed"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[override]
        raise TypeError("ledger rows are append-only: update() is not allowed")

    def delete(self):  # type: ignore[override]
        raise TypeError("ledger rows are append-only: delete() is not allowed")

    def bulk_update(self, *args, **kwargs):  # type: ignore[override]
        raise TypeError("ledger rows are append-only: bulk_update() is not allowed")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[override]
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are append-only: they cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[override]
        raise TypeError(f"{type(self).__name__} rows are append-only: they cannot be deleted")


class Event(AppendOnlyModel):
    id = models.BigAutoField(primary_key=True, db_comment="Insertion order; not the tree position")
    uuid = models.UUIDField(
        unique=True,
        default=ids.now_event_id,
        editable=False,
        db_comment="Public event id, part of the leaf bytes",
    )
    time = models.DateTimeField(db_index=True, db_comment="When it happened (UTC, microseconds)")
    actor_id = models.CharField(
        max_length=64, blank=True, db_comment="User id of who acted; empty for the system"
    )
    actor_role = models.CharField(max_length=32, blank=True, db_comment="Role of the actor then")
    office = models.CharField(max_length=32, blank=True, db_comment="Office code of the actor then")
    action = models.CharField(max_length=64, db_comment="What was done: read, search, create, ...")
    subject_id = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        db_comment="The person whose data this concerns, if one",
    )
    record_type = models.CharField(max_length=64, blank=True, db_comment="app_label.model")
    record_id = models.CharField(max_length=64, blank=True, db_comment="Primary key of the record")
    data_category = models.CharField(max_length=32, db_comment="identity, address, case, ...")
    purpose = models.CharField(max_length=32, db_comment="Declared purpose of the access")
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, db_comment="allowed, denied or failed"
    )
    request_id = models.CharField(max_length=64, blank=True, db_comment="HTTP request id")
    detail = models.JSONField(
        default=dict, blank=True, db_comment="Ids, field names and codes only; never personal data"
    )
    leaf = models.BinaryField(db_comment="Canonical encoding: the bytes that are hashed")
    leaf_hash = models.BinaryField(max_length=32, db_comment="SHA-256(0x00 || leaf), RFC 6962")

    class Meta:
        db_table = "ledger_event"
        indexes = [models.Index(fields=["subject_id", "time"], name="ledger_event_subject_time")]

    def __str__(self) -> str:
        return f"{self.action} {self.record_type}:{self.record_id} ({self.outcome})"


class EventSubject(AppendOnlyModel):
    """One row per person a search or list returned: the index that lets "who accessed my
    record" and the anomaly review find the event by that person.

    The same ids are in the event's leaf (`detail["subjects"]`), so the rows are covered by
    the hash chain: `caseledger ledger verify` checks that they match the leaf."""

    # No database constraint: on PostgreSQL `ledger_event` is partitioned by month and its
    # keys hold the time (migration 0007), so nothing can reference (id) alone. The verifier
    # checks the rows against the event's hashed leaf instead.
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="subject_rows", db_constraint=False,
        db_comment="The search or list event",
    )
    subject_id = models.UUIDField(db_comment="A person the event returned")
    # The event's time, its partition key on PostgreSQL: "who accessed my record" finds a
    # person's listed events by (id, time), one month's index each, instead of probing every
    # month by id (migration 0010). The verifier checks it against the event.
    event_time = models.DateTimeField(db_comment="The event's time (finds it in its month)")

    class Meta:
        db_table = "ledger_event_subject"
        db_table_comment = "Append-only: the persons a search or list event returned"
        constraints = [
            models.UniqueConstraint(fields=["event", "subject_id"], name="event_subject_once")
        ]
        indexes = [models.Index(fields=["subject_id", "event_time", "event"],
                                name="ledger_subject_event_keys")]

    def __str__(self) -> str:
        return f"{self.subject_id} in event {self.event_id}"


class Entry(AppendOnlyModel):
    """The event at `position` in the log, chained to everything before it."""

    position = models.BigIntegerField(primary_key=True, db_comment="0-based position in the log")
    event = models.OneToOneField(
        Event,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="entry",
        db_comment="The event placed here",
    )
    leaf_hash = models.BinaryField(max_length=32, db_comment="Copy of the event's leaf hash")
    chain_hash = models.BinaryField(
        max_length=32, db_comment="SHA-256(previous chain hash || leaf hash); 32 zero bytes first"
    )
    integrated_at = models.DateTimeField(db_comment="When the integrator placed it")

    class Meta:
        db_table = "ledger_entry"

    def __str__(self) -> str:
        return f"entry {self.position}"


class Node(AppendOnlyModel):
    """The hash of a complete subtree of the Merkle tree, stored once when it fills up.

    Level 0 (the leaf hashes) lives in `Entry`; a node at `level` >= 1 covers the leaves
    [index << level, (index + 1) << level). Proofs are served from these without
    recomputing the tree.
    """

    pk = models.CompositePrimaryKey("level", "index")
    level = models.PositiveSmallIntegerField(db_comment="Height of the subtree (>= 1)")
    index = models.BigIntegerField(db_comment="Position of the subtree at its level")
    hash = models.BinaryField(max_length=32, db_comment="RFC 6962 node hash")

    class Meta:
        db_table = "ledger_node"

    def __str__(self) -> str:
        return f"node {self.level}/{self.index}"


class Checkpoint(AppendOnlyModel):
    """A signed tree head in the C2SP signed-note format, kept as it was signed."""

    size = models.BigIntegerField(primary_key=True, db_comment="Tree size (number of entries)")
    root = models.BinaryField(max_length=32, db_comment="Merkle tree hash at that size")
    note = models.TextField(db_comment="The signed note, byte for byte")
    key_id = models.CharField(max_length=200, db_comment="name+hex key hash of the signing key")
    signed_at = models.DateTimeField()

    class Meta:
        db_table = "ledger_checkpoint"

    def __str__(self) -> str:
        return f"checkpoint {self.size}"


class LogIdentity(models.Model):
    """The identity of this database's log: one row, made when the database is migrated.

    Files that describe one log (the demo's signing key, the checkpoint store) are kept under
    this id, so a second database in the same checkout, or a database made anew, is a new log
    and not a "fork" of the old one."""

    log_id = models.UUIDField(
        unique=True, default=uuid.uuid4, editable=False,
        db_comment="Random id of this database's log, made once when the database is created",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_comment="When the log was made")

    class Meta:
        db_table = "ledger_log_identity"
        db_table_comment = "One row: the identity of the log this database holds"

    def __str__(self) -> str:
        return f"log {self.log_id}"


def events_by_id(ids: list[int]) -> dict[int, Event]:
    """The events `ids`, by id. A dense batch (the ids of consecutive log entries, as the
    verifier and the export read them) is fetched as an id range: on the partitioned table
    (PostgreSQL) an `IN` list of 5,000 ids is planned and probed against every month's index
    (~26 ms), a range in ~1.3 ms. Rows of the range that were not asked for are left out."""
    if not ids:
        return {}
    low, high = min(ids), max(ids)
    dense = high - low < 2 * len(ids)
    rows = (Event.objects.filter(id__gte=low, id__lte=high) if dense
            else Event.objects.filter(id__in=ids))
    wanted = set(ids)
    return {e.id: e for e in rows if e.id in wanted}
