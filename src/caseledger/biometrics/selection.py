"""Which face of a photo to compare, when the detector found more than one.

A check-in photo is a selfie: the participant's face is large and near the centre, and a
face in the background is much smaller. Refusing every photo with a second face refuses
usable photos (a passer-by, a poster on the wall); comparing both faces would double the
chance of a false match. So exactly one face is ever compared:

* one face: that face;
* several: the largest face is used when it **dominates**: its centre lies in the middle
  half of the image (:data:`MAX_CENTRE_OFFSET`) and its box has at least
  :data:`MIN_DOMINANCE` times the area of the next largest face. Otherwise the photo is
  ambiguous and refused (``multiple_faces``): the participant is asked to take it alone.

Choosing a face never adds a way to match: whichever face is chosen must still match the
enrolled template, and only that one face is compared. A wrong choice (a larger stranger in
the middle) gives a ``no_match``, which a human reviews; it is never a violation.

The two limits were set on the LFW calibration set (docs/FACE_VERIFICATION.md, "Several
faces"): dlib's HOG detector reports box widths on a pyramid of ratio 1.2 (73, 88, 105, 125
px...), so an area ratio of 2 means the main face is at least two pyramid steps (1.44x
wider) larger than the next. In that set every largest face with its centre off the middle
half was a bystander, not the subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .quality import FaceBox

__all__ = ["MAX_CENTRE_OFFSET", "MIN_DOMINANCE", "Detection", "FaceChoice", "choose_face"]

#: The chosen face's box must have at least this many times the area of the next largest.
MIN_DOMINANCE = 2.0
#: ... and its centre must lie within this fraction of the width (height) of the image's
#: centre, in both directions: 0.25 is the middle half.
MAX_CENTRE_OFFSET = 0.25


@dataclass(frozen=True)
class Detection:
    """A face the detector found: its box and the detector's score."""

    box: FaceBox
    score: float

    @property
    def area(self) -> int:
        return max(0, self.box.width) * max(0, self.box.height)


@dataclass(frozen=True)
class FaceChoice:
    """The face chosen among the detections (``face`` None when there is none or the photo is
    ambiguous), and the measures behind the choice."""

    face: Detection | None
    faces_found: int
    #: Area of the largest face over the next largest (None with fewer than two faces).
    dominance: float | None = None
    #: Offset of the largest face's centre from the image centre, as a fraction of the image
    #: width or height, whichever is larger (None without a face).
    centre_offset: float | None = None
    #: The largest face, also when the photo is ambiguous (calibration measures it).
    largest: Detection | None = None

    @property
    def ambiguous(self) -> bool:
        return self.faces_found > 1 and self.face is None

    def measures(self) -> dict[str, Any]:
        """What is recorded with a decision when more than one face was found."""
        if self.faces_found < 2:
            return {}
        return {
            "faces_found": self.faces_found,
            "dominant_face_ratio": None if self.dominance is None else round(self.dominance, 2),
        }


def centre_offset(box: FaceBox, image_size: tuple[int, int]) -> float:
    """How far the box's centre is from the image centre, as a fraction of the image's width
    (horizontally) or height (vertically), whichever is larger: 0 in the middle, 0.5 at an
    edge."""
    width, height = image_size
    cx = (box.left + box.right) / 2.0
    cy = (box.top + box.bottom) / 2.0
    return max(abs(cx - width / 2.0) / max(width, 1), abs(cy - height / 2.0) / max(height, 1))


def choose_face(
    detections: Sequence[Detection],
    image_size: tuple[int, int],
    *,
    min_dominance: float = MIN_DOMINANCE,
    max_centre_offset: float = MAX_CENTRE_OFFSET,
) -> FaceChoice:
    """The face to compare, or none (see the module doc for the rule)."""
    if not detections:
        return FaceChoice(face=None, faces_found=0)
    ranked = sorted(detections, key=lambda d: (-d.area, -d.score))
    largest = ranked[0]
    offset = centre_offset(largest.box, image_size)
    if len(ranked) == 1:
        return FaceChoice(largest, 1, None, offset, largest)
    runner_up = ranked[1].area
    dominance = largest.area / runner_up if runner_up > 0 else float("inf")
    dominant = dominance >= min_dominance and offset <= max_centre_offset
    return FaceChoice(largest if dominant else None, len(ranked), dominance, offset, largest)
