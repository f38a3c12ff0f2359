"""Signed checkpoints (C2SP tlog-checkpoint in a signed note) of the log's Merkle tree.

The signing key is read from the file named by LEDGER_SIGNING_KEY_FILE or from the
environment variable CASELEDGER_LEDGER_SIGNING_KEY; it never enters the database. The signer
refuses to sign a tree that is not consistent with its last checkpoint, and every checkpoint
is also written to LEDGER_CHECKPOINT_DIR (a stand-in for write-once storage).

A checkpoint store belongs to one log: the first checkpoint written to it leaves the log's id
(`LogIdentity`) in a `LOG_ID` file, and a database with another id is refused with a message
that says what to do. In the demo and the tests the key and the store live under
`var/ledgers/<log id>/` unless set explicitly, so each database has its own.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from caseledger.core import clock
from caseledger_verify import note

from . import tree
from .models import Checkpoint, Entry, LogIdentity


class CheckpointRefused(RuntimeError):
    pass


@lru_cache(maxsize=4)
def _load_signer(key_file: str, env_value: str) -> note.Signer:
    path = Path(key_file) if key_file else None
    text = env_value or (path.read_text().strip() if path and path.is_file() else "")
    if not text:
        raise ImproperlyConfigured(
            "No ledger signing key: set CASELEDGER_LEDGER_SIGNING_KEY or LEDGER_SIGNING_KEY_FILE "
            "(create one with `caseledger ledger keygen`).")
    return note.parse_signer_key(text)


def log_id() -> str:
    """This database's log identity (made by the ledger's migration; made here if a test
    flushed it)."""
    row = LogIdentity.objects.order_by("pk").first()
    if row is None:
        row = LogIdentity.objects.create()
    return str(row.log_id)


def state_dir() -> Path:
    """Where the demo and the tests keep files that describe this database's log."""
    return Path(settings.VAR_DIR) / "ledgers" / log_id()


def key_file() -> Path | None:
    """The signing key's file: the configured one, or (demo and tests) this log's own."""
    if settings.LEDGER_SIGNING_KEY_FILE:
        return Path(settings.LEDGER_SIGNING_KEY_FILE)
    if settings.LEDGER_STATE_PER_DATABASE:
        return state_dir() / "signing.key"
    return None


def checkpoint_dir() -> Path:
    """The checkpoint store: the configured one, or (demo and tests) this log's own."""
    if settings.LEDGER_CHECKPOINT_DIR:
        return Path(settings.LEDGER_CHECKPOINT_DIR)
    return state_dir() / "checkpoints"


def signer() -> note.Signer:
    env_value = os.environ.get("CASELEDGER_LEDGER_SIGNING_KEY", "")
    if not (env_value or settings.LEDGER_SIGNING_KEY_FILE) and settings.LEDGER_STATE_PER_DATABASE:
        ensure_demo_key()  # demo and tests: this database's own key, made on first use
    path = None if env_value else key_file()
    return _load_signer(str(path or ""), env_value)


def verifier_key() -> str:
    return str(signer().verifier)


def ensure_demo_key() -> Path | None:
    """Demo and tests only: create this log's signing key file, if absent."""
    if os.environ.get("CASELEDGER_LEDGER_SIGNING_KEY"):
        return None
    path = key_file()
    if path is None or not path.name or path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    skey, _vkey = note.generate_signer(settings.LEDGER_ORIGIN)
    path.write_text(skey + "\n")
    path.chmod(0o600)
    _load_signer.cache_clear()
    return path


def latest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-size").first()


def sign_checkpoint(*, force: bool = False) -> Checkpoint | None:
    """Sign the current tree if it grew since the last checkpoint (or `force` for the first).

    Returns the new checkpoint, or None when there was nothing new to sign.
    """
    with transaction.atomic():
        _lock_signer()
        size = Entry.objects.count()
        last = Checkpoint.objects.order_by("-size").first()
        if last is not None and size == last.size:
            return None
        if last is None and size == 0 and not force:
            return None
        if last is not None and size < last.size:
            raise CheckpointRefused(f"the log has {size} entries but checkpoint {last.size} "
                                    "was signed: entries have been removed")
        store = tree.NodeStore()
        if last is not None:
            again = tree.root_at(last.size, store)
            if again != bytes(last.root):
                raise CheckpointRefused(
                    f"the stored tree no longer has checkpoint {last.size}'s root "
                    f"({bytes(last.root).hex()[:16]}…, now {again.hex()[:16]}…): "
                    "refusing to sign an inconsistent tree")
        root = tree.root_at(size, store)
        key = signer()
        text = note.sign_checkpoint(settings.LEDGER_ORIGIN, size, root, key)
        checkpoint = Checkpoint.objects.create(size=size, root=root, note=text,
                                               key_id=key.verifier.key_id,
                                               signed_at=clock.now())
        _write_out(checkpoint)
    return checkpoint


#: Key of the PostgreSQL advisory lock that lets one signer at a time work on a checkpoint.
SIGNER_LOCK_KEY = 0x6361_7365_6C66  # "caself"


def _lock_signer() -> None:
    """One signer at a time, until the end of the transaction: a transaction-scoped advisory
    lock needs no UPDATE right on the append-only checkpoint table (SQLite serialises writers
    anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGNER_LOCK_KEY])


LOG_ID_FILE = "LOG_ID"


def _write_out(checkpoint: Checkpoint) -> None:
    directory = checkpoint_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _claim_store(directory)
    path = directory / str(checkpoint.size)
    if path.exists():
        if path.read_text() != checkpoint.note:
            raise CheckpointRefused(
                f"The checkpoint store {directory} already holds a different checkpoint "
                f"{path.name}. Either the store belongs to another database (give each "
                "database its own store: CASELEDGER_CHECKPOINT_DIR), or this log was rewritten "
                "after that checkpoint was signed: run `caseledger ledger verify` and "
                "investigate before signing again (docs/LEDGER.md).")
        return
    path.write_text(checkpoint.note)


def _claim_store(directory: Path) -> None:
    """Mark an unclaimed store as this log's; refuse a store that another log claimed."""
    mine = log_id()
    marker = directory / LOG_ID_FILE
    if marker.exists():
        theirs = marker.read_text().strip()
        if theirs != mine:
            raise CheckpointRefused(
                f"The checkpoint store {directory} belongs to log {theirs}, but this database "
                f"holds log {mine}. Each database needs its own store: set "
                "CASELEDGER_CHECKPOINT_DIR to this database's store (or to a new, empty "
                "directory for a new database), or point DATABASE_URL at the database that "
                "wrote these checkpoints.")
        return
    if any(p.name.isdigit() for p in directory.iterdir()):
        return  # a store from before log identities: its checkpoints are still compared
    marker.write_text(mine + "\n")
