"""`caseledger faces compare|calibrate` as tools: labelled summaries, workers, no configuration
needed, and bad inputs that end in a clear message instead of a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from PIL import Image, ImageEnhance

from caseledger.biometrics import calibration
from caseledger.biometrics.verifier import StubVerifier

from .conftest import encode


def compare(*args: str) -> tuple[list[dict], dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("faces", "compare", *args, stdout=out, stderr=err)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert set(lines[-1]) == {"summary"}, "the summary is the last line"
    return lines[:-1], lines[-1]["summary"], err.getvalue()


@pytest.fixture
def stub_photos(tmp_path: Path) -> tuple[Path, StubVerifier]:
    """Files whose bytes the stub knows: Alice twice, Bob once, and a dark photo of Alice."""
    stub = StubVerifier()
    for folder, name, content in (
        ("alice", "a1.jpg", b"alice-1"),
        ("alice", "a2.jpg", b"alice-2"),
        ("bob", "b1.jpg", b"bob-1"),
        ("alice", "dark.jpg", b"alice-dark"),
    ):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_bytes(content)
    stub.add(b"alice-1", person="alice")
    stub.add(b"alice-2", person="alice")
    stub.add(b"bob-1", person="bob")
    stub.add(b"alice-dark", outcome="poor_quality")
    return tmp_path, stub


def test_labelled_pairs_end_with_the_error_rates(stub_photos: tuple[Path, StubVerifier]) -> None:
    root, stub = stub_photos
    pairs = root / "pairs.tsv"
    pairs.write_text(
        "alice/a1.jpg\talice/a2.jpg\tsame\n"
        "alice/a1.jpg\tbob/b1.jpg\tdifferent\n"
        "alice/a1.jpg\talice/dark.jpg\tsame\n"
        "bob/b1.jpg\talice/a2.jpg\tsame\n"  # mislabelled on purpose: a false non-match
        "alice/a1.jpg\tbob/b1.jpg\tperhaps\n",
        encoding="utf-8",
    )
    with override_settings(FACE_VERIFIER=stub):
        rows, summary, err = compare("--pairs", str(pairs), "--labels", "column", "--workers", "1")
    assert [r["outcome"] for r in rows] == [
        "match",
        "no_match",
        "poor_quality",
        "no_match",
        "bad_line",
    ]
    assert [r.get("label") for r in rows] == ["genuine", "impostor", "genuine", "genuine", None]
    refused = rows[2]
    assert refused["photo1"]["outcome"] == "ok" and refused["photo2"]["outcome"] == "poor_quality"
    assert refused["distance"] is None and refused["match"] is False
    assert rows[0]["model_id"] == "stub-v1" and rows[0]["threshold_version"]
    assert rows[0]["photo1"]["quality"]["face_width_px"] == 200
    assert "unknown label" in rows[4]["reason"]
    assert summary["genuine_pairs"] == 3 and summary["genuine_compared"] == 2
    assert summary["false_non_matches"] == 1 and summary["fnmr"] == 0.5
    assert summary["fnmr_refusals_as_failures"] == pytest.approx(2 / 3)
    assert summary["impostor_compared"] == 1 and summary["fmr"] == 0.0
    assert summary["fmr_ci95"][0] == 0.0 and 0.7 < summary["fmr_ci95"][1] < 0.8  # Wilson, n=1
    assert summary["photos"] == 4 and summary["photos_refused"] == 1
    assert "FNMR 50.00 %" in err and "FMR 0.00 %" in err
    assert "embedding photos" in err  # the progress bar, on stderr


def test_folders_say_who_is_who(stub_photos: tuple[Path, StubVerifier]) -> None:
    root, stub = stub_photos
    pairs = root / "pairs.tsv"
    pairs.write_text("alice/a1.jpg\talice/a2.jpg\nalice/a2.jpg\tbob/b1.jpg\n", encoding="utf-8")
    with override_settings(FACE_VERIFIER=stub):
        rows, summary, _ = compare("--pairs", str(pairs), "--labels", "folders", "--workers", "1")
    assert [r["label"] for r in rows] == ["genuine", "impostor"]
    assert summary["fnmr"] == 0.0 and summary["fmr"] == 0.0
    assert summary["photos"] == 3  # each photo embedded once


def test_worker_processes_give_the_same_rows(stub_photos: tuple[Path, StubVerifier]) -> None:
    root, stub = stub_photos
    pairs = root / "pairs.tsv"
    pairs.write_text(
        "alice/a1.jpg\talice/a2.jpg\nalice/a1.jpg\tbob/b1.jpg\nalice/dark.jpg\tbob/b1.jpg\n"
        "alice/a1.jpg\tnobody.jpg\n",
        encoding="utf-8",
    )
    with override_settings(FACE_VERIFIER=stub):
        one, summary_one, _ = compare("--pairs", str(pairs), "--workers", "1", "--quiet")
        two, summary_two, err = compare("--pairs", str(pairs), "--workers", "2", "--quiet")
    assert one == two and summary_one == summary_two
    assert [r["outcome"] for r in two] == ["match", "no_match", "poor_quality", "missing_file"]
    assert err == ""  # --quiet: no progress bar, no summary on stderr


def test_compare_refuses_a_missing_root(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a.jpg\tb.jpg\n", encoding="utf-8")
    with pytest.raises(CommandError, match="not a folder"):
        compare("--pairs", str(pairs), "--root", str(tmp_path / "nowhere"))
    pairs.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CommandError, match="cannot read the pairs file"):
        compare("--pairs", str(pairs))


# --- calibrate: bad folders --------------------------------------------------------------
def calibrate(*args: str) -> str:
    out = io.StringIO()
    call_command("faces", "calibrate", *args, "--workers", "1", "--quiet", stdout=out)
    return out.getvalue()


def test_calibrate_says_what_is_wrong_with_the_folder(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a folder"):
        calibrate("--faces", str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no photos"):
        calibrate("--faces", str(tmp_path / "empty"))
    notes = tmp_path / "notes" / "ann"
    notes.mkdir(parents=True)
    (notes / "readme.txt").write_text("not a photo", encoding="utf-8")
    (notes / "scan.pdf").write_bytes(b"%PDF-1.7\n")
    with pytest.raises(CommandError, match="2 other files were ignored"):
        calibrate("--faces", str(tmp_path / "notes"))
    alone = tmp_path / "alone" / "ann"
    alone.mkdir(parents=True)
    (alone / "1.jpg").write_bytes(b"")
    (alone / "2.jpg").write_bytes(b"")
    with pytest.raises(CommandError, match="only one person"):
        calibrate("--faces", str(tmp_path / "alone"))
    (tmp_path / "alone" / "ben").mkdir()
    (tmp_path / "alone" / "ben" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(CommandError, match="no face was found in any photo"):
        calibrate("--faces", str(tmp_path / "alone"))


def calibration_people() -> list[str]:
    """Two folder names that the fixed split keeps in the calibration part."""
    names = [f"person-{n}" for n in range(20)]
    return [n for n in names if not calibration.is_held_out(n)][:2]


def test_calibrate_end_to_end_on_packaged_faces(
    tmp_path: Path, astronaut: Image.Image, grace_hopper: Image.Image
) -> None:
    """A tiny run on real faces, a corrupt file among them: every output is written, and
    the corrupt file is a refused photo, not an error."""
    first, second = calibration_people()
    faces = tmp_path / "faces"
    (faces / first).mkdir(parents=True)
    (faces / second).mkdir()
    (faces / first / "1.png").write_bytes(encode(astronaut, "PNG"))
    (faces / first / "2.jpg").write_bytes(encode(astronaut.crop((110, 10, 350, 260)), "JPEG"))
    brighter = ImageEnhance.Brightness(astronaut).enhance(1.2)
    (faces / first / "3.jpg").write_bytes(encode(brighter, "JPEG", quality=80))
    (faces / first / "corrupt.jpg").write_bytes(encode(astronaut, "JPEG")[:300])
    (faces / second / "1.jpg").write_bytes(encode(grace_hopper, "JPEG"))
    (faces / second / "2.jpg").write_bytes(encode(grace_hopper.crop((60, 60, 460, 460)), "JPEG"))
    doc, det, figures = tmp_path / "FACE.md", tmp_path / "img" / "det.svg", tmp_path / "c.json"
    markdown = calibrate(
        "--faces", str(faces), "--gate-people", "0",
        "--out", str(doc), "--det", str(det), "--json", str(figures),
    )  # fmt: skip
    data = json.loads(figures.read_text(encoding="utf-8"))
    assert data["photos"] == 6 and data["people"] == 2
    assert data["outcomes"] == {"ok": 5, "unreadable": 1}
    part = data["calibration"]
    assert part["genuine_pairs"] == 6 + 1 and part["genuine_pairs_compared"] == 3 + 1
    assert part["genuine_pairs_with_refused_photo"] == 3
    assert part["impostor_pairs_compared"] == 3 * 2 and part["false_matches"] == 0
    assert part["refused_by_outcome"] == {"unreadable": 1}
    assert 0.5 < data["threshold"] < 1.2  # just below the closest impostor pair
    assert data["held_out"] is None and any("held-out" in n for n in data["notes"])
    assert "Chosen threshold" in markdown and "`unreadable` | 1" in markdown
    assert "img/det.svg" in doc.read_text(encoding="utf-8")
    svg = det.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


# --- no configuration, no traceback ---------------------------------------------------------
def run_tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`caseledger faces ...` in a clean environment: no secret key, no database, no settings
    module named (cli.py chooses the tool settings for `faces` itself)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
    }
    code = "from caseledger.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "faces", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_compare_runs_without_any_configuration(tmp_path: Path, astronaut: Image.Image) -> None:
    (tmp_path / "a.png").write_bytes(encode(astronaut, "PNG"))
    (tmp_path / "b.jpg").write_bytes(encode(astronaut.crop((110, 10, 350, 260)), "JPEG"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (tmp_path / "pairs.tsv").write_text("a.png\tb.jpg\na.png\tbroken.jpg\n", encoding="utf-8")
    done = run_tool("compare", "--pairs", "pairs.tsv", "--workers", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows[0]["outcome"] == "match" and rows[0]["distance"] < 0.3
    assert rows[1]["outcome"] == "unreadable" and rows[1]["photo2"]["outcome"] == "unreadable"
    assert rows[2]["summary"]["pairs"] == 2
    assert not (tmp_path / "var").exists()  # no database folder made on the way


def test_a_bad_folder_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = run_tool("calibrate", "--faces", "empty", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert "no photos in empty" in done.stderr
    assert "Traceback" not in done.stderr
