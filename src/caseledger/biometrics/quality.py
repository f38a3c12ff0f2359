"""Quality of a detected face: is the photo good enough to compare at all?

A photo that fails here is not a failed identity check: the participant is asked to take the
photo again (outcome ``poor_quality`` or ``face_too_small``), no distance is computed.

Measures, all on the face box the detector found:

* ``face_width_px``: width of the box in the loaded image (after EXIF rotation and the
  downscale to 1280 px).
* ``sharpness``: variance of the 4-neighbour Laplacian of the grey face crop, resized first to
  :data:`SHARPNESS_CROP_PX` wide. The model sees the face at about that size (its aligned chip
  is 150 px with 25 % padding), so one threshold holds for faces of any size; without the
  resize, a large face would always look blurrier than a small one.
* ``brightness``: mean grey level (0-255) of the face crop.
* ``contrast``: standard deviation of the grey levels of the face crop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

__all__ = [
    "MAX_BRIGHTNESS",
    "MIN_BRIGHTNESS",
    "MIN_CONTRAST",
    "MIN_FACE_WIDTH_PX",
    "MIN_SHARPNESS",
    "FaceBox",
    "QualityReport",
    "assess_face",
    "laplacian_variance",
]

# Thresholds. They were set with `caseledger faces calibrate --faces ../shared/faces`, which
# prints these measures for every usable face in the calibration set (the real photos under
# ../shared/faces plus scikit-image's astronaut and matplotlib's grace_hopper); see
# docs/FACE_VERIFICATION.md, "Quality gate". Each is set well outside the range of the real,
# acceptable photos, so that the gate only catches photos no reviewer could use either:
#
# * MIN_FACE_WIDTH_PX: dlib's HOG detector window is 80 px; below it the detector needs
#   upsampling and the 150 px alignment chip is an enlargement. STACK.md: reject under ~80.
# * MIN_SHARPNESS: the real faces measured 38-1433 (5th percentile 76; the lowest are small,
#   soft, heavily compressed JPEGs that still verify correctly). A Gaussian blur of radius 3 on
#   the astronaut's face gives about 16, radius 6 about 4. 20 keeps every real photo and
#   refuses blur a person would notice.
# * MIN/MAX_BRIGHTNESS: real faces measured 59-203 mean grey. Under 35 the face is in near
#   darkness and over 225 it is washed out; neither occurs in the set.
# * MIN_CONTRAST: real faces measured 23-79 standard deviation; under 10 is a flat patch
#   (fog, a finger over the lens, a screen glare).
MIN_FACE_WIDTH_PX = 80
MIN_SHARPNESS = 20.0
MIN_BRIGHTNESS = 35.0
MAX_BRIGHTNESS = 225.0
MIN_CONTRAST = 10.0

#: Width the grey face crop is resized to before the Laplacian (see the module doc).
SHARPNESS_CROP_PX = 100

# Reason codes in QualityReport.reasons.
FACE_TOO_SMALL = "face_too_small"
BLURRY = "blurry"
TOO_DARK = "too_dark"
TOO_BRIGHT = "too_bright"
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
        return QualityReport(0, 0.0, 0.0, 0.0, (FACE_TOO_SMALL,))
    crop = pil.crop((box.left, box.top, box.right, box.bottom)).convert("L")
    grey = np.asarray(crop, dtype=np.float64)
    brightness = float(grey.mean())
    contrast = float(grey.std())
    scale = SHARPNESS_CROP_PX / crop.width
    normalised = crop.resize(
        (SHARPNESS_CROP_PX, max(3, round(crop.height * scale))), Image.Resampling.BILINEAR
    )
    sharpness = laplacian_variance(np.asarray(normalised))
    if box.width < MIN_FACE_WIDTH_PX:
        reasons.append(FACE_TOO_SMALL)
    if sharpness < MIN_SHARPNESS:
        reasons.append(BLURRY)
    if brightness < MIN_BRIGHTNESS:
        reasons.append(TOO_DARK)
    elif brightness > MAX_BRIGHTNESS:
        reasons.append(TOO_BRIGHT)
    if contrast < MIN_CONTRAST:
        reasons.append(LOW_CONTRAST)
    return QualityReport(box.width, sharpness, brightness, contrast, tuple(reasons))
