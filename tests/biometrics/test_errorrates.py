"""All-pairs error rates on tiny synthetic embeddings whose distances are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from caseledger.biometrics import errorrates as er
from caseledger.biometrics.verifier import face_distance


def on_a_line(*positions: float) -> np.ndarray:
    """128-d embeddings on one axis: the distance of two is the difference of positions."""
    out = np.zeros((len(positions), 128))
    out[:, 0] = positions
    return out


# Ann at 0 and 0.25, Ben at 1 and 1.5, Cy at 2 (binary fractions: the distances are exact).
# Genuine: Ann 0.25, Ben 0.5. Impostor (8): 1, 1.5, 2, 0.75, 1.25, 1.75, 1, 0.5.
EMBEDDINGS = on_a_line(0.0, 0.25, 1.0, 1.5, 2.0)
PEOPLE = np.array([0, 0, 1, 1, 2])


def test_all_pairs_labels_and_distances() -> None:
    pairs = er.all_pairs(EMBEDDINGS, PEOPLE)
    assert len(pairs.distance) == 10  # 5 photos: 5 * 4 / 2 pairs
    assert sorted(pairs.genuine_distances) == [0.25, 0.5]
    assert sorted(pairs.impostor_distances) == [0.5, 0.75, 1.0, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert all(i < j for i, j in zip(pairs.i, pairs.j, strict=True))


def test_all_pairs_agrees_with_face_distance_and_skips_missing_embeddings() -> None:
    rng = np.random.default_rng(7)
    emb = rng.normal(size=(6, 128)) * 0.1
    emb[2] = np.nan  # a photo without a face
    pairs = er.all_pairs(emb, [0, 0, 1, 1, 2, 2])
    assert 2 not in set(pairs.i) | set(pairs.j)
    assert len(pairs.distance) == 10  # the 5 others
    for i, j, d in zip(pairs.i, pairs.j, pairs.distance, strict=True):
        assert d == pytest.approx(face_distance(emb[i], emb[j]), abs=1e-9)
    with pytest.raises(ValueError):
        er.all_pairs(emb, [0, 1])


def test_rates_at_a_threshold() -> None:
    pairs = er.all_pairs(EMBEDDINGS, PEOPLE)
    r = er.rates_at(pairs.genuine_distances, pairs.impostor_distances, 0.49)
    assert (r.false_matches, r.impostors, r.false_non_matches, r.genuines) == (0, 8, 1, 2)
    assert r.fmr == 0 and r.fnmr == 1 / 2
    r = er.rates_at(pairs.genuine_distances, pairs.impostor_distances, 0.5)
    assert (r.false_matches, r.false_non_matches) == (1, 0)  # distance <= threshold matches
    assert r.fmr == 1 / 8 and r.fnmr == 0
    r = er.rates_at(pairs.genuine_distances, pairs.impostor_distances, 1.0)
    assert r.false_matches == 4 and r.fmr == 0.5


def test_threshold_for_a_target_false_match_rate() -> None:
    impostor = er.all_pairs(EMBEDDINGS, PEOPLE).impostor_distances
    # 1 false match of 8 allowed: just below the second-closest impostor (0.75)
    assert er.threshold_for_fmr(impostor, 1 / 8) == 0.749
    # none allowed: just below the closest (0.5)
    assert er.threshold_for_fmr(impostor, 0.1) == 0.499
    # 3 allowed (3/8): below the tie at 1.0 (the third and fourth), so only 2 match
    assert er.threshold_for_fmr(impostor, 0.375) == 0.999
    assert er.threshold_for_fmr(impostor, 0.5) == 1.249  # 4 allowed: just below 1.25
    for target in (0.1, 1 / 8, 0.375, 0.5):
        t = er.threshold_for_fmr(impostor, target)
        assert er.rates_at(np.array([]), impostor, t).fmr <= target
        assert er.rates_at(np.array([]), impostor, t + 0.002).fmr > target
    with pytest.raises(ValueError):
        er.threshold_for_fmr(np.array([]), 0.1)
    with pytest.raises(ValueError):
        er.threshold_for_fmr(impostor, 0.0)


def test_wilson_interval() -> None:
    from scipy.stats import binomtest

    for k, n in ((0, 10), (5, 10), (3, 1202), (1100, 1_100_000), (10, 10)):
        expected = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = er.wilson(k, n)
        assert low == pytest.approx(expected.low, abs=1e-9)
        assert high == pytest.approx(expected.high, abs=1e-9)
    assert er.wilson(0, 10)[0] == 0.0 and er.wilson(10, 10)[1] == 1.0
    assert er.wilson(0, 10)[1] == pytest.approx(1.96**2 / (10 + 1.96**2), abs=1e-4)
    assert er.wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        er.wilson(11, 10)


def test_bootstrap_over_people() -> None:
    # Four people of two photos; only Dee's genuine pair fails at 0.5.
    emb = on_a_line(0.0, 0.1, 10.0, 10.1, 20.0, 20.1, 30.0, 30.9)
    people = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    pairs = er.all_pairs(emb, people)
    boot = er.bootstrap_by_person(pairs, people, 0.5, replicates=400)
    assert boot.replicates == 400
    low, high = boot.fnmr
    assert low == 0.0 and 0.25 < high <= 1.0  # a sample without Dee has no failure
    assert boot.fmr == (0.0, 0.0)  # no impostor pair is closer than 9
    again = er.bootstrap_by_person(pairs, people, 0.5, replicates=400)
    assert again == boot  # seeded: the report is reproducible


def test_det_points_are_monotone() -> None:
    pairs = er.all_pairs(EMBEDDINGS, PEOPLE)
    t, fmr, fnmr = er.det_points(pairs.genuine_distances, pairs.impostor_distances, points=50)
    assert len(t) == len(fmr) == len(fnmr) and 0 < len(t) <= 101
    assert np.all(np.diff(t) > 0)
    assert np.all(np.diff(fmr) >= 0) and np.all(np.diff(fnmr) <= 0)
    assert set(t) >= {0.5, 0.75, 2.0}  # the closest impostors (low FMR) and the farthest
    assert t[0] == 0.25 and t[-1] == 2.0  # from the closest pair to the farthest
    assert fmr[-1] == 1.0 and fnmr[-1] == 0.0
    assert fmr[0] == 0.0 and fnmr[0] == 0.5  # at 0.25 Ann's pair matches, Ben's does not
