"""`caseledger backup` and `caseledger restore` (caseledger.ledger.backup).

The backup runs in this process against the test database; a restore targets another, new
database, so it runs as a `caseledger` subprocess pointed at it with DATABASE_URL (a new SQLite
file, or a database made with CREATE DATABASE on the test server). Refusals that happen before
the target is touched (a tampered backup, a database that holds a ledger) run in-process.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from caseledger.ledger import backup, checkpoints
from caseledger.ledger.models import Entry, Event
from caseledger.ledger.services import integrate_pending

SUBPROCESS_TIMEOUT = 300  # seconds: only a bound on a hung child, far above the usual ~3 s


# --- helpers ----------------------------------------------------------------------------------


@dataclass
class Target:
    """A new database that a restore may target, and a way to look into it."""

    url: str
    query: Callable[[str], list[tuple[Any, ...]]]
    tables: Callable[[], int]


def _pg_params(dbname: str) -> dict[str, str]:
    s = connection.settings_dict
    params = {k: str(v) for k, v in s["OPTIONS"].items() if k != "options"}
    params["dbname"] = dbname
    for key, name in (("USER", "user"), ("PASSWORD", "password"), ("HOST", "host"),
                      ("PORT", "port")):
        if s.get(key):
            params[name] = str(s[key])
    return params


def _pg_url(dbname: str) -> str:
    params = _pg_params(dbname)
    user = quote(params.pop("user", ""))
    password = ":" + quote(params.pop("password")) if "password" in params else ""
    params.pop("dbname")
    return f"postgres://{user}{password}@/{dbname}?{urlencode(params)}"


def _pg_run(dbname: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(**_pg_params(dbname), autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Target]:
    """An empty database beside the test database: a new SQLite file, or on PostgreSQL a
    database made with CREATE DATABASE on the same server (dropped afterwards)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "restored.sqlite3"

        def query(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(path) as db:
                return db.execute(sql).fetchall()

        def tables() -> int:
            if not path.exists():
                return 0
            return query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")[0][0]

        yield Target(f"sqlite:///{path}", query, tables)
        return
    name = f"restore_{uuid.uuid4().hex[:12]}"
    _pg_run("postgres", f'CREATE DATABASE "{name}"')
    try:
        yield Target(
            _pg_url(name),
            lambda sql: _pg_run(name, sql),
            lambda: _pg_run(name, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
            [0][0],
        )
    finally:
        _pg_run("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(tmp_path: Path, url: str, store: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "caseledger.settings",  # the real settings, not the suite's
        "CASELEDGER_TESTING": "1",
        "DATABASE_URL": url,
        "CASELEDGER_VAR": str(tmp_path / "var"),
        "CASELEDGER_LEDGER_SIGNING_KEY_FILE": settings.LEDGER_SIGNING_KEY_FILE,
        "CASELEDGER_CHECKPOINT_DIR": str(store),
        "CASELEDGER_VERIFY_STATE": str(tmp_path / "auditor-state"),
    }
    env.pop("CASELEDGER_LEDGER_SIGNING_KEY", None)
    return env


def _caseledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caseledger.cli", *args], env=env,
                          cwd=Path(env["CASELEDGER_VAR"]).parent, capture_output=True,
                          text=True, timeout=SUBPROCESS_TIMEOUT, check=False)


def _auditor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("caseledger-verify")
    assert script.exists(), "the caseledger-verify console script is installed beside python"
    return subprocess.run([str(script), *args], env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT, check=False)


def _make_ledger(make_person: Callable[..., Any], names: tuple[str, ...]) -> None:
    """A few persons (each a handful of ledger events), chained and under a signed checkpoint."""
    for given in names:
        make_person(given=given)
    integrate_pending()
    assert checkpoints.sign_checkpoint() is not None


def _backup(out: Path, *args: str) -> dict[str, Any]:
    call_command("backup", "--out", str(out), *args, stdout=io.StringIO())
    return json.loads((out / "manifest.json").read_bytes())


def _dump_name() -> str:
    return backup.DUMP_FILES[connection.vendor]


def _secret_key() -> str:
    return Path(settings.LEDGER_SIGNING_KEY_FILE).read_text().strip()


def _dump_text(folder: Path) -> bytes:
    """Every byte of a backup's database as text: a PostgreSQL custom dump is compressed, so
    it is turned back into SQL with pg_restore first."""
    dump = folder / _dump_name()
    if connection.vendor == "sqlite":
        return dump.read_bytes()
    tool = backup.find_pg_tool("pg_restore", connection.get_database_version()[0])
    return subprocess.run([str(tool), "-f", "-", str(dump)], capture_output=True, check=True,
                          timeout=SUBPROCESS_TIMEOUT).stdout


# --- what a backup holds ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_writes_dump_checkpoints_public_key_and_a_manifest_of_them(
    tmp_path: Path, make_person: Callable[..., Any], checkpoint_dir: Path
) -> None:
    _make_ledger(make_person, ("Maria", "Ana"))
    signed = checkpoints.latest()
    out = tmp_path / "backup"

    manifest = _backup(out)

    assert manifest["format"] == "caseledger-backup" and manifest["version"] == 1
    assert manifest["engine"] == connection.vendor
    assert manifest["log_id"] == checkpoints.log_id()
    # The backup's own event was written before the dump, so it is inside it.
    event = Event.objects.get(uuid=manifest["event"])
    assert (event.action, event.purpose, event.actor_role, event.data_category) == (
        "backup", "administration", "system", "ledger")
    assert event.detail["backup_id"] == manifest["backup_id"]
    last = Entry.objects.order_by("-position").first()
    assert last.event_id == event.id
    assert manifest["ledger"] == {"size": Entry.objects.count(),
                                  "head": bytes(last.chain_hash).hex()}
    assert manifest["latest_checkpoint"] == {"size": signed.size,
                                             "root": bytes(signed.root).hex()}
    assert manifest["verifier_key"] == checkpoints.verifier_key()
    assert manifest["created"].startswith(str(event.time.date()))

    stored = sorted(p.name for p in checkpoint_dir.iterdir())
    assert set(manifest["files"]) == {_dump_name(), "key.pub",
                                      *(f"checkpoints/{name}" for name in stored)}
    assert "LOG_ID" in stored and str(signed.size) in stored
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, name
    assert (out / "checkpoints" / "LOG_ID").read_text().strip() == manifest["log_id"]
    assert (out / "checkpoints" / str(signed.size)).read_text() == signed.note
    assert (out / "key.pub").read_text().strip() == checkpoints.verifier_key()
    head = (out / _dump_name()).read_bytes()[:16]
    assert head.startswith(b"PGDMP" if connection.vendor == "postgresql" else b"SQLite format 3")
    for name in ("manifest.json", _dump_name()):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


@pytest.mark.django_db(transaction=True)
def test_backup_holds_checkpoints_up_to_its_own_size_only(
    tmp_path: Path, make_person: Callable[..., Any], checkpoint_dir: Path
) -> None:
    """A checkpoint file newer than the dumped ledger (signed meanwhile) is not the backup's."""
    _make_ledger(make_person, ("Maria",))
    (checkpoint_dir / "999999").write_text("a checkpoint of a larger tree\n")
    (checkpoint_dir / "README").write_text("not a checkpoint\n")

    manifest = _backup(tmp_path / "backup")

    assert manifest["ledger"]["size"] < 999999
    assert not (tmp_path / "backup" / "checkpoints" / "999999").exists()
    assert not (tmp_path / "backup" / "checkpoints" / "README").exists()
    assert "checkpoints/999999" not in manifest["files"]


@pytest.mark.django_db(transaction=True)
def test_no_file_in_a_backup_holds_the_signing_key(
    tmp_path: Path, make_person: Callable[..., Any], checkpoint_dir: Path
) -> None:
    _make_ledger(make_person, ("Maria",))
    secret = _secret_key()
    # PRIVATE+KEY+<name>+<key hash>+<base64 seed>: the seed alone, as it might be stored.
    seed = re.fullmatch(r"PRIVATE\+KEY\+.+\+[0-9a-f]{8}\+(.{40,})", secret).group(1)
    # A careless set-up keeps the key beside the checkpoints: it still stays out.
    shutil.copy(settings.LEDGER_SIGNING_KEY_FILE, checkpoint_dir / "signing.key")
    out = tmp_path / "backup"

    manifest = _backup(out)

    files = [p for p in out.rglob("*") if p.is_file()]
    assert {str(p.relative_to(out)) for p in files} == {*manifest["files"], "manifest.json"}
    contents = [p.read_bytes() for p in files] + [_dump_text(out)]
    # The search works: the public key and a person's id are found where they belong.
    public = checkpoints.verifier_key().encode()
    assert any(public in data for data in contents)
    assert any(manifest["log_id"].replace("-", "").encode() in data.replace(b"-", b"")
               for data in contents[-1:])
    for data in contents:
        assert secret.encode() not in data
        assert seed.encode() not in data


# --- --out never overwrites -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_backup_refuses_a_non_empty_folder_unless_forced(
    tmp_path: Path, make_person: Callable[..., Any]
) -> None:
    _make_ledger(make_person, ("Maria",))
    out = tmp_path / "backup"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    with pytest.raises(CommandError, match="is not empty"):
        call_command("backup", "--out", str(out), stdout=io.StringIO())
    assert [p.name for p in out.iterdir()] == ["notes.txt"]

    first = _backup(out, "--force")
    (out / "checkpoints" / "424242").write_text("left from an older backup\n")
    second = _backup(out, "--force")

    assert first["backup_id"] != second["backup_id"]
    assert second["ledger"]["size"] == first["ledger"]["size"] + 1  # the second backup's event
    assert (out / "notes.txt").read_text() == "mine\n"
    assert not (out / "checkpoints" / "424242").exists(), "an earlier backup's files are gone"
    backup.read_manifest(out)  # and every sum matches

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(CommandError, match="is a file"):
        call_command("backup", "--out", str(a_file), "--force", stdout=io.StringIO())


# --- restore: refusals before anything is written ---------------------------------------------


@pytest.fixture
def made_backup(tmp_path: Path, make_person: Callable[..., Any]) -> Path:
    _make_ledger(make_person, ("Maria", "Ana"))
    out = tmp_path / "backup"
    _backup(out)
    return out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("dump", r"database\.(dump|sqlite3) has changed since the backup was made"),
        ("checkpoint", r"checkpoints/\d+ has changed since the backup was made"),
        ("truncate", r"has changed since the backup was made .*bytes"),
        ("missing", r"is missing from the backup"),
        ("path", r"which no backup holds: the manifest was altered"),
        ("manifest", r"is not valid JSON"),
        ("version", r"has format version 99"),
        ("no manifest", r"holds no manifest.json"),
    ],
)
def test_restore_refuses_a_damaged_or_altered_backup(
    made_backup: Path, damage: str, message: str
) -> None:
    events = Event.objects.count()
    dump = made_backup / _dump_name()
    manifest_path = made_backup / "manifest.json"
    manifest = json.loads(manifest_path.read_bytes())
    if damage == "dump":
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0x01  # one bit in the middle
        dump.write_bytes(bytes(data))
    elif damage == "checkpoint":
        path = next(p for p in (made_backup / "checkpoints").iterdir() if p.name.isdigit())
        path.write_text(path.read_text().replace("\n", "\n\n", 1))
    elif damage == "truncate":
        dump.write_bytes(dump.read_bytes()[:-1])
    elif damage == "missing":
        (made_backup / "key.pub").unlink()
    elif damage == "path":
        manifest["files"]["../outside"] = manifest["files"]["key.pub"]
        manifest_path.write_text(json.dumps(manifest))
    elif damage == "manifest":
        manifest_path.write_text(manifest_path.read_text()[:-20])
    elif damage == "version":
        manifest["version"] = 99
        manifest_path.write_text(json.dumps(manifest))
    else:
        manifest_path.unlink()

    with pytest.raises(CommandError, match=message):
        call_command("restore", str(made_backup), "--force", stdout=io.StringIO())
    assert Event.objects.count() == events, "nothing was restored or recorded"


@pytest.mark.django_db(transaction=True)
def test_restore_never_replaces_a_database_that_holds_a_ledger(made_backup: Path) -> None:
    events = Event.objects.count()
    for extra in ([], ["--force"], ["--force", "--accept-rollback"]):
        with pytest.raises(CommandError, match="already holds a ledger.*new, empty database"):
            call_command("restore", str(made_backup), *extra, stdout=io.StringIO())
    assert Event.objects.count() == events
    assert not Event.objects.filter(action="restore").exists()


# --- restore into a new database --------------------------------------------------------------


@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_a_restored_database_verifies_and_exports_the_same_ledger(
    tmp_path: Path, make_person: Callable[..., Any], checkpoint_dir: Path, new_database: Target
) -> None:
    _make_ledger(make_person, ("Maria", "Ana", "Luis"))
    out = tmp_path / "backup"
    manifest = _backup(out)
    size = manifest["ledger"]["size"]
    original_export = tmp_path / "original-export"
    call_command("ledger", "export", "--out", str(original_export), stdout=io.StringIO())
    store = tmp_path / "restored-checkpoints"
    env = _env(tmp_path, new_database.url, store)

    restored = _caseledger(env, "restore", str(out))

    assert restored.returncode == 0, restored.stderr
    assert f"restored backup {manifest['backup_id']}" in restored.stdout
    assert f"ledger intact: {size + 1} entries" in restored.stdout  # and the restore's event
    assert sorted(os.listdir(store)) == sorted(os.listdir(checkpoint_dir))
    (restore_event,) = new_database.query(
        "SELECT detail, purpose, actor_role FROM ledger_event WHERE action = 'restore'")
    detail = restore_event[0]
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert detail["backup_id"] == manifest["backup_id"] and detail["backup_size"] == size
    assert "rolled_back_from" not in detail
    assert restore_event[1:] == ("administration", "system")

    verify = _caseledger(env, "ledger", "verify")
    assert verify.returncode == 0, verify.stderr
    assert f"ledger intact: {size + 1} entries" in verify.stdout

    restored_export = tmp_path / "restored-export"
    exported = _caseledger(env, "ledger", "export", "--out", str(restored_export))
    assert exported.returncode == 0, exported.stderr
    key = original_export / "key.pub"  # the auditor's key, obtained apart from the export
    for folder in (original_export, restored_export):
        audit = _auditor(env, "export", str(folder), "--key", str(key))
        assert audit.returncode == 0, audit.stderr
        assert audit.stdout.startswith("OK export ")
    original_lines = (original_export / "entries.jsonl").read_text().splitlines()
    restored_lines = (restored_export / "entries.jsonl").read_text().splitlines()
    assert len(original_lines) == size
    assert restored_lines[:size] == original_lines, "every backed-up entry, byte for byte"
    assert len(restored_lines) == size + 1
    assert sorted(os.listdir(restored_export / "checkpoints")) == sorted(
        os.listdir(original_export / "checkpoints"))


@pytest.mark.postgres_only
@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_a_restored_postgresql_ledger_keeps_its_append_only_triggers(
    tmp_path: Path, make_person: Callable[..., Any], new_database: Target
) -> None:
    _make_ledger(make_person, ("Maria",))
    out = tmp_path / "backup"
    _backup(out)

    restored = _caseledger(_env(tmp_path, new_database.url, tmp_path / "store"), "restore",
                           str(out))

    assert restored.returncode == 0, restored.stderr
    import psycopg

    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        new_database.query("UPDATE ledger_event SET action = 'read'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        new_database.query("DELETE FROM ledger_entry")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        new_database.query("TRUNCATE ledger_event CASCADE")


@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_restore_into_a_migrated_database_needs_force(
    tmp_path: Path, made_backup: Path, new_database: Target
) -> None:
    env = _env(tmp_path, new_database.url, tmp_path / "store")
    migrated = _caseledger(env, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    tables = new_database.tables()
    assert tables > 10

    refused = _caseledger(env, "restore", str(made_backup))

    assert refused.returncode == 1
    assert re.search(r"is not empty: it has \d+ tables \(but no ledger", refused.stderr)
    assert "pass --force" in refused.stderr
    assert new_database.query("SELECT COUNT(*) FROM ledger_event") == [(0,)]

    forced = _caseledger(env, "restore", str(made_backup), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "ledger intact" in forced.stdout


@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_an_older_backup_under_newer_checkpoints_is_a_rollback(
    tmp_path: Path, make_person: Callable[..., Any], checkpoint_dir: Path, new_database: Target
) -> None:
    _make_ledger(make_person, ("Maria",))
    old = tmp_path / "old-backup"
    size = _backup(old)["ledger"]["size"]
    _make_ledger(make_person, ("Ana", "Luis"))  # later events, under a newer checkpoint
    newest = checkpoints.latest().size
    assert newest > size

    # The configured store is the live one, which holds the newer checkpoint.
    refused = _caseledger(_env(tmp_path, new_database.url, checkpoint_dir), "restore", str(old))
    assert refused.returncode == 1
    assert f"ROLLBACK: the checkpoint store {checkpoint_dir} holds checkpoint {newest}" in (
        refused.stderr)
    assert "auditors who hold checkpoint" in refused.stderr and "--accept-rollback" in (
        refused.stderr)
    assert new_database.tables() == 0, "refused before anything was restored"

    # A new, empty store is configured, but the operator names the old one (or an auditor's copy).
    env = _env(tmp_path, new_database.url, tmp_path / "new-store")
    refused = _caseledger(env, "restore", str(old), "--checkpoints", str(checkpoint_dir))
    assert refused.returncode == 1 and "ROLLBACK" in refused.stderr
    assert new_database.tables() == 0

    accepted = _caseledger(env, "restore", str(old), "--checkpoints", str(checkpoint_dir),
                           "--accept-rollback")
    assert accepted.returncode == 0, accepted.stderr
    assert f"ROLLBACK accepted: checkpoint {newest} had been signed" in accepted.stderr
    assert "ledger intact" in accepted.stdout
    (detail,) = new_database.query("SELECT detail FROM ledger_event WHERE action = 'restore'")[0]
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert (detail["backup_size"], detail["rolled_back_from"]) == (size, newest)
    assert (checkpoint_dir / str(newest)).exists(), "the newer checkpoint is kept: evidence"
    assert sorted(os.listdir(tmp_path / "new-store")) == sorted(os.listdir(old / "checkpoints"))


@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_store_of_another_log_or_another_history(
    tmp_path: Path, made_backup: Path, checkpoint_dir: Path, new_database: Target
) -> None:
    other_log = tmp_path / "other-log"
    other_log.mkdir()
    (other_log / "LOG_ID").write_text(f"{uuid.uuid4()}\n")
    refused = _caseledger(_env(tmp_path, new_database.url, other_log), "restore",
                          str(made_backup))
    assert refused.returncode == 1
    assert f"The checkpoint store {other_log} belongs to log" in refused.stderr

    forked = tmp_path / "forked"
    shutil.copytree(checkpoint_dir, forked)
    size = checkpoints.latest().size
    note = (forked / str(size)).read_text()
    (forked / str(size)).write_text(note.replace("\n", "\nx\n", 1))
    refused = _caseledger(_env(tmp_path, new_database.url, forked), "restore", str(made_backup))
    assert refused.returncode == 1
    assert f"FORK: the checkpoint store {forked} holds a checkpoint {size}" in refused.stderr
    assert new_database.tables() == 0


@pytest.mark.subprocess
def test_backup_says_when_it_cannot_reach_the_database(tmp_path: Path) -> None:
    env = _env(tmp_path, "postgres://caseledger@127.0.0.1:1/caseledger", tmp_path / "store")

    result = _caseledger(env, "backup", "--out", str(tmp_path / "backup"))

    assert result.returncode == 1
    assert "Cannot reach the database caseledger (PostgreSQL at 127.0.0.1:1)" in result.stderr
    assert "Traceback" not in result.stderr


# --- finding pg_dump and pg_restore -----------------------------------------------------------


def _fake_tool(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_pg_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.setattr(backup, "PG_BIN_DIRS", str(tmp_path / "lib" / "*" / "bin"))
    return tmp_path


def test_a_missing_pg_dump_says_to_install_the_client(no_pg_tools: Path) -> None:
    with pytest.raises(backup.BackupError, match=r"pg_dump was not found.*"
                                                 r"apt-get install postgresql-client-16"):
        backup.find_pg_tool("pg_dump", 16)


def test_pg_dump_must_be_at_least_as_new_as_the_server(no_pg_tools: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    old = _fake_tool(no_pg_tools / "lib" / "13" / "bin", "pg_dump", "13.9")
    with pytest.raises(backup.BackupError, match=rf"at least as new as the server "
                                                 rf"\(PostgreSQL 15\); found only {old} "
                                                 r"\(version 13\)"):
        backup.find_pg_tool("pg_dump", 15)

    newer = _fake_tool(no_pg_tools / "lib" / "17" / "bin", "pg_dump", "17.2")
    assert backup.find_pg_tool("pg_dump", 15) == newer
    chosen = _fake_tool(no_pg_tools / "chosen", "pg_dump", "16.1")
    monkeypatch.setenv("PG_BINDIR", str(chosen.parent))
    assert backup.find_pg_tool("pg_dump", 15) == chosen, "PG_BINDIR comes first"


@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_a_backup_of_an_older_release_is_migrated_then_verified(
    tmp_path: Path, make_person: Callable[..., Any], checkpoint_dir: Path, new_database: Target,
    users: dict[str, Any],
) -> None:
    """A backup taken before ledger migration 0010 (subject rows without their event's time)
    restores with this release: restore applies the migrations, then records and verifies."""
    from django.db.migrations.executor import MigrationExecutor

    from caseledger.people.selectors import search_persons
    from tests.conftest import context

    _make_ledger(make_person, ("Maria", "Ana"))
    # a search that names the persons it found: subject rows
    search_persons(ctx=context(users["officer_east"]), query="Maria Gonzalez")
    integrate_pending()
    checkpoints.sign_checkpoint(force=True)

    def migrate_to(target: tuple[str, str]) -> None:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([target])

    migrate_to(("ledger", "0009_history_index_covers_role"))
    try:
        manifest = _backup(tmp_path / "backup")
    finally:
        migrate_to(("ledger", "0010_subject_rows_carry_event_time"))
    env = _env(tmp_path, new_database.url, tmp_path / "restored-checkpoints")

    restored = _caseledger(env, "restore", str(tmp_path / "backup"))

    assert restored.returncode == 0, restored.stderr
    assert "migration(s) of this release newer than the backup applied" in restored.stdout
    assert f"ledger intact: {manifest['ledger']['size'] + 1} entries" in restored.stdout
    rows = new_database.query("SELECT count(*) FROM ledger_event_subject s JOIN ledger_event e "
                              "ON e.id = s.event_id AND e.time = s.event_time")
    assert rows[0][0] > 0
