"""Active liveness: is this burst of frames a live person following the server's prompt?

A check-in photo alone can be a printed photo or a phone screen held to the camera. Here the
participant follows a prompt the server chose at random ("turn your head a little to the
left, then to the right") while the page records a short burst (at most :data:`MAX_FRAMES`
frames of at most :data:`MAX_FRAME_SIDE` pixels, under two seconds). :func:`check_burst`
then checks, in this order:

1. **The frames can be used**: each one passes the decode budget (``images.load_image``,
   before any pixel is decoded); at least as many frames as the challenge has prompts show
   one clear face; the most frontal of them (the *key frame*, the one to keep as the
   check-in photo) passes the photo gates of a single check-in photo.
2. **Identity (1:1)**: the key frame is compared with the enrolled template exactly like a
   single check-in photo (same model, threshold and version: ``result.decision``), and every
   other frame must be the same person as the key frame (within
   :data:`MAX_CONTINUITY_DISTANCE`; ``face_changed`` otherwise). Only
   the key frame meets the reference, so a burst gives an impostor one chance of a false
   match, not one per frame.
3. **The prompts, in order**: the yaw estimated from the five landmarks
   (:mod:`.facegeometry`) must move the prompted way by half :data:`MIN_SWING_DEG` for the
   first prompt and swing by the whole of it between the frames of successive prompts
   (:func:`follows_prompts`); the burst starts before the first turn.
4. **Not a flat picture**: between the key frame and each frame that turned away from it
   (by at least half the swing), one homography must *not* explain the face region
   (:mod:`.planarity`: a planar photo moved or tilted fits one, a turning head does not).

Use::

    challenge = new_challenge()                       # store it; single use, expires
    ... the participant records the burst following challenge.prompts ...
    result = check_burst(frames, challenge, reference_template, get_verifier())
    result.verified        # live and the key frame matches: a verified check-in
    result.retake          # ask for another burst (a photo problem, or not live on a 1st try)
    result.as_dict()       # record all of it with the decision (outcome, reason, measures)

``result.outcome`` is ``live``, ``not_live`` or ``unusable`` and ``result.reason`` a plain
code (:data:`REASONS`). Nothing here raises for bad frames: every problem is an outcome.
A failed liveness check is never a violation by itself (invariant 3): ask for a retake,
then open a human review with the frames.

Frames are taken as the camera delivers them, **not mirrored** (a front camera's preview is
usually mirrored on screen; the captured frames must not be): ``turn_left`` means the
participant's own left, which moves the nose toward the right of an unmirrored frame
(positive yaw).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from random import Random
from typing import Any

import numpy as np
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import images
from . import verifier as v
from .facegeometry import landmark_planarity
from .liveness_frames import BurstReader, FrameReading, reader_for

__all__ = [
    "CHALLENGE_TTL",
    "LIVE",
    "MAX_FRAMES",
    "MAX_FRAME_BYTES",
    "MAX_FRAME_SIDE",
    "MAX_CONTINUITY_DISTANCE",
    "MIN_SWING_DEG",
    "NOT_LIVE",
    "OUTCOMES",
    "PLANAR_ZNCC",
    "PROMPTS",
    "REASONS",
    "REASON_MESSAGES",
    "UNUSABLE",
    "Challenge",
    "LivenessLimits",
    "LivenessResult",
    "check_burst",
    "follows_prompts",
    "judge",
    "measure_burst",
    "new_challenge",
]

# --- outcomes and reasons ----------------------------------------------------------------
LIVE = "live"
NOT_LIVE = "not_live"
UNUSABLE = "unusable"
OUTCOMES = (LIVE, NOT_LIVE, UNUSABLE)

OK = "ok"
# unusable: ask for another burst
NO_FRAMES = "no_frames"
TOO_MANY_FRAMES = "too_many_frames"
FRAME_TOO_LARGE = "frame_too_large"
BAD_FRAME = "bad_frame"  # a frame the decode budget refused (frame_problems says which, why)
TOO_FEW_FACES = "too_few_faces"
KEY_FRAME_PROBLEM = "key_frame_problem"  # the most frontal frame fails the photo gates
CHALLENGE_EXPIRED = "challenge_expired"
MOTION_UNCLEAR = "motion_unclear"  # the planarity fit could not be made
UNSUPPORTED_VERIFIER = "unsupported_verifier"
# not live
PROMPT_NOT_FOLLOWED = "prompt_not_followed"
PLANAR_MOTION = "planar_motion"
FACE_CHANGED = "face_changed"

REASONS = (
    OK,
    NO_FRAMES,
    TOO_MANY_FRAMES,
    FRAME_TOO_LARGE,
    BAD_FRAME,
    TOO_FEW_FACES,
    KEY_FRAME_PROBLEM,
    CHALLENGE_EXPIRED,
    MOTION_UNCLEAR,
    UNSUPPORTED_VERIFIER,
    PROMPT_NOT_FOLLOWED,
    PLANAR_MOTION,
    FACE_CHANGED,
)

#: The participant's text for each reason (translated).
REASON_MESSAGES: dict[str, Promise] = {
    OK: _("You followed the prompt."),
    NO_FRAMES: _("No pictures arrived from your camera. Please try again."),
    TOO_MANY_FRAMES: _("Too many pictures arrived from your camera. Please try again."),
    FRAME_TOO_LARGE: _("The pictures from your camera were too large. Please try again."),
    BAD_FRAME: _("We could not read the pictures from your camera. Please try again."),
    TOO_FEW_FACES: _(
        "We could not see your face in enough of the pictures. Face the camera in good light "
        "and try again."
    ),
    KEY_FRAME_PROBLEM: _(
        "The pictures were too blurry, too dark or too far away. Hold the phone at arm's "
        "length in even light and try again."
    ),
    CHALLENGE_EXPIRED: _("The prompt has expired. Please start again."),
    MOTION_UNCLEAR: _("We could not follow your movement. Please try again, a little slower."),
    UNSUPPORTED_VERIFIER: _("This check cannot be done right now. An officer will review it."),
    PROMPT_NOT_FOLLOWED: _(
        "We could not see you turn your head as asked. Please try again and turn your head "
        "a little further, in the order shown."
    ),
    PLANAR_MOTION: _("Please take the pictures of yourself, live, not of a picture or a screen."),
    FACE_CHANGED: _("Only you should be in the pictures. Please try again."),
}

# --- limits ------------------------------------------------------------------------------
MAX_FRAMES = 6
#: Longest side of a frame: larger frames are reduced to it (the client should send <= 480).
MAX_FRAME_SIDE = 480
#: Bytes of one frame (a 480 px JPEG is 20-60 KB).
MAX_FRAME_BYTES = 512 * 1024

#: Yaw swing between the frames of two successive prompts (half of it from the start to the
#: first prompt's frame), in degrees of the facegeometry estimate. Chosen by
#: `caseledger faces liveness-eval` (docs/FACE_VERIFICATION.md, "Liveness").
MIN_SWING_DEG = 14.0
#: A pair of frames whose face regions one homography explains with at least this
#: normalised correlation moved like a flat picture. Chosen by `faces liveness-eval`.
PLANAR_ZNCC = 0.994
#: The most a frame's descriptor may differ from the key frame's (same person within the
#: burst). The key frame alone meets the enrolled template at FACE_MATCH_THRESHOLD; this
#: only keeps another face from being swapped in mid-burst: at 0.6 the verifier's
#: false-match rate is about 1e-2 (docs/FACE_VERIFICATION.md, calibration), while frames of
#: one head turning 12-25 degrees lay within 0.62 of the key frame in 99 % of the
#: evaluation's rendered turns.
MAX_CONTINUITY_DISTANCE = 0.6


@dataclass(frozen=True)
class LivenessLimits:
    """The limits :func:`judge` applies (the evaluation tries others)."""

    min_swing_deg: float = MIN_SWING_DEG
    planar_zncc: float = PLANAR_ZNCC
    max_continuity_distance: float = MAX_CONTINUITY_DISTANCE

    def as_dict(self) -> dict[str, float]:
        return {
            "min_swing_deg": self.min_swing_deg,
            "planar_zncc": self.planar_zncc,
            "max_continuity_distance": self.max_continuity_distance,
        }


# --- the challenge -----------------------------------------------------------------------
TURN_LEFT = "turn_left"
TURN_RIGHT = "turn_right"
#: Prompts and the direction of the yaw they ask for (positive: the participant's left).
PROMPTS = {TURN_LEFT: 1, TURN_RIGHT: -1}
PROMPT_TEXT: dict[str, Promise] = {
    TURN_LEFT: _("Turn your head a little to your left"),
    TURN_RIGHT: _("Turn your head a little to your right"),
}
CHALLENGE_TTL = timedelta(minutes=2)


@dataclass(frozen=True)
class Challenge:
    """The prompts the server chose for one burst. Store it server-side (it is single use:
    the caller marks it used when a burst is checked against it) and send the client its
    ``id``, ``prompts`` and ``expires_at``.

    Only head turns (yaw) are prompted: nodding is not, because tilting a photo forward or
    back changes its landmarks just as a nod does."""

    id: str
    prompts: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        if len(self.prompts) < 2 or any(p not in PROMPTS for p in self.prompts):
            raise ValueError(f"a challenge is two or more of {sorted(PROMPTS)}")
        if any(a == b for a, b in zip(self.prompts, self.prompts[1:], strict=False)):
            raise ValueError("successive prompts must turn opposite ways")

    @property
    def directions(self) -> tuple[int, ...]:
        """The expected sign of the yaw change for each prompt (+1: participant's left)."""
        return tuple(PROMPTS[p] for p in self.prompts)

    def expected_poses(self) -> tuple[str, ...]:
        """The pose sequence the frames must show, e.g. ("left", "right")."""
        return tuple("left" if d > 0 else "right" for d in self.directions)

    def instructions(self) -> list[str]:
        return [str(PROMPT_TEXT[p]) for p in self.prompts]

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prompts": list(self.prompts),
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Challenge:
        return cls(
            id=str(data["id"]),
            prompts=tuple(data["prompts"]),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
        )


def new_challenge(
    rng: Random | None = None,
    *,
    length: int = 2,
    now: datetime | None = None,
    ttl: timedelta = CHALLENGE_TTL,
) -> Challenge:
    """A challenge of ``length`` alternating turns, the first direction chosen at random
    (``rng`` defaults to the operating system's generator; pass a seeded one in tests).
    Two prompts (left then right, or right then left) fit in two seconds; three are allowed."""
    if not 2 <= length <= 3:
        raise ValueError("a challenge has two or three prompts")
    rng = rng or secrets.SystemRandom()
    first = rng.choice((TURN_LEFT, TURN_RIGHT))
    other = TURN_RIGHT if first == TURN_LEFT else TURN_LEFT
    prompts = tuple(first if k % 2 == 0 else other for k in range(length))
    issued = now or datetime.now(UTC)
    token = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(22))
    return Challenge(id=token, prompts=prompts, issued_at=issued, expires_at=issued + ttl)


# --- the prompt order ----------------------------------------------------------------------
def follows_prompts(
    yaws: Sequence[float], directions: Sequence[int], min_swing: float
) -> tuple[int, ...] | None:
    """The frames (indices) where the head reached each prompted turn, or None when the yaw
    sequence does not follow the prompts.

    With ``directions`` d1..dm, frames i0 < i1 < ... < im must exist such that the first
    turn moves the prompted way by at least half ``min_swing`` from an earlier frame
    (``d1 * (yaw[i1] - yaw[i0]) >= min_swing / 2``: from looking ahead to one side) and each
    later turn by at least ``min_swing`` from the previous turn (``dk * (yaw[ik] -
    yaw[ik-1]) >= min_swing``: from one side to the other). For "left, right": the head
    turns left from where it was, then right past where it was. Every prompt must be seen
    as a movement, so a burst must start before the first turn. Of the sequences that
    qualify, the one with the largest smallest margin is returned (without i0)."""
    best: tuple[float, tuple[int, ...]] | None = None
    for chosen in combinations(range(len(yaws)), len(directions) + 1):
        margins = [directions[0] * (yaws[chosen[1]] - yaws[chosen[0]]) - min_swing / 2]
        margins += [
            directions[k] * (yaws[chosen[k + 1]] - yaws[chosen[k]]) - min_swing
            for k in range(1, len(directions))
        ]
        if min(margins) < 0:
            continue
        if best is None or min(margins) > best[0]:
            best = (min(margins), chosen[1:])
    return None if best is None else best[1]


# --- measuring and judging -----------------------------------------------------------------
@dataclass(frozen=True)
class PairMeasure:
    """The planarity of the face region between the key frame and one turned frame."""

    frames: tuple[int, int]
    yaw_difference: float
    zncc: float | None  # None: the fit failed
    residual: float | None
    landmark_residual: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": list(self.frames),
            "yaw_difference": round(self.yaw_difference, 1),
            "zncc": None if self.zncc is None else round(self.zncc, 4),
            "residual": None if self.residual is None else round(self.residual, 4),
            "landmark_residual": _rounded(self.landmark_residual, 5),
        }


@dataclass(frozen=True)
class BurstMeasures:
    """Everything measured on a burst, before any limit is applied (see :func:`judge`)."""

    model_id: str
    frames: tuple[FrameReading, ...]
    problem: str | None = None  # an input problem found before measuring (a reason code)
    key: int | None = None
    decision: v.Decision | None = None
    continuity: tuple[float | None, ...] = ()
    pairs: tuple[PairMeasure, ...] = ()
    #: Wall-clock and CPU milliseconds per step (read, embed, planarity, total).
    timings_ms: dict[str, float] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def usable(self) -> list[int]:
        """The frames with a face and a pose."""
        return [k for k, f in enumerate(self.frames) if f.pose is not None]

    def portable(self) -> BurstMeasures:
        """A copy without images, landmarks or dlib objects (to send between processes)."""
        light = tuple(
            replace(f, image=None, extra=None, choice=None, landmarks=None) for f in self.frames
        )
        return replace(self, frames=light)

    @property
    def yaws(self) -> list[float | None]:
        return [None if f.pose is None else f.pose.yaw_deg for f in self.frames]


@dataclass(frozen=True)
class LivenessResult:
    """The outcome of a burst: ``outcome`` (live, not_live, unusable), ``reason`` (a code of
    :data:`REASONS`), the key frame's 1:1 ``decision`` (None when no key frame was usable),
    and every measure, for the record and the reviewer."""

    outcome: str
    reason: str
    challenge: Challenge | None
    measures: BurstMeasures
    limits: LivenessLimits
    turns: tuple[int, ...] | None = None

    @property
    def live(self) -> bool:
        return self.outcome == LIVE

    @property
    def decision(self) -> v.Decision | None:
        return self.measures.decision

    @property
    def verified(self) -> bool:
        """Live and the key frame matches the enrolled template: a verified check-in."""
        return self.live and self.decision is not None and self.decision.match

    @property
    def retake(self) -> bool:
        """Ask for another burst: the frames could not be used, or the key frame had a photo
        problem. (A first ``not_live`` also deserves a retake; that is the caller's policy.)"""
        if self.outcome == UNUSABLE:
            return self.reason != UNSUPPORTED_VERIFIER
        return self.decision is not None and self.decision.photo_problem

    @property
    def key_frame(self) -> int | None:
        return self.measures.key

    @property
    def message(self) -> str:
        return str(REASON_MESSAGES.get(self.reason, self.reason))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what a check-in decision records (no image, no embedding)."""
        m = self.measures
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "verified": self.verified,
            "challenge": None if self.challenge is None else self.challenge.as_dict(),
            "limits": self.limits.as_dict(),
            "model_id": m.model_id,
            "key_frame": m.key,
            "turn_frames": None if self.turns is None else list(self.turns),
            "decision": None if m.decision is None else m.decision.as_dict(),
            "frames": [f.as_dict() for f in m.frames],
            "yaw_deg": [None if y is None else round(y, 1) for y in m.yaws],
            "continuity_distance": [_rounded(d, 4) for d in m.continuity],
            "pairs": [p.as_dict() for p in m.pairs],
            "timings_ms": dict(m.timings_ms),
            "cpu_ms": dict(m.cpu_ms),
        }


def _rounded(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def measure_burst(
    frames: Sequence[v.ImageInput],
    reference_template: bytes | np.ndarray,
    verifier: v.FaceVerifier | BurstReader,
) -> BurstMeasures:
    """Decode the frames, find each face and its landmarks, choose the key frame, compare
    it 1:1 with the reference, measure continuity and planarity. No limit of
    :class:`LivenessLimits` is applied here (the evaluation judges the same measures with
    several limits)."""
    reader = reader_for(verifier)
    model_id = getattr(verifier, "model_id", "")
    if reader is None:
        return BurstMeasures(model_id, (), problem=UNSUPPORTED_VERIFIER)
    if not frames:
        return BurstMeasures(model_id, (), problem=NO_FRAMES)
    if len(frames) > MAX_FRAMES:
        return BurstMeasures(model_id, (), problem=TOO_MANY_FRAMES)
    if any(
        isinstance(f, bytes | bytearray | memoryview) and len(f) > MAX_FRAME_BYTES for f in frames
    ):
        return BurstMeasures(model_id, (), problem=FRAME_TOO_LARGE)
    reference = _reference(reference_template)
    clock = v._Clock()
    readings = tuple(reader.read(frames, max_side=MAX_FRAME_SIDE))
    clock.lap("read")
    if any(r.outcome in images.IMAGE_ERROR_CODES for r in readings):
        return BurstMeasures(
            model_id, readings, problem=BAD_FRAME, timings_ms=clock.wall, cpu_ms=clock.cpu
        )
    usable = [k for k, r in enumerate(readings) if r.pose is not None]
    if not usable:
        return BurstMeasures(model_id, readings, timings_ms=clock.wall, cpu_ms=clock.cpu)
    # The key frame: the most frontal of the frames the photo gates accept (of all, if none).
    gated = [k for k in usable if readings[k].outcome == v.OK] or usable
    key = min(gated, key=lambda k: (abs(readings[k].pose.yaw_deg), k))  # type: ignore[union-attr]
    descriptors = reader.describe(readings, key, usable, reference=reference)
    clock.lap("embed")
    decision = v.decide(reference, descriptors.key_analysis)
    pairs = tuple(_pairs(reader, readings, key, usable))
    clock.lap("planarity")
    clock.total()
    return BurstMeasures(
        model_id,
        readings,
        key=key,
        decision=decision,
        continuity=descriptors.continuity,
        pairs=pairs,
        timings_ms=clock.wall,
        cpu_ms=clock.cpu,
    )


def _reference(template: bytes | np.ndarray) -> np.ndarray:
    if isinstance(template, bytes | bytearray | memoryview):
        return v.template_from_bytes(bytes(template))
    reference = np.asarray(template, dtype=np.float32)
    v.template_bytes(reference)  # validates shape and values
    return reference


def _pairs(
    reader: BurstReader, readings: Sequence[FrameReading], key: int, usable: list[int]
) -> list[PairMeasure]:
    """Planarity between the key frame and the most turned frame on each side of it (the
    frames a prompted turn must reach: for "left, right" the turned frames are the most
    left and the most right ones)."""
    yaw = {k: readings[k].pose.yaw_deg for k in usable}  # type: ignore[union-attr]
    ends = {max(usable, key=lambda k: yaw[k]), min(usable, key=lambda k: yaw[k])} - {key}
    measures = []
    for other in sorted(ends):
        fit = reader.planar(readings[key], readings[other])
        measures.append(
            PairMeasure(
                frames=(key, other),
                yaw_difference=yaw[other] - yaw[key],
                zncc=fit.zncc if fit.fitted else None,
                residual=fit.residual if fit.fitted else None,
                landmark_residual=landmark_planarity(
                    readings[key].landmarks, readings[other].landmarks
                ),
            )
        )
    return measures


def judge(
    measures: BurstMeasures,
    challenge: Challenge | None,
    limits: LivenessLimits | None = None,
    *,
    now: datetime | None = None,
) -> LivenessResult:
    """Apply the limits to the measures of a burst (see the module doc for the order)."""
    limits = limits or LivenessLimits()

    def result(outcome: str, reason: str, turns: tuple[int, ...] | None = None) -> LivenessResult:
        return LivenessResult(outcome, reason, challenge, measures, limits, turns)

    if challenge is None or challenge.expired(now):
        return result(UNUSABLE, CHALLENGE_EXPIRED)
    if measures.problem is not None:
        return result(UNUSABLE, measures.problem)
    usable = measures.usable
    if len(usable) < len(challenge.prompts) + 1 or measures.key is None:
        return result(UNUSABLE, TOO_FEW_FACES)
    decision = measures.decision
    if decision is not None and decision.photo_problem:
        return result(UNUSABLE, KEY_FRAME_PROBLEM)
    others = [k for k in usable if k != measures.key]
    if any(_above(measures.continuity[k], limits.max_continuity_distance) for k in others):
        return result(NOT_LIVE, FACE_CHANGED)
    yaws = [measures.yaws[k] for k in usable]
    found = follows_prompts(yaws, challenge.directions, limits.min_swing_deg)  # type: ignore[arg-type]
    if found is None:
        return result(NOT_LIVE, PROMPT_NOT_FOLLOWED)
    turns = tuple(usable[k] for k in found)
    checked = [p for p in measures.pairs if abs(p.yaw_difference) >= limits.min_swing_deg / 2]
    if not checked:  # a swing was seen, so one side of the key frame turned by half of it
        return result(UNUSABLE, MOTION_UNCLEAR, turns)
    if any(p.zncc is None for p in checked):
        return result(UNUSABLE, MOTION_UNCLEAR, turns)
    if any(p.zncc >= limits.planar_zncc for p in checked):  # type: ignore[operator]
        return result(NOT_LIVE, PLANAR_MOTION, turns)
    return result(LIVE, OK, turns)


def _above(distance: float | None, threshold: float) -> bool:
    return distance is None or not distance <= threshold


def check_burst(
    frames: Sequence[v.ImageInput],
    challenge: Challenge | None,
    reference_template: bytes | np.ndarray,
    verifier: v.FaceVerifier | BurstReader,
    *,
    limits: LivenessLimits | None = None,
    now: datetime | None = None,
) -> LivenessResult:
    """Check a burst of frames against its challenge and the enrolled template.

    ``frames`` are the uploaded bytes (JPEG, PNG or WebP, each through the decode budget) or
    images already loaded; ``reference_template`` the enrolled 512-byte template (opened) or
    embedding; ``verifier`` the configured verifier (``get_verifier()``). Never raises for
    bad frames or a bad challenge: the result says what was wrong."""
    if challenge is None or challenge.expired(now):
        empty = BurstMeasures(getattr(verifier, "model_id", ""), ())
        return judge(empty, challenge, limits, now=now)
    return judge(measure_burst(frames, reference_template, verifier), challenge, limits, now=now)
