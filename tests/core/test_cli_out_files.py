"""`--out` never overwrites by surprise: an existing file or a non-empty folder is refused
unless `--force` (caseledger.core.cli_files); a signing key is never overwritten at all."""

from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from caseledger.core.cli_files import prepare_output_dir, write_output

# Every (command, subcommand) with an --out option, and how it treats an existing target.
OUT_COMMANDS = {
    ("report", "transparency"): "refuses without --force",
    ("ledger", "export"): "refuses a non-empty folder without --force",
    ("ledger", "keygen"): "never overwrites (a signing key)",
    ("backup",): "refuses a non-empty folder without --force",
    # Writes only the generated section between its markers and keeps the rest of the file.
    ("faces", "calibrate"): "updates its marked section",
    # The same (tests/biometrics/test_liveness.py shows the rest of the file is kept).
    ("faces", "liveness-eval"): "updates its marked section",
}


def _out_options(parser: argparse.ArgumentParser, path: tuple[str, ...]):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _out_options(sub, (*path, name))
        elif "--out" in action.option_strings:
            yield path, {s for a in parser._actions for s in a.option_strings}


def test_every_out_option_is_known_and_has_force_where_it_overwrites():
    found = {}
    for name, app in get_commands().items():
        if not app.startswith("caseledger"):
            continue
        parser = load_command_class(app, name).create_parser("caseledger", name)
        for path, options in _out_options(parser, (name,)):
            found[path] = options
    assert set(found) == set(OUT_COMMANDS), "a new --out option: apply the rule, list it here"
    assert "--force" in found[("report", "transparency")]
    assert "--force" in found[("ledger", "export")]
    assert "--force" not in found[("ledger", "keygen")]


# --- report transparency --out --------------------------------------------------------------


@pytest.mark.django_db
def test_transparency_out_refuses_an_existing_file_and_replaces_it_with_force(tmp_path):
    out = tmp_path / "report.json"
    out.write_text("earlier report\n")
    args = ("report", "transparency", "--period", "2026-Q4", "--format", "json", "--out", str(out))
    with pytest.raises(CommandError, match="exists; refusing to overwrite it .pass --force"):
        call_command(*args)
    assert out.read_text() == "earlier report\n"

    call_command(*args, "--force")
    assert json.loads(out.read_bytes())["period"] == "2026-Q4"
    assert not [p for p in tmp_path.iterdir() if p.name != "report.json"], "no temporary left"


@pytest.mark.django_db
def test_transparency_out_writes_a_new_file_and_refuses_a_dangling_link(tmp_path):
    out = tmp_path / "new.json"
    call_command("report", "transparency", "--period", "2026-11", "--format", "json",
                 "--out", str(out))
    assert json.loads(out.read_bytes())["period"] == "2026-11"

    target = tmp_path / "elsewhere.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(CommandError, match="exists; refusing"):
        call_command("report", "transparency", "--period", "2026-11", "--format", "json",
                     "--out", str(link))
    assert not target.exists(), "a planted link is not followed"


# --- ledger export --out DIR ----------------------------------------------------------------


@pytest.mark.django_db
def test_export_refuses_a_non_empty_folder_and_writes_into_it_with_force(tmp_path):
    out = tmp_path / "export"
    (out / "checkpoints").mkdir(parents=True)
    (out / "notes.txt").write_text("mine\n")
    (out / "checkpoints" / "999").write_text("a checkpoint of another log\n")
    with pytest.raises(CommandError, match="is not empty"):
        call_command("ledger", "export", "--out", str(out))
    assert not (out / "entries.jsonl").exists()

    call_command("ledger", "export", "--out", str(out), "--force")
    assert (out / "entries.jsonl").exists() and (out / "key.pub").exists()
    assert not (out / "checkpoints" / "999").exists(), "stale checkpoints are dropped"
    assert (out / "notes.txt").read_text() == "mine\n", "other files are kept"


@pytest.mark.django_db
def test_export_into_a_new_folder_and_never_onto_a_file(tmp_path):
    call_command("ledger", "export", "--out", str(tmp_path / "fresh"))
    assert (tmp_path / "fresh" / "key.pub").exists()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(CommandError, match="is a file"):
        call_command("ledger", "export", "--out", str(a_file), "--force")
    assert a_file.read_text() == "x"


# --- ledger keygen --out FILE ---------------------------------------------------------------


def test_keygen_writes_a_new_key_0600_and_never_overwrites_one(tmp_path, capsys):
    key = tmp_path / "signing.key"
    call_command("ledger", "keygen", "--out", str(key))
    secret = key.read_text()
    assert secret.startswith("PRIVATE+KEY+")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert secret.strip() not in capsys.readouterr().out

    with pytest.raises(CommandError, match="refusing to overwrite a signing key"):
        call_command("ledger", "keygen", "--out", str(key))
    with pytest.raises(CommandError, match="--force"):  # there is no --force for a key
        call_command("ledger", "keygen", "--out", str(key), "--force")
    assert key.read_text() == secret


# --- the helpers ----------------------------------------------------------------------------


def test_write_output_replaces_atomically_with_force_and_keeps_the_mode(tmp_path):
    path = tmp_path / "out.bin"
    write_output(path, b"one", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(CommandError, match="exists"):
        write_output(path, b"two")
    assert path.read_bytes() == b"one"
    write_output(path, b"two", force=True, mode=0o600)
    assert path.read_bytes() == b"two" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]


def test_write_output_refuses_a_folder_and_a_missing_parent(tmp_path):
    with pytest.raises(CommandError, match="is a folder"):
        write_output(tmp_path, b"x", force=True)
    with pytest.raises(CommandError, match="does not exist"):
        write_output(tmp_path / "no" / "such.txt", b"x")


def test_prepare_output_dir(tmp_path: Path):
    prepare_output_dir(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    prepare_output_dir(tmp_path / "a" / "b")  # empty: fine again
    (tmp_path / "a" / "b" / "x").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        prepare_output_dir(tmp_path / "a" / "b")
    prepare_output_dir(tmp_path / "a" / "b", force=True)
