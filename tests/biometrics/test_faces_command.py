"""`caseledger faces compare` and the calibration helpers behind `faces calibrate`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from caseledger.biometrics import calibration

from .conftest import blank, encode


def run_compare(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("faces", "compare", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


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
        assert set(row) == {"image1", "image2", "distance", "match", "outcome"}
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


# --- calibration helpers (the full run on ../shared/faces is in docs/FACE_VERIFICATION.md) ---
def make_faces_folder(root: Path) -> None:
    (root / "deepface").mkdir(parents=True)
    (root / "deepface" / "master.csv").write_text(
        "file_x,file_y,Decision\nimg1.jpg,img2.jpg,Yes\nimg1.jpg,img3.jpg,No\n"
        "img2.jpg,img3.jpg,No\n",
        encoding="utf-8",
    )
    for person, photos in {"ann": ["a1.jpg", "a2.jpg"], "ben": ["b1.jpg"]}.items():
        folder = root / "face_recognition" / "knn_examples" / "train" / person
        folder.mkdir(parents=True)
        for name in photos:
            (folder / name).write_bytes(b"")
    (root / "openface").mkdir()
    for name in ("clapton-1.jpg", "clapton-2.jpg", "lennon-1.jpg"):
        (root / "openface" / name).write_bytes(b"")


def test_calibration_pairs(tmp_path: Path) -> None:
    make_faces_folder(tmp_path)
    cal = calibration.build_calibration_set(tmp_path)
    knn = "face_recognition/knn_examples/train"
    assert set(cal.genuine) == {
        ("deepface/img1.jpg", "deepface/img2.jpg"),
        (f"{knn}/ann/a1.jpg", f"{knn}/ann/a2.jpg"),
        ("openface/clapton-1.jpg", "openface/clapton-2.jpg"),
    }
    # listed No pairs, across knn people, across openface people, and across the sources
    assert ("deepface/img1.jpg", "deepface/img3.jpg") in cal.impostor
    assert (f"{knn}/ann/a1.jpg", f"{knn}/ben/b1.jpg") in cal.impostor
    assert ("openface/clapton-1.jpg", "openface/lennon-1.jpg") in cal.impostor
    assert ("deepface/img1.jpg", "openface/lennon-1.jpg") in cal.impostor
    assert not set(cal.genuine) & set(cal.impostor)
    assert len(cal.impostor) == 2 + 2 + 2 + (3 * 3 + 3 * 3 + 3 * 3)
    with pytest.raises(calibration.CalibrationError):
        calibration.build_calibration_set(tmp_path / "empty")


def test_error_rates_and_recommendation() -> None:
    genuine = [0.30, 0.35, 0.42, 0.48, 0.52, 0.61]
    impostor = [0.63, 0.70, 0.80, 0.90]
    rates = calibration.error_rates(genuine, impostor)
    assert [r.threshold for r in rates][:3] == [0.4, 0.425, 0.45]
    assert len(rates) == 11 and rates[-1].threshold == 0.65
    at = {r.threshold: r for r in rates}
    assert at[0.5].false_non_matches == 2 and at[0.5].fnmr == pytest.approx(2 / 6)
    assert at[0.65].false_matches == 1 and at[0.65].fmr == 0.25
    threshold, why = calibration.recommend(rates)
    assert threshold == 0.525  # lowest FNMR without a false match, capped at 0.55
    assert "0.525" in why
    # a false match already at the low end: the strictest value, and a warning
    threshold, why = calibration.recommend(calibration.error_rates([0.3], [0.39]))
    assert threshold == 0.4 and "check" in why


def test_report_is_written_between_markers(tmp_path: Path) -> None:
    doc = tmp_path / "FACE.md"
    calibration.write_report(doc, "first table")
    text = doc.read_text()
    assert "first table" in text and calibration.BEGIN in text
    doc.write_text(
        "# Title\n\nprose before\n\n" + text[text.index(calibration.BEGIN) :] + "\nafter\n"
    )
    calibration.write_report(doc, "second table")
    text = doc.read_text()
    assert "first table" not in text and "second table" in text
    assert text.startswith("# Title\n\nprose before") and text.rstrip().endswith("after")
