"""Error rates of a 1:1 verifier from labelled embeddings: all pairs at once, with numpy.

Every photo is compared with every other photo of the set (``n (n - 1) / 2`` pairs): a pair
of two photos of one person is *genuine*, of two people an *impostor* pair. A pair matches
when its distance is at most the threshold. Nothing here searches a face among many: the
pairs are the 1:1 comparisons a calibration needs, computed as one matrix product.

* FMR (false-match rate): impostor pairs that match / impostor pairs compared.
* FNMR (false non-match rate): genuine pairs that do not match / genuine pairs compared.

Confidence intervals: Wilson's score interval treats pairs as independent; they are not
(each photo is in many pairs, each person in many photos), so a bootstrap that resamples
*people* is given as well, which keeps each person's pairs together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "PairSet",
    "Rates",
    "all_pairs",
    "bootstrap_by_person",
    "det_points",
    "rates_at",
    "threshold_for_fmr",
    "wilson",
]

#: Thresholds are settings with this many decimals.
THRESHOLD_DECIMALS = 3


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (``(0, 1)`` with no trials)."""
    if trials <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= trials:
        raise ValueError("successes must lie between 0 and trials")
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


@dataclass(frozen=True)
class PairSet:
    """Every pair of a set of photos: indices ``i < j`` into the photos, their distance and
    whether both photos show one person."""

    i: np.ndarray
    j: np.ndarray
    distance: np.ndarray
    genuine: np.ndarray  # bool

    @property
    def genuine_distances(self) -> np.ndarray:
        return self.distance[self.genuine]

    @property
    def impostor_distances(self) -> np.ndarray:
        return self.distance[~self.genuine]

    def select(self, keep: np.ndarray) -> PairSet:
        """The pairs whose two photos are both in ``keep`` (a bool mask over photos)."""
        mask = keep[self.i] & keep[self.j]
        return PairSet(self.i[mask], self.j[mask], self.distance[mask], self.genuine[mask])


def all_pairs(embeddings: np.ndarray, people: Sequence[int] | np.ndarray) -> PairSet:
    """Distances of all pairs of the rows of ``embeddings`` (Euclidean), from one Gram matrix.

    ``people[k]`` labels row ``k``; rows holding NaN (photos without an embedding) give no
    pairs."""
    emb = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(people)
    if emb.ndim != 2 or len(labels) != len(emb):
        raise ValueError("one label per embedding row is needed")
    usable = np.flatnonzero(np.all(np.isfinite(emb), axis=1))
    sub = emb[usable]
    squares = np.einsum("ij,ij->i", sub, sub)
    gram = sub @ sub.T
    squared = squares[:, None] + squares[None, :] - 2.0 * gram
    iu, ju = np.triu_indices(len(sub), k=1)
    distance = np.sqrt(np.clip(squared[iu, ju], 0.0, None))
    i, j = usable[iu], usable[ju]
    return PairSet(i, j, distance, labels[i] == labels[j])


@dataclass(frozen=True)
class Rates:
    """Counts at one threshold, and the rates with their 95 % Wilson intervals."""

    threshold: float
    false_matches: int
    impostors: int
    false_non_matches: int
    genuines: int

    @property
    def fmr(self) -> float:
        return self.false_matches / self.impostors if self.impostors else float("nan")

    @property
    def fnmr(self) -> float:
        return self.false_non_matches / self.genuines if self.genuines else float("nan")

    @property
    def fmr_ci(self) -> tuple[float, float]:
        return wilson(self.false_matches, self.impostors)

    @property
    def fnmr_ci(self) -> tuple[float, float]:
        return wilson(self.false_non_matches, self.genuines)


def rates_at(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> Rates:
    """FMR and FNMR at ``threshold`` (a pair matches when its distance <= threshold)."""
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    return Rates(
        float(threshold), int((i <= threshold).sum()), len(i), int((g > threshold).sum()), len(g)
    )


def threshold_for_fmr(impostor: np.ndarray, target: float) -> float:
    """The largest threshold, to :data:`THRESHOLD_DECIMALS` decimals, whose false-match rate on
    these impostor distances does not exceed ``target``."""
    d = np.sort(np.asarray(impostor, dtype=np.float64))
    if not len(d):
        raise ValueError("no impostor distances")
    if not 0.0 < target < 1.0:
        raise ValueError("the target false-match rate lies between 0 and 1")
    allowed = math.floor(target * len(d) + 1e-9)  # false matches the target permits
    if allowed >= len(d):
        return float(np.floor(d[-1] * 10**THRESHOLD_DECIMALS) / 10**THRESHOLD_DECIMALS)
    step = 10.0**-THRESHOLD_DECIMALS
    candidate = math.floor(d[allowed] / step) * step  # at most d[allowed]
    while np.searchsorted(d, candidate, side="right") > allowed:
        candidate -= step
    return round(candidate, THRESHOLD_DECIMALS)


def _people_counts(
    pairs: PairSet, people: np.ndarray, threshold: float, n_people: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per person: genuine pairs and false non-matches; per pair of people: impostor pairs
    and false matches (symmetric matrices, zero diagonal)."""
    pi, pj = people[pairs.i], people[pairs.j]
    g = pairs.genuine
    gen_n = np.bincount(pi[g], minlength=n_people).astype(np.float64)
    gen_fail = np.bincount(pi[g], weights=pairs.distance[g] > threshold, minlength=n_people)
    imp_n = np.zeros((n_people, n_people))
    imp_fm = np.zeros((n_people, n_people))
    a, b = pi[~g], pj[~g]
    np.add.at(imp_n, (a, b), 1.0)
    np.add.at(imp_fm, (a, b), (pairs.distance[~g] <= threshold).astype(np.float64))
    return gen_n, gen_fail, imp_n + imp_n.T, imp_fm + imp_fm.T


@dataclass(frozen=True)
class Bootstrap:
    """95 % percentile intervals from resampling people with replacement."""

    fmr: tuple[float, float]
    fnmr: tuple[float, float]
    replicates: int


def bootstrap_by_person(
    pairs: PairSet,
    people: Sequence[int] | np.ndarray,
    threshold: float,
    *,
    replicates: int = 1000,
    seed: int = 20261113,
) -> Bootstrap:
    """Resample the people (with replacement) and recompute FMR and FNMR; a person drawn k
    times brings k copies of their genuine pairs, and the impostor pairs between two drawn
    people count once per pair of draws."""
    labels = np.asarray(people)
    present = np.unique(np.concatenate([labels[pairs.i], labels[pairs.j]]))
    index = {int(p): k for k, p in enumerate(present)}
    remapped = np.array([index.get(int(p), -1) for p in labels])
    n = len(present)
    if n < 2:
        return Bootstrap((0.0, 1.0), (0.0, 1.0), 0)
    gen_n, gen_fail, imp_n, imp_fm = _people_counts(pairs, remapped, threshold, n)
    rng = np.random.default_rng(seed)
    fmr = np.empty(replicates)
    fnmr = np.empty(replicates)
    for r in range(replicates):
        c = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        genuines = c @ gen_n
        fnmr[r] = (c @ gen_fail) / genuines if genuines else np.nan
        impostors = c @ imp_n @ c
        fmr[r] = (c @ imp_fm @ c) / impostors if impostors else np.nan

    def interval(values: np.ndarray) -> tuple[float, float]:
        finite = values[np.isfinite(values)]
        if not len(finite):
            return (0.0, 1.0)
        low, high = np.percentile(finite, [2.5, 97.5])
        return (float(low), float(high))

    return Bootstrap(interval(fmr), interval(fnmr), replicates)


def det_points(
    genuine: np.ndarray, impostor: np.ndarray, *, points: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, FMR, FNMR) for a DET curve, thresholds ascending. They are taken where the
    curve needs them: at impostor quantiles spaced evenly on a log scale of FMR (down to one
    pair in a million), and at evenly spaced genuine quantiles."""
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    if not len(g) or not len(i):
        return np.array([]), np.array([]), np.array([])
    levels = np.concatenate([[0.0], np.logspace(-6, 0, points)])
    thresholds = np.unique(
        np.concatenate(
            [np.quantile(i, levels, method="lower"), np.quantile(g, np.linspace(0, 1, points))]
        )
    )
    fmr = np.searchsorted(i, thresholds, side="right") / len(i)
    fnmr = 1.0 - np.searchsorted(g, thresholds, side="right") / len(g)
    return thresholds, fmr, fnmr
