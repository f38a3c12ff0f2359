"""Signed checkpoints (C2SP tlog-checkpoint in a signed note) of the log's Merkle tree.

The signing key is read from the file named by LEDGER_SIGNING_KEY_FILE or from the
environment variable CASELEDGER_LEDGER_SIGNING_KEY; it never enters the database. The signer
refuses to sign a tree that is not consistent with its last checkpoint, and every checkpoint
is also written to LEDGER_CHECKPOINT_DIR (a stand-in for write-once storage).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from caseledger.core import clock
from caseledger_verify import note

from . import tree
from .models import Checkpoint, Entry


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


def signer() -> note.Signer:
    return _load_signer(str(settings.LEDGER_SIGNING_KEY_FILE or ""),
                        os.environ.get("CASELEDGER_LEDGER_SIGNING_KEY", ""))


def verifier_key() -> str:
    return str(signer().verifier)


def ensure_demo_key() -> Path | None:
    """Demo and tests only: create a signing key file where settings point, if absent."""
    path = Path(settings.LEDGER_SIGNING_KEY_FILE or "")
    if not path.name or path.exists() or os.environ.get("CASELEDGER_LEDGER_SIGNING_KEY"):
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
        size = Entry.objects.count()
        last = Checkpoint.objects.select_for_update().order_by("-size").first()
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
        text = note.sign_checkpoint(settings.LEDGER_ORIGIN, size, root, signer())
        checkpoint = Checkpoint.objects.create(size=size, root=root, note=text,
                                               key_id=signer().verifier.key_id,
                                               signed_at=clock.now())
        _write_out(checkpoint)
    return checkpoint


def _write_out(checkpoint: Checkpoint) -> None:
    directory = Path(settings.LEDGER_CHECKPOINT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / str(checkpoint.size)
    if path.exists():
        if path.read_text() != checkpoint.note:
            raise CheckpointRefused(f"{path.name} already holds a different checkpoint")
        return
    path.write_text(checkpoint.note)
