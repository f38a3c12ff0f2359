"""Which face is compared when a photo shows several: the dominant one, or none."""

from __future__ import annotations

import numpy as np
from PIL import Image

from caseledger.biometrics import selection
from caseledger.biometrics.quality import FaceBox
from caseledger.biometrics.selection import Detection, choose_face
from caseledger.biometrics.verifier import DlibResNetVerifier, face_distance

from .conftest import blank, encode


def face(left: int, top: int, side: int, score: float = 1.0) -> Detection:
    return Detection(FaceBox(left, top, left + side, top + side), score)


def test_one_face_is_used_wherever_it_is() -> None:
    choice = choose_face([face(0, 0, 90)], (640, 480))
    assert choice.face == face(0, 0, 90) and choice.faces_found == 1
    assert choice.dominance is None and choice.measures() == {}
    assert choose_face([], (640, 480)).face is None


def test_a_large_central_face_dominates_a_small_one() -> None:
    big, small = face(220, 140, 200), face(20, 20, 90)  # area ratio 4.9
    choice = choose_face([small, big], (640, 480))  # order (e.g. by score) does not matter
    assert choice.face == big and not choice.ambiguous
    assert choice.dominance is not None and round(choice.dominance, 2) == 4.94
    assert choice.measures() == {"faces_found": 2, "dominant_face_ratio": 4.94}


def test_similar_faces_are_ambiguous() -> None:
    choice = choose_face([face(100, 100, 120), face(400, 100, 110)], (640, 480))
    assert choice.face is None and choice.ambiguous
    assert choice.largest == face(100, 100, 120)
    assert choice.dominance is not None and choice.dominance < selection.MIN_DOMINANCE


def test_a_large_face_off_centre_is_ambiguous() -> None:
    # four times the area of the other face, but centred at x = 100 of 640 (offset 0.34)
    choice = choose_face([face(0, 140, 200), face(500, 20, 100)], (640, 480))
    assert choice.face is None and choice.ambiguous
    assert choice.centre_offset is not None and choice.centre_offset > 0.25


def test_the_limits_are_the_documented_ones() -> None:
    assert selection.MIN_DOMINANCE == 2.0 and selection.MAX_CENTRE_OFFSET == 0.25
    # exactly at the limit counts as dominant
    edge = choose_face([face(270, 190, 100), face(0, 0, 70)], (640, 480))
    assert edge.face is not None and edge.dominance is not None and edge.dominance >= 2.0


# --- on real faces that ship in packages -------------------------------------------------
def big_astronaut(astronaut: Image.Image) -> Image.Image:
    """The astronaut's head, enlarged: a face about 190 px wide."""
    crop = astronaut.crop((110, 10, 350, 260))
    return crop.resize((528, 550), Image.Resampling.LANCZOS)


def small_grace(grace_hopper: Image.Image) -> Image.Image:
    """Grace Hopper, reduced: a face about 95 px wide (still found without upsampling)."""
    return grace_hopper.resize((230, 270), Image.Resampling.LANCZOS)


def test_a_bystander_in_the_corner_does_not_refuse_the_photo(
    dlib_verifier: DlibResNetVerifier,
    astronaut: Image.Image,
    grace_hopper: Image.Image,
    astronaut_template: bytes,
) -> None:
    canvas = blank(1000, 800, (128, 128, 128))
    canvas.paste(big_astronaut(astronaut), (236, 125))
    canvas.paste(small_grace(grace_hopper), (10, 10))
    photo = encode(canvas, "JPEG", quality=92)
    analysis = dlib_verifier.embed(photo)
    assert analysis.outcome == "ok" and analysis.faces_found == 2
    assert analysis.box is not None and analysis.box.width > 150  # the astronaut's face
    assert analysis.embedding is not None
    reference = np.frombuffer(astronaut_template, dtype="<f4")
    assert face_distance(reference, analysis.embedding) < 0.3
    decision = dlib_verifier.compare(astronaut_template, photo)
    assert decision.outcome == "match"
    assert decision.quality["faces_found"] == 2
    assert decision.quality["dominant_face_ratio"] >= 2.0  # recorded with the check-in


def test_the_same_two_faces_with_the_large_one_at_the_edge_are_refused(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image, grace_hopper: Image.Image
) -> None:
    canvas = blank(1400, 600, (128, 128, 128))
    canvas.paste(big_astronaut(astronaut), (0, 25))
    canvas.paste(small_grace(grace_hopper), (1100, 150))
    analysis = dlib_verifier.embed(encode(canvas, "JPEG", quality=92))
    assert analysis.outcome == "multiple_faces" and analysis.faces_found == 2
    assert analysis.embedding is None
    assert analysis.choice is not None and analysis.choice.dominance is not None
    assert analysis.choice.dominance >= 2.0  # large enough, but not near the centre


def test_measuring_mode_embeds_the_largest_face_of_an_ambiguous_photo(
    astronaut: Image.Image, grace_hopper: Image.Image
) -> None:
    """Calibration embeds what the gates would refuse, and applies the gates afterwards."""
    from caseledger.biometrics.verifier import gate_outcome

    canvas = blank(1400, 600, (128, 128, 128))
    canvas.paste(big_astronaut(astronaut), (0, 25))
    canvas.paste(small_grace(grace_hopper), (1100, 150))
    analysis = DlibResNetVerifier(gates=False).embed(encode(canvas, "JPEG", quality=92))
    assert analysis.outcome == "ok" and analysis.embedding is not None
    assert analysis.choice is not None
    assert gate_outcome(analysis.choice, analysis.quality) == "multiple_faces"
