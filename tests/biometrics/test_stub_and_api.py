"""The stub verifier, get_verifier(), and encrypted templates: no model is loaded here."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from django.test import override_settings

from caseledger.biometrics import verifier as v
from caseledger.biometrics.verifier import (
    DlibResNetVerifier,
    FaceVerifier,
    StubVerifier,
    get_verifier,
    open_template,
    seal_template,
)
from caseledger.core.crypto import DecryptionError

from .conftest import blank, encode


@pytest.fixture
def stub() -> StubVerifier:
    stub = StubVerifier()
    stub.add(b"alice-enrol", person="alice")
    stub.add(b"alice-checkin", person="alice")
    stub.add(b"bob", person="bob")
    stub.add(b"blank-wall", outcome="no_face")
    return stub


def test_stub_matches_and_refuses_like_the_real_one(stub: StubVerifier) -> None:
    reference = stub.embed(b"alice-enrol").template()
    same = stub.compare(reference, b"alice-checkin")
    assert same.outcome == "match" and same.distance == 0.0 and same.match
    other = stub.compare(reference, b"bob")
    assert other.outcome == "no_match" and other.distance is not None and other.distance > 1.0
    wall = stub.compare(reference, b"blank-wall")
    assert wall.outcome == "no_face" and wall.distance is None
    assert stub.compare(reference, b"%PDF-1.4").outcome == "unreadable"
    assert stub.compare(reference, encode(blank(40, 30), "PNG")).outcome == "no_face"
    assert same.model_id == "stub-v1"


def test_stub_from_mapping_and_explicit_embeddings() -> None:
    base = StubVerifier.person_embedding("carol")
    near = base + np.full(128, 0.02, dtype=np.float32)  # distance ~0.23
    stub = StubVerifier({b"c1": base, b"c2": near, b"dark": "poor_quality"})
    decision = stub.compare(base, b"c2")
    assert decision.outcome == "match" and decision.distance == pytest.approx(0.2263, abs=1e-3)
    assert stub.embed(b"dark").outcome == "poor_quality"
    with pytest.raises(ValueError):
        stub.add(b"x", outcome="nonsense")


def test_verifiers_satisfy_the_protocol() -> None:
    assert isinstance(StubVerifier(), FaceVerifier)
    assert isinstance(DlibResNetVerifier(), FaceVerifier)  # constructing loads nothing


def test_get_verifier_follows_the_setting(stub: StubVerifier) -> None:
    assert isinstance(get_verifier(), DlibResNetVerifier)  # the default
    assert get_verifier() is get_verifier()
    with override_settings(FACE_VERIFIER="stub"):
        assert isinstance(get_verifier(), StubVerifier)
    with override_settings(FACE_VERIFIER="caseledger.biometrics.verifier.StubVerifier"):
        assert isinstance(get_verifier(), StubVerifier)
    with override_settings(FACE_VERIFIER=stub):
        assert get_verifier() is stub


def test_templates_are_512_bytes_little_endian() -> None:
    embedding = np.arange(128, dtype=np.float64) / 128
    data = v.template_bytes(embedding)
    assert len(data) == 512
    assert data[4:8] == struct.pack("<f", 1 / 128)
    assert np.allclose(v.template_from_bytes(data), embedding)
    for bad in (b"\x00" * 511, b""):
        with pytest.raises(ValueError):
            v.template_from_bytes(bad)
    with pytest.raises(ValueError):
        v.template_bytes(np.zeros(127))


def test_sealed_templates_are_bound_to_their_record() -> None:
    embedding = StubVerifier.person_embedding("dora")
    token = seal_template(embedding, associated_data=b"face-template:enrolment-1")
    assert embedding.tobytes() not in token
    assert np.array_equal(
        open_template(token, associated_data=b"face-template:enrolment-1"), embedding
    )
    with pytest.raises(DecryptionError):
        open_template(token, associated_data=b"face-template:enrolment-2")


def test_every_outcome_has_a_message() -> None:
    for outcome in v.OUTCOMES:
        assert str(v.OUTCOME_MESSAGES[outcome])
