"""Is the change between two frames of a face that of a flat picture? (image-based)

A printed photo or a screen moved, tilted or zoomed in front of a camera is a plane: every
point of it moves by one homography. A head that turns does not: the nose moves across the
cheeks, one side of the face turns away, the outline slides over the background. Five
landmarks are too few to tell the two apart (see :mod:`.facegeometry`), so this module uses
the pixels of the whole face region:

1. A square of the key frame around the face (2 eye distances wide, centred between the eyes
   and the nose, aligned with the eye axis) is sampled on a 48 x 48 grid, after blurring
   both frames to that grid's resolution (which also evens out focus and JPEG differences).
2. The homography that best maps that square onto the other frame is found by
   Levenberg-Marquardt on the pixel differences (forward-additive Lucas-Kanade with gain
   and bias; started from the affine map of the landmarks, moved by the best of a grid of
   shifts; three passes from coarse to fine blur), numpy only (OpenCV is not installed).
3. The result is the normalised cross-correlation (ZNCC) of the aligned pixels inside an
   ellipse covering the face: close to 1 when a homography explains the change (a flat
   picture), lower when it does not (a head that turned, or another photo altogether).

Cost: about 20 ms for a flat picture (the fit converges) and 100 ms for a head (it does
not), per fit on one core; the burst reader fits each pair both ways.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

__all__ = ["GRID", "PlanarFit", "planar_fit"]

#: Side of the sampling grid, and the crop's size in eye distances.
GRID = 48
CROP_EYE_DISTANCES = 2.0
#: Passes: (blur in grid cells, most iterations).
PASSES = ((4.0, 15), (2.0, 20), (1.0, 20))
#: Before the first pass, shifts of the start tried (grid cells, both directions): the
#: landmarks of a strongly turned face can be 10-20 px off, outside the fit's reach.
SHIFT_SEARCH = np.arange(-10, 11, 2)
#: A pass stops when no corner of the crop moves by more than this (frame pixels).
CONVERGED_PX = 0.01
#: Fewest grid points inside both frames for a fit to mean anything.
MIN_POINTS = 200
CORNERS = np.array([(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)])


@dataclass(frozen=True)
class PlanarFit:
    """How well one homography explains the change of the face region between two frames."""

    #: Normalised cross-correlation of the aligned face regions (1: a perfect plane).
    zncc: float
    #: Root-mean-square pixel difference after alignment, in grey levels of the key frame's
    #: contrast (the residual of the fit).
    residual: float
    iterations: int
    converged: bool
    #: False when no fit could be made (too little of the face inside the frames, or the
    #: fit diverged): the pair then proves nothing either way.
    fitted: bool = True

    @classmethod
    def failed(cls, iterations: int = 0) -> PlanarFit:
        return cls(math.nan, math.nan, iterations, False, False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "zncc": round(self.zncc, 4),
            "residual": round(self.residual, 4),
            "iterations": self.iterations,
            "converged": self.converged,
            "fitted": self.fitted,
        }


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates in [-1, 1] (x, y, flattened) and the face ellipse mask."""
    axis = (np.arange(GRID) + 0.5) / GRID * 2.0 - 1.0
    gx, gy = np.meshgrid(axis, axis)
    mask = (gx / 0.9) ** 2 + (gy / 1.0) ** 2 <= 1.0
    return np.c_[gx.ravel(), gy.ravel()], mask.ravel()


def _crop_frame(points: np.ndarray) -> np.ndarray:
    """The similarity (3x3) taking grid coordinates onto the key frame's pixels."""
    eyes = points[:4].mean(axis=0)
    axis = points[0] - points[2]
    distance = float(np.hypot(*axis))
    unit = axis / max(distance, 1e-9)
    normal = np.array([-unit[1], unit[0]])
    centre = eyes + 0.5 * (points[4] - eyes)
    half = CROP_EYE_DISTANCES * distance / 2.0
    return np.array(
        [
            [unit[0] * half, normal[0] * half, centre[0]],
            [unit[1] * half, normal[1] * half, centre[1]],
            [0.0, 0.0, 1.0],
        ]
    )


def _affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares affine map (3x3) of the landmarks: the starting point of the fit."""
    design = np.c_[source, np.ones(len(source))]
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return np.vstack([solution.T, [0.0, 0.0, 1.0]])


def _grey(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    return image.convert("L")


def _prepared(grey: Image.Image, pixel: float, blur: float) -> tuple[np.ndarray, float]:
    """The grey frame reduced so that one grid cell is at least about one pixel, blurred by
    ``blur`` grid cells; returns the array and the reduction factor (reduced / original)."""
    factor = 1.0
    if pixel > 1.0:
        size = (max(8, round(grey.width / pixel)), max(8, round(grey.height / pixel)))
        factor = size[0] / grey.width
        grey = grey.resize(size, Image.Resampling.BOX)
    radius = blur * pixel * factor
    blurred = grey.filter(ImageFilter.GaussianBlur(radius)) if radius > 0 else grey
    return np.asarray(blurred, dtype=np.float64), factor


def _sample(image: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples of ``image`` at ``xy`` (n x 2), and whether each lay inside."""
    h, w = image.shape
    x, y = xy[:, 0], xy[:, 1]
    inside = (x >= 0) & (y >= 0) & (x <= w - 1) & (y <= h - 1) & np.isfinite(x) & np.isfinite(y)
    x = np.clip(np.nan_to_num(x), 0, w - 1.000001)
    y = np.clip(np.nan_to_num(y), 0, h - 1.000001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy, inside


def _warp(params: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid points mapped by the homography ``params`` (8 values, h33 = 1), and w."""
    h = np.append(params, 1.0).reshape(3, 3)
    mapped = np.c_[grid, np.ones(len(grid))] @ h.T
    w = mapped[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return mapped[:, :2] / w[:, None], w


def _zncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / norm if norm > 1e-9 else 0.0


def planar_fit(
    key_image: Image.Image | np.ndarray,
    key_points: Any,
    other_image: Image.Image | np.ndarray,
    other_points: Any,
) -> PlanarFit:
    """Fit one homography from the key frame's face region to the other frame (see the
    module doc). Never raises for degenerate input: the fit then has ``fitted`` False."""
    key_pts = np.asarray(key_points, dtype=np.float64)
    other_pts = np.asarray(other_points, dtype=np.float64)
    grid, mask = _grid()
    crop = _crop_frame(key_pts)
    pixel = float(np.hypot(crop[0, 0], crop[1, 0])) * 2.0 / GRID  # key pixels per cell
    start = _affine(key_pts, other_pts) @ crop  # grid -> other frame, before refinement
    if not np.all(np.isfinite(start)) or pixel <= 0:
        return PlanarFit.failed()
    key_grey, other_grey = _grey(key_image), _grey(other_image)
    other_pixel = pixel * math.sqrt(abs(np.linalg.det(start[:2, :2] @ np.linalg.inv(crop[:2, :2]))))
    params = (start / start[2, 2]).ravel()[:8]
    iterations, converged = 0, False
    for blur, steps in PASSES:
        key, kf = _prepared(key_grey, pixel, blur)
        other, of = _prepared(other_grey, other_pixel, blur)
        template, t_in = _sample(key, _scaled(_warp((crop / crop[2, 2]).ravel()[:8], grid)[0], kf))
        use = mask & t_in
        if use.sum() < MIN_POINTS:
            return PlanarFit.failed(iterations)
        problem = _Problem(grid, use, template, other, of)
        if iterations == 0:
            params = problem.best_shift(params, other_pixel)
        params, used, converged = problem.minimise(params, steps)
        iterations += used
        if params is None:
            return PlanarFit.failed(iterations)
    points, _ = _warp(params, grid)
    warped, inside = _sample(other, _scaled(points, of))
    use = mask & t_in & inside
    if use.sum() < MIN_POINTS:
        return PlanarFit.failed(iterations)
    zncc = _zncc(template[use], warped[use])
    t = template[use] - template[use].mean()
    o = warped[use] - warped[use].mean()
    gain = float(o @ t) / max(float(o @ o), 1e-9)
    residual = float(np.sqrt(np.mean((gain * o - t) ** 2))) / max(float(t.std()), 1e-9)
    return PlanarFit(zncc, residual, iterations, converged)


def _scaled(points: np.ndarray, factor: float) -> np.ndarray:
    """Frame pixels to the reduced image's pixels (pixel centres stay centres)."""
    return (points + 0.5) * factor - 0.5


def _solve(design: np.ndarray, target: np.ndarray, damping: float = 0.0) -> np.ndarray:
    """Least squares through the normal equations (small systems: much faster than lstsq)."""
    normal = design.T @ design
    normal[np.diag_indices_from(normal)] *= 1.0 + damping
    normal[np.diag_indices_from(normal)] += 1e-12
    try:
        return np.linalg.solve(normal, design.T @ target)
    except np.linalg.LinAlgError:
        return np.full(design.shape[1], np.nan)


class _Problem:
    """Least squares alignment of ``other`` onto ``template`` by a homography of the grid
    (8 parameters, h33 = 1), with gain and bias solved along: Levenberg-Marquardt."""

    def __init__(
        self,
        grid: np.ndarray,
        use: np.ndarray,
        template: np.ndarray,
        other: np.ndarray,
        factor: float,
    ):
        self.grid, self.use, self.template, self.other, self.factor = (
            grid,
            use,
            template,
            other,
            factor,
        )
        self.grad_y, self.grad_x = np.gradient(other)

    def _sampled(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        points, w = _warp(params, self.grid)
        if not np.all(np.isfinite(points)) or np.any(w <= 1e-6):
            return None
        image, inside = _sample(self.other, _scaled(points, self.factor))
        sel = self.use & inside
        if sel.sum() < MIN_POINTS:
            return None
        return image, sel, points

    def cost(self, params: np.ndarray) -> float:
        """Mean squared difference after the best gain and bias (inf when out of the frame)."""
        sampled = self._sampled(params)
        if sampled is None:
            return math.inf
        image, sel, _ = sampled
        target = self.template[sel]
        gain, bias = _solve(np.c_[image[sel], np.ones(int(sel.sum()))], target)
        return float(np.mean((target - gain * image[sel] - bias) ** 2))

    def step(self, params: np.ndarray, damping: float) -> np.ndarray | None:
        """A damped Gauss-Newton update of the 8 parameters."""
        sampled = self._sampled(params)
        if sampled is None:
            return None
        image, sel, points = sampled
        _, w = _warp(params, self.grid)
        at = _scaled(points, self.factor)
        gx = _sample(self.grad_x, at)[0][sel] * self.factor  # d(sample) / d(frame pixel)
        gy = _sample(self.grad_y, at)[0][sel] * self.factor
        x, y = self.grid[sel, 0], self.grid[sel, 1]
        u, v, w = points[sel, 0], points[sel, 1], w[sel]
        cross = gx * u + gy * v
        jac = (
            np.stack([gx * x, gx * y, gx, gy * x, gy * y, gy, -cross * x, -cross * y], axis=1)
            / w[:, None]
        )
        image, target = image[sel], self.template[sel]
        gain, bias = _solve(np.c_[image, np.ones(len(image))], target)
        residual = target - (gain * image + bias)
        solution = _solve(np.c_[gain * jac, image, np.ones(len(image))], residual, damping)
        step = solution[:8]
        return step if np.all(np.isfinite(step)) else None

    def best_shift(self, params: np.ndarray, cell_px: float) -> np.ndarray:
        """The start moved by the shift (of :data:`SHIFT_SEARCH` grid cells) that fits best."""
        best, best_cost = params, self.cost(params)
        for dx in SHIFT_SEARCH:
            for dy in SHIFT_SEARCH:
                trial = params.copy()
                trial[2] += dx * cell_px
                trial[5] += dy * cell_px
                cost = self.cost(trial)
                if cost < best_cost:
                    best, best_cost = trial, cost
        return best

    def minimise(self, params: np.ndarray, steps: int) -> tuple[np.ndarray | None, int, bool]:
        """Levenberg-Marquardt from ``params``: (parameters or None, iterations, converged)."""
        damping, cost = 1e-3, self.cost(params)
        if not math.isfinite(cost):
            return None, 0, False
        for iteration in range(1, steps + 1):
            step = self.step(params, damping)
            if step is None:
                return None, iteration, False
            trial = params + step
            trial_cost = self.cost(trial)
            if trial_cost < cost:
                moved = float(np.max(np.abs(_warp(trial, CORNERS)[0] - _warp(params, CORNERS)[0])))
                params, cost, damping = trial, trial_cost, max(damping / 10.0, 1e-7)
                if moved < CONVERGED_PX:
                    return params, iteration, True
            else:
                damping *= 10.0
                if damping > 1e6:  # no step improves: a minimum
                    return params, iteration, True
        return params, steps, False
