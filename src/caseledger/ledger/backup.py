"""Backup and restore of one caseledger site (`caseledger backup`, `caseledger restore`).

A backup is a folder:

  manifest.json      format and version, time, engine, log id, ledger size and head, latest
                     checkpoint, the backup's own ledger event, and the SHA-256 of every file
                     below (written last: a folder without it is an interrupted backup)
  database.dump      PostgreSQL: `pg_dump -Fc`, taken in the very snapshot the manifest describes
  database.sqlite3   SQLite (the demo): a copy made with SQLite's online backup API
  checkpoints/       the checkpoint store's files up to the backed-up ledger size, and LOG_ID
  key.pub            the ledger's public verifier key (when a signing key is configured)

It never holds the ledger's signing key or the encryption keys: those are kept apart.

A restore goes into a new, empty database. A database that already holds a ledger is always
refused (events written after the backup would vanish without a trace); one with tables but no
ledger (only migrated) needs `force`. Every SHA-256 is checked first, and every checkpoint store
in sight is compared with the backup: a store holding a checkpoint newer than the backup means
the restore is a rollback that auditors will see, refused unless `accept_rollback`.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from psycopg.conninfo import make_conninfo
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as SchemaError

from caseledger.core import clock
from caseledger.ledger import checkpoints, encoding
from caseledger.ledger.models import Checkpoint, Event, Outcome
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event
from caseledger.ledger.verify import VerifyResult, verify_ledger
from caseledger.ledger.vocabulary import Category, Purpose
from caseledger_verify import note

FORMAT = "caseledger-backup"
VERSION = 1
MANIFEST = "manifest.json"
DUMP_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
STORE = "checkpoints"
KEY = "key.pub"
LOG_ID_FILE = checkpoints.LOG_ID_FILE
# The only names a manifest may list: a tampered manifest cannot point a restore elsewhere.
FILE_NAME = re.compile(r"(database\.dump|database\.sqlite3|key\.pub|checkpoints/(\d+|LOG_ID))")
# Debian and Ubuntu keep one folder of PostgreSQL programs per major version.
PG_BIN_DIRS = "/usr/lib/postgresql/*/bin"
# OPTIONS that Django's PostgreSQL backend reads itself; the others are libpq's.
DJANGO_ONLY_OPTIONS = frozenset({"assume_role", "isolation_level", "pool", "server_side_binding",
                                 "cursor_factory", "prepare_threshold", "context"})

Step = Callable[[str], AbstractContextManager[object]]


def _quiet(_text: str) -> AbstractContextManager[object]:
    return nullcontext()


class BackupError(RuntimeError):
    """A backup or restore was refused or failed; the message says why and what to do."""


class RollbackRefused(BackupError):
    """The backup is older than checkpoints that auditors may already hold."""


class FileSum(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class LedgerHead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=0)
    head: str = Field(pattern=r"^[0-9a-f]{64}$", description="chain hash of the last entry")


class CheckpointHead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=0)
    root: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["caseledger-backup"] = FORMAT
    version: Literal[1] = VERSION
    backup_id: uuid.UUID
    created: datetime
    engine: Literal["postgresql", "sqlite"]
    server_version: str = ""
    log_id: uuid.UUID
    ledger: LedgerHead
    latest_checkpoint: CheckpointHead | None
    event: uuid.UUID = Field(description="the backup's own ledger event, inside the dump")
    verifier_key: str | None
    files: dict[str, FileSum]


@dataclass(frozen=True)
class LedgerState:
    log_id: str
    size: int
    head: str
    checkpoint: CheckpointHead | None


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    verify: VerifyResult
    event: str
    store: Path
    installed: int
    rolled_back_from: int | None
    warnings: list[str]
    migrated: int = 0  # migrations of this release newer than the backup, applied by restore


# --- backup -----------------------------------------------------------------------------------


def create_backup(out: Path, *, step: Step = _quiet) -> Manifest:
    """Back up the configured database and checkpoint store into `out` (missing or empty;
    the command checks that). The backup's ledger event is written first, so it is inside."""
    if connection.in_atomic_block:
        raise BackupError("A backup must run outside a transaction.")
    engine = _engine()
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    backup_id = str(uuid.uuid4())
    event = _record("backup", backup_id, {"engine": engine})
    try:
        with step("dumping the database"):
            state, server = _dump(out / DUMP_FILES[engine], engine)
        with step("copying the checkpoint store"):
            names = _copy_store(out / STORE, state)
        key = _write_key(out)
        files = [DUMP_FILES[engine], *names, *([KEY] if key else [])]
        with step("computing SHA-256 sums"):
            sums = {name: _file_sum(out / name) for name in files}
    except Exception:
        with contextlib.suppress(DatabaseError):
            _record("backup", backup_id, {"engine": engine}, outcome=Outcome.FAILED)
        raise
    manifest = Manifest(
        backup_id=backup_id, created=clock.now(), engine=engine, server_version=server,
        log_id=state.log_id, ledger=LedgerHead(size=state.size, head=state.head),
        latest_checkpoint=state.checkpoint, event=event.uuid, verifier_key=key, files=sums,
    )
    _write_new(out / MANIFEST, (manifest.model_dump_json(indent=2) + "\n").encode())
    return manifest


def manifest_digest(folder: Path) -> str:
    """SHA-256 of a backup's manifest: worth writing down apart from the backup."""
    return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()


def _engine() -> str:
    if connection.vendor not in DUMP_FILES:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")
    return connection.vendor


def _record(action: str, backup_id: str, detail: dict[str, Any],
            outcome: str = Outcome.ALLOWED) -> Event:
    with transaction.atomic():
        event = record_event(
            actor=SYSTEM, action=action, category=Category.LEDGER, purpose=Purpose.ADMINISTRATION,
            outcome=outcome, detail={"backup_id": backup_id, **detail},
        )
    integrate_pending()
    return event


def _clear_previous(out: Path) -> None:
    """Before writing over an earlier backup (--force): remove its files, so that the folder
    holds exactly this backup's. Only files named like a backup's."""
    for name in (MANIFEST, KEY, *DUMP_FILES.values()):
        (out / name).unlink(missing_ok=True)
    for path in [*_checkpoint_files(out / STORE), out / STORE / LOG_ID_FILE]:
        path.unlink(missing_ok=True)


def _dump(path: Path, engine: str) -> tuple[LedgerState, str]:
    """Dump the database to `path`; returns the ledger's state in exactly what was dumped
    and the server's version."""
    checkpoints.log_id()  # a log identity row exists before the snapshot is taken
    _write_new(path, b"")
    if engine == "sqlite":
        connection.ensure_connection()
        with closing(sqlite3.connect(path)) as target:
            connection.connection.backup(target)  # one step: a consistent copy
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            return _ledger_state(db.cursor()), sqlite3.sqlite_version
    major, minor = connection.get_database_version()[:2]
    tool = find_pg_tool("pg_dump", major)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        state = _ledger_state(cursor)
        target, env = _pg_target()
        _run_pg([str(tool), "--format=custom", "--no-password", f"--snapshot={snapshot}",
                 f"--file={path}", f"--dbname={target}"], env, "pg_dump")
    return state, f"{major}.{minor}"


def _ledger_state(cursor: Any) -> LedgerState:
    """The log's id, size, head and latest checkpoint, read with plain SQL (so the same code
    reads the live database in a snapshot, a SQLite copy, and the restored database)."""
    cursor.execute("SELECT log_id FROM ledger_log_identity ORDER BY id LIMIT 1")
    log = cursor.fetchone()
    if log is None:
        raise BackupError("The database has no ledger log identity: is it migrated?")
    cursor.execute("SELECT COUNT(*) FROM ledger_entry")
    size = int(cursor.fetchone()[0])
    cursor.execute("SELECT chain_hash FROM ledger_entry ORDER BY position DESC LIMIT 1")
    head = cursor.fetchone()
    cursor.execute("SELECT size, root FROM ledger_checkpoint ORDER BY size DESC LIMIT 1")
    latest = cursor.fetchone()
    return LedgerState(
        log_id=str(uuid.UUID(str(log[0]))),
        size=size,
        head=bytes(head[0]).hex() if head else encoding.CHAIN_START.hex(),
        checkpoint=CheckpointHead(size=latest[0], root=bytes(latest[1]).hex()) if latest else None,
    )


def _copy_store(target: Path, state: LedgerState) -> list[str]:
    """Copy the store's checkpoints up to the dumped size, and its LOG_ID; returns the names.
    Only files named like checkpoints: nothing else in the store's folder is ever copied."""
    source = checkpoints.checkpoint_dir()
    theirs = _store_log_id(source)
    if theirs and theirs != state.log_id:
        raise BackupError(
            f"The checkpoint store {source} belongs to log {theirs}, but the database holds "
            f"log {state.log_id}: CASELEDGER_CHECKPOINT_DIR points at another database's store.")
    target.mkdir(exist_ok=True)
    names = []
    for path in _checkpoint_files(source):
        if int(path.name) <= state.size:
            _write_new(target / path.name, path.read_bytes())
            names.append(f"{STORE}/{path.name}")
    _write_new(target / LOG_ID_FILE, f"{state.log_id}\n".encode())
    return [*names, f"{STORE}/{LOG_ID_FILE}"]


def _write_key(out: Path) -> str | None:
    try:
        key = checkpoints.verifier_key()
    except ImproperlyConfigured:
        return None  # the host that takes backups need not hold the signing key
    _write_new(out / KEY, f"{key}\n".encode())
    return key


# --- restore ----------------------------------------------------------------------------------


def restore_backup(src: Path, *, force: bool = False, accept_rollback: bool = False,
                   stores: Sequence[Path] = (), step: Step = _quiet) -> RestoreResult:
    """Restore the backup in `src` into the configured (new, empty) database and checkpoint
    store, record the restore in the restored ledger, and verify it.

    Everything that can refuse is checked before anything is written: the manifest and its
    sums, the target database, the checkpoint stores (rollback, fork, other log), the key."""
    with step("checking the backup's SHA-256 sums"):
        manifest, warnings = read_manifest(src)
    engine = _engine()
    if manifest.engine != engine:
        raise BackupError(f"This is a backup of a {manifest.engine} database; DATABASE_URL "
                          f"points at {engine}. Restore it into the same kind of database.")
    _check_target(force=force)
    log_id, size = str(manifest.log_id), manifest.ledger.size
    store = configured_store(log_id)
    newer = _check_stores(src / STORE, [store, *stores], log_id, size, required=list(stores))
    if newer and not accept_rollback:
        raise RollbackRefused(_rollback_message(newer, size))
    warnings += _check_key(manifest)
    with step("restoring the database"):
        _restore_database(src / DUMP_FILES[engine], engine)
    _check_restored(manifest)
    pending = _pending_migrations()
    if pending:  # a backup of an older release: its ledger is read by this release's code
        with step(f"applying {pending} migration(s) of this release newer than the backup"):
            call_command("migrate", verbosity=0)
    installed = _install_store(src / STORE, store)
    rolled_back_from = max(newer.values()) if newer else None
    detail: dict[str, Any] = {"backup_created": manifest.created.isoformat(), "backup_size": size}
    if rolled_back_from is not None:
        detail["rolled_back_from"] = rolled_back_from
    event = _record("restore", str(manifest.backup_id), detail)
    with step("verifying the restored ledger"):
        result = verify_ledger()
    return RestoreResult(manifest, result, str(event.uuid), store, installed,
                         rolled_back_from, warnings, pending)


def _pending_migrations() -> int:
    """How many migrations of this release the restored database has not applied."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def read_manifest(src: Path) -> tuple[Manifest, list[str]]:
    """The backup's manifest, once every file it lists has its size and SHA-256; a list of
    warnings (files that the manifest does not list, which a restore ignores)."""
    if not src.is_dir():
        raise BackupError(f"{src} is not a folder.")
    path = src / MANIFEST
    if not path.is_file():
        raise BackupError(f"{src} holds no {MANIFEST}: it is not a caseledger backup, or the "
                          "backup was interrupted before it finished.")
    try:
        raw = json.loads(path.read_bytes())
    except ValueError:
        raise BackupError(f"{path} is not valid JSON: the backup is damaged.") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BackupError(f"{path} is not a caseledger backup manifest.")
    if raw.get("version") != VERSION:
        raise BackupError(f"{path} has format version {raw.get('version')!r}; this release "
                          f"reads version {VERSION}.")
    try:
        manifest = Manifest.model_validate(raw)
    except SchemaError as exc:
        raise BackupError(f"{path} is malformed: {exc.errors()[0]['msg']} at "
                          f"{'.'.join(map(str, exc.errors()[0]['loc']))}.") from None
    _check_files(src, manifest)
    listed = {src / name for name in manifest.files} | {path}
    unlisted = sorted(str(p.relative_to(src)) for p in src.rglob("*")
                      if p.is_file() and p not in listed)
    warnings = [f"not in the manifest, ignored: {', '.join(unlisted)}"] if unlisted else []
    return manifest, warnings


def _check_files(src: Path, manifest: Manifest) -> None:
    needed = {DUMP_FILES[manifest.engine], f"{STORE}/{LOG_ID_FILE}"}
    missing = sorted(needed - set(manifest.files))
    if missing:
        raise BackupError(f"The manifest does not list {missing[0]}: the backup is incomplete.")
    for name, expected in sorted(manifest.files.items()):
        if not FILE_NAME.fullmatch(name):
            raise BackupError(f"The manifest lists {name!r}, which no backup holds: the "
                              "manifest was altered; do not restore this backup.")
        path = src / name
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup.")
        found = _file_sum(path)
        if found != expected:
            raise BackupError(
                f"{name} has changed since the backup was made (SHA-256 {found.sha256[:16]}…, "
                f"{found.bytes} bytes; the manifest says {expected.sha256[:16]}…, "
                f"{expected.bytes} bytes): the backup is damaged or was altered. Do not "
                "restore it; use another copy.")


def _check_target(*, force: bool) -> None:
    """Refuse a database holding a ledger (always) or any table (unless `force`)."""
    tables = connection.introspection.table_names()
    where = database_label()
    ledger = any(model._meta.db_table in tables and model.objects.exists()
                 for model in (Event, Checkpoint))
    if ledger:
        raise BackupError(
            f"The database {where} already holds a ledger. A restore never replaces a ledger "
            "(--force does not change this): the events recorded after the backup would be "
            "lost without a trace. Create a new, empty database (PostgreSQL: CREATE DATABASE; "
            "SQLite: a new file), point DATABASE_URL at it, and restore there.")
    if tables and not force:
        raise BackupError(
            f"The database {where} is not empty: it has {len(tables)} tables (but no ledger; "
            "was it migrated?). Restore into a new, empty database, or pass --force to replace "
            "these tables with the backup's.")


def database_label() -> str:
    """The configured database, for messages (read from the settings: no connection)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(s["NAME"])
    options = s.get("OPTIONS", {})
    host = s.get("HOST") or options.get("host") or os.environ.get("PGHOST") or "localhost"
    port = s.get("PORT") or options.get("port") or os.environ.get("PGPORT") or 5432
    return f"{s['NAME']} (PostgreSQL at {host}:{port})"


def configured_store(log_id: str) -> Path:
    """The checkpoint store the restored database will use (`checkpoints.checkpoint_dir()`
    once it exists; found here without asking the database, which is still empty)."""
    if settings.LEDGER_CHECKPOINT_DIR:
        return Path(settings.LEDGER_CHECKPOINT_DIR)
    return Path(settings.VAR_DIR) / "ledgers" / log_id / "checkpoints"


def _check_stores(backup_store: Path, stores: Sequence[Path], log_id: str, size: int, *,
                  required: Sequence[Path]) -> dict[Path, int]:
    """For each store holding checkpoints newer than `size`: the newest one (a rollback).
    Refuses a store of another log, and a checkpoint that differs from the backup's at the
    same size (two histories: a fork)."""
    ours = {p.name: p.read_bytes() for p in _checkpoint_files(backup_store)}
    if (backup_store / LOG_ID_FILE).read_text().strip() != log_id:
        raise BackupError("The backup's checkpoints/LOG_ID differs from its manifest's log id.")
    newer: dict[Path, int] = {}
    for store in stores:
        if not store.is_dir():
            if store in required:
                raise BackupError(f"--checkpoints {store} is not a folder.")
            continue
        theirs = _store_log_id(store)
        if theirs and theirs != log_id:
            raise BackupError(
                f"The checkpoint store {store} belongs to log {theirs}, but this backup is of "
                f"log {log_id}. Point CASELEDGER_CHECKPOINT_DIR at this log's store (or at a "
                "new, empty folder) and run the restore again.")
        files = _checkpoint_files(store)
        for path in files:
            if path.name in ours and path.read_bytes() != ours[path.name]:
                raise BackupError(
                    f"FORK: the checkpoint store {store} holds a checkpoint {path.name} that "
                    "differs from the backup's: the store and the backup record two different "
                    "histories of the same log. Do not restore; investigate (docs/LEDGER.md).")
        above = [int(p.name) for p in files if int(p.name) > size]
        if above:
            newer[store] = max(above)
    return newer


def _rollback_message(newer: dict[Path, int], size: int) -> str:
    store, newest = max(newer.items(), key=lambda item: item[1])
    return (
        f"ROLLBACK: the checkpoint store {store} holds checkpoint {newest}, but this backup's "
        f"ledger holds only {size} entries. Restoring it loses every event recorded after the "
        f"backup (at least {newest - size}), and auditors who hold checkpoint {newest} will see "
        "the restored log as a rollback (and, once it grows again, as a fork). Restore a newer "
        "backup if there is one. To restore this one anyway, pass --accept-rollback: the "
        "restore is then recorded in the ledger with the size it rolled back from.")


def _check_key(manifest: Manifest) -> list[str]:
    configured = configured_verifier(str(manifest.log_id))
    if configured is None:
        return ["No ledger signing key is configured: checkpoint signatures were not checked. "
                "Configure this log's key (CASELEDGER_LEDGER_SIGNING_KEY_FILE) before serving."]
    if manifest.verifier_key and configured != manifest.verifier_key:
        raise BackupError(
            f"The configured signing key ({configured.split('+')[1]}) is not the key that "
            f"signed this log's checkpoints ({manifest.verifier_key.split('+')[1]}, in key.pub). "
            "Configure the log's own key (CASELEDGER_LEDGER_SIGNING_KEY_FILE) and run the "
            "restore again.")
    return []


def configured_verifier(log_id: str) -> str | None:
    """The public key of the configured signing key, found as `checkpoints.key_file()` finds
    it but without the database (which is still empty); None when there is none."""
    text = os.environ.get("CASELEDGER_LEDGER_SIGNING_KEY", "")
    path = settings.LEDGER_SIGNING_KEY_FILE
    if not path and settings.LEDGER_STATE_PER_DATABASE:
        path = str(Path(settings.VAR_DIR) / "ledgers" / log_id / "signing.key")
    if not text and path and Path(path).is_file():
        text = Path(path).read_text().strip()
    return str(note.parse_signer_key(text).verifier) if text else None


def _restore_database(dump: Path, engine: str) -> None:
    name = connection.settings_dict["NAME"]
    if engine == "sqlite":
        connection.close()
        with (closing(sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro", uri=True)) as src,
              closing(sqlite3.connect(name)) as target):
            src.backup(target)
        return
    tool = find_pg_tool("pg_restore", connection.get_database_version()[0])
    target, env = _pg_target()
    with connection.cursor() as cursor:
        # `pg_restore --clean` cannot drop a partition's inherited keys (PostgreSQL 15): drop
        # the partitioned tables (ledger_event, empty here: _check_target refused any ledger;
        # supervision_checkin, with the foreign keys that reference it) with their partitions
        # first; --if-exists then skips them, and the dump makes them all again.
        cursor.execute("SELECT oid::regclass::text FROM pg_class WHERE relkind = 'p' "
                       "AND NOT relispartition AND relnamespace = current_schema()::regnamespace")
        for (table,) in cursor.fetchall():
            cursor.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    connection.close()
    _run_pg([str(tool), "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--exit-on-error", "--no-password", f"--dbname={target}", str(dump)], env,
            "pg_restore")


def _check_restored(manifest: Manifest) -> None:
    with connection.cursor() as cursor:
        state = _ledger_state(cursor)
    expected = (str(manifest.log_id), manifest.ledger.size, manifest.ledger.head)
    if (state.log_id, state.size, state.head) != expected:
        raise BackupError(
            f"The restored database holds log {state.log_id} with {state.size} entries (head "
            f"{state.head[:16]}…), not what the manifest describes (log {expected[0]}, "
            f"{expected[1]} entries, head {expected[2][:16]}…). Do not use this database.")


def _install_store(backup_store: Path, store: Path) -> int:
    """Copy the backup's checkpoints into the store; existing ones were compared before."""
    store.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in _checkpoint_files(backup_store):
        if not (store / path.name).exists():
            _write_new(store / path.name, path.read_bytes(), mode=0o644)
            written += 1
    if not (store / LOG_ID_FILE).exists():
        _write_new(store / LOG_ID_FILE, (backup_store / LOG_ID_FILE).read_bytes(), mode=0o644)
    return written


# --- PostgreSQL programs ----------------------------------------------------------------------


def find_pg_tool(name: str, server_major: int) -> Path:
    """`pg_dump` or `pg_restore` at least as new as the server: $PG_BINDIR, PATH, then
    Debian's per-version folders (newest first)."""
    tried: list[str] = []
    for candidate in _pg_tool_candidates(name):
        major = _tool_major(candidate)
        if major is None:
            continue
        if major >= server_major:
            return candidate
        tried.append(f"{candidate} (version {major})")
    if not tried:
        raise BackupError(
            f"{name} was not found (looked in $PG_BINDIR, PATH and {PG_BIN_DIRS}). Install "
            f"the PostgreSQL client programs, version {server_major} or newer (Debian, Ubuntu: "
            f"apt-get install postgresql-client-{server_major}), or set PG_BINDIR to their "
            "folder.")
    raise BackupError(
        f"{name} must be at least as new as the server (PostgreSQL {server_major}); found only "
        f"{', '.join(tried)}. Install postgresql-client-{server_major} (or newer), or set "
        "PG_BINDIR to its folder.")


def _pg_tool_candidates(name: str) -> Iterator[Path]:
    folders = [os.environ.get("PG_BINDIR", ""), *os.get_exec_path()]
    folders += sorted(glob.glob(PG_BIN_DIRS), key=_folder_version, reverse=True)
    seen: set[Path] = set()
    for folder in filter(None, folders):
        path = Path(folder) / name
        if path not in seen and path.is_file() and os.access(path, os.X_OK):
            seen.add(path)
            yield path


def _folder_version(folder: str) -> int:
    digits = Path(folder).parent.name
    return int(digits) if digits.isdigit() else 0


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def _pg_target() -> tuple[str, dict[str, str]]:
    """A libpq connection string for the configured database, as DATABASE_URL gave it (host,
    port, database, user, sslmode, ...), and an environment with its password: a password
    never goes on a command line, where other users could read it."""
    s = connection.settings_dict
    params = {k: v for k, v in s.get("OPTIONS", {}).items() if k not in DJANGO_ONLY_OPTIONS}
    for key, name in (("NAME", "dbname"), ("USER", "user"), ("HOST", "host"), ("PORT", "port")):
        if s.get(key):
            params[name] = s[key]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def _run_pg(cmd: list[str], env: dict[str, str], program: str) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(_explain_pg_failure(program, result.stderr))


def _explain_pg_failure(program: str, stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    said = " / ".join(lines[-3:]) or "no message"
    text = stderr.lower()
    where = database_label()
    if "connection refused" in text or "could not connect" in text:
        hint = (f"{program} could not connect to {where}: is the server running, and are the "
                "host and port in DATABASE_URL right?")
    elif "password authentication failed" in text or "no password supplied" in text:
        hint = f"{program} was refused by {where}: check the user and password in DATABASE_URL."
    elif "server version mismatch" in text:
        hint = f"{program} is older than the server: install a newer postgresql-client."
    elif "database" in text and "does not exist" in text:
        hint = f"The database {where} does not exist: create it first (CREATE DATABASE)."
    else:
        hint = f"{program} failed."
    return f"{hint} ({program} said: {said})"


# --- files ------------------------------------------------------------------------------------


def _checkpoint_files(directory: Path) -> list[Path]:
    """The checkpoint files of a store (named by their tree size), smallest first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir()
             if p.name.isdigit() and p.is_file() and not p.is_symlink()]
    return sorted(found, key=lambda p: int(p.name))


def _store_log_id(directory: Path) -> str:
    marker = directory / LOG_ID_FILE
    return marker.read_text().strip() if marker.is_file() else ""


def _file_sum(path: Path) -> FileSum:
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return FileSum(sha256=digest, bytes=path.stat().st_size)


def _write_new(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Create `path` (never over an existing file or a planted link); 0600 from the start,
    since a dump holds personal data."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)

