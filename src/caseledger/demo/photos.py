"""The demo's photos, all from files that ship inside installed packages (nothing is
downloaded): scikit-image's `astronaut` (Eileen Collins, NASA, public domain) and matplotlib's
`grace_hopper` (U.S. Navy, public domain) as the two faces participants enrol with, and
scikit-image's `coffee` as a photo without a face.

Every enrolment and check-in of the demo goes through the configured verifier (dlib's model,
shipped in a package) like a real one. While seeding, `RememberingVerifier` embeds each
distinct photo once: the demo uses a handful of photos hundreds of times, and the same bytes
always give the same result.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from caseledger.biometrics.verifier import (
    MATCH,
    MULTIPLE_FACES,
    NO_FACE,
    NO_MATCH,
    FaceAnalysis,
    FaceVerifier,
    decide,
    get_verifier,
    template_from_bytes,
)

#: What each kind of check-in photo is, and the outcome the verifier must give it against
#: the participant's own enrolment photo (checked once before seeding; see `check`).
KINDS = {
    "self": MATCH,  # the participant, as phones take them (recompressed, cropped, lit)
    "covered": NO_MATCH,  # the participant, face half covered or blurred: a person can tell
    "other": NO_MATCH,  # someone else's face
    "no_face": NO_FACE,  # no face in the picture: refused, retake
    "two_faces": MULTIPLE_FACES,  # two people in the picture: refused, retake
}
FACES = ("astronaut", "grace_hopper")


def _encode(image: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def astronaut_image() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def grace_hopper_image() -> Image.Image:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return Image.open(io.BytesIO(handle.read())).convert("RGB")


def coffee_image() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.coffee())


def astronaut_photo() -> bytes:
    """The enrolment photo of `participant.demo` (PNG, as before)."""
    return _encode(astronaut_image(), "PNG")


def _variants(face: Image.Image) -> list[bytes]:
    """Phone-like photos of the same face: recompressed, cropped, lighter, darker, mirrored."""
    width, height = face.size
    return [
        _encode(face, quality=85),
        _encode(face.crop((width // 12, 0, width, height - height // 12)), quality=88),
        _encode(ImageEnhance.Brightness(face).enhance(1.12), quality=86),
        _encode(ImageEnhance.Brightness(face).enhance(0.82), quality=84),
        _encode(ImageOps.mirror(face), quality=87),
    ]


def _hard_to_see(face: Image.Image, box: tuple[int, int, int, int], template: bytes) -> list[bytes]:
    """Photos of the participant that a person recognises but the verifier does not: the
    lower face covered (a scarf), or the picture blurred (a shaking hand). Whichever of them
    the verifier does not match (it depends on the face)."""
    left, top, right, bottom = box
    covered = face.copy()
    cover = (left - 10, top + (bottom - top) * 55 // 100, right + 10, bottom + 30)
    ImageDraw.Draw(covered).rectangle(cover, fill=(90, 120, 160))
    candidates = [_encode(covered, quality=85)] + [
        _encode(face.filter(ImageFilter.GaussianBlur(radius)), quality=85) for radius in (8, 9)
    ]
    verifier = get_verifier()
    return [c for c in candidates if verifier.compare(template, c).outcome == NO_MATCH]


def _two_faces(first: Image.Image, second: Image.Image) -> bytes:
    canvas = Image.new("RGB", (1024, 600), (200, 200, 200))
    canvas.paste(first.resize((460, 460)), (20, 70))
    canvas.paste(second.resize((420, 500)), (560, 50))
    return _encode(canvas, quality=85)


@dataclass
class Photos:
    """Enrolment photos per face, and check-in photos per face and kind."""

    reference: dict[str, bytes]
    checkin: dict[str, dict[str, list[bytes]]]

    def pick(self, face: str, kind: str, turn: int) -> bytes:
        """The `turn`-th photo of a kind (a retry in the same window is another photo: the
        same photo twice in a window is refused as a replay)."""
        options = self.checkin[face][kind]
        return options[turn % len(options)]


def build_photos() -> Photos:
    """Render every photo once; `check` then confirms what the verifier makes of each."""
    faces = {"astronaut": astronaut_image(), "grace_hopper": grace_hopper_image()}
    reference = {"astronaut": astronaut_photo(), "grace_hopper": _encode(faces["grace_hopper"],
                                                                          quality=92)}
    verifier = get_verifier()
    hard: dict[str, list[bytes]] = {}
    for name, data in reference.items():
        analysis = verifier.embed(data)
        if not analysis.ok or analysis.box is None:
            raise RuntimeError(f"The demo's {name} photo cannot be enrolled: {analysis.message}")
        box = (analysis.box.left, analysis.box.top, analysis.box.right, analysis.box.bottom)
        hard[name] = _hard_to_see(faces[name], box, analysis.template())
    no_face = [_encode(coffee_image(), quality=85)]
    two = [_two_faces(faces["astronaut"], faces["grace_hopper"])]
    checkin: dict[str, dict[str, list[bytes]]] = {}
    for name, image in faces.items():
        other = faces["grace_hopper" if name == "astronaut" else "astronaut"]
        checkin[name] = {
            "self": _variants(image),
            "covered": hard[name],
            "other": _variants(other)[:2],
            "no_face": no_face,
            "two_faces": two,
        }
    return Photos(reference, checkin)


def check(photos: Photos) -> None:
    """Refuse to seed when the verifier does not see the demo's photos as the plan needs
    (a changed model or threshold): the history would otherwise not be the one planned."""
    verifier = get_verifier()
    for face in FACES:
        template = verifier.embed(photos.reference[face]).template()
        for kind, expected in KINDS.items():
            if not photos.checkin[face][kind]:
                raise RuntimeError(f"The demo has no {kind} photo of {face} that the verifier "
                                   f"sees as '{expected}'.")
            for number, data in enumerate(photos.checkin[face][kind], 1):
                outcome = verifier.compare(template, data).outcome
                if outcome != expected:
                    raise RuntimeError(
                        f"The verifier sees the demo's {kind} photo {number} of {face} as "
                        f"'{outcome}', not '{expected}'; the demo cannot seed its history."
                    )


class RememberingVerifier:
    """The configured verifier, embedding each distinct photo once (same bytes, same
    result). Used only while seeding."""

    def __init__(self, inner: FaceVerifier) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self._seen: dict[str, FaceAnalysis] = {}

    def embed(self, image: Any) -> FaceAnalysis:
        if not isinstance(image, bytes | bytearray):
            return self.inner.embed(image)
        key = hashlib.sha256(image).hexdigest()
        if key not in self._seen:
            self._seen[key] = self.inner.embed(image)
        return self._seen[key]

    def compare(self, reference_template: Any, probe_image: Any) -> Any:
        reference = (
            template_from_bytes(reference_template)
            if isinstance(reference_template, bytes | bytearray | memoryview)
            else np.asarray(reference_template, dtype=np.float32)
        )
        return decide(
            reference,
            self.embed(probe_image),
            threshold=getattr(self.inner, "threshold", None),
            threshold_version=getattr(self.inner, "threshold_version", None),
        )
