"""The dlib verifier on real faces that ship in packages (astronaut, grace_hopper)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image, ImageEnhance

from caseledger.biometrics import verifier as v
from caseledger.biometrics.quality import FaceBox, QualityLimits
from caseledger.biometrics.verifier import DlibResNetVerifier, FaceAnalysis

from .conftest import blank, encode

ASTRONAUT_FACE = (110, 10, 350, 260)  # around the face box (179, 83)-(267, 171)


def exif_rotated(image: Image.Image) -> bytes:
    """How a phone stores a portrait photo: pixels rotated, EXIF orientation 6 to undo it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image.rotate(90, expand=True), "JPEG", quality=92, exif=exif.tobytes())


def test_reference_embedding_and_template(astronaut_analysis: FaceAnalysis) -> None:
    a = astronaut_analysis
    assert a.ok and a.faces_found == 1 and a.model_id == "dlib-resnet-v1-5pt-3crop-mirror"
    assert a.embedding is not None and a.embedding.dtype == np.float32
    assert a.embedding.shape == (128,)
    assert a.box is not None and 80 <= a.box.width <= 100
    assert a.quality is not None and a.quality.ok
    template = a.template()
    assert len(template) == v.TEMPLATE_BYTES == 512
    assert np.array_equal(v.template_from_bytes(template), a.embedding)
    assert set(a.timings_ms) >= {"load", "detect", "align", "embed", "total"}


@pytest.mark.parametrize(
    "probe",
    ["cropped", "brightened", "jpeg_quality_40", "exif_rotated", "all_at_once"],
)
def test_same_face_matches(
    probe: str,
    dlib_verifier: DlibResNetVerifier,
    astronaut: Image.Image,
    astronaut_template: bytes,
) -> None:
    data = {
        "cropped": lambda: encode(astronaut.crop(ASTRONAUT_FACE), "PNG"),
        "brightened": lambda: encode(ImageEnhance.Brightness(astronaut).enhance(1.2), "PNG"),
        "jpeg_quality_40": lambda: encode(astronaut, "JPEG", quality=40),
        "exif_rotated": lambda: exif_rotated(astronaut),
        "all_at_once": lambda: exif_rotated(
            ImageEnhance.Brightness(astronaut.crop(ASTRONAUT_FACE)).enhance(1.15)
        ),
    }[probe]()
    decision = dlib_verifier.compare(astronaut_template, data)
    assert decision.outcome == "match", decision
    assert decision.match is True
    assert decision.distance is not None and decision.distance < 0.3
    assert decision.model_id == dlib_verifier.model_id


def test_exif_orientation_is_what_makes_the_rotated_photo_work(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image
) -> None:
    sideways = encode(astronaut.rotate(90, expand=True), "JPEG", quality=92)  # no EXIF tag
    assert dlib_verifier.embed(sideways).outcome == "no_face"


def test_different_person_does_not_match(
    dlib_verifier: DlibResNetVerifier, grace_hopper: Image.Image, astronaut_template: bytes
) -> None:
    decision = dlib_verifier.compare(astronaut_template, encode(grace_hopper, "JPEG"))
    assert decision.outcome == "no_match"
    assert decision.match is False
    assert decision.distance is not None and decision.distance > 0.6


def test_decision_records_model_threshold_and_quality(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image, astronaut_template: bytes
) -> None:
    from django.conf import settings

    decision = dlib_verifier.compare(astronaut_template, encode(astronaut, "PNG"))
    assert decision.threshold == settings.FACE_MATCH_THRESHOLD
    assert decision.threshold_version == settings.FACE_THRESHOLD_VERSION
    assert set(decision.quality) == {
        "face_width_px",
        "sharpness",
        "brightness",
        "contrast",
        "overexposed_pct",
    }
    record = json.loads(json.dumps(decision.as_dict()))
    assert record["outcome"] == "match" and record["match"] is True
    assert record["distance"] == pytest.approx(decision.distance, abs=1e-4)
    assert decision.photo_problem is False


def test_threshold_comes_from_settings(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image, astronaut_template: bytes
) -> None:
    probe = encode(astronaut.crop(ASTRONAUT_FACE), "PNG")
    with override_settings(FACE_MATCH_THRESHOLD=0.01, FACE_THRESHOLD_VERSION="strict-test"):
        decision = dlib_verifier.compare(astronaut_template, probe)
    assert decision.outcome == "no_match" and decision.threshold == 0.01
    assert decision.threshold_version == "strict-test"


def test_black_frame_has_no_face(
    dlib_verifier: DlibResNetVerifier, astronaut_template: bytes
) -> None:
    decision = dlib_verifier.compare(astronaut_template, encode(blank(), "PNG"))
    assert decision.outcome == "no_face"
    assert decision.distance is None and decision.match is False
    assert decision.photo_problem is True
    assert "face" in decision.message


def test_two_faces_of_one_size_side_by_side(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image, grace_hopper: Image.Image
) -> None:
    """Neither face dominates (see test_selection.py for one that does): refused."""
    canvas = blank(1000, 600, (128, 128, 128))
    canvas.paste(astronaut, (0, 40))
    scale = 88 / 216  # grace's face is ~216 px wide, the astronaut's ~88 px
    small = grace_hopper.resize((round(512 * scale), round(600 * scale)), Image.Resampling.LANCZOS)
    canvas.paste(small, (640, 120))
    analysis = dlib_verifier.embed(encode(canvas, "JPEG", quality=90))
    assert analysis.outcome == "multiple_faces"
    assert analysis.faces_found == 2 and analysis.embedding is None
    assert analysis.choice is not None and analysis.choice.dominance is not None
    assert analysis.choice.dominance < 2.0


def test_a_small_face_found_by_upsampling_is_used(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image, astronaut_template: bytes
) -> None:
    """Faces down to the detector's reach are compared: shrunk LFW faces of 26-76 px matched
    their other photos about 90 % of the time (docs/FACE_VERIFICATION.md)."""
    side = round(512 * 44 / 88)  # the face is 88 px wide in the 512 px original: now ~44
    small = astronaut.resize((side, side), Image.Resampling.LANCZOS)
    decision = dlib_verifier.compare(astronaut_template, encode(small, "PNG"))
    assert decision.outcome == "match", decision
    assert 37 <= decision.quality["face_width_px"] < 60


def test_a_face_under_the_size_limit_is_too_small() -> None:
    """The detector rarely reports a box under 37 px; when it does, the gate refuses it."""
    from caseledger.biometrics.quality import QualityReport
    from caseledger.biometrics.selection import Detection, FaceChoice

    box = FaceBox(0, 0, 30, 30)
    choice = FaceChoice(Detection(box, 1.0), 1, None, 0.0, Detection(box, 1.0))
    measured = QualityReport(30, 300.0, 120.0, 40.0)
    assert v.gate_outcome(choice, measured, QualityLimits()) == "face_too_small"
    assert v.gate_outcome(choice, measured, QualityLimits(min_face_width_px=20)) == "ok"


def test_a_dark_face_is_poor_quality(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image
) -> None:
    dark = ImageEnhance.Brightness(astronaut).enhance(0.1)
    analysis = dlib_verifier.embed(encode(dark, "PNG"))
    assert analysis.outcome == "poor_quality"
    assert analysis.quality is not None and "too_dark" in analysis.quality.reasons
    assert analysis.embedding is None


def test_bad_uploads_are_outcomes_not_exceptions(
    dlib_verifier: DlibResNetVerifier, astronaut_template: bytes
) -> None:
    cases = {
        b"": "empty",
        b"%PDF-1.4 not a photo": "unreadable",
        encode(blank(20, 20), "GIF"): "unsupported_type",
    }
    for data, outcome in cases.items():
        assert dlib_verifier.embed(data).outcome == outcome
        assert dlib_verifier.compare(astronaut_template, data).outcome == outcome


def test_compare_refuses_a_broken_template(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image
) -> None:
    for bad in (b"\x00" * 100, np.zeros(64), np.full(128, np.nan)):
        with pytest.raises(ValueError):
            dlib_verifier.compare(bad, encode(astronaut, "PNG"))


def test_embed_accepts_an_already_loaded_image(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image, astronaut_analysis: FaceAnalysis
) -> None:
    again = dlib_verifier.embed(astronaut)
    assert again.embedding is not None and astronaut_analysis.embedding is not None
    assert v.face_distance(again.embedding, astronaut_analysis.embedding) < 1e-4


def test_mirror_averaging_changes_the_model_id(
    astronaut: Image.Image, astronaut_analysis: FaceAnalysis
) -> None:
    plain = DlibResNetVerifier(mirror=False)
    analysis = plain.embed(astronaut)
    assert plain.model_id == "dlib-resnet-v1-5pt"
    assert analysis.embedding is not None and astronaut_analysis.embedding is not None
    assert 0.0 < v.face_distance(analysis.embedding, astronaut_analysis.embedding) < 0.2


def test_recompressed_selfie_with_a_faint_artefact_is_still_one_face():
    """At 640x480 and JPEG quality 90-92 the astronaut's suit gave a second HOG detection
    (score ~0.31) beside her face (~1.6): that must not refuse a genuine selfie."""
    import io

    from PIL import Image
    from skimage import data

    from caseledger.biometrics.verifier import DlibResNetVerifier

    verifier = DlibResNetVerifier()
    image = Image.fromarray(data.astronaut()).resize((480, 480))
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(image, (80, 0))
    outcomes = set()
    for quality in (90, 91, 92):
        buffer = io.BytesIO()
        canvas.save(buffer, format="JPEG", quality=quality)
        outcomes.add(verifier.embed(buffer.getvalue()).outcome)
    assert outcomes == {"ok"}
