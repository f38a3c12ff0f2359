"""`caseledger serve` prepares the static files and says so: it collects them when they
changed (or were never collected, or some are missing) and skips the collection when the last
one was of exactly these files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from caseledger.core.management.commands import serve


@pytest.fixture
def static_root(settings, tmp_path: Path) -> Path:
    settings.STATIC_ROOT = str(tmp_path / "static")
    return tmp_path / "static"


def prepare() -> str:
    out = io.StringIO()
    serve.prepare_static(out)
    return out.getvalue()


def test_first_run_collects_and_says_how_many_files(static_root: Path):
    sources = serve.static_sources()
    said = prepare()
    assert f"Preparing {len(sources)} static files" in said
    assert f"Static files ready: {len(sources)} files in" in said
    assert all((static_root / relative).is_file() for relative, _full in sources)
    assert (static_root.parent / ".static.sources.sha256").is_file()
    assert not (static_root / ".static.sources.sha256").exists()  # never served


def test_second_run_skips_the_collection(static_root: Path, monkeypatch):
    prepare()
    collected = []
    monkeypatch.setattr(serve, "call_command", lambda *a, **k: collected.append(a))
    said = prepare()
    assert "Static files are up to date" in said and "not collecting" in said
    assert collected == []


def test_a_missing_output_file_is_collected_again(static_root: Path):
    prepare()
    relative, _full = serve.static_sources()[0]
    (static_root / relative).unlink()
    assert "Static files ready" in prepare()
    assert (static_root / relative).is_file()


def test_a_changed_setting_or_source_changes_the_fingerprint(settings, tmp_path: Path):
    sources = serve.static_sources()
    before = serve.static_fingerprint(sources)
    assert serve.static_fingerprint(sources) == before
    settings.STATIC_URL = "/assets/"
    assert serve.static_fingerprint(sources) != before
    settings.STATIC_URL = "/static/"
    copy = tmp_path / "copy.css"
    copy.write_bytes(Path(sources[0][1]).read_bytes() + b"/* changed */")
    changed = [(sources[0][0], str(copy)), *sources[1:]]
    assert serve.static_fingerprint(changed) != before


def test_a_stale_stamp_collects_again(static_root: Path):
    prepare()
    (static_root.parent / ".static.sources.sha256").write_text("0" * 64 + "\n")
    assert "Static files ready" in prepare()


def test_static_only_prepares_and_exits(static_root: Path):
    out = io.StringIO()
    call_command("serve", "--static-only", stdout=out)
    assert "Static files ready" in out.getvalue()
    assert "caseledger on http" not in out.getvalue()
