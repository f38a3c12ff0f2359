"""The template form on demand: the form's other five chips (two other paddings, and the
mirror images) go through the ResNet only where they can change the decision, on real faces
that ship in packages (astronaut, grace_hopper)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from caseledger.biometrics import calibration as cal
from caseledger.biometrics import verifier as v
from caseledger.biometrics.liveness import check_burst, new_challenge
from caseledger.biometrics.liveness_frames import DlibBurstReader
from caseledger.biometrics.verifier import DlibResNetVerifier

from .conftest import encode


class CountingNet:
    """dlib's ResNet, counting the chips it is given per call."""

    def __init__(self, net: Any) -> None:
        self.net = net
        self.calls: list[int] = []

    def compute_face_descriptor(self, chips: Any, *args: Any) -> Any:
        self.calls.append(len(chips) if isinstance(chips, list) else 1)
        return self.net.compute_face_descriptor(chips, *args)

    @property
    def chips(self) -> int:
        return sum(self.calls)


@pytest.fixture
def net(
    dlib_verifier: DlibResNetVerifier, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CountingNet]:
    models = v._DlibModels.get()
    counting = CountingNet(models.resnet)
    monkeypatch.setattr(models, "resnet", counting)
    yield counting


def _plain_distance(template: bytes, probe: bytes) -> float:
    plain = DlibResNetVerifier(mirror=False).embed(probe)
    assert plain.embedding is not None
    return v.face_distance(v.template_from_bytes(template), plain.embedding)


@pytest.fixture(scope="module")
def probes(astronaut: Image.Image, grace_hopper: Image.Image) -> dict[str, bytes]:
    """Photos of two people as a phone might send them: recompressed, mirrored, cropped,
    darker, lighter, slightly blurred."""
    out = {}
    for name, face in (("astronaut", astronaut), ("hopper", grace_hopper)):
        out[f"{name}-jpeg"] = encode(face, "JPEG", quality=70)
        out[f"{name}-mirrored"] = encode(ImageOps.mirror(face), "JPEG", quality=85)
        out[f"{name}-darker"] = encode(ImageEnhance.Brightness(face).enhance(0.7), "PNG")
        out[f"{name}-lighter"] = encode(ImageEnhance.Brightness(face).enhance(1.25), "PNG")
        out[f"{name}-soft"] = encode(face.filter(ImageFilter.GaussianBlur(1.2)), "JPEG")
        w, h = face.size
        out[f"{name}-cropped"] = encode(face.crop((w // 10, 0, w, h * 9 // 10)), "PNG")
    return out


@pytest.fixture(scope="module")
def templates(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image, grace_hopper: Image.Image
) -> dict[str, bytes]:
    return {
        "astronaut": dlib_verifier.embed(encode(astronaut, "PNG")).template(),
        "hopper": dlib_verifier.embed(encode(grace_hopper, "PNG")).template(),
    }


def test_far_from_the_threshold_one_pass_decides(
    dlib_verifier: DlibResNetVerifier, net: CountingNet, astronaut: Image.Image, templates
) -> None:
    probe = encode(astronaut, "JPEG", quality=80)
    plain = _plain_distance(templates["astronaut"], probe)
    net.calls.clear()
    decision = dlib_verifier.compare(templates["astronaut"], probe)
    assert net.calls == [1]  # the chip alone, no mirror image
    assert decision.match is True and decision.mirrored is False
    assert decision.as_dict()["mirrored"] is False
    assert decision.distance == pytest.approx(plain)
    other = dlib_verifier.compare(templates["hopper"], probe)
    assert other.outcome == "no_match" and other.mirrored is False
    assert net.calls == [1, 1]


def test_near_the_threshold_the_whole_form_is_averaged_in(
    net: CountingNet, astronaut: Image.Image, templates
) -> None:
    """A threshold put just past the plain distance: the second pass runs, and the decision
    and distance are the whole form's to the last bit."""
    probe = encode(ImageEnhance.Brightness(astronaut).enhance(0.7), "PNG")
    plain = _plain_distance(templates["astronaut"], probe)
    threshold = plain + 0.5 * v.MIRROR_BAND
    net.calls.clear()
    decision = DlibResNetVerifier(threshold=threshold).compare(templates["astronaut"], probe)
    assert net.calls == [1, 5] and decision.mirrored is True
    always = DlibResNetVerifier(threshold=threshold, mirror_band=None)
    reference = always.compare(templates["astronaut"], probe)
    assert reference.mirrored is True
    assert decision.distance == pytest.approx(reference.distance, abs=1e-6)
    assert decision.match == reference.match
    assert decision.distance != pytest.approx(plain, abs=1e-4)


def test_the_band_edges(astronaut: Image.Image, templates) -> None:
    probe = encode(ImageEnhance.Brightness(astronaut).enhance(1.25), "PNG")
    plain = _plain_distance(templates["astronaut"], probe)
    band = 0.05
    inside = DlibResNetVerifier(threshold=plain + band - 1e-4, mirror_band=band)
    outside = DlibResNetVerifier(threshold=plain + band + 1e-4, mirror_band=band)
    assert inside.compare(templates["astronaut"], probe).mirrored is True
    assert outside.compare(templates["astronaut"], probe).mirrored is False
    never = DlibResNetVerifier(threshold=plain + 1e-4, mirror_band=0.0)
    assert never.compare(templates["astronaut"], probe).mirrored is False


def test_decisions_equal_the_whole_form_always_on_real_photos(
    dlib_verifier: DlibResNetVerifier, probes: dict[str, bytes], templates
) -> None:
    """Every template against every probe: where the second pass was skipped, the plain
    distance lay outside the band and the decision is the whole form's. (The whole form of
    each probe is described once: with no band, `compare` is `decide` on `embed`.)"""
    always = DlibResNetVerifier(mirror_band=None)
    whole = {name: always.embed(probe) for name, probe in probes.items()}
    threshold = v.current_threshold()[0]
    skipped = 0
    for person, template in templates.items():
        for name, probe in probes.items():
            on_demand = dlib_verifier.compare(template, probe)
            reference = v.decide(template, whole[name])
            assert on_demand.outcome == reference.outcome, (person, name)
            assert on_demand.match == reference.match, (person, name)
            assert reference.mirrored is True
            if not on_demand.mirrored:
                skipped += 1
                assert on_demand.distance is not None
                assert abs(on_demand.distance - threshold) > v.MIRROR_BAND
    assert skipped == len(templates) * len(probes)  # none of these is near the threshold


def test_enrolment_always_embeds_the_whole_form_in_one_call(
    dlib_verifier: DlibResNetVerifier, net: CountingNet, astronaut: Image.Image
) -> None:
    analysis = dlib_verifier.embed(encode(astronaut, "PNG"))
    assert net.calls == [6] and analysis.mirrored is True
    assert analysis.model_id == "dlib-resnet-v1-5pt-3crop-mirror"
    models = v._DlibModels.get()
    described = []
    for padding in (0.25, 0.2, 0.3):  # each padding, then its mirror image
        chip = _chip(astronaut, padding)
        described.append(np.asarray(models.resnet.compute_face_descriptor(chip)))
        flipped = np.ascontiguousarray(chip[:, ::-1])
        described.append(np.asarray(models.resnet.compute_face_descriptor(flipped)))
    assert analysis.plain_embedding is not None
    assert np.allclose(analysis.plain_embedding, described[0], atol=1e-6)
    assert np.allclose(analysis.embedding, np.mean(described, axis=0), atol=1e-6)
    # Not the chip and its mirror alone (the form before 2026-12-dlib-v3):
    assert not np.allclose(analysis.embedding, np.mean(described[:2], axis=0), atol=1e-3)


def test_the_same_photo_always_gives_the_same_template(
    dlib_verifier: DlibResNetVerifier, astronaut: Image.Image
) -> None:
    """Fixed crops, not dlib's random jitter: a template can be derived again bit for bit."""
    photo = encode(astronaut, "PNG")
    first, second = dlib_verifier.embed(photo), dlib_verifier.embed(photo)
    assert first.template() == second.template()


def _chip(image: Image.Image, padding: float = v.CHIP_PADDING) -> np.ndarray:
    models = v._DlibModels.get()
    pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    rect = models.detector(pixels, 0)[0]
    shape = models.shape_predictor(pixels, rect)
    return models.dlib.get_face_chip(pixels, shape, size=v.CHIP_SIZE, padding=padding)


def test_without_mirroring_there_is_no_band(net: CountingNet, astronaut: Image.Image) -> None:
    plain = DlibResNetVerifier(mirror=False)
    assert plain.mirror_band is None and plain.model_id == "dlib-resnet-v1-5pt"
    template = plain.embed(encode(astronaut, "PNG")).template()
    decision = plain.compare(template, encode(astronaut, "JPEG", quality=75))
    assert decision.mirrored is False and decision.match is True
    assert net.calls == [1, 1]


def test_a_photo_problem_has_no_mirror_flag(dlib_verifier, templates) -> None:
    from .conftest import blank

    decision = dlib_verifier.compare(templates["astronaut"], encode(blank(), "PNG"))
    assert decision.outcome == "no_face" and decision.mirrored is None
    assert decision.as_dict()["mirrored"] is None


@pytest.mark.parametrize("band", [-0.1, math.nan, math.inf])
def test_a_bad_band_is_refused(band: float) -> None:
    with pytest.raises(ValueError, match="mirror_band"):
        DlibResNetVerifier(mirror_band=band)


def test_a_bad_template_is_refused_before_any_work(dlib_verifier, net: CountingNet) -> None:
    with pytest.raises(ValueError):
        dlib_verifier.compare(b"\x00" * 10, b"not looked at")
    with pytest.raises(ValueError):
        dlib_verifier.compare(np.full(128, np.nan, dtype=np.float32), b"not looked at")
    assert net.calls == []


# --- the burst --------------------------------------------------------------------------------
def test_the_chips_of_a_burst_go_to_the_network_in_one_call(
    dlib_verifier: DlibResNetVerifier, net: CountingNet, astronaut: Image.Image, templates
) -> None:
    frames = [
        encode(astronaut.rotate(angle, resample=Image.Resampling.BICUBIC), "JPEG", quality=q)
        for angle, q in ((0, 90), (3, 88), (-3, 86), (5, 84), (-5, 82))
    ]
    result = check_burst(frames, new_challenge(), templates["astronaut"], dlib_verifier)
    assert result.measures.decision is not None and result.measures.decision.match is True
    # The five frames in one call; the key frame's mirror is not embedded: its distance to
    # the template lies far from the threshold (mirror on demand, liveness passes it).
    assert net.calls == [5]
    assert abs(result.measures.decision.distance - result.measures.decision.threshold) > 0.08
    assert isinstance(DlibBurstReader(dlib_verifier), DlibBurstReader)


def _burst(astronaut: Image.Image) -> list[bytes]:
    return [
        encode(astronaut.rotate(angle, resample=Image.Resampling.BICUBIC), "JPEG", quality=q)
        for angle, q in ((0, 90), (3, 88), (-3, 86))
    ]


def _described(verifier: DlibResNetVerifier, frames: list[bytes], reference: np.ndarray | None):
    reader = DlibBurstReader(verifier)
    readings = reader.read(frames, max_side=480)
    usable = [k for k, r in enumerate(readings) if r.pose is not None]
    assert usable == [0, 1, 2]
    return reader.describe(readings, 0, usable, reference=reference)


def test_a_burst_given_the_template_describes_the_key_frame_form_on_demand(
    net: CountingNet, astronaut: Image.Image, templates
) -> None:
    frames = _burst(astronaut)
    reference = v.template_from_bytes(templates["astronaut"])
    far = _described(DlibResNetVerifier(), frames, reference)
    assert net.calls == [3]  # three frames, no mirror image: far below the threshold
    assert far.key_analysis.mirrored is False
    plain = v.face_distance(reference, far.key_analysis.embedding)
    net.calls.clear()
    near = _described(DlibResNetVerifier(threshold=plain + 0.01), frames, reference)
    assert net.calls == [3, 5] and near.key_analysis.mirrored is True
    net.calls.clear()
    always = _described(DlibResNetVerifier(threshold=plain + 0.01), frames, None)
    assert net.calls == [8] and always.key_analysis.mirrored is True
    assert np.allclose(near.key_analysis.embedding, always.key_analysis.embedding, atol=1e-6)
    assert near.continuity == pytest.approx(always.continuity)


# --- the calibration's measurement ------------------------------------------------------------
def _pairs() -> cal.OrderedPairs:
    """Four check-ins at threshold 0.533: a clear match, two the mirror moves across the
    threshold (0.013 and 0.027 from it, plain), a clear non-match."""
    return cal.OrderedPairs(
        plain=np.array([0.40, 0.52, 0.56, 0.90]),
        mirrored=np.array([0.41, 0.54, 0.53, 0.88]),
        genuine=np.array([True, True, True, False]),
    )


def test_the_band_chosen_is_the_smallest_that_changes_no_decision() -> None:
    pairs = _pairs()
    assert cal.choose_mirror_band(pairs, 0.533) == 0.03
    at = cal.on_demand_figures(pairs, "calibration", 0.533, 0.03)
    assert at.changed == 0 and at.largest_crossing == pytest.approx(0.027)
    assert at.genuine_mirrored == 2 and at.impostor_mirrored == 0
    assert at.on_demand == at.always
    narrow = cal.on_demand_figures(pairs, "calibration", 0.533, 0.02)
    assert narrow.changed_genuine == 1 and narrow.changed_impostor == 0
    assert narrow.on_demand.false_non_matches == 2 and narrow.always.false_non_matches == 1
    assert narrow.as_dict()["genuine_second_pass_rate"] == pytest.approx(1 / 3)


def test_no_band_suffices_then_the_widest() -> None:
    pairs = cal.OrderedPairs(
        plain=np.array([0.10]), mirrored=np.array([0.90]), genuine=np.array([True])
    )
    assert cal.choose_mirror_band(pairs, 0.533) == cal.MIRROR_BANDS[-1]


def test_ordered_pairs_are_asymmetric(tmp_path) -> None:
    """The reference is the mirror-averaged template, the probe its plain descriptor."""
    for person in ("ann", "bob"):
        (tmp_path / person).mkdir()
        for k in (1, 2):
            (tmp_path / person / f"{k}.jpg").write_bytes(b"x")
    faces = cal.discover(tmp_path)
    rng = np.random.default_rng(3)
    averaged = rng.standard_normal((4, 128)).astype(np.float32)
    plain = averaged + 0.01 * rng.standard_normal((4, 128)).astype(np.float32)
    records = [_record(a, p) for a, p in zip(averaged, plain, strict=True)]
    pairs = cal.ordered_pairs(faces, records, np.ones(4, dtype=bool), _open_limits())
    assert len(pairs.plain) == 12 and int(pairs.genuine.sum()) == 4
    # (0 -> 1): template of photo 0, plain descriptor of photo 1
    assert pairs.plain[0] == pytest.approx(float(np.linalg.norm(averaged[0] - plain[1])), 1e-5)
    assert pairs.mirrored[0] == pytest.approx(
        float(np.linalg.norm(averaged[0] - averaged[1])), 1e-5
    )


def _open_limits() -> Any:
    from caseledger.biometrics.quality import QualityLimits

    return QualityLimits()


def _record(averaged: np.ndarray, plain: np.ndarray) -> cal.PhotoRecord:
    from caseledger.biometrics.quality import FaceBox, QualityReport
    from caseledger.biometrics.selection import Detection, choose_face

    choice = choose_face([Detection(FaceBox(10, 10, 210, 210), 2.0)], (220, 220))
    quality = QualityReport(200, 500.0, 120.0, 50.0, 0.0)
    return cal.PhotoRecord(v.OK, averaged, quality, choice, plain=plain)
