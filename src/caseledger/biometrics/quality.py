"""Quality of a detected face: is the photo good enough to compare at all?

A photo that fails here is not a failed identity check: the participant is asked to take the
photo again (outcome ``poor_quality`` or ``face_too_small``), no distance is computed.

Measures, all on the face box the detector found:

* ``face_width_px``: width of the box in the loaded image (after EXIF rotation and the
  downscale to 1280 px).
* ``sharpness``: variance of the 4-neighbour Laplacian of the grey face crop, resized first to
  :data:`SHARPNESS_CROP_PX` wide. The model sees the face at about that size (its aligned chip
  is 150 px with 25 % padding), so one threshold holds for faces of any size; without the
  resize, a large face would always look blurrier than a small one. The result is also scaled
  to a reference contrast (grey standard deviation :data:`REFERENCE_CONTRAST`), so that a dark
  or flat but sharp photo is not called blurry: light and contrast have their own measures.
* ``brightness``: mean grey level (0-255) of the face crop.
* ``contrast``: standard deviation of the grey levels of the face crop.
* ``overexposed_pct``: share of the face crop's pixels at grey 250 or more (blown highlights;
  the mean alone misses a dark face that is half burnt out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

__all__ = [
    "MAX_BRIGHTNESS",
    "MAX_OVEREXPOSED_PCT",
    "MIN_BRIGHTNESS",
    "MIN_CONTRAST",
    "MIN_FACE_WIDTH_PX",
    "MIN_SHARPNESS",
    "FaceBox",
    "QualityReport",
    "assess_face",
    "laplacian_variance",
]

# Thresholds. Each was measured with `caseledger faces calibrate --faces ../shared/faces`
# (which prints these measures for every face it embeds) and by degrading the packaged test
# faces (scikit-image's astronaut, matplotlib's grace_hopper) and three calibration faces step
# by step while watching how far the embedding moved from the undegraded photo; the figures
# are in docs/FACE_VERIFICATION.md, "Quality gate". The rule: refuse a photo once the
# degradation alone moves the embedding by about 0.3 (60 % of the 0.5 match threshold,
# leaving too little room for the ordinary difference between two photos of one person:
# median 0.34 on the calibration set). All limits lie far outside the range of the real photos
# (96 usable faces of 103 photos), none of which is refused except by size.
#
# * MIN_FACE_WIDTH_PX: dlib's HOG detector window is 80 px; smaller faces are only found by
#   upsampling and the 150 px alignment chip is then an enlargement. STACK.md: reject < ~80.
# * MIN_SHARPNESS: real faces 134-1267. Gaussian blur moved the embedding by 0.3 at a
#   sharpness of about 15-35 (grace_hopper 34 -> 0.36, Jolie 43 -> 0.28, Obama 21 -> 0.42).
# * MIN_BRIGHTNESS: real faces 85-184. Darkening moved it by 0.3 at a mean of about 13-19.
# * MAX_BRIGHTNESS, MAX_OVEREXPOSED_PCT: real faces up to 184 mean and 5 % of pixels at
#   250+. Brightening moved it by 0.3-0.5 once a third to a half of the face was burnt out
#   (35-60 %), or the mean passed about 220.
# * MIN_CONTRAST: real faces 34-76. A flat face (fog, glare, darkness) moved it by 0.3 at
#   about 5-8.
MIN_FACE_WIDTH_PX = 80
MIN_SHARPNESS = 35.0
MIN_BRIGHTNESS = 20.0
MAX_BRIGHTNESS = 220.0
MAX_OVEREXPOSED_PCT = 35.0
MIN_CONTRAST = 8.0

#: Width the grey face crop is resized to before the Laplacian (see the module doc).
SHARPNESS_CROP_PX = 100
#: Sharpness is reported as if the face's grey standard deviation were this (a typical value).
REFERENCE_CONTRAST = 50.0

# Reason codes in QualityReport.reasons.
FACE_TOO_SMALL = "face_too_small"
BLURRY = "blurry"
TOO_DARK = "too_dark"
TOO_BRIGHT = "too_bright"
OVEREXPOSED = "overexposed"
LOW_CONTRAST = "low_contrast"


@dataclass(frozen=True)
class FaceBox:
    """A face rectangle in image pixels; ``right`` and ``bottom`` are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def clipped(self, width: int, height: int) -> FaceBox:
        return FaceBox(
            max(0, self.left), max(0, self.top), min(width, self.right), min(height, self.bottom)
        )

    def as_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}


@dataclass(frozen=True)
class QualityReport:
    face_width_px: int
    sharpness: float
    brightness: float
    contrast: float
    overexposed_pct: float = 0.0
    reasons: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.reasons

    def measures(self) -> dict[str, Any]:
        """The measures as a JSON-ready dict (what a Decision records)."""
        return {
            "face_width_px": self.face_width_px,
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "contrast": round(self.contrast, 1),
            "overexposed_pct": round(self.overexposed_pct, 1),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.measures(), "ok": self.ok, "reasons": list(self.reasons)}


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian (kernel 0 1 0 / 1 -4 1 / 0 1 0) over the interior
    of a 2-D grey array: the classic focus measure."""
    g = np.asarray(grey, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def assess_face(image: Image.Image | np.ndarray, box: FaceBox) -> QualityReport:
    """Measure the face in ``box`` of an RGB image and judge it against the thresholds."""
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    box = box.clipped(*pil.size)
    reasons: list[str] = []
    if box.width <= 0 or box.height <= 0:
        return QualityReport(0, 0.0, 0.0, 0.0, 0.0, (FACE_TOO_SMALL,))
    crop = pil.crop((box.left, box.top, box.right, box.bottom)).convert("L")
    grey = np.asarray(crop, dtype=np.float64)
    brightness = float(grey.mean())
    contrast = float(grey.std())
    overexposed = float((grey >= 250).mean() * 100.0)
    scale = SHARPNESS_CROP_PX / crop.width
    normalised = crop.resize(
        (SHARPNESS_CROP_PX, max(3, round(crop.height * scale))), Image.Resampling.BILINEAR
    )
    resized = np.asarray(normalised, dtype=np.float64)
    spread = float(resized.std())
    sharpness = (
        laplacian_variance(resized) * (REFERENCE_CONTRAST / spread) ** 2 if spread >= 1.0 else 0.0
    )
    if box.width < MIN_FACE_WIDTH_PX:
        reasons.append(FACE_TOO_SMALL)
    if sharpness < MIN_SHARPNESS:
        reasons.append(BLURRY)
    if brightness < MIN_BRIGHTNESS:
        reasons.append(TOO_DARK)
    elif brightness > MAX_BRIGHTNESS:
        reasons.append(TOO_BRIGHT)
    if overexposed > MAX_OVEREXPOSED_PCT and TOO_BRIGHT not in reasons:
        reasons.append(OVEREXPOSED)
    if contrast < MIN_CONTRAST:
        reasons.append(LOW_CONTRAST)
    return QualityReport(box.width, sharpness, brightness, contrast, overexposed, tuple(reasons))
