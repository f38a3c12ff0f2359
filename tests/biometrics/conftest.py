"""Faces that ship inside installed packages (never the calibration photos), and one dlib
verifier for the whole session: its models load once."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from caseledger.biometrics.verifier import DlibResNetVerifier, FaceAnalysis


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="session")
def grace_hopper() -> Image.Image:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return Image.open(io.BytesIO(fh.read())).convert("RGB")


@pytest.fixture(scope="session")
def dlib_verifier() -> DlibResNetVerifier:
    verifier = DlibResNetVerifier()
    verifier.warm_up()
    return verifier


@pytest.fixture(scope="session")
def astronaut_analysis(dlib_verifier: DlibResNetVerifier, astronaut: Image.Image) -> FaceAnalysis:
    analysis = dlib_verifier.embed(encode(astronaut, "PNG"))
    assert analysis.outcome == "ok", analysis
    return analysis


@pytest.fixture(scope="session")
def astronaut_template(astronaut_analysis: FaceAnalysis) -> bytes:
    assert astronaut_analysis.embedding is not None
    return astronaut_analysis.template()


def blank(
    width: int = 640, height: int = 480, colour: tuple[int, int, int] = (0, 0, 0)
) -> Image.Image:
    return Image.fromarray(np.full((height, width, 3), colour, dtype=np.uint8))
