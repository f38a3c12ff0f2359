"""The log's identity belongs to its database: a new database is a new log, never a "fork".

In the demo and the tests the signing key and the checkpoint store live under
var/ledgers/<log id>/; a store claimed by another log is refused with a message that says what
to do; `--help` works without any configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from caseledger.ledger import checkpoints
from caseledger.ledger.models import LogIdentity
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event


def _event() -> None:
    """One event, placed in the log (PostgreSQL places events out of line)."""
    record_event(actor=SYSTEM, action="read", category="ledger", purpose="administration")
    integrate_pending()


def _new_database_identity() -> str:
    """What a freshly migrated database looks like to the checkpoint code: another log id."""
    LogIdentity.objects.all().delete()
    return checkpoints.log_id()


@pytest.fixture
def per_database(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    settings.LEDGER_STATE_PER_DATABASE = True
    settings.LEDGER_SIGNING_KEY_FILE = ""
    settings.LEDGER_CHECKPOINT_DIR = ""
    return tmp_path


def test_migration_gives_the_database_one_identity(db: Any) -> None:
    assert LogIdentity.objects.count() == 1
    assert checkpoints.log_id() == checkpoints.log_id()
    uuid.UUID(checkpoints.log_id())


def test_demo_key_and_store_live_under_the_log_id(db: Any, per_database: Path) -> None:
    log = checkpoints.log_id()
    created = checkpoints.ensure_demo_key()
    assert created == per_database / "ledgers" / log / "signing.key"
    assert oct(created.stat().st_mode & 0o777) == "0o600"
    _event()
    checkpoint = checkpoints.sign_checkpoint()
    assert checkpoint is not None
    store = per_database / "ledgers" / log / "checkpoints"
    assert (store / str(checkpoint.size)).read_text() == checkpoint.note
    assert (store / checkpoints.LOG_ID_FILE).read_text().strip() == log


def test_a_new_database_in_the_same_checkout_is_a_new_log(db: Any, per_database: Path) -> None:
    checkpoints.ensure_demo_key()
    _event()
    first = checkpoints.sign_checkpoint()
    first_key = checkpoints.verifier_key()

    # The demo database is deleted and made again: the migration gives it a new identity.
    from caseledger.ledger.models import Checkpoint

    other = _new_database_identity()
    assert checkpoints.ensure_demo_key() == per_database / "ledgers" / other / "signing.key"
    assert checkpoints.verifier_key() != first_key
    # Same size as before, other root: in a shared store this was "already holds a different
    # checkpoint". Here it is written to the new log's own store.
    text = first.note.replace(first.note.splitlines()[2], "AAAA")
    again = Checkpoint(size=first.size, root=b"\0" * 32, note=text, key_id="k",
                       signed_at=first.signed_at)
    checkpoints._write_out(again)
    assert (per_database / "ledgers" / other / "checkpoints" / str(first.size)).read_text() == text


def test_a_store_claimed_by_another_log_is_refused_with_what_to_do(
    db: Any, settings: Any, tmp_path: Path
) -> None:
    settings.LEDGER_STATE_PER_DATABASE = False
    store = tmp_path / "shared-store"
    settings.LEDGER_CHECKPOINT_DIR = str(store)
    store.mkdir()
    (store / checkpoints.LOG_ID_FILE).write_text(f"{uuid.uuid4()}\n")
    _event()
    with pytest.raises(checkpoints.CheckpointRefused) as refused:
        checkpoints.sign_checkpoint()
    message = str(refused.value)
    assert "belongs to log" in message
    assert checkpoints.log_id() in message
    assert "CASELEDGER_CHECKPOINT_DIR" in message
    # Refused inside the signing transaction: no checkpoint row was kept either.
    assert checkpoints.latest() is None


def test_a_different_checkpoint_in_the_store_says_what_to_do(
    db: Any, settings: Any, tmp_path: Path
) -> None:
    settings.LEDGER_STATE_PER_DATABASE = False
    store = tmp_path / "old-store"
    store.mkdir()
    settings.LEDGER_CHECKPOINT_DIR = str(store)
    _event()
    (store / "1").write_text("somebody else's checkpoint\n")  # a store from before LOG_ID
    with pytest.raises(checkpoints.CheckpointRefused) as refused:
        checkpoints.sign_checkpoint()
    assert "CASELEDGER_CHECKPOINT_DIR" in str(refused.value)
    assert "caseledger ledger verify" in str(refused.value)


def _bare_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELEDGER_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    return env


@pytest.mark.parametrize("argv", [["demo", "--help"], ["--help"], ["ledger", "-h"], []])
def test_help_works_without_configuration(tmp_path: Path, argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "caseledger.cli", *argv], capture_output=True,
                          text=True, env=_bare_environment(tmp_path), cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "usage" in done.stdout.lower() or "subcommands" in done.stdout.lower()


def test_a_command_without_configuration_says_what_is_missing(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "caseledger.cli", "migrate"],
                          capture_output=True, text=True, env=_bare_environment(tmp_path),
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "CASELEDGER_SECRET_KEY is not set" in done.stderr
