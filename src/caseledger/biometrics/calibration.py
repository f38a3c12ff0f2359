"""Calibration of the match threshold and the photo gates on a folder of labelled photos.

``caseledger faces calibrate --faces DIR`` runs :func:`run_calibration`. ``DIR`` holds one
folder per person (``DIR/<person>/<photo>.jpg``): every two photos in one folder make a
genuine pair, every two photos of different folders an impostor pair (LFW's 1,501 photos of
600 people give about 1,200 genuine and 1.1 million impostor pairs).

1. Every photo is embedded **once**, through the verifier's own pipeline (decode, detection,
   face choice, quality measures, alignment, embedding) in measuring mode: the largest face
   is embedded whatever the gates would say, and the gates are applied afterwards to the
   recorded measures (:func:`verifier.gate_outcome`), so that one pass can try other limits.
2. The people are split by a fixed rule (:func:`is_held_out`, a third of them): the
   *calibration* part chooses, the *held-out* part judges. No photo of a held-out person is
   used to choose anything.
3. On the calibration part: the threshold for the target false-match rate
   (``FACE_TARGET_FMR``), then the blur and face-size gates (:func:`derive_gates`): a gate
   refuses a photo only where such photos fail their genuine comparisons more often than not
   (or match other people significantly more often than the target), from the real photos and
   from calibration photos degraded step by step (blurred, shrunk), then the threshold again
   with those gates.
4. On the held-out part, at the chosen threshold and gates: FMR and FNMR with 95 % intervals
   (Wilson, and a bootstrap over people), refused photos apart and as failures, and a retake
   simulation (enrol with one photo, check in with a second, retake with a third).
5. Mirror on demand (:func:`mirror_evidence`): every photo's plain descriptor is kept beside
   its mirror-averaged one (the same pass), so every ordered pair gives the check-in's
   distance both ways; the band around the threshold where the mirror must be computed is
   chosen on the calibration part and judged on the held-out part.

All distances come from one matrix product (:mod:`.errorrates`); nothing here searches one face
among many.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np

from . import errorrates as er
from . import selection
from . import verifier as v
from .batch import Task, embed_all
from .quality import QualityLimits, QualityReport
from .selection import FaceChoice

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
#: One person in HOLDOUT_MODULUS is held out (by a hash of the folder name).
HOLDOUT_MODULUS = 3
#: A bin of the gate evidence counts only with at least this many genuine pairs.
MIN_EVIDENCE = 10
#: Bins of the gate evidence (lower edges; the last bin is open).
GATE_BINS: dict[str, tuple[float, ...]] = {
    "sharpness": (0, 5, 10, 15, 20, 25, 30, 35, 50, 75, 100, 150),
    "face_width_px": (0, 40, 45, 50, 55, 60, 65, 70, 80, 90, 110),
}
#: The QualityLimits field each derived gate sets, and the degradation that measures it.
GATE_LIMIT = {"sharpness": "min_sharpness", "face_width_px": "min_face_width_px"}
GATE_DEGRADATION = {"sharpness": "blur", "face_width_px": "scale"}
#: Degradations of the calibration photos for the gate evidence: face widths (px) the photo
#: is shrunk to, and Gaussian blur radii (px).
SHRINK_TO_WIDTHS = (26, 30, 34, 38, 44, 50, 56, 62, 68, 76)
BLUR_RADII = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)

Progress = Callable[[str, int], Callable[[], None]]


class CalibrationError(Exception):
    """The folder cannot be calibrated on (the message says why, for the operator)."""


# --- the folder ------------------------------------------------------------------------------
def is_held_out(person: str) -> bool:
    """The fixed split: a person is held out when the SHA-256 of the folder name is 0 modulo
    HOLDOUT_MODULUS. Stable across runs and machines; independent of the photos."""
    digest = hashlib.sha256(person.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % HOLDOUT_MODULUS == 0


@dataclass
class FaceSet:
    """The photos of a folder-per-person set, and who is in which part."""

    root: Path
    photos: list[str]  # relative paths, sorted
    person: np.ndarray  # index into people, per photo
    people: list[str]
    held_out: np.ndarray  # bool per person
    ignored: list[str] = field(default_factory=list)  # files that are not photos

    @property
    def photo_held_out(self) -> np.ndarray:
        return self.held_out[self.person]


def discover(root: Path) -> FaceSet:
    """The photos under ``root/<person>/`` (any depth; the first folder names the person)."""
    root = Path(root)
    if not root.is_dir():
        raise CalibrationError(f"not a folder: {root}")
    photos: list[str] = []
    ignored: list[str] = []
    for entry in sorted(root.iterdir()):
        if not entry.is_dir():  # a person's folder may be a link to a folder
            ignored.append(entry.name)
            continue
        for path in sorted(p for p in entry.rglob("*") if p.is_file()):
            rel = f"{entry.name}/{path.relative_to(entry).as_posix()}"
            if path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                photos.append(rel)
            else:
                ignored.append(rel)
    if not photos:
        raise CalibrationError(
            f"no photos in {root}: expected one folder per person holding JPEG, PNG or WebP "
            f"files ({root}/<person>/<photo>.jpg)"
            + (f"; {len(ignored)} other files were ignored" if ignored else "")
        )
    names = [rel.split("/", 1)[0] for rel in photos]
    people = sorted(set(names))
    index = {name: k for k, name in enumerate(people)}
    person = np.array([index[n] for n in names], dtype=np.int64)
    if len(people) < 2:
        raise CalibrationError(f"only one person in {root}: impostor pairs need two or more")
    if np.bincount(person).max() < 2:
        raise CalibrationError(f"no person in {root} has two photos: no genuine pair")
    held = np.array([is_held_out(name) for name in people])
    return FaceSet(root, photos, person, people, held, ignored)


# --- measuring --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhotoRecord:
    """What the measuring pipeline found in one photo."""

    outcome: str  # "ok" when a face was embedded; otherwise why not (unreadable, no_face, ...)
    embedding: np.ndarray | None = None
    quality: QualityReport | None = None
    choice: FaceChoice | None = None
    detail: str = ""
    plain: np.ndarray | None = None  # the chip's own descriptor, without its mirror image

    @classmethod
    def of(cls, result: v.FaceAnalysis | tuple[str, str]) -> PhotoRecord:
        if isinstance(result, tuple):
            return cls(outcome=result[0], detail=result[1])
        return cls(
            result.outcome,
            result.embedding,
            result.quality,
            result.choice,
            plain=result.plain_embedding,
        )

    def gate(self, limits: QualityLimits) -> str:
        """The outcome the verifier gives this photo under ``limits``."""
        if self.choice is None:
            return self.outcome
        return v.gate_outcome(self.choice, self.quality, limits)

    def measure(self, name: str) -> float:
        return float(getattr(self.quality, name)) if self.quality else math.nan


def measure_photos(
    faces: FaceSet, *, workers: int, progress: Progress | None = None
) -> list[PhotoRecord]:
    """Every photo embedded once, in measuring mode (see the module doc)."""
    tasks = [Task(faces.root / rel) for rel in faces.photos]
    advance = progress("embedding photos", len(tasks)) if progress else None
    measuring = v.DlibResNetVerifier(gates=False)
    return [
        PhotoRecord.of(r) for r in embed_all(tasks, measuring, workers=workers, advance=advance)
    ]


def embedding_matrix(records: list[PhotoRecord]) -> np.ndarray:
    out = np.full((len(records), v.EMBEDDING_SIZE), np.nan, dtype=np.float64)
    for k, record in enumerate(records):
        if record.embedding is not None:
            out[k] = record.embedding
    return out


# --- gates -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Probed:
    """A degraded calibration photo as measured: the photo it came from, the reference photo
    of the same person it is compared with, and how it was degraded ("blur" or "scale")."""

    reference: int
    photo: int
    kind: str
    record: PhotoRecord


@dataclass(frozen=True)
class Probe:
    """A degraded calibration photo compared with another photo of the same person."""

    kind: str
    measures: dict[str, float]  # the degraded face's sharpness and width (NaN: no face)
    distance: float | None  # to the reference photo (None: no face found)
    impostor_matches: int  # matches against the other people's photos, at the threshold
    impostors: int


@dataclass(frozen=True)
class GateBin:
    low: float
    high: float  # inf for the last bin
    genuine: int
    failed: int
    impostors: int
    false_matches: int
    source: str  # "photos" (natural) or "degraded"
    smallest: float = math.nan  # the lowest measure among the genuine pairs in the bin

    @property
    def fail_rate(self) -> float:
        return self.failed / self.genuine if self.genuine else math.nan


@dataclass(frozen=True)
class GateEvidence:
    measure: str
    limit: float
    configured: float
    natural: list[GateBin]
    degraded: list[GateBin]
    no_face: int  # degraded probes in which no face was found any more


def _bins(
    measure: str,
    values: np.ndarray,
    failed: np.ndarray,
    imp_values: np.ndarray,
    imp_match: np.ndarray,
    imp_weight: np.ndarray,
    source: str,
) -> list[GateBin]:
    edges = GATE_BINS[measure]
    where = np.digitize(values, edges) - 1
    imp_where = np.digitize(imp_values, edges) - 1
    out = []
    for k, low in enumerate(edges):
        high = edges[k + 1] if k + 1 < len(edges) else math.inf
        in_bin = where == k
        imp_in = imp_where == k
        out.append(
            GateBin(
                float(low),
                float(high),
                int(in_bin.sum()),
                int(failed[in_bin].sum()),
                int(imp_weight[imp_in].sum()),
                int(imp_match[imp_in].sum()),
                source,
                float(values[in_bin].min()) if in_bin.any() else math.nan,
            )
        )
    return out


def derive_limit(bins: list[GateBin], target_fmr: float, configured: float) -> float:
    """The gate's limit from per-bin evidence (natural and degraded pooled per bin).

    Going up from the lowest bin, the gate covers each bin whose photos fail their genuine
    comparisons more often than not (with at least MIN_EVIDENCE genuine pairs), or whose
    impostor pairs match significantly more often than the target (the lower end of the
    Wilson interval above ``target_fmr``: blur makes faces alike), and stops at the first
    bin with enough evidence that does neither. Bins with too little evidence neither stop
    nor extend the gate. When the lowest evidenced bin already passes, the limit is the
    lowest measure seen in it (the edge of the evidence: nothing below what was measured is
    accepted). With no evidence at all the configured limit stays."""
    pooled: dict[float, list[float]] = {}
    high_of: dict[float, float] = {}
    for b in bins:
        counts = pooled.setdefault(b.low, [0, 0, 0, 0, math.inf])
        counts[0] += b.genuine
        counts[1] += b.failed
        counts[2] += b.impostors
        counts[3] += b.false_matches
        if b.genuine:
            counts[4] = min(counts[4], b.smallest)
        high_of[b.low] = b.high
    limit: float | None = None
    for low in sorted(pooled):
        genuine, failed, impostors, false_matches, smallest = pooled[low]
        too_alike = impostors > 0 and er.wilson(int(false_matches), int(impostors))[0] > target_fmr
        if (genuine >= MIN_EVIDENCE and failed * 2 > genuine) or too_alike:
            limit = high_of[low]
            continue
        if genuine < MIN_EVIDENCE:
            continue
        return float(math.floor(smallest)) if limit is None else limit
    return configured if limit is None else limit


def _natural_evidence(
    measure: str,
    records: list[PhotoRecord],
    pairs: er.PairSet,
    usable: np.ndarray,
    threshold: float,
) -> list[GateBin]:
    """Pairs of calibration photos (both usable apart from this gate), binned by the lower of
    the two photos' measures: the pair is refused when its worse photo is."""
    values = np.array([r.measure(measure) for r in records])
    chosen = pairs.select(usable)
    low = np.minimum(values[chosen.i], values[chosen.j])
    g = chosen.genuine
    failed = chosen.distance[g] > threshold
    ones = np.ones(int((~g).sum()))
    matched = chosen.distance[~g] <= threshold
    return _bins(measure, low[g], failed, low[~g], matched, ones, "photos")


def _degraded_evidence(measure: str, probes: list[Probe], threshold: float) -> list[GateBin]:
    """The probes degraded in this gate's way (blurred for sharpness, shrunk for size)."""
    found = [
        p
        for p in probes
        if p.kind == GATE_DEGRADATION[measure]
        and p.distance is not None
        and math.isfinite(p.measures[measure])
    ]
    values = np.array([p.measures[measure] for p in found])
    failed = np.array([p.distance > threshold for p in found], dtype=bool)  # type: ignore[operator]
    matches = np.array([p.impostor_matches for p in found], dtype=np.float64)
    weights = np.array([p.impostors for p in found], dtype=np.float64)
    return _bins(measure, values, failed, values, matches, weights, "degraded")


def gate_probe_tasks(
    faces: FaceSet, records: list[PhotoRecord], usable: np.ndarray, count: int
) -> list[tuple[int, int, Task]]:
    """(reference photo, probe photo, degraded task) for ``count`` calibration people: the
    first two usable photos of each, people taken in the order of a hash of their name."""
    by_person: dict[int, list[int]] = {}
    for k in np.flatnonzero(usable & ~faces.photo_held_out):
        by_person.setdefault(int(faces.person[k]), []).append(int(k))
    people = sorted(
        (p for p, photos in by_person.items() if len(photos) >= 2),
        key=lambda p: hashlib.sha256(faces.people[p].encode()).hexdigest(),
    )[:count]
    tasks: list[tuple[int, int, Task]] = []
    for p in people:
        ref, probe = by_person[p][:2]
        width = records[probe].measure("face_width_px")
        path = faces.root / faces.photos[probe]
        for target in SHRINK_TO_WIDTHS:
            if target < width:
                tasks.append((ref, probe, Task(path, ("scale", target / width))))
        for radius in BLUR_RADII:
            tasks.append((ref, probe, Task(path, ("blur", radius))))
    return tasks


def run_probes(
    faces: FaceSet,
    records: list[PhotoRecord],
    usable: np.ndarray,
    count: int,
    *,
    workers: int,
    progress: Progress | None = None,
) -> list[Probed]:
    planned = gate_probe_tasks(faces, records, usable, count)
    if not planned:
        return []
    advance = progress("degraded photos", len(planned)) if progress else None
    measuring = v.DlibResNetVerifier(gates=False)
    results = embed_all([t for *_, t in planned], measuring, workers=workers, advance=advance)
    return [
        Probed(ref, probe, task.degradation[0] if task.degradation else "", PhotoRecord.of(r))
        for (ref, probe, task), r in zip(planned, results, strict=True)
    ]


def score_probes(
    probed: list[Probed],
    faces: FaceSet,
    emb: np.ndarray,
    usable: np.ndarray,
    threshold: float,
) -> list[Probe]:
    """Each degraded probe against its reference, and against every usable calibration photo
    of another person (impostor pairs), at ``threshold``."""
    calibration = usable & ~faces.photo_held_out
    out = []
    for item in probed:
        record = item.record
        measures = {m: record.measure(m) for m in GATE_BINS}
        if record.embedding is None:
            out.append(Probe(item.kind, measures, None, 0, 0))
            continue
        others = calibration & (faces.person != faces.person[item.photo])
        d = np.linalg.norm(emb[others] - record.embedding[None, :].astype(np.float64), axis=1)
        distance = float(np.linalg.norm(emb[item.reference] - record.embedding))
        matches = int((d <= threshold).sum())
        out.append(Probe(item.kind, measures, distance, matches, int(others.sum())))
    return out


# --- figures per part ---------------------------------------------------------------------
@dataclass
class PartFigures:
    """FMR and FNMR of one part (calibration or held-out) at one threshold and gates."""

    name: str
    threshold: float
    photos: int
    people: int
    refused: dict[str, int]  # outcome -> photos
    resolved_multiple: int  # photos with several faces where the dominant one was used
    rates: er.Rates  # over pairs of two usable photos
    bootstrap: er.Bootstrap
    genuine_all: int  # genuine pairs, refused photos included
    genuine_with_refused: int
    impostor_all: int

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    @property
    def refused_rate(self) -> float:
        return self.refused_total / self.photos if self.photos else math.nan

    @property
    def fnmr_with_refusals(self) -> float:
        fails = self.rates.false_non_matches + self.genuine_with_refused
        return fails / self.genuine_all if self.genuine_all else math.nan

    @property
    def fnmr_with_refusals_ci(self) -> tuple[float, float]:
        fails = self.rates.false_non_matches + self.genuine_with_refused
        return er.wilson(fails, self.genuine_all)

    def as_dict(self) -> dict[str, Any]:
        r = self.rates
        return {
            "threshold": self.threshold,
            "photos": self.photos,
            "people": self.people,
            "refused_photos": self.refused_total,
            "refused_rate": self.refused_rate,
            "refused_by_outcome": dict(sorted(self.refused.items())),
            "several_faces_dominant_used": self.resolved_multiple,
            "impostor_pairs": self.impostor_all,
            "impostor_pairs_compared": r.impostors,
            "false_matches": r.false_matches,
            "fmr": r.fmr,
            "fmr_ci95_wilson": list(r.fmr_ci),
            "fmr_ci95_bootstrap_people": list(self.bootstrap.fmr),
            "genuine_pairs": self.genuine_all,
            "genuine_pairs_compared": r.genuines,
            "false_non_matches": r.false_non_matches,
            "fnmr": r.fnmr,
            "fnmr_ci95_wilson": list(r.fnmr_ci),
            "fnmr_ci95_bootstrap_people": list(self.bootstrap.fnmr),
            "genuine_pairs_with_refused_photo": self.genuine_with_refused,
            "fnmr_refusals_as_failures": self.fnmr_with_refusals,
            "fnmr_refusals_as_failures_ci95_wilson": list(self.fnmr_with_refusals_ci),
        }


def part_figures(
    name: str,
    faces: FaceSet,
    records: list[PhotoRecord],
    pairs: er.PairSet,
    part: np.ndarray,
    limits: QualityLimits,
    threshold: float,
    *,
    replicates: int = 1000,
) -> PartFigures:
    outcomes = [r.gate(limits) for r in records]
    usable = np.array([o == v.OK for o in outcomes]) & part
    refused = Counter(o for o, p in zip(outcomes, part, strict=True) if p and o != v.OK)
    resolved = sum(
        1
        for r, o, p in zip(records, outcomes, part, strict=True)
        if p and o == v.OK and r.choice is not None and r.choice.faces_found > 1
    )
    counts = np.bincount(faces.person[part], minlength=len(faces.people))
    genuine_all = int((counts * (counts - 1) // 2).sum())
    n = int(part.sum())
    compared = pairs.select(usable)
    rates = er.rates_at(compared.genuine_distances, compared.impostor_distances, threshold)
    usable_counts = np.bincount(faces.person[usable], minlength=len(faces.people))
    genuine_usable = int((usable_counts * (usable_counts - 1) // 2).sum())
    boot = er.bootstrap_by_person(compared, faces.person, threshold, replicates=replicates)
    return PartFigures(
        name=name,
        threshold=threshold,
        photos=n,
        people=int((counts > 0).sum()),
        refused=dict(refused),
        resolved_multiple=resolved,
        rates=rates,
        bootstrap=boot,
        genuine_all=genuine_all,
        genuine_with_refused=genuine_all - genuine_usable,
        impostor_all=n * (n - 1) // 2 - genuine_all,
    )


@dataclass(frozen=True)
class RetakeFigures:
    """Enrol with one photo, check in with a second, retake with a third (people with three
    or more photos, every ordering): how often a genuine participant is not verified."""

    people: int
    check_ins: int
    enrolment_refused: int  # orderings left out: the enrolment photo itself was refused
    first_try_failed: int
    sent_to_review: int  # failed both tries (no match or refused photo, twice)
    ci: tuple[float, float]

    @property
    def review_rate(self) -> float:
        return self.sent_to_review / self.check_ins if self.check_ins else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "check_ins": self.check_ins,
            "enrolment_photo_refused": self.enrolment_refused,
            "first_try_failed": self.first_try_failed,
            "first_try_failure_rate": self.first_try_failed / self.check_ins
            if self.check_ins
            else math.nan,
            "sent_to_review": self.sent_to_review,
            "review_rate": self.review_rate,
            "review_rate_ci95_wilson": list(self.ci),
        }


def retake_figures(
    faces: FaceSet,
    records: list[PhotoRecord],
    emb: np.ndarray,
    part: np.ndarray,
    limits: QualityLimits,
    threshold: float,
) -> RetakeFigures:
    ok = np.array([r.gate(limits) == v.OK for r in records])

    def verified(reference: int, probe: int) -> bool:
        return bool(ok[probe] and np.linalg.norm(emb[reference] - emb[probe]) <= threshold)

    check_ins = first_failed = review = refused_enrolment = 0
    people = 0
    for p in range(len(faces.people)):
        photos = np.flatnonzero(part & (faces.person == p))
        if len(photos) < 3:
            continue
        people += 1
        for reference, first, second in permutations(photos.tolist(), 3):
            if not ok[reference]:
                refused_enrolment += 1  # enrolment photos are checked and retaken on the spot
                continue
            check_ins += 1
            if verified(reference, first):
                continue
            first_failed += 1
            if not verified(reference, second):
                review += 1
    return RetakeFigures(
        people, check_ins, refused_enrolment, first_failed, review, er.wilson(review, check_ins)
    )


@dataclass(frozen=True)
class SeveralFaces:
    """Photos of the calibration part with several faces, grouped by what the face rule
    makes of them, and how the largest face fares in its genuine comparisons."""

    group: str
    photos: int
    genuine: int
    failed: int


def several_faces_evidence(
    faces: FaceSet, records: list[PhotoRecord], emb: np.ndarray, threshold: float
) -> list[SeveralFaces]:
    groups: dict[str, list[int]] = {}
    for k, record in enumerate(records):
        choice = record.choice
        if choice is None or choice.faces_found < 2 or faces.photo_held_out[k]:
            continue
        assert choice.centre_offset is not None and choice.dominance is not None
        if choice.centre_offset > selection.MAX_CENTRE_OFFSET:
            group = "largest face off the middle half: refused"
        elif choice.dominance < selection.MIN_DOMINANCE:
            group = f"largest face central, under {selection.MIN_DOMINANCE:g}x the next: refused"
        else:
            group = f"largest face central, {selection.MIN_DOMINANCE:g}x the next or more: used"
        counts = groups.setdefault(group, [0, 0, 0])
        counts[0] += 1
        same = np.flatnonzero(faces.person == faces.person[k])
        for j in same[same != k]:
            if np.isfinite(emb[j]).all() and np.isfinite(emb[k]).all():
                counts[1] += 1
                counts[2] += int(np.linalg.norm(emb[k] - emb[j]) > threshold)
    return [SeveralFaces(g, *counts) for g, counts in sorted(groups.items())]


# --- mirror on demand ----------------------------------------------------------------------
#: Bands tried for the mirror-on-demand rule (distance either side of the threshold within
#: which the probe's mirror image is embedded too); the smallest that changes no decision of
#: the calibration part is chosen.
MIRROR_BANDS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.12, 0.15)


@dataclass(frozen=True)
class OnDemandFigures:
    """The mirror-on-demand rule against always-mirror on one part, over every *ordered*
    pair of two usable photos (the first enrolled, mirror-averaged as templates are; the
    second checking in, embedded alone and, within ``band`` of the threshold, with its
    mirror image too). The rule is asymmetric, hence ordered pairs; always-mirror's
    distances are symmetric, so its rates are those of the unordered pairs."""

    part: str
    band: float
    threshold: float
    always: er.Rates
    on_demand: er.Rates
    genuine_mirrored: int  # genuine check-ins that needed the second pass (in the band)
    impostor_mirrored: int
    changed_genuine: int  # decisions that differ from always-mirror's
    changed_impostor: int
    largest_crossing: float  # largest |plain distance - threshold| of a pair the mirror
    #                          moves across the threshold (NaN: none does)
    largest_shift: float  # largest |mirror-averaged - plain| distance of any pair
    median_shift: float

    @property
    def changed(self) -> int:
        return self.changed_genuine + self.changed_impostor

    def as_dict(self) -> dict[str, Any]:
        def rates(r: er.Rates) -> dict[str, Any]:
            return {
                "false_matches": r.false_matches,
                "impostor_pairs": r.impostors,
                "fmr": r.fmr,
                "fmr_ci95_wilson": list(r.fmr_ci),
                "false_non_matches": r.false_non_matches,
                "genuine_pairs": r.genuines,
                "fnmr": r.fnmr,
                "fnmr_ci95_wilson": list(r.fnmr_ci),
            }

        return {
            "part": self.part,
            "band": self.band,
            "threshold": self.threshold,
            "always_mirror": rates(self.always),
            "mirror_on_demand": rates(self.on_demand),
            "genuine_second_pass": self.genuine_mirrored,
            "genuine_second_pass_rate": self.genuine_mirrored / self.always.genuines
            if self.always.genuines
            else math.nan,
            "impostor_second_pass": self.impostor_mirrored,
            "impostor_second_pass_rate": self.impostor_mirrored / self.always.impostors
            if self.always.impostors
            else math.nan,
            "decisions_changed_genuine": self.changed_genuine,
            "decisions_changed_impostor": self.changed_impostor,
            "largest_crossing": self.largest_crossing,
            "largest_shift": self.largest_shift,
            "median_shift": self.median_shift,
        }


@dataclass(frozen=True)
class OrderedPairs:
    """Every ordered pair (reference, probe) of distinct usable photos of one part: the
    distance of the probe's plain descriptor and of its mirror-averaged one to the
    reference's mirror-averaged template."""

    plain: np.ndarray
    mirrored: np.ndarray
    genuine: np.ndarray  # bool


def ordered_pairs(
    faces: FaceSet, records: list[PhotoRecord], part: np.ndarray, limits: QualityLimits
) -> OrderedPairs:
    keep = np.flatnonzero(
        part
        & np.array(
            [
                r.gate(limits) == v.OK and r.embedding is not None and r.plain is not None
                for r in records
            ]
        )
    )
    averaged = np.array([records[k].embedding for k in keep], dtype=np.float64).reshape(-1, 128)
    plain = np.array([records[k].plain for k in keep], dtype=np.float64).reshape(-1, 128)
    off_diagonal = ~np.eye(len(keep), dtype=bool)
    people = faces.person[keep]
    return OrderedPairs(
        _distances(averaged, plain)[off_diagonal],
        _distances(averaged, averaged)[off_diagonal],
        (people[:, None] == people[None, :])[off_diagonal],
    )


def _distances(references: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """Euclidean distance of every reference row to every probe row (one Gram matrix)."""
    squared = (
        np.einsum("ij,ij->i", references, references)[:, None]
        + np.einsum("ij,ij->i", probes, probes)[None, :]
        - 2.0 * references @ probes.T
    )
    return np.sqrt(np.clip(squared, 0.0, None))


def on_demand_figures(
    pairs: OrderedPairs, name: str, threshold: float, band: float
) -> OnDemandFigures:
    """The rule at ``band`` on one part's ordered pairs (see :class:`OnDemandFigures`)."""
    g = pairs.genuine
    second = np.abs(pairs.plain - threshold) <= band  # the verifier's test (_OnDemand)
    used = np.where(second, pairs.mirrored, pairs.plain)
    always_match = pairs.mirrored <= threshold
    changed = always_match != (used <= threshold)
    crossing = (pairs.plain <= threshold) != always_match
    shift = np.abs(pairs.mirrored - pairs.plain)
    return OnDemandFigures(
        part=name,
        band=band,
        threshold=threshold,
        always=er.rates_at(pairs.mirrored[g], pairs.mirrored[~g], threshold),
        on_demand=er.rates_at(used[g], used[~g], threshold),
        genuine_mirrored=int((second & g).sum()),
        impostor_mirrored=int((second & ~g).sum()),
        changed_genuine=int((changed & g).sum()),
        changed_impostor=int((changed & ~g).sum()),
        largest_crossing=float(np.abs(pairs.plain[crossing] - threshold).max())
        if crossing.any()
        else math.nan,
        largest_shift=float(shift.max()) if shift.size else math.nan,
        median_shift=float(np.median(shift)) if shift.size else math.nan,
    )


def choose_mirror_band(pairs: OrderedPairs, threshold: float) -> float:
    """The smallest of MIRROR_BANDS that changes no decision of these (calibration) pairs;
    the largest when every one does."""
    for band in MIRROR_BANDS:
        if on_demand_figures(pairs, "", threshold, band).changed == 0:
            return band
    return MIRROR_BANDS[-1]


@dataclass(frozen=True)
class MirrorEvidence:
    """The mirror-on-demand rule measured: the band chosen on the calibration part, the
    band the verifier uses (``verifier.MIRROR_BAND``), figures per part and band."""

    chosen_band: float
    configured_band: float
    figures: list[OnDemandFigures]
    sweep: list[OnDemandFigures]  # the held-out part at every band of MIRROR_BANDS

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen_band": self.chosen_band,
            "configured_band": self.configured_band,
            "figures": [f.as_dict() for f in self.figures],
            "held_out_by_band": [f.as_dict() for f in self.sweep],
        }


def mirror_evidence(
    faces: FaceSet, records: list[PhotoRecord], limits: QualityLimits, threshold: float
) -> MirrorEvidence | None:
    """None when the records hold no plain descriptors (a verifier without mirroring)."""
    if not any(r.plain is not None for r in records):
        return None
    calibration = ordered_pairs(faces, records, ~faces.photo_held_out, limits)
    chosen = choose_mirror_band(calibration, threshold)
    configured = v.MIRROR_BAND
    figures = [on_demand_figures(calibration, "calibration", threshold, chosen)]
    sweep: list[OnDemandFigures] = []
    if faces.photo_held_out.any():
        held = ordered_pairs(faces, records, faces.photo_held_out, limits)
        sweep = [on_demand_figures(held, "held-out", threshold, b) for b in MIRROR_BANDS]
        figures.append(on_demand_figures(held, "held-out", threshold, chosen))
        if configured != chosen:
            figures.append(on_demand_figures(held, "held-out", threshold, configured))
    return MirrorEvidence(chosen, configured, figures, sweep)


# --- the whole run ------------------------------------------------------------------------
@dataclass
class CalibrationReport:
    faces_arg: str
    model_id: str
    target_fmr: float
    faces: FaceSet
    records: list[PhotoRecord]
    threshold: float
    first_threshold: float  # before the gates were derived
    configured_threshold: float
    configured_version: str
    configured_limits: QualityLimits
    limits: QualityLimits
    gates: list[GateEvidence]
    calibration: PartFigures
    held_out: PartFigures | None
    held_out_configured: PartFigures | None
    retake: RetakeFigures | None
    det: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    several_faces: list[SeveralFaces] = field(default_factory=list)
    mirror: MirrorEvidence | None = None
    seconds: float = math.nan
    workers: int = 1
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        outcomes = Counter(r.gate(self.limits) for r in self.records)
        return {
            "faces": self.faces_arg,
            "embedding_seconds": self.seconds,
            "workers": self.workers,
            "several_faces": [row.__dict__ for row in self.several_faces],
            "model_id": self.model_id,
            "target_fmr": self.target_fmr,
            "threshold": self.threshold,
            "threshold_before_gates": self.first_threshold,
            "configured_threshold": self.configured_threshold,
            "configured_threshold_version": self.configured_version,
            "photos": len(self.faces.photos),
            "people": len(self.faces.people),
            "held_out_people": int(self.faces.held_out.sum()),
            "ignored_files": self.faces.ignored,
            "outcomes": dict(sorted(outcomes.items())),
            "limits": _limits_dict(self.limits),
            "configured_limits": _limits_dict(self.configured_limits),
            "gates": [
                {
                    "measure": g.measure,
                    "limit": g.limit,
                    "configured": g.configured,
                    "degraded_without_face": g.no_face,
                    "bins": [b.__dict__ for b in g.natural + g.degraded],
                }
                for g in self.gates
            ],
            "calibration": self.calibration.as_dict(),
            "held_out": self.held_out.as_dict() if self.held_out else None,
            "held_out_at_configured_threshold": self.held_out_configured.as_dict()
            if self.held_out_configured
            else None,
            "retake": self.retake.as_dict() if self.retake else None,
            "det": {
                name: {
                    "threshold": np.round(t, 4).tolist(),
                    "fmr": fmr.tolist(),
                    "fnmr": fnmr.tolist(),
                }
                for name, (t, fmr, fnmr) in self.det.items()
            },
            "mirror_on_demand": self.mirror.as_dict() if self.mirror else None,
            "notes": self.notes,
        }


def _limits_dict(limits: QualityLimits) -> dict[str, float]:
    return dict(limits.__dict__)


def _usable(records: list[PhotoRecord], limits: QualityLimits) -> np.ndarray:
    return np.array([r.gate(limits) == v.OK for r in records])


def _without_gate(limits: QualityLimits, measure: str) -> QualityLimits:
    values = _limits_dict(limits)
    values[GATE_LIMIT[measure]] = 0.0
    return QualityLimits(**values)


def choose_threshold(
    faces: FaceSet,
    records: list[PhotoRecord],
    pairs: er.PairSet,
    limits: QualityLimits,
    target: float,
) -> float:
    """The threshold for ``target`` FMR on the calibration part's usable photos."""
    chosen = pairs.select(_usable(records, limits) & ~faces.photo_held_out)
    return er.threshold_for_fmr(chosen.impostor_distances, target)


def derive_gates(
    faces: FaceSet,
    records: list[PhotoRecord],
    pairs: er.PairSet,
    emb: np.ndarray,
    probed: list[Probed],
    configured: QualityLimits,
    threshold: float,
    target_fmr: float,
) -> tuple[QualityLimits, list[GateEvidence]]:
    """The blur and size limits from the calibration part at ``threshold``."""
    values = _limits_dict(configured)
    evidence = []
    for measure in GATE_BINS:
        open_gate = _without_gate(QualityLimits(**values), measure)
        usable = _usable(records, open_gate) & ~faces.photo_held_out
        natural = _natural_evidence(measure, records, pairs, usable, threshold)
        probes = score_probes(probed, faces, emb, usable, threshold)
        degraded = _degraded_evidence(measure, probes, threshold)
        limit = derive_limit(natural + degraded, target_fmr, values[GATE_LIMIT[measure]])
        kind = GATE_DEGRADATION[measure]
        no_face = sum(1 for p in probes if p.distance is None and p.kind == kind)
        evidence.append(
            GateEvidence(
                measure, limit, getattr(configured, GATE_LIMIT[measure]), natural, degraded, no_face
            )
        )
        values[GATE_LIMIT[measure]] = limit
    return QualityLimits(**values), evidence


@dataclass
class Measurements:
    """Everything the calibration embeds: the photos, and the degraded gate probes."""

    faces: FaceSet
    records: list[PhotoRecord]
    probed: list[Probed]
    seconds: float = math.nan  # wall-clock time to embed the photos (not the probes)
    workers: int = 1


def measure(
    root: Path, *, workers: int, gate_people: int = 100, progress: Progress | None = None
) -> Measurements:
    """The slow part: every photo embedded once, then the degraded probes. The probes start
    from photos usable with the blur and size gates open, so that which photos are degraded
    does not depend on the limits being measured."""
    started = time.perf_counter()
    faces = discover(root)
    records = measure_photos(faces, workers=workers, progress=progress)
    if not any(r.embedding is not None for r in records):
        raise CalibrationError(f"no face was found in any photo under {root}")
    seconds = time.perf_counter() - started
    open_gates = QualityLimits(
        **{**_limits_dict(QualityLimits()), **dict.fromkeys(GATE_LIMIT.values(), 0.0)}
    )
    usable = _usable(records, open_gates)
    probed = run_probes(faces, records, usable, gate_people, workers=workers, progress=progress)
    return Measurements(faces, records, probed, seconds, workers)


def run_calibration(
    root: Path,
    *,
    faces_arg: str,
    target_fmr: float,
    configured_threshold: float,
    configured_version: str,
    workers: int,
    gate_people: int = 100,
    replicates: int = 1000,
    progress: Progress | None = None,
) -> CalibrationReport:
    measured = measure(root, workers=workers, gate_people=gate_people, progress=progress)
    return analyse(
        measured,
        faces_arg=faces_arg,
        target_fmr=target_fmr,
        configured_threshold=configured_threshold,
        configured_version=configured_version,
        replicates=replicates,
    )


def analyse(
    measured: Measurements,
    *,
    faces_arg: str,
    target_fmr: float,
    configured_threshold: float,
    configured_version: str,
    replicates: int = 1000,
) -> CalibrationReport:
    """The fast part: threshold, gates and figures from the measurements."""
    faces, records, probed = measured.faces, measured.records, measured.probed
    emb = embedding_matrix(records)
    pairs = er.all_pairs(emb, faces.person)
    configured = QualityLimits()
    notes: list[str] = []
    calibration_part = ~faces.photo_held_out
    if not pairs.select(calibration_part).impostor_distances.size:
        raise CalibrationError("the calibration part has no impostor pair with a usable face")
    first = choose_threshold(faces, records, pairs, configured, target_fmr)
    threshold, limits, gates = first, configured, []
    for _ in range(3):  # the gates depend on the threshold and back: settle (twice suffices)
        limits, gates = derive_gates(
            faces, records, pairs, emb, probed, configured, threshold, target_fmr
        )
        again = choose_threshold(faces, records, pairs, limits, target_fmr)
        if again == threshold:
            break
        threshold = again
    impostors = pairs.select(_usable(records, limits) & calibration_part).impostor_distances.size
    if impostors * target_fmr < 10:
        notes.append(
            f"Only {impostors} impostor pairs in the calibration part: a false-match rate of "
            f"{target_fmr:g} rests on fewer than 10 false matches."
        )
    calibration = part_figures(
        "calibration",
        faces,
        records,
        pairs,
        calibration_part,
        limits,
        threshold,
        replicates=replicates,
    )
    held_out = held_out_configured = retake = None
    det = {"calibration": _det(pairs, records, limits, calibration_part)}
    if faces.photo_held_out.any():
        part = faces.photo_held_out
        held_out = part_figures(
            "held-out", faces, records, pairs, part, limits, threshold, replicates=replicates
        )
        held_out_configured = part_figures(
            "held-out",
            faces,
            records,
            pairs,
            part,
            configured,
            configured_threshold,
            replicates=replicates,
        )
        retake = retake_figures(faces, records, emb, part, limits, threshold)
        det["held-out"] = _det(pairs, records, limits, part)
    else:
        notes.append("No person fell in the held-out part: the figures are not independent.")
    return CalibrationReport(
        several_faces=several_faces_evidence(faces, records, emb, threshold),
        mirror=mirror_evidence(faces, records, limits, threshold),
        seconds=measured.seconds,
        workers=measured.workers,
        faces_arg=faces_arg,
        model_id=v.DlibResNetVerifier().model_id,
        target_fmr=target_fmr,
        faces=faces,
        records=records,
        threshold=threshold,
        first_threshold=first,
        configured_threshold=configured_threshold,
        configured_version=configured_version,
        configured_limits=configured,
        limits=limits,
        gates=gates,
        calibration=calibration,
        held_out=held_out,
        held_out_configured=held_out_configured,
        retake=retake,
        det=det,
        notes=notes,
    )


def _det(
    pairs: er.PairSet, records: list[PhotoRecord], limits: QualityLimits, part: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chosen = pairs.select(_usable(records, limits) & part)
    return er.det_points(chosen.genuine_distances, chosen.impostor_distances)
