"""`caseledger faces compare` on real faces, and the report file `faces calibrate` writes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from caseledger.biometrics import calibration_report

from .conftest import blank, encode


def run_compare(*args: str) -> list[dict]:
    """The pair rows (the summary line that ends the output is checked, then left out)."""
    out = io.StringIO()
    call_command("faces", "compare", *args, "--workers", "1", stdout=out, stderr=io.StringIO())
    rows = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    assert set(rows[-1]) == {"summary"}
    return rows[:-1]


@pytest.fixture
def photo_dir(tmp_path: Path, astronaut: Image.Image, grace_hopper: Image.Image) -> Path:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "astronaut.png").write_bytes(encode(astronaut, "PNG"))
    crop = astronaut.crop((110, 10, 350, 260))
    (tmp_path / "photos" / "astronaut-crop.jpg").write_bytes(encode(crop, "JPEG", quality=85))
    (tmp_path / "photos" / "grace.jpg").write_bytes(encode(grace_hopper, "JPEG"))
    (tmp_path / "photos" / "black.png").write_bytes(encode(blank(), "PNG"))
    (tmp_path / "photos" / "statement.jpg").write_bytes(b"%PDF-1.7\n%%EOF\n")
    return tmp_path


def test_compare_pairs_file(photo_dir: Path) -> None:
    pairs = photo_dir / "pairs.tsv"
    pairs.write_text(
        "# image1<TAB>image2\n"
        "\n"
        "photos/astronaut.png\tphotos/astronaut-crop.jpg\n"
        "photos/astronaut.png\tphotos/grace.jpg\n"
        "photos/astronaut.png\tphotos/nowhere.jpg\n"
        "photos/black.png\tphotos/astronaut.png\n"
        "photos/astronaut.png\tphotos/statement.jpg\n"
        "only-one-field.jpg\n"
        "a.jpg\tb.jpg\tc.jpg\n"
        "   # an indented comment\n",
        encoding="utf-8",
    )
    rows = run_compare("--pairs", str(pairs))
    assert [r["outcome"] for r in rows] == [
        "match",
        "no_match",
        "missing_file",
        "no_face",
        "unreadable",
        "bad_line",
        "bad_line",
    ]
    for row in rows[:5]:
        assert set(row) >= {"image1", "image2", "distance", "match", "outcome", "photo1"}
        assert row["model_id"] == "dlib-resnet-v1-5pt-3crop-mirror" and row["threshold"] > 0
        assert row["threshold_version"]
    assert rows[2]["photo2"]["outcome"] == "missing_file"
    assert rows[3]["photo1"]["outcome"] == "no_face" and rows[3]["photo2"]["outcome"] == "ok"
    assert rows[4]["photo2"]["outcome"] == "unreadable"
    good, other = rows[0], rows[1]
    assert good["image1"] == "photos/astronaut.png"
    assert good["image2"] == "photos/astronaut-crop.jpg"
    assert good["match"] is True and 0 <= good["distance"] < 0.3
    assert round(good["distance"], 4) == good["distance"]
    assert other["match"] is False and other["distance"] > 0.6
    for row in rows[2:]:
        assert row["distance"] is None and row["match"] is False
    assert rows[5]["line"] == 8 and rows[6]["line"] == 9


def test_compare_with_root_and_threshold(photo_dir: Path, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("lists") / "pairs.txt"
    elsewhere.write_text("astronaut.png\tastronaut-crop.jpg\n", encoding="utf-8")
    rows = run_compare("--pairs", str(elsewhere), "--root", str(photo_dir / "photos"))
    assert rows[0]["outcome"] == "match"
    rows = run_compare(
        "--pairs", str(elsewhere), "--root", str(photo_dir / "photos"), "--threshold", "0.01"
    )
    assert rows[0]["outcome"] == "no_match" and rows[0]["distance"] > 0.01


def test_compare_missing_pairs_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        run_compare("--pairs", str(tmp_path / "absent.tsv"))


# --- the report file (the full run on the LFW set is in docs/FACE_VERIFICATION.md) ---
def test_report_is_written_between_markers(tmp_path: Path) -> None:
    doc = tmp_path / "FACE.md"
    calibration_report.write_report(doc, "first table")
    text = doc.read_text()
    assert "first table" in text and calibration_report.BEGIN in text
    doc.write_text(
        "# Title\n\nprose before\n\n" + text[text.index(calibration_report.BEGIN) :] + "\nafter\n"
    )
    calibration_report.write_report(doc, "second table")
    text = doc.read_text()
    assert "first table" not in text and "second table" in text
    assert text.startswith("# Title\n\nprose before") and text.rstrip().endswith("after")
