"""Measuring the liveness check (`caseledger faces liveness-eval`): attacks and bona fide
bursts built from a folder of photos, one folder per person (LFW's calibration set).

No video of people following a prompt is available to the project, so both sides are
simulated from still photos, and the simulation's limits are part of the result:

Attacks (a photo of the enrolled person held to the camera; 5 frames each):

* ``random_tilt``: one photo as a flat print under a random pose per frame (turned and tipped
  up to 30 degrees about its own axes, rolled up to 10, shifted, scaled 0.85-1.15, blurred
  0-1.5 px), seen by a pinhole camera.
* ``still``: one such frame sent five times.
* ``swing``: the print turned about its vertical axis the way the prompt asks (20-45 degrees
  each way): what an attacker who read the prompt would do.
* ``diagonal``: the print tipped about a diagonal axis (25-45 degrees), the diagonal chosen
  so that the nose moves the prompted way relative to the eyes: the planar motion that
  best imitates a head turn in the five landmarks (an informed attacker).

Bona fide (the enrolled person, live):

* ``turn``: the same photo made to turn its head as prompted (yaw 0, then 12-25 degrees to
  one side and to the other, with jitter, blur and JPEG), rendered from a generic 3-D head
  shape (an ellipsoid with a nose) draped with the photo (:func:`render_turn`). It shows
  what a planar photo cannot: parallax of the nose and the outline. It does not show real
  light, expression, hair, ears or motion blur.
* ``photos``: the person's three photos (people with three only), ordered by estimated yaw
  to follow the prompt (the middle one, then the one turned furthest the first prompt's
  way, then the other), as a compliant user would turn; the first photo is also the
  reference. Different days, light and expression: they test the pose estimate and the
  prompt order under real pose differences, not the planarity check (two different photos
  are never one homography apart; for the same reason this is also exactly a *photo swap*
  attack, which the check does not stop). Whether LFW's poses differ enough is LFW's
  business, not a participant's: this kind says little about compliant users.

The reference template is the person's first photo (another photo than the one attacked or
turned). The people are split as in the calibration (``calibration.is_held_out``): limits
are chosen on the calibration part only and the held-out figures are the ones to quote.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from . import batch
from . import verifier as v
from .calibration import discover
from .calibration_report import write_figures, write_marked_section
from .errorrates import wilson
from .facegeometry import head_pose, rotation
from .liveness import (
    LIVE,
    BurstMeasures,
    Challenge,
    LivenessLimits,
    judge,
    measure_burst,
    new_challenge,
)
from .liveness_frames import DlibBurstReader

__all__ = [
    "ATTACKS",
    "BEGIN",
    "END",
    "BONA_FIDE",
    "EvalReport",
    "choose_limits",
    "render_planar",
    "render_turn",
    "render_markdown",
    "run_liveness_eval",
    "write_json",
    "write_section",
]

ATTACKS = ("random_tilt", "still", "swing", "diagonal")
BONA_FIDE = ("turn", "photos")
FRAME_SIZE = (400, 400)
FRAMES = 5
#: The evaluation's fixed clock (challenges never expire while they are judged).
EVAL_NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: Candidate limits tried on the calibration part.
SWING_CANDIDATES = (8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0)
ZNCC_CANDIDATES = (0.95, 0.96, 0.97, 0.975, 0.98, 0.985, 0.99, 0.992, 0.994, 0.996, 0.998)
#: What the limits are chosen for: attacks accepted at most this often on the calibration
#: part (each kind), then the fewest bona fide rejections of the ``turn`` kind.
TARGET_ATTACK_ACCEPTANCE = 0.005

Progress = Callable[[str, int], Callable[[], None]]

BEGIN = "<!-- liveness:begin (written by `caseledger faces liveness-eval --out`) -->"
END = "<!-- liveness:end -->"
KIND_LABELS = {
    "random_tilt": "attack: print under random tilts",
    "still": "attack: one still frame repeated",
    "swing": "attack: print turned as prompted",
    "diagonal": "attack: print tipped to move the nose",
    "turn": "bona fide: head turned as prompted (rendered)",
    "photos": "bona fide: own photos in prompted order",
}


# --- rendering -------------------------------------------------------------------------------
def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def plane_homography(
    source_size: tuple[int, int],
    frame_size: tuple[int, int],
    *,
    yaw: float,
    pitch: float,
    roll: float,
    shift: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    distance: float = 2.0,
) -> np.ndarray:
    """The homography (photo pixels -> frame pixels) of a flat print turned by the given
    angles (degrees), ``distance`` print widths from a pinhole camera, filling ``0.9 * scale``
    of the frame width when it faces the camera."""
    w, h = source_size
    width, height = frame_size
    to_plane = np.array([[1 / w, 0, -0.5], [0, 1 / w, -h / (2 * w)], [0, 0, 1]])
    turn = rotation(yaw, pitch, roll)
    focal = scale * 0.9 * width * distance
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
    translation = np.array([shift[0], shift[1], distance])
    matrix = camera @ np.c_[turn[:, 0], turn[:, 1], translation] @ to_plane
    return matrix / matrix[2, 2]


def render_planar(
    photo: Image.Image,
    homography: np.ndarray,
    *,
    frame_size: tuple[int, int] = FRAME_SIZE,
    blur: float = 0.0,
    background: float = 128.0,
    rng: np.random.Generator | None = None,
) -> Image.Image:
    """A frame showing ``photo`` as a flat print mapped by ``homography``, over a plain
    noisy background."""
    rng = rng or np.random.default_rng(0)
    inverse = np.linalg.inv(homography)
    coefficients = tuple((inverse / inverse[2, 2]).ravel()[:8])
    noise = rng.normal(0.0, 6.0, (frame_size[1], frame_size[0], 3))
    frame = Image.fromarray(np.clip(background + noise, 0, 255).astype(np.uint8))
    warped = photo.transform(
        frame_size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    mask = Image.new("L", photo.size, 255).transform(
        frame_size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    frame.paste(warped, (0, 0), mask)
    return frame.filter(ImageFilter.GaussianBlur(blur)) if blur > 0 else frame


def render_turn(
    photo: Image.Image, landmarks: np.ndarray, yaw_deg: float, pitch_deg: float = 0.0
) -> Image.Image:
    """``photo`` with its head turned by ``yaw_deg`` (positive: nose to the image's right),
    rendered from a generic head shape: an ellipsoid 1.6 eye distances wide and 0.95 deep,
    with a nose ridge rising to 0.3 eye distances at the nose base, draped with the photo and
    turned about a vertical axis through its centre; the background stays where it is, and
    what the face uncovers is filled from the background beside it (orthographic)."""
    pixels = np.asarray(photo.convert("RGB"), dtype=np.float64)
    height, width = pixels.shape[:2]
    points = np.asarray(landmarks, dtype=np.float64)
    eye_distance = float(np.hypot(*(points[0] - points[2])))
    eyes = points[:4].mean(axis=0)
    down = (points[4] - eyes) / max(float(np.hypot(*(points[4] - eyes))), 1e-9)
    right = np.array([down[1], -down[0]])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    rel = np.stack([xx - eyes[0], yy - eyes[1]], axis=-1)
    fx, fy = rel @ right / eye_distance, rel @ down / eye_distance
    centre_y, half_w, half_h, depth = 0.45, 0.80, 1.35, 0.95
    inside = (fx / half_w) ** 2 + ((fy - centre_y) / half_h) ** 2
    face = inside < 1.0
    z = np.where(face, depth * np.sqrt(np.clip(1.0 - inside, 0.0, None)), 0.0)
    ridge = (0.08 + 0.22 * np.clip(fy / 0.62, 0.0, 1.0)) * ((fy > -0.05) & (fy < 0.75))
    z = z + face * ridge * np.exp(-0.5 * (fx / 0.11) ** 2)
    turn = rotation(yaw_deg, pitch_deg)
    model = np.stack([fx, fy - centre_y, z], axis=-1) @ turn.T
    nx = eyes[0] + eye_distance * (model[..., 0] * right[0] + (model[..., 1] + centre_y) * down[0])
    ny = eyes[1] + eye_distance * (model[..., 0] * right[1] + (model[..., 1] + centre_y) * down[1])
    out = _fill_face_from_background(pixels, face)
    depth_buffer = np.full((height, width), -np.inf)
    for dy in (0.0, 0.5):  # 2 x 2 supersampling leaves no holes on the side that widens
        for dx in (0.0, 0.5):
            ix = np.round(nx[face] + dx).astype(int)
            iy = np.round(ny[face] + dy).astype(int)
            zz, colour = model[..., 2][face], pixels[face]
            ok = (ix >= 0) & (iy >= 0) & (ix < width) & (iy < height)
            ix, iy, zz, colour = ix[ok], iy[ok], zz[ok], colour[ok]
            order = np.argsort(zz)  # far first: nearer points overwrite them
            ix, iy, zz, colour = ix[order], iy[order], zz[order], colour[order]
            nearer = zz >= depth_buffer[iy, ix]
            out[iy[nearer], ix[nearer]] = colour[nearer]
            depth_buffer[iy[nearer], ix[nearer]] = zz[nearer]
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def _fill_face_from_background(pixels: np.ndarray, face: np.ndarray) -> np.ndarray:
    """The photo with the face region painted, row by row, with the background just left
    and right of it (what a turning head uncovers)."""
    out = pixels.copy()
    width = pixels.shape[1]
    for row in np.flatnonzero(face.any(axis=1)):
        columns = np.flatnonzero(face[row])
        left, right = columns[0], columns[-1]
        middle = (left + right) // 2
        out[row, left : middle + 1] = pixels[row, max(left - 1, 0)]
        out[row, middle + 1 : right + 1] = pixels[row, min(right + 1, width - 1)]
    return out


# --- the bursts -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BurstTask:
    """One burst to build and measure: ``kind`` (an attack or bona fide kind), the person,
    the reference photo, the photos the burst is made of, and a seed."""

    kind: str
    person: str
    held_out: bool
    reference: Path
    photos: tuple[Path, ...]
    seed: int


@dataclass(frozen=True)
class BurstRecord:
    """A measured burst (portable: no image, no embedding)."""

    task: BurstTask
    challenge: Challenge
    measures: BurstMeasures | None
    error: str | None = None
    truth_yaws: tuple[float, ...] = ()

    @property
    def attack(self) -> bool:
        return self.task.kind in ATTACKS


def _frames_for(
    task: BurstTask, challenge: Challenge, reader: DlibBurstReader
) -> tuple[list[bytes], tuple[float, ...]]:
    """The JPEG frames of a burst, and the true yaw of each (turns only)."""
    rng = np.random.default_rng(task.seed)
    first = challenge.directions[0]
    if task.kind == "photos":
        return _ordered_photos(task, challenge, reader), ()
    photo = Image.open(task.photos[0]).convert("RGB")
    if task.kind == "turn":
        return _turn_frames(photo, first, rng, reader)
    return [_jpeg(frame) for frame in _attack_frames(task.kind, photo, first, rng)], ()


def _ordered_photos(task: BurstTask, challenge: Challenge, reader: DlibBurstReader) -> list[bytes]:
    """The person's three photos ordered by estimated yaw so as to follow the prompt: the
    middle one, then the one furthest the first prompt's way, then the other."""
    data = [p.read_bytes() for p in task.photos]
    readings = reader.read(data, max_side=FRAME_SIZE[0])
    yaws = [r.pose.yaw_deg if r.pose else 0.0 for r in readings]
    ranked = sorted(range(len(data)), key=lambda k: -challenge.directions[0] * yaws[k])
    order = [ranked[1], ranked[0], ranked[2]] if len(ranked) == 3 else ranked
    return [data[k] for k in order]


def _turn_frames(
    photo: Image.Image, first: int, rng: np.random.Generator, reader: DlibBurstReader
) -> tuple[list[bytes], tuple[float, ...]]:
    scene = photo.resize(FRAME_SIZE, Image.Resampling.LANCZOS)
    reading = reader.read([scene], max_side=FRAME_SIZE[0])[0]
    if reading.landmarks is None:
        return [_jpeg(scene)] * FRAMES, ()
    amplitude = rng.uniform(12.0, 25.0)
    path = np.array([0.0, 0.6, 1.0, 0.0, -1.0]) * first * amplitude
    path = path + rng.normal(0.0, 1.5, FRAMES)
    frames = []
    for yaw in path:
        turned = render_turn(scene, reading.landmarks, float(yaw), float(rng.normal(0.0, 3.0)))
        frames.append(_jpeg(turned.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.0)))))
    return frames, tuple(float(y) for y in path)


def _attack_frames(
    kind: str, photo: Image.Image, first: int, rng: np.random.Generator
) -> list[Image.Image]:
    background = float(rng.uniform(60, 200))

    def frame(yaw: float, pitch: float, roll: float, shift: Any = (0, 0), scale: float = 1.0):
        h = plane_homography(
            photo.size, FRAME_SIZE, yaw=yaw, pitch=pitch, roll=roll, shift=shift, scale=scale
        )
        blur = float(rng.uniform(0.0, 1.5))
        return render_planar(photo, h, blur=blur, background=background, rng=rng)

    def jitter() -> tuple[float, float]:
        return float(rng.normal(0.0, 2.0)), float(rng.normal(0.0, 2.0))

    if kind == "random_tilt":
        return [
            frame(
                *rng.uniform(-30, 30, 2),
                float(rng.uniform(-10, 10)),
                tuple(rng.uniform(-0.06, 0.06, 2)),
                float(rng.uniform(0.85, 1.15)),
            )
            for _ in range(FRAMES)
        ]
    if kind == "still":
        still = frame(*rng.uniform(-10, 10, 2), float(rng.uniform(-5, 5)))
        return [still] * FRAMES
    path = np.array([0.0, 0.5, 1.0, 0.0, -1.0]) * first
    if kind == "swing":
        amplitude = rng.uniform(20.0, 45.0)
        return [frame(a * amplitude + jitter()[0], *jitter()) for a in path]
    if kind == "diagonal":
        # Tipping a print about a diagonal foreshortens it across the other diagonal, which
        # shears the face: the nose moves sideways relative to the eyes. Tipping it either
        # way about one diagonal shears it the same way, so each direction has its diagonal.
        amplitude = rng.uniform(25.0, 45.0)
        frames = []
        for a in path:
            axis = _nose_moving_diagonal(photo, 1 if a >= 0 else -1)
            angle = abs(a) * amplitude / math.sqrt(2)
            frames.append(frame(angle, axis * angle, jitter()[0]))
        return frames
    raise ValueError(f"unknown attack {kind!r}")


def _nose_moving_diagonal(photo: Image.Image, direction: int) -> int:
    """Which diagonal tilt (+1: yaw and pitch together, -1: opposed) moves a generic face's
    nose the way of ``direction`` (+1: the image's right) when the print is tipped."""
    from .facegeometry import FACE_MODEL_MM, apply_homography

    flat = FACE_MODEL_MM[:, :2] / 200.0 * photo.width + np.array(photo.size) / 2.0
    best = 1
    for axis in (1, -1):
        h = plane_homography(photo.size, FRAME_SIZE, yaw=25, pitch=axis * 25, roll=0)
        pose = head_pose(apply_homography(h, flat))
        if pose is not None and direction * pose.yaw_deg > 0:
            best = axis
    return best


def measure_task(verifier: v.DlibResNetVerifier, task: BurstTask) -> BurstRecord:
    """Build and measure one burst (never raises: an error is recorded)."""
    challenge = new_challenge(Random(task.seed), now=EVAL_NOW)  # noqa: S311 - reproducible
    try:
        reader = DlibBurstReader(verifier)
        reference = verifier.embed(task.reference.read_bytes())
        if reference.embedding is None:
            return BurstRecord(task, challenge, None, f"reference photo: {reference.outcome}")
        frames, truth = _frames_for(task, challenge, reader)
        measures = measure_burst(frames, reference.embedding, verifier)
        return BurstRecord(task, challenge, measures.portable(), truth_yaws=truth)
    except Exception as exc:  # noqa: BLE001 - one bad burst must not end a long run
        return BurstRecord(task, challenge, None, f"{type(exc).__name__}: {exc}")


def _run_in_worker(task: BurstTask) -> BurstRecord:
    verifier = batch._worker_verifier
    assert isinstance(verifier, v.DlibResNetVerifier)
    return measure_task(verifier, task)


def tasks_for(root: Path, *, calibration_people: int, seed: int = 13) -> list[BurstTask]:
    """Every held-out person and ``calibration_people`` calibration people (by a seeded
    shuffle), each with one burst of every kind."""
    faces = discover(root)
    photos: dict[str, list[Path]] = {}
    for rel in faces.photos:
        photos.setdefault(rel.split("/", 1)[0], []).append(root / rel)
    held = {name for name, h in zip(faces.people, faces.held_out, strict=True) if h}
    calibration = sorted(set(faces.people) - held)
    Random(seed).shuffle(calibration)  # noqa: S311 - a reproducible sample, not a secret
    chosen = sorted(held) + sorted(calibration[:calibration_people])
    tasks = []
    for number, person in enumerate(chosen):
        own = photos[person]
        if len(own) < 2:
            continue
        for k, kind in enumerate((*ATTACKS, *BONA_FIDE)):
            if kind == "photos" and len(own) < 3:
                continue  # a start and two turns need three photos
            source = tuple(own[:3]) if kind == "photos" else (own[1],)
            task_seed = seed * 1_000_003 + number * 10 + k
            tasks.append(BurstTask(kind, person, person in held, own[0], source, task_seed))
    return tasks


def measure_all(
    tasks: Sequence[BurstTask],
    verifier: v.DlibResNetVerifier,
    *,
    workers: int,
    advance: Callable[[], None] | None = None,
) -> Iterator[BurstRecord]:
    """The records of all tasks, in order, measured in ``workers`` processes."""
    if workers <= 1:
        for task in tasks:
            record = measure_task(verifier, task)
            if advance:
                advance()
            yield record
        return
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=get_context("spawn"),
        initializer=batch._init_worker,
        initargs=(batch.face_settings(), verifier),
    )
    try:
        for record in pool.map(_run_in_worker, tasks, chunksize=2):
            if advance:
                advance()
            yield record
    except BrokenProcessPool as exc:
        raise batch.BatchError(
            "a worker process stopped (out of memory?); try fewer --workers"
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- the figures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KindFigures:
    """How the built bursts of one kind were judged at one set of limits. ``reasons`` counts
    why bursts were not verified (``no_match``: live, but the key frame did not match)."""

    kind: str
    bursts: int
    live: int
    verified: int
    reasons: dict[str, int]
    #: Bursts that could not be built (the reference photo was refused): not counted.
    not_built: int = 0

    @property
    def attack(self) -> bool:
        return self.kind in ATTACKS

    @property
    def rejected(self) -> int:
        """Bursts judged not live (the liveness check's own rejections)."""
        return self.bursts - self.live

    def rate(self) -> tuple[float, float, float]:
        """The share judged not live, and its 95 % Wilson interval."""
        return _rate(self.rejected, self.bursts)

    def not_verified_rate(self) -> tuple[float, float, float]:
        """The share not verified for any reason (identity included)."""
        return _rate(self.bursts - self.verified, self.bursts)

    def as_dict(self) -> dict[str, Any]:
        rate, low, high = self.rate()
        nv_rate, nv_low, nv_high = self.not_verified_rate()
        return {
            "kind": self.kind,
            "bursts": self.bursts,
            "not_built": self.not_built,
            "live": self.live,
            "verified": self.verified,
            "not_live": self.rejected,
            "not_live_rate": rate,
            "not_live_ci95": [low, high],
            "not_verified_rate": nv_rate,
            "not_verified_ci95": [nv_low, nv_high],
            "reasons": dict(self.reasons),
        }


def _rate(k: int, n: int) -> tuple[float, float, float]:
    low, high = wilson(k, n)
    return (k / n if n else math.nan, low, high)


def figures(
    records: Sequence[BurstRecord], limits: LivenessLimits, *, held_out: bool
) -> dict[str, KindFigures]:
    """Per kind, on one part of the people: how many bursts were judged live, verified, and
    why the others were not."""
    out: dict[str, KindFigures] = {}
    for kind in (*ATTACKS, *BONA_FIDE):
        mine = [r for r in records if r.task.kind == kind and r.task.held_out == held_out]
        built = [r for r in mine if r.measures is not None]
        live = verified = 0
        reasons: Counter[str] = Counter()
        for record in built:
            result = judge(record.measures, record.challenge, limits, now=EVAL_NOW)  # type: ignore[arg-type]
            live += result.outcome == LIVE
            verified += result.verified
            if not result.verified:
                reasons[result.reason if result.reason != "ok" else "no_match"] += 1
        out[kind] = KindFigures(
            kind, len(built), live, verified, dict(reasons), len(mine) - len(built)
        )
    return out


def choose_limits(records: Sequence[BurstRecord]) -> tuple[LivenessLimits, list[dict[str, Any]]]:
    """The limits chosen on the calibration part: among the candidates where every attack
    kind is judged live at most TARGET_ATTACK_ACCEPTANCE of the time, those rejecting the
    fewest ``turn`` bursts (then the larger swing and the lower ZNCC limit: the stricter
    pair among equals). Returns the limits and the grid that was tried."""
    grid = []
    for swing in SWING_CANDIDATES:
        for zncc in ZNCC_CANDIDATES:
            limits = LivenessLimits(swing, zncc)
            part = figures(records, limits, held_out=False)
            worst = max((part[k].live / part[k].bursts) if part[k].bursts else 0.0 for k in ATTACKS)
            turn = part["turn"]
            bona = turn.rejected / turn.bursts if turn.bursts else 1.0  # judged not live
            grid.append(
                {
                    "min_swing_deg": swing,
                    "planar_zncc": zncc,
                    "worst_attack_live": worst,
                    "turn_not_live": bona,
                }
            )
    allowed = [g for g in grid if g["worst_attack_live"] <= TARGET_ATTACK_ACCEPTANCE] or grid
    best = min(allowed, key=lambda g: (g["turn_not_live"], -g["min_swing_deg"], g["planar_zncc"]))
    chosen = LivenessLimits(min_swing_deg=best["min_swing_deg"], planar_zncc=best["planar_zncc"])
    return chosen, grid


@dataclass
class EvalReport:
    """The evaluation: records, chosen limits, figures per part, and the configured limits'
    figures on the held-out part."""

    faces_arg: str
    records: list[BurstRecord]
    chosen: LivenessLimits
    configured: LivenessLimits
    grid: list[dict[str, Any]]
    seconds: float
    workers: int
    calibration: dict[str, KindFigures] = field(default_factory=dict)
    held_out: dict[str, KindFigures] = field(default_factory=dict)
    held_out_configured: dict[str, KindFigures] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "faces": self.faces_arg,
            "bursts": len(self.records),
            "not_built": sum(r.measures is None for r in self.records),
            "seconds": round(self.seconds, 1),
            "workers": self.workers,
            "chosen_limits": self.chosen.as_dict(),
            "configured_limits": self.configured.as_dict(),
            "calibration": {k: f.as_dict() for k, f in self.calibration.items()},
            "held_out": {k: f.as_dict() for k, f in self.held_out.items()},
            "held_out_at_configured_limits": {
                k: f.as_dict() for k, f in self.held_out_configured.items()
            },
            "grid": self.grid,
            "measures": measure_summary(self.records),
        }


def measure_summary(records: Sequence[BurstRecord]) -> dict[str, Any]:
    """Distributions of the two measures per kind (largest yaw swing, ZNCC of the turned
    pairs), to see how far apart attacks and bona fide bursts are."""
    out: dict[str, Any] = {}
    for kind in (*ATTACKS, *BONA_FIDE):
        swings, znccs = [], []
        for record in records:
            if record.task.kind != kind or record.measures is None:
                continue
            yaws = [y for y in record.measures.yaws if y is not None]
            if len(yaws) >= 2:
                swings.append(max(yaws) - min(yaws))
            znccs += [p.zncc for p in record.measures.pairs if p.zncc is not None]
        out[kind] = {
            "yaw_range_deg": _quantiles(swings),
            "pair_zncc": _quantiles(znccs),
        }
    return out


def _quantiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0}
    q = np.quantile(np.asarray(values), [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "n": len(values),
        **{
            k: round(float(x), 4)
            for k, x in zip(("p5", "p25", "p50", "p75", "p95"), q, strict=True)
        },
    }


def run_liveness_eval(
    root: Path,
    *,
    faces_arg: str,
    verifier: v.DlibResNetVerifier,
    configured: LivenessLimits,
    workers: int,
    calibration_people: int = 150,
    progress: Progress | None = None,
) -> EvalReport:
    """Build, measure and judge every burst; choose the limits on the calibration part."""
    import time

    started = time.monotonic()
    tasks = tasks_for(Path(root), calibration_people=calibration_people)
    advance = progress("bursts", len(tasks)) if progress else None
    records = list(measure_all(tasks, verifier, workers=workers, advance=advance))
    chosen, grid = choose_limits(records)
    report = EvalReport(
        faces_arg, records, chosen, configured, grid, time.monotonic() - started, workers
    )
    report.calibration = figures(records, chosen, held_out=False)
    report.held_out = figures(records, chosen, held_out=True)
    report.held_out_configured = figures(records, configured, held_out=True)
    return report


# --- the report -------------------------------------------------------------------------------
def _pct(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{100 * value:.1f} %"


def _table(part: dict[str, KindFigures]) -> list[str]:
    lines = [
        "| bursts | n | judged not live (95 % interval) | not verified, any reason | why |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for kind, fig in part.items():
        rate, low, high = fig.rate()
        nv_rate = fig.not_verified_rate()[0]
        why = ", ".join(f"{r} {n}" for r, n in sorted(fig.reasons.items(), key=lambda x: -x[1]))
        lines.append(
            f"| {KIND_LABELS[kind]} | {fig.bursts} | {fig.rejected} = {_pct(rate)} "
            f"({_pct(low)} - {_pct(high)}) | {fig.bursts - fig.verified} = {_pct(nv_rate)} | "
            f"{why or '-'} |"
        )
    return lines


def _pooled(part: dict[str, KindFigures], kinds: Sequence[str]) -> tuple[int, int]:
    return sum(part[k].rejected for k in kinds), sum(part[k].bursts for k in kinds)


def render_markdown(report: EvalReport) -> str:
    """The generated part of the "Liveness" section of docs/FACE_VERIFICATION.md."""
    held = report.held_out_configured
    people = len({r.task.person for r in report.records if r.task.held_out})
    cal_people = len({r.task.person for r in report.records if not r.task.held_out})
    attacks_rejected, attacks = _pooled(held, ATTACKS)
    a_rate, a_low, a_high = _rate(attacks_rejected, attacks)
    turn = held["turn"]
    t_rate, t_low, t_high = turn.rate()
    chosen, configured = report.chosen, report.configured
    not_built = sum(r.measures is None for r in report.records)
    refused_people = len({r.task.person for r in report.records if r.measures is None})
    lines = [
        f"Generated by `caseledger faces liveness-eval --faces {report.faces_arg}`: "
        f"{len(report.records) - not_built:,} bursts (5 frames of {FRAME_SIZE[0]} x "
        f"{FRAME_SIZE[1]} px JPEG; 3 photos for the own-photos kind) built from the photos "
        f"of {people} held-out and {cal_people} calibration people, measured in "
        f"{report.seconds / 60:.0f} minutes with {report.workers} worker processes "
        f"({refused_people} people left out: their reference photo was refused).",
        "",
        f"**Limits chosen on the calibration part**: a yaw swing of at least "
        f"{chosen.min_swing_deg:g} degrees between prompted turns, and a turned pair is a flat "
        f"picture when one homography explains its face region with ZNCC >= "
        f"{chosen.planar_zncc:g} (each attack kind judged live at most "
        f"{100 * TARGET_ATTACK_ACCEPTANCE:g} % of the time there, then the fewest rendered "
        f"turns judged not live). Configured in liveness.py: {configured.min_swing_deg:g} "
        f"degrees, ZNCC {configured.planar_zncc:g}, continuity distance "
        f"{configured.max_continuity_distance:g}.",
        "",
        f"**Held-out people, configured limits**: attacks rejected (judged not live) "
        f"{attacks_rejected} of {attacks} = {_pct(a_rate)} ({_pct(a_low)} - {_pct(a_high)}); "
        f"rendered bona fide turns judged not live {turn.rejected} of {turn.bursts} = "
        f"{_pct(t_rate)} ({_pct(t_low)} - {_pct(t_high)}); not verified for any reason "
        f"(the 1:1 comparison included) {turn.bursts - turn.verified} = "
        f"{_pct(turn.not_verified_rate()[0])}.",
        "",
        'Held-out people, configured limits ("judged not live" is the liveness check\'s own '
        'rejection: for attacks the rate to quote, whatever their 1:1 distance; "not '
        "verified\" adds the key frame's 1:1 comparison, which fails about as often as a "
        "single photo's):",
        "",
        *_table(report.held_out_configured),
        "",
        "Calibration part, chosen limits:",
        "",
        *_table(report.calibration),
        "",
        "The two measures per kind (all people; quantiles 5, 25, 50, 75, 95 %): the range of "
        "estimated yaw over the burst (degrees), and the ZNCC of the face region under the "
        "best homography for the turned pairs:",
        "",
        "| bursts | yaw range | pair ZNCC |",
        "| --- | --- | --- |",
    ]
    summary = measure_summary(report.records)
    for kind in (*ATTACKS, *BONA_FIDE):
        q = summary[kind]
        lines.append(
            f"| {KIND_LABELS[kind]} | {_quantile_text(q['yaw_range_deg'], 1)} | "
            f"{_quantile_text(q['pair_zncc'], 4)} |"
        )
    return "\n".join(lines) + "\n"


def _quantile_text(q: dict[str, Any], digits: int) -> str:
    if not q.get("n"):
        return "-"
    return " / ".join(f"{q[k]:.{digits}f}" for k in ("p5", "p25", "p50", "p75", "p95"))


def write_section(path: Path, section: str) -> None:
    """Put the generated section between the liveness markers of ``path`` (the text around
    them stays as it is); append a "Liveness" heading and the markers when there are none."""
    write_marked_section(path, section, BEGIN, END, heading="Liveness")


def write_json(report: EvalReport, path: Path) -> None:
    write_figures(report.as_dict(), path)
