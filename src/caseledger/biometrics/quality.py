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
    "QualityLimits",
    "QualityReport",
    "assess_face",
    "judge",
    "laplacian_variance",
]

# Thresholds. A gate refuses a photo only where such photos cannot be used: where, on the
# calibration set, they fail their genuine comparisons more often than not (or match other
# people's photos significantly more often than the target false-match rate).
#
# * MIN_FACE_WIDTH_PX, MIN_SHARPNESS: re-derived by `caseledger faces calibrate` on the LFW
#   calibration set (docs/FACE_VERIFICATION.md, "Calibration"), from real photos and from
#   calibration photos shrunk or blurred step by step. Shrunk faces of 37-80 px still matched
#   their other photos about 90 % of the time (the 150 px alignment chip is then an
#   enlargement, which the network tolerates); 37 px is the smallest face measured, and the
#   HOG detector (upsampled once) finds nothing much smaller. Blurred faces failed more often
#   than not only below a sharpness of 5 (56 %; 41 % at 5-10, 21 % at 15-20). Both limits
#   were 80 and 35 before, which refused photos that matched.
# * MIN_BRIGHTNESS, MAX_BRIGHTNESS, MAX_OVEREXPOSED_PCT, MIN_CONTRAST: not re-derived (the LFW
#   press photos hold no dark, burnt-out or flat faces to learn from). They come from
#   degrading faces step by step until the degradation alone moved the embedding by about
#   0.3; the measurements are in docs/FACE_VERIFICATION.md, "Quality gate". Real faces:
#   brightness 85-184, up to 5 % of pixels at 250+, contrast 34-76.
MIN_FACE_WIDTH_PX = 37
MIN_SHARPNESS = 5.0
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


@dataclass(frozen=True)
class QualityLimits:
    """The limits a face is judged against; the defaults are the module constants. Calibration
    judges the same measures against candidate limits (``QualityReport.judged``)."""

    min_face_width_px: float = MIN_FACE_WIDTH_PX
    min_sharpness: float = MIN_SHARPNESS
    min_brightness: float = MIN_BRIGHTNESS
    max_brightness: float = MAX_BRIGHTNESS
    max_overexposed_pct: float = MAX_OVEREXPOSED_PCT
    min_contrast: float = MIN_CONTRAST

    def reasons(
        self,
        face_width_px: float,
        sharpness: float,
        brightness: float,
        contrast: float,
        overexposed_pct: float,
    ) -> tuple[str, ...]:
        """Why a face with these measures is refused (empty: it is not)."""
        reasons: list[str] = []
        if face_width_px < self.min_face_width_px:
            reasons.append(FACE_TOO_SMALL)
        if sharpness < self.min_sharpness:
            reasons.append(BLURRY)
        if brightness < self.min_brightness:
            reasons.append(TOO_DARK)
        elif brightness > self.max_brightness:
            reasons.append(TOO_BRIGHT)
        if overexposed_pct > self.max_overexposed_pct and TOO_BRIGHT not in reasons:
            reasons.append(OVEREXPOSED)
        if contrast < self.min_contrast:
            reasons.append(LOW_CONTRAST)
        return tuple(reasons)


def judge(report: QualityReport, limits: QualityLimits) -> QualityReport:
    """The same measures judged against other limits."""
    reasons = limits.reasons(
        report.face_width_px,
        report.sharpness,
        report.brightness,
        report.contrast,
        report.overexposed_pct,
    )
    if report.face_width_px <= 0:
        reasons = (FACE_TOO_SMALL,)
    return QualityReport(
        report.face_width_px,
        report.sharpness,
        report.brightness,
        report.contrast,
        report.overexposed_pct,
        reasons,
    )


def assess_face(
    image: Image.Image | np.ndarray, box: FaceBox, limits: QualityLimits | None = None
) -> QualityReport:
    """Measure the face in ``box`` of an RGB image and judge it against ``limits`` (default:
    the module constants)."""
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    box = box.clipped(*pil.size)
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
    measured = QualityReport(box.width, sharpness, brightness, contrast, overexposed)
    return judge(measured, limits or QualityLimits())
